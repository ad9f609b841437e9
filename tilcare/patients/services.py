"""Every write to a patient's record: identity, contacts, prior therapy, consent, measurements.

Each function takes `actor=`, checks the policy, validates, writes and records the audit event in
one transaction: a refused request leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, TypeVar

from django.db import transaction

from tilcare.accounts.models import Organization, User
from tilcare.audit.actions import Action
from tilcare.audit.hashing import snapshot
from tilcare.audit.services import record_change, record_event, record_written
from tilcare.core.errors import InvalidInput
from tilcare.core.policy import require
from tilcare.core.timeutil import local_today
from tilcare.core.validation import Errors, TextWords, check_date, check_decimal_range, check_text
from tilcare.patients import policies
from tilcare.patients.choices import ConsentKind
from tilcare.patients.guards import (
    check_date_of_birth,
    check_mrn_unique,
    check_not_before_birth,
)
from tilcare.patients.models import (
    HEIGHT_CM_MAX,
    HEIGHT_CM_MIN,
    WEIGHT_KG_MAX,
    WEIGHT_KG_MIN,
    BodyMeasurement,
    Consent,
    Contact,
    Patient,
    PriorTherapy,
)

PATIENT_FIELDS = (
    "mrn",
    "given_name",
    "family_name",
    "date_of_birth",
    "sex",
    "phone",
    "email",
    "address",
    "preferred_language",
    "cancer_type",
    "disease_stage",
    "braf_status",
    "diagnosed_on",
)
_REQUIRED = ("mrn", "given_name", "family_name", "date_of_birth", "sex")
_REQUIRED_WORDS = TextWords(required="{label} is required.")
_FORM_VERSION_WORDS = TextWords(
    required="Form version is required (as printed on the consent form)."
)
_Row = TypeVar("_Row", Patient, Contact, PriorTherapy, Consent, BodyMeasurement)
_Entry = TypeVar("_Entry", Contact, PriorTherapy)


def _add_to_record(
    row: _Row,
    action: Action,
    patient: Patient,
    actor: User,
    occurred_at: dt.datetime | None,
) -> _Row:
    """Save a new row of the patient's record (or the patient) with its audit event; the caller
    has checked it."""
    with transaction.atomic():
        row.save()
        record_written(
            action,
            row,
            actor=actor,
            subject_id=str(patient.public_id),
            occurred_at=occurred_at,
        )
    return row


def _add_checked(
    model: type[_Entry],
    data: Mapping[str, Any],
    errors: Errors,
    action: Action,
    patient: Patient,
    actor: User,
    occurred_at: dt.datetime | None,
) -> _Entry:
    """Add a row of the patient's record from the fields sent, once the caller's checks found
    nothing (else refused with their messages) and the model's own validation passes."""
    if errors:
        raise InvalidInput(errors)
    row = model(patient=patient, **data)
    row.full_clean()
    return _add_to_record(row, action, patient, actor, occurred_at)


def _validate_patient(
    data: Mapping[str, Any], *, center: Organization, patient: Patient | None
) -> Errors:
    errors: Errors = {}
    unknown = set(data) - set(PATIENT_FIELDS)
    if unknown:
        errors["__all__"] = [f"Unknown field(s): {', '.join(sorted(unknown))}."]
    merged = {f: getattr(patient, f) for f in PATIENT_FIELDS} if patient else {}
    merged.update(data)
    for field in _REQUIRED:
        if field != "date_of_birth":
            label = field.replace("_", " ").capitalize()
            check_text(errors, field, merged.get(field), label=label, words=_REQUIRED_WORDS)
    today = local_today(center.time_zone)
    check_date_of_birth(errors, merged.get("date_of_birth"), today)
    check_not_before_birth(
        errors,
        "diagnosed_on",
        "Date of diagnosis",
        merged.get("diagnosed_on"),
        merged.get("date_of_birth"),
        today,
    )
    if merged.get("mrn"):
        check_mrn_unique(errors, center.pk, str(merged["mrn"]).strip(), patient)
    return errors


def create_patient(
    *,
    actor: User,
    center: Organization,
    data: Mapping[str, Any],
    occurred_at: dt.datetime | None = None,
) -> Patient:
    """Register a patient. `occurred_at`: when it was done, if earlier than now (the audit
    event keeps both times)."""
    require(
        policies.can_create_patient(actor, center), "You may not register patients at this center."
    )
    errors = _validate_patient(data, center=center, patient=None)
    if errors:
        raise InvalidInput(errors)
    patient = Patient(center=center, **{k: v for k, v in data.items() if v is not None})
    patient.mrn = patient.mrn.strip()
    patient.full_clean()
    return _add_to_record(patient, Action.PATIENT_CREATE, patient, actor, occurred_at)


def update_patient(
    patient: Patient, *, actor: User, changes: Mapping[str, Any], reason: str = ""
) -> Patient:
    require(policies.can_change_patient(actor, patient), policies.CHANGE_REFUSED)
    errors = _validate_patient(changes, center=patient.center, patient=patient)
    if not reason.strip():
        # 21 CFR 11.10(e): a change to a regulated record says why.
        errors.setdefault("reason", []).append("Reason for change is required.")
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        patient = Patient.objects.select_for_update().get(pk=patient.pk)
        before = snapshot(patient)
        for field, value in changes.items():
            setattr(patient, field, value)
        patient.full_clean()
        patient.save()
        record_change(
            Action.PATIENT_UPDATE,
            patient,
            actor=actor,
            before=before,
            reason=reason,
            subject_id=str(patient.public_id),
        )
    return patient


def add_contact(
    patient: Patient,
    *,
    actor: User,
    data: Mapping[str, Any],
    occurred_at: dt.datetime | None = None,
) -> Contact:
    require(policies.can_change_patient(actor, patient), policies.CHANGE_REFUSED)
    errors: Errors = {}
    for field in ("name", "relationship", "phone"):
        label = field.capitalize()
        check_text(errors, field, data.get(field), label=label, words=_REQUIRED_WORDS)
    return _add_checked(
        Contact, data, errors, Action.PATIENT_CONTACT_ADD, patient, actor, occurred_at
    )


def add_prior_therapy(
    patient: Patient,
    *,
    actor: User,
    data: Mapping[str, Any],
    occurred_at: dt.datetime | None = None,
) -> PriorTherapy:
    require(policies.can_change_patient(actor, patient), policies.CHANGE_REFUSED)
    errors: Errors = {}
    today = local_today(patient.center.time_zone)
    check_not_before_birth(
        errors, "started_on", "Start date", data.get("started_on"), patient.date_of_birth, today
    )
    check_not_before_birth(
        errors, "ended_on", "End date", data.get("ended_on"), patient.date_of_birth, today
    )
    started, ended = data.get("started_on"), data.get("ended_on")
    if started and ended and ended < started:
        errors.setdefault("ended_on", []).append("End date cannot be before the start date.")
    if not data.get("therapy_class"):
        errors.setdefault("therapy_class", []).append("Therapy class is required.")
    return _add_checked(
        PriorTherapy, data, errors, Action.PATIENT_PRIOR_THERAPY_ADD, patient, actor, occurred_at
    )


def record_consent(
    patient: Patient,
    *,
    actor: User,
    kind: str,
    form_version: str,
    signed_on: dt.date,
    occurred_at: dt.datetime | None = None,
) -> Consent:
    require(policies.can_record_consent(actor, patient), policies.CONSENT_REFUSED)
    errors: Errors = {}
    if kind not in ConsentKind.values:
        errors["kind"] = [f"Choose one of: {', '.join(ConsentKind.labels)}."]
    form_version = check_text(errors, "form_version", form_version, words=_FORM_VERSION_WORDS)
    check_not_before_birth(
        errors,
        "signed_on",
        "Date signed",
        signed_on,
        patient.date_of_birth,
        local_today(patient.center.time_zone),
    )
    if errors:
        raise InvalidInput(errors)
    consent = Consent(
        patient=patient,
        kind=kind,
        form_version=form_version,
        signed_on=signed_on,
        obtained_by=actor,
    )
    return _add_to_record(consent, Action.PATIENT_CONSENT_RECORD, patient, actor, occurred_at)


def withdraw_consent(
    consent: Consent, *, actor: User, withdrawn_on: dt.date, reason: str
) -> Consent:
    require(policies.can_record_consent(actor, consent.patient), policies.CONSENT_REFUSED)
    errors: Errors = {}
    if consent.withdrawn_on is not None:
        # A second withdrawal would overwrite the date on record.
        errors["withdrawn_on"] = [f"This consent was already withdrawn on {consent.withdrawn_on}."]
    elif withdrawn_on < consent.signed_on:
        errors["withdrawn_on"] = [
            f"Withdrawal cannot be before the date signed ({consent.signed_on})."
        ]
    else:
        today = local_today(consent.patient.center.time_zone)
        check_date(errors, "withdrawn_on", "Withdrawal date", withdrawn_on, today=today)
    if not reason.strip():
        errors["reason"] = ["Say why the consent was withdrawn."]
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        before = snapshot(consent)
        consent.withdrawn_on = withdrawn_on
        consent.save(update_fields=["withdrawn_on", "updated_at"])
        record_written(
            Action.PATIENT_CONSENT_WITHDRAW,
            consent,
            actor=actor,
            before=before,
            reason=reason,
            subject_id=str(consent.patient.public_id),
        )
    return consent


def record_measurement(
    patient: Patient,
    *,
    actor: User,
    measured_on: dt.date,
    weight_kg: Any,
    height_cm: Any,
    occurred_at: dt.datetime | None = None,
) -> BodyMeasurement:
    """Record height and weight. Values are Decimal or text; floats are refused by the checks."""
    require(policies.can_record_measurement(actor, patient), policies.MEASUREMENT_REFUSED)
    errors: Errors = {}
    weight = check_decimal_range(
        errors, "weight_kg", "Weight", weight_kg, WEIGHT_KG_MIN, WEIGHT_KG_MAX, "kg"
    )
    height = check_decimal_range(
        errors, "height_cm", "Height", height_cm, HEIGHT_CM_MIN, HEIGHT_CM_MAX, "cm"
    )
    check_not_before_birth(
        errors,
        "measured_on",
        "Measurement date",
        measured_on,
        patient.date_of_birth,
        local_today(patient.center.time_zone),
    )
    if errors:
        raise InvalidInput(errors)
    assert weight is not None and height is not None
    measurement = BodyMeasurement(
        patient=patient,
        measured_on=measured_on,
        weight_kg=weight,
        height_cm=height,
        recorded_by=actor,
    )
    return _add_to_record(
        measurement, Action.PATIENT_MEASUREMENT_RECORD, patient, actor, occurred_at
    )


def link_portal_user(
    patient: Patient, *, actor: User, user: User, occurred_at: dt.datetime | None = None
) -> Patient:
    """Give the patient their own portal login (a user with the patient role at this center)."""
    require(policies.can_change_patient(actor, patient), policies.CHANGE_REFUSED)
    errors: Errors = {}
    if user.role != "patient" or user.organization_id != patient.center_id:
        errors["portal_user"] = ["Choose a patient-role account of this center."]
    elif Patient.objects.filter(portal_user=user).exclude(pk=patient.pk).exists():
        errors["portal_user"] = ["This account is already linked to another patient."]
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        patient = Patient.objects.select_for_update().get(pk=patient.pk)
        before = snapshot(patient, ("portal_user",))
        patient.portal_user = user
        patient.save(update_fields=["portal_user", "updated_at"])
        record_event(
            Action.PATIENT_PORTAL_USER_LINK,
            patient,
            actor=actor,
            before=before,
            after=snapshot(patient, ("portal_user",)),
            subject_id=str(patient.public_id),
            occurred_at=occurred_at,
        )
    return patient
