"""Patient pages: the list, registration, the record, and the add forms on its cards.

Every patient is looked up through `selectors.visible_to(user)`, so a patient outside the user's
scope (another center's, or any patient for a facility or patient account) answers 404 and never
shows a name. Every write goes through `services`; a refusal is shown on the form's fields.

The add forms on the record post with htmx and get their card back; without JavaScript the same
views redirect to the record (or re-render it with the errors), so both paths work.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import F, OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tilcare.accounts.models import User
from tilcare.accounts.roles import Perm
from tilcare.core.errors import InvalidInput
from tilcare.core.forms import apply_service_errors
from tilcare.core.http import get_visible_or_404
from tilcare.core.policy import require
from tilcare.core.timeutil import age_in_years, local_today
from tilcare.patients import policies, selectors, services
from tilcare.patients.choices import ConsentKind, TherapyClass
from tilcare.patients.forms import (
    ConsentForm,
    ConsentWithdrawForm,
    ContactForm,
    MeasurementForm,
    PatientEditForm,
    PatientForm,
    PriorTherapyForm,
)
from tilcare.patients.models import BodyMeasurement, Consent, Patient

PAGE_SIZE = 50

# The cards on the record that have an add form: template, form prefix, anchor on the page.
CARDS: dict[str, tuple[str, str]] = {
    "contact": ("patients/partials/_contact_card.html", "contacts"),
    "prior_therapy": ("patients/partials/_prior_therapy_card.html", "prior-therapies"),
    "consent": ("patients/partials/_consent_card.html", "consents"),
    "measurement": ("patients/partials/_measurement_card.html", "measurements"),
}


def _user(request: HttpRequest) -> User:
    # LoginRequiredMiddleware has already sent anonymous visitors to the login page.
    return cast(User, request.user)


def _patient(request: HttpRequest, public_id: Any) -> Patient:
    return get_visible_or_404(
        selectors.visible_to(request.user).select_related("center"), public_id
    )


def _patient_to_write(
    request: HttpRequest,
    public_id: Any,
    allowed: Callable[[User, Patient], bool],
    refusal: str,
) -> tuple[User, Patient]:
    """The user and the patient they write to, once the policy allows it (else 403)."""
    user = _user(request)
    patient = _patient(request, public_id)
    require(allowed(user, patient), refusal)
    return user, patient


def _dated_card_form(
    form_class: Callable[..., forms.Form], request: HttpRequest, prefix: str, patient: Patient
) -> forms.Form:
    """A card's add form whose dates are judged against the patient's center's today."""
    return form_class(request.POST, prefix=prefix, patient=patient, today=_center_today(patient))


def _htmx_target(request: HttpRequest) -> str | None:
    """The id htmx will swap (None when the request is a plain browser request)."""
    details = getattr(request, "htmx", None)  # set by django_htmx's middleware
    return details.target if details else None


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _center_today(patient: Patient) -> dt.date:
    return local_today(patient.center.time_zone)


def _with_latest_measurement(patients: QuerySet[Patient]) -> QuerySet[Patient]:
    """Annotate the newest weight and height in the same query (no query per row)."""
    latest = BodyMeasurement.objects.filter(patient=OuterRef("pk")).order_by("-measured_on", "-id")
    return patients.annotate(
        latest_weight_kg=Subquery(latest.values("weight_kg")[:1]),
        latest_height_cm=Subquery(latest.values("height_cm")[:1]),
        latest_measured_on=Subquery(latest.values("measured_on")[:1]),
    )


@require_GET
def patient_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    # Facility staff and patients hold no identity permission: refuse the page outright rather
    # than show an empty list that suggests there is something to search.
    require(
        user.has_perm_code(Perm.VIEW_PATIENT_IDENTITY),
        "Only the center's care team can open the patient list.",
    )
    query = request.GET.get("q", "").strip()
    patients = _with_latest_measurement(selectors.search(selectors.visible_to(user), query))
    page = Paginator(patients, PAGE_SIZE).get_page(request.GET.get("page"))
    center = user.organization
    context = {
        "page_title": "Patients",
        "page": page,
        "query": query,
        "today": local_today(center.time_zone) if center else None,
        "can_create": center is not None and policies.can_create_patient(user, center),
    }
    if _htmx_target(request) == "patient-results":
        return render(request, "patients/partials/_patient_table.html", context)
    return render(request, "patients/patient_list.html", context)


@require_http_methods(["GET", "POST"])
def patient_create(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    center = user.organization
    require(
        center is not None and policies.can_create_patient(user, center),
        "You may not register patients at this center.",
    )
    assert center is not None
    form = PatientForm(
        request.POST or None, center_id=center.pk, today=local_today(center.time_zone)
    )
    if request.method == "POST" and form.is_valid():
        try:
            patient = services.create_patient(actor=user, center=center, data=form.patient_data())
        except InvalidInput as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, f"{patient.full_name} is registered.")
            return redirect("patients:patient-detail", public_id=patient.public_id)
    return render(
        request, "patients/patient_form.html", {"form": form, "page_title": "Register a patient"}
    )


@require_GET
def patient_detail(request: HttpRequest, public_id: Any) -> HttpResponse:
    patient = _patient(request, public_id)
    return render(request, "patients/patient_detail.html", _detail_context(request, patient))


@require_http_methods(["GET", "POST"])
def patient_edit(request: HttpRequest, public_id: Any) -> HttpResponse:
    user, patient = _patient_to_write(
        request, public_id, policies.can_change_patient, policies.CHANGE_REFUSED
    )
    form = PatientEditForm(
        request.POST or None,
        initial=PatientEditForm.initial_from(patient),
        center_id=patient.center_id,
        today=_center_today(patient),
        patient=patient,
    )
    if request.method == "POST" and form.is_valid():
        changes = {k: v for k, v in form.patient_data().items() if getattr(patient, k) != v}
        if not changes:
            messages.info(request, "Nothing was changed, so nothing was saved.")
            return redirect("patients:patient-detail", public_id=patient.public_id)
        try:
            services.update_patient(
                patient, actor=user, changes=changes, reason=form.cleaned_data["reason"]
            )
        except InvalidInput as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, "Changes saved. The reason is kept in the audit trail.")
            return redirect("patients:patient-detail", public_id=patient.public_id)
    return render(
        request,
        "patients/patient_form.html",
        {"form": form, "patient": patient, "page_title": f"Edit {patient.full_name}"},
    )


# ---------- The record and its cards ----------


def _withdraw_form(consent: Consent, today: dt.date, data: Any = None) -> ConsentWithdrawForm:
    # One form per consent row: its own ids, so each label points at its own input.
    return ConsentWithdrawForm(
        data,
        prefix="withdraw",
        auto_id=f"id_withdraw_{consent.public_id.hex[:12]}_%s",
        consent=consent,
        today=today,
        initial={"withdrawn_on": today},
    )


def _detail_context(request: HttpRequest, patient: Patient, **overrides: Any) -> dict[str, Any]:
    """Everything the record and its cards show; `overrides` carries a bound (refused) form."""
    user = _user(request)
    today = _center_today(patient)
    can_change = policies.can_change_patient(user, patient)
    can_consent = policies.can_record_consent(user, patient)
    can_measure = policies.can_record_measurement(user, patient)
    contacts = list(patient.contacts.order_by("-is_caregiver", "name"))
    prior_therapies = list(patient.prior_therapies.all())
    # Active consents first, then withdrawn ones; newest signature first within each.
    consents = list(
        patient.consents.select_related("obtained_by").order_by(
            F("withdrawn_on").desc(nulls_first=True), "-signed_on", "-id"
        )
    )
    refused_withdrawal = overrides.pop("withdraw_form", None)
    refused_consent_id = overrides.get("withdraw_consent_id")
    consent_rows = [
        (
            consent,
            (
                refused_withdrawal
                if refused_withdrawal is not None and consent.public_id == refused_consent_id
                else _withdraw_form(consent, today)
            )
            if can_consent and consent.is_active
            else None,
        )
        for consent in consents
    ]
    context: dict[str, Any] = {
        "page_title": patient.full_name,
        "patient": patient,
        "today": today,
        "age": age_in_years(patient.date_of_birth, today),
        "contacts": contacts,
        "has_caregiver": any(c.is_caregiver for c in contacts),
        "prior_therapies": prior_therapies,
        "has_anti_pd1": any(t.therapy_class == TherapyClass.ANTI_PD1 for t in prior_therapies),
        "consents": consents,
        "consent_rows": consent_rows,
        "has_active_treatment_consent": any(
            c.is_active and c.kind == ConsentKind.TIL_THERAPY for c in consents
        ),
        "measurements": list(patient.measurements.select_related("recorded_by")),
        "can_change": can_change,
        "can_consent": can_consent,
        "can_measure": can_measure,
        # Forms only for those allowed to use them: no button a user cannot press.
        "contact_form": ContactForm(prefix="contact") if can_change else None,
        "prior_therapy_form": PriorTherapyForm(prefix="therapy", patient=patient, today=today)
        if can_change
        else None,
        "consent_form": ConsentForm(
            prefix="consent", patient=patient, today=today, initial={"signed_on": today}
        )
        if can_consent
        else None,
        "measurement_form": MeasurementForm(
            prefix="measurement", patient=patient, today=today, initial={"measured_on": today}
        )
        if can_measure
        else None,
        "withdraw_consent_id": None,
    }
    context.update(overrides)
    return context


def _respond(
    request: HttpRequest,
    patient: Patient,
    card: str,
    *,
    saved: str | None = None,
    overrides: dict[str, Any] | None = None,
    open_flag: str | None = None,
) -> HttpResponse:
    """After a write: htmx gets the card back; a plain form post gets the record.

    Refused input is answered 200 with the form and its messages (htmx swaps only 2xx answers).
    """
    template, anchor = CARDS[card]
    overrides = dict(overrides or {})
    if saved is not None:
        if _is_htmx(request):
            overrides[f"{card}_saved"] = saved
            return render(request, template, _detail_context(request, patient, **overrides))
        messages.success(request, saved)
        url = reverse("patients:patient-detail", kwargs={"public_id": patient.public_id})
        return redirect(f"{url}#{anchor}")
    # Keep the refused form open so its messages are seen.
    overrides[open_flag or f"{card}_open"] = True
    context = _detail_context(request, patient, **overrides)
    if _is_htmx(request):
        return render(request, template, context)
    return render(request, "patients/patient_detail.html", context)


def _save_card_form(
    request: HttpRequest,
    patient: Patient,
    card: str,
    form: forms.Form,
    save: Callable[[dict[str, Any]], str],
) -> HttpResponse:
    """A card's add form: saved by `save` (which returns what to say), or answered with the
    form and its refusals (the form's own, then the service's)."""
    if form.is_valid():
        try:
            saved = save(form.cleaned_data)
        except InvalidInput as exc:
            apply_service_errors(form, exc)
        else:
            return _respond(request, patient, card, saved=saved)
    return _respond(request, patient, card, overrides={f"{card}_form": form})


@require_POST
def contact_add(request: HttpRequest, public_id: Any) -> HttpResponse:
    user, patient = _patient_to_write(
        request, public_id, policies.can_change_patient, policies.CHANGE_REFUSED
    )
    form = ContactForm(request.POST, prefix="contact")

    def save(data: dict[str, Any]) -> str:
        return f"{services.add_contact(patient, actor=user, data=data).name} added."

    return _save_card_form(request, patient, "contact", form, save)


@require_POST
def prior_therapy_add(request: HttpRequest, public_id: Any) -> HttpResponse:
    user, patient = _patient_to_write(
        request, public_id, policies.can_change_patient, policies.CHANGE_REFUSED
    )
    form = _dated_card_form(PriorTherapyForm, request, "therapy", patient)

    def save(data: dict[str, Any]) -> str:
        return f"{services.add_prior_therapy(patient, actor=user, data=data)} added."

    return _save_card_form(request, patient, "prior_therapy", form, save)


@require_POST
def consent_add(request: HttpRequest, public_id: Any) -> HttpResponse:
    user, patient = _patient_to_write(
        request, public_id, policies.can_record_consent, policies.CONSENT_REFUSED
    )
    form = _dated_card_form(ConsentForm, request, "consent", patient)

    def save(data: dict[str, Any]) -> str:
        return f"Consent recorded: {services.record_consent(patient, actor=user, **data)}."

    return _save_card_form(request, patient, "consent", form, save)


@require_POST
def consent_withdraw(request: HttpRequest, public_id: Any, consent_id: Any) -> HttpResponse:
    user = _user(request)
    patient = _patient(request, public_id)
    consent: Consent = get_visible_or_404(patient.consents.all(), consent_id)
    require(policies.can_record_consent(user, patient), policies.CONSENT_REFUSED)
    if not consent.is_active:
        # A second withdrawal (double submit, two tabs) must not overwrite the recorded date.
        return _respond(
            request,
            patient,
            "consent",
            overrides={
                "consent_error": f"{consent} was already withdrawn on "
                f"{consent.withdrawn_on:%Y-%m-%d}; nothing was changed."
            },
            open_flag="withdraw_open",
        )
    form = _withdraw_form(consent, _center_today(patient), request.POST)
    if form.is_valid():
        try:
            services.withdraw_consent(consent, actor=user, **form.cleaned_data)
        except InvalidInput as exc:
            apply_service_errors(form, exc)
        else:
            return _respond(request, patient, "consent", saved=f"Consent withdrawn: {consent}.")
    return _respond(
        request,
        patient,
        "consent",
        overrides={"withdraw_form": form, "withdraw_consent_id": consent.public_id},
        open_flag="withdraw_open",
    )


@require_POST
def measurement_add(request: HttpRequest, public_id: Any) -> HttpResponse:
    user, patient = _patient_to_write(
        request, public_id, policies.can_record_measurement, policies.MEASUREMENT_REFUSED
    )
    form = _dated_card_form(MeasurementForm, request, "measurement", patient)

    def save(data: dict[str, Any]) -> str:
        measurement = services.record_measurement(patient, actor=user, **data)
        return f"Measurement recorded: {measurement.weight_kg} kg, {measurement.height_cm} cm."

    return _save_card_form(request, patient, "measurement", form, save)
