"""Release pages of the batch record: the release checklist, the specifications, the CoA.

- `batches/<id>/release/`: the release checklist card as its own page (the batch page includes
  the same card, `manufacturing/partials/_release.html`, with `release_context()`): the
  formulation, each required test with its specification, result and outcome (missing ones
  marked), the QA disposition form and, for a treating physician, the acknowledgement of a
  release under exception. Facility staff and the center's care team may open it; neither sees
  the patient, only the COI identifier.
- `release-specifications/`: the facility's criteria per protocol and test; its QA sets them.
- `thresholds/`: beside them, the facility's reactivity-screen thresholds and early-warning
  threshold, which the batch pages use; its staff read them, its QA sets them.
- `batches/<id>/coa.pdf`: the certificate of analysis, once QA has decided.

The disposition and the acknowledgement are posted to the journey layer
(`tilcare.journey.views.release`), which signs through the services here and records what
follows for the journey. Forms post with htmx into the card (`#batch-release`): a refusal comes
back as 200 with its messages, a success with a notice; without htmx a success redirects back
(`next`).
"""

from __future__ import annotations

import zoneinfo
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from tilcare.accounts.models import User
from tilcare.clinical.units import Unit, cells_1e9
from tilcare.core.errors import InvalidInput
from tilcare.core.forms import DateTimeInput, DecimalField, apply_service_errors
from tilcare.core.http import get_visible_or_404
from tilcare.core.policy import require
from tilcare.identity.services.items import STORAGE_HELP, STORAGE_MAX
from tilcare.manufacturing import coa, policies
from tilcare.manufacturing.choices import Disposition, ReleaseTestKind
from tilcare.manufacturing.models import Batch, ReleaseSpecification
from tilcare.manufacturing.selectors.batches import batches_visible_to
from tilcare.manufacturing.services import formulation
from tilcare.manufacturing.services import release as release_services
from tilcare.manufacturing.services.formulation import MAX_BAGS, cells_e9_text
from tilcare.patients.forms import NamedErrorsForm

CARD = "manufacturing/partials/_release.html"
PAGE = "manufacturing/batch_release.html"
FIRST_BAG_ROWS = 4  # shown open; the rest up to MAX_BAGS under "More bags"


class FormulationForm(NamedErrorsForm):
    storage_temperature = forms.CharField(
        label="Storage temperature", max_length=STORAGE_MAX, help_text=STORAGE_HELP
    )
    formulated_at = forms.DateTimeField(label="Formulated at", widget=DateTimeInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for n in range(1, MAX_BAGS + 1):
            self.fields[f"volume_ml_{n}"] = DecimalField(
                label=f"Bag {n} volume (mL)",
                required=False,
                min_value=Decimal("0.1"),
                max_digits=6,
                decimal_places=1,
            )
            self.fields[f"cells_e9_{n}"] = DecimalField(
                label=f"Bag {n} viable cells (×10⁹)",
                required=False,
                min_value=Decimal("0"),
                max_digits=13,
                decimal_places=9,
            )
        self.bags: list[tuple[Decimal, Decimal]] = []

    def rows(self) -> list[tuple[int, forms.BoundField, forms.BoundField]]:
        return [(n, self[f"volume_ml_{n}"], self[f"cells_e9_{n}"]) for n in range(1, MAX_BAGS + 1)]

    def extra_rows_used(self) -> bool:
        """Whether a row past the first few was filled in (its fold then opens)."""
        rows = range(FIRST_BAG_ROWS + 1, MAX_BAGS + 1)
        names = [f"{kind}_{n}" for n in rows for kind in ("volume_ml", "cells_e9")]
        return self.is_bound and any(self.data.get(name) for name in names)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or self.cleaned_data
        for n in range(1, MAX_BAGS + 1):
            volume, e9 = data.get(f"volume_ml_{n}"), data.get(f"cells_e9_{n}")
            if volume is None and e9 is None:
                continue
            if volume is None or e9 is None:
                self.add_error(None, f"Bag {n}: give both the volume and the viable cells.")
                continue
            # ×10⁹ cells, as counted, to cells, as stored: explicit and exact.
            self.bags.append((volume, cells_1e9(e9).to(Unit.cells).magnitude))
        if not self.bags and not self.errors:
            self.add_error(None, "Give at least one bag: its volume and viable cells.")
        return data


class ReleaseTestForm(NamedErrorsForm):
    result_value = DecimalField(label="Result", required=False, max_digits=20, decimal_places=4)
    unit = forms.CharField(label="Unit", required=False, max_length=30, widget=forms.HiddenInput)
    result_text = forms.CharField(label="Result", required=False, max_length=80)
    tested_at = forms.DateTimeField(label="Tested at", widget=DateTimeInput)


class DispositionForm(NamedErrorsForm):
    decision = forms.ChoiceField(
        label="Decision", choices=Disposition.choices, widget=forms.RadioSelect
    )
    reason = forms.CharField(
        label="Reason",
        required=False,
        max_length=600,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Shown on the certificate of analysis and to the treating physician.",
    )
    expires_at = forms.DateTimeField(
        label="Product expiry",
        required=False,
        widget=DateTimeInput,
        help_text="From the facility's stability data; there is no default.",
    )
    password = forms.CharField(
        label="Your password",
        widget=forms.PasswordInput,
        help_text="Signing re-asks your password.",
    )


class AcknowledgementForm(NamedErrorsForm):
    password = forms.CharField(
        label="Your password",
        widget=forms.PasswordInput,
        help_text="Signing re-asks your password.",
    )


# ---------- helpers shared with the batch page and the journey's release views ----------


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def batch_of(request: HttpRequest, public_id: Any) -> Batch:
    """The batch if this user may see its release; 404 otherwise (existence does not leak)."""
    batch: Batch = get_visible_or_404(batches_visible_to(request.user), public_id)
    return batch


def time_zone_of(user: User) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(user.organization.time_zone if user.organization else "UTC")


def valid_in_zone(form: forms.Form, user: User) -> bool:
    """Validate with date-times read in the user's organization's time zone."""
    with timezone.override(time_zone_of(user)):
        return form.is_valid()


def _url(name: str, batch: Batch) -> str | None:
    try:
        return reverse(name, args=[batch.public_id])
    except NoReverseMatch:
        return None


def _next(request: HttpRequest, batch: Batch) -> str:
    candidate = request.POST.get("next", "") if request.method == "POST" else ""
    candidate = candidate or (request.get_full_path() if request.method == "GET" else "")
    if candidate and url_has_allowed_host_and_scheme(candidate, {request.get_host()}):
        return candidate
    return reverse("manufacturing:batch-release", args=[batch.public_id])


def release_context(
    request: HttpRequest,
    batch: Batch,
    *,
    bound: dict[str, Any] | None = None,
    notices: tuple[str, ...] = (),
) -> dict[str, Any]:
    """What `_release.html` needs; `bound` holds forms that came back refused, by name."""
    user, bound = _user(request), bound or {}
    summary = coa.release_summary(batch)
    now = timezone.localtime(timezone.now(), time_zone_of(user)).strftime("%Y-%m-%dT%H:%M")
    tests = []
    may_test = policies.can_record_release_test(user, batch)
    specs = {
        s.test: s
        for s in ReleaseSpecification.objects.filter(
            facility_id=batch.facility_id, protocol_id=batch.protocol_id
        )
    }
    for row in summary.tests:
        form = None
        ready = row.kind == ReleaseTestKind.VIABLE_CELL_DOSE and summary.bags
        if may_test and row.passed is None and (row.kind in specs or ready):
            spec = specs.get(row.kind)
            form = bound.get(f"test-{row.kind}") or ReleaseTestForm(
                prefix=row.kind, initial={"tested_at": now, "unit": spec.unit if spec else ""}
            )
        tests.append({"row": row, "form": form, "spec": specs.get(row.kind)})
    may_formulate = policies.can_record_formulation(user, batch) and not summary.bags
    may_decide = policies.can_decide_disposition(user, batch)
    may_ack = policies.can_acknowledge_exception(user, batch)
    return {
        "batch": batch,
        "summary": summary,
        "tests": tests,
        "time_zone": time_zone_of(user).key,
        "next_url": _next(request, batch),
        "notices": notices,
        "formulation_form": (
            bound.get("formulation") or FormulationForm(initial={"formulated_at": now})
        )
        if may_formulate
        else None,
        "first_bag_rows": FIRST_BAG_ROWS,
        "disposition_form": (bound.get("disposition") or DispositionForm()) if may_decide else None,
        "ack_form": (bound.get("acknowledgement") or AcknowledgementForm()) if may_ack else None,
        "disposition_url": _url("journey:batch-disposition", batch),
        "ack_url": _url("journey:batch-acknowledgement", batch),
        "coa_url": _url("manufacturing:batch-coa", batch) if summary.disposition else None,
        "specs_url": reverse("manufacturing:release-specifications")
        if policies.can_view_specifications(user, batch.facility)
        else None,
        "signatures": [
            (who, line)
            for who, line in (
                ("QA", summary.qa_signature),
                ("Treating physician", summary.physician_signature),
            )
            if line is not None
        ],
        "total_cells_text": cells_e9_text(summary.total_cells) if summary.total_cells else "",
        "qa_meanings": {str(k): v for k, v in release_services.QA_MEANINGS.items()},
        "ack_meaning": release_services.PHYSICIAN_ACK_MEANING,
    }


def render_release(
    request: HttpRequest,
    batch: Batch,
    *,
    bound: dict[str, Any] | None = None,
    notices: tuple[str, ...] = (),
) -> HttpResponse:
    """The card alone for htmx, else the whole page (a refusal answers 200 with its messages)."""
    batch = Batch.objects.select_related("facility", "center").get(pk=batch.pk)
    context = release_context(request, batch, bound=bound, notices=notices)
    with timezone.override(time_zone_of(_user(request))):
        if getattr(request, "htmx", False):
            return render(request, CARD, context)
        return render(request, PAGE, {**context, "page_title": "Batch release"})


def after_action(
    request: HttpRequest, batch: Batch, message: str, notes: tuple[str, ...] = ()
) -> HttpResponse:
    """A success: the card with the notice (htmx), or back to where the form was (no reload
    repeats it)."""
    if getattr(request, "htmx", False):
        return render_release(request, batch, notices=(message, *notes))
    messages.success(request, message)
    for note in notes:
        messages.info(request, note)
    return redirect(_next(request, batch))


# ---------- views ----------


@require_GET
def batch_release(request: HttpRequest, public_id: Any) -> HttpResponse:
    return render_release(request, batch_of(request, public_id))


@require_POST
def formulation_record(request: HttpRequest, public_id: Any) -> HttpResponse:
    batch, user = batch_of(request, public_id), _user(request)
    form = FormulationForm(request.POST)
    if valid_in_zone(form, user):
        try:
            bags = formulation.record_formulation(
                batch,
                bags=form.bags,
                actor=user,
                storage_temperature=form.cleaned_data["storage_temperature"],
                formulated_at=form.cleaned_data["formulated_at"],
            )
        except InvalidInput as error:
            apply_service_errors(form, error)
        else:
            return after_action(
                request,
                batch,
                f"Formulation recorded: {len(bags)} bag(s), each with its label item.",
            )
    return render_release(request, batch, bound={"formulation": form})


@require_POST
def release_test_record(request: HttpRequest, public_id: Any, test: str) -> HttpResponse:
    batch, user = batch_of(request, public_id), _user(request)
    form = ReleaseTestForm(request.POST, prefix=test)
    if valid_in_zone(form, user):
        try:
            result = release_services.record_release_test(
                batch, test=test, actor=user, **form.cleaned_data
            )
        except InvalidInput as error:
            apply_service_errors(form, error)
        else:
            outcome = "passed" if result.passed else "FAILED"
            label = ReleaseTestKind(result.test).label
            return after_action(request, batch, f"{label} recorded: {outcome}.")
    return render_release(request, batch, bound={f"test-{test}": form})


@require_GET
def coa_download(request: HttpRequest, public_id: Any) -> HttpResponse:
    batch = batch_of(request, public_id)
    require(policies.can_download_coa(request.user, batch), "You may not download this CoA.")
    if not hasattr(batch, "disposition"):
        messages.error(request, "The certificate of analysis is issued after QA's disposition.")
        return redirect(reverse("manufacturing:batch-release", args=[batch.public_id]))
    response = HttpResponse(coa.coa_pdf(batch), content_type="application/pdf")
    name = f"CoA-{batch.coi_din}-attempt-{batch.manufacture_attempt}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


urlpatterns = [
    path("batches/<uuid:public_id>/release/", batch_release, name="batch-release"),
    path(
        "batches/<uuid:public_id>/release/formulation/",
        formulation_record,
        name="batch-formulation",
    ),
    path(
        "batches/<uuid:public_id>/release/tests/<str:test>/",
        release_test_record,
        name="batch-release-test",
    ),
    path("batches/<uuid:public_id>/coa.pdf", coa_download, name="batch-coa"),
]
