"""The scan page: a technologist or nurse with a hand scanner records each handoff.

First the step (those the user's organization records) and the journey, by its COI identifier
typed or scanned from the order (never from the item being checked); then each item's label is
scanned. Every scan is recorded. The answer is a large green "Matches" or red "Stop" panel that
says what to do next; with htmx only the panel is swapped, and scan.js clears and refocuses the
input for the next label. A facility user sees the COI identifier only, never the patient.

A scan entered late (from the paper custody form after a downtime) gives the time it was made, in
the center's local time, and why it is entered late; the page builds the scan's request and
records it through the journey's one door (`journey.services.custody.record_handoff`) like the
API, so the same time bounds, reason, attempt and expiry checks apply, and a refusal records
nothing.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_GET, require_POST

from tilcare.accounts.models import User
from tilcare.clinical.checkdigits import IdentifierError, parse_din_with_check
from tilcare.clinical.identity_scan import spaced
from tilcare.core.errors import InvalidInput
from tilcare.core.forms import DateTimeInput
from tilcare.core.policy import require
from tilcare.identity.choices import HandoffStep
from tilcare.identity.policies import can_record_scans
from tilcare.identity.services.custody import LATE_REASON_MAX, steps_for
from tilcare.journey import policies, selectors
from tilcare.journey.choices import Stage
from tilcare.journey.models import Journey
from tilcare.journey.services import custody
from tilcare.journey.views.common import (
    htmx_target,
    journey_url,
    local_time,
    user_of,
    user_time_zone,
)

RECENT_SCANS = 10

# What the person at the bench is told to do for each step (shown above the scan input).
STEP_HINTS: dict[str, str] = {
    HandoffStep.SPECIMEN_COLLECTED: "Scan each tumor specimen container as it leaves the room.",
    HandoffStep.SPECIMEN_DISPATCHED: "Scan each specimen container or the shipper as you hand "
    "it to the courier.",
    HandoffStep.TISSUE_RECEIVED: "Scan each tumor specimen container as it arrives.",
    HandoffStep.PRODUCT_DISPATCHED: "Scan each product bag, cassette or the shipper as you hand "
    "it to the courier.",
    HandoffStep.PRODUCT_RECEIVED: "Scan each product bag or cassette as it arrives: each must be "
    "this patient's, released and in date.",
    HandoffStep.PRODUCT_TO_STORAGE: "Scan each bag or cassette as it goes into storage.",
    HandoffStep.PRODUCT_TO_BEDSIDE: "Scan each bag or cassette as it leaves for the bedside.",
    HandoffStep.HANDOFF: "Scan the item you are handing over.",
}


class ScanSetupForm(forms.Form):
    """Which step, for which journey. The journey is found among those the user may see."""

    step = forms.ChoiceField(label="Step")
    coi = forms.CharField(
        label="Journey COI identifier",
        max_length=40,
        help_text="Scan the COI barcode on the order or worksheet, or type the 13 characters "
        "and the check character.",
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "class": "scan-input-medium"}
        ),
    )
    location = forms.CharField(
        label="Where",
        max_length=200,
        required=False,
        help_text="Room or bench, e.g. “Cell-therapy pharmacy”.",
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.journey: Journey | None = None
        step = self.fields["step"]
        assert isinstance(step, forms.ChoiceField)
        step.choices = [
            ("", "Choose the step"),
            *((s.value, s.label) for s in steps_for(user.organization)),
        ]
        self.fields["step"].error_messages["invalid_choice"] = (
            "Step: choose one of the steps your organization records."
        )
        self.fields["step"].error_messages["required"] = "Step is required: choose one."
        self.fields["coi"].error_messages["required"] = (
            "Journey COI identifier is required: scan or type it."
        )

    def clean_coi(self) -> str:
        text = self.cleaned_data["coi"]
        try:
            din = parse_din_with_check(text)
        except IdentifierError as error:
            raise forms.ValidationError(str(error)) from None
        journey = (
            selectors.visible_to(self.user)
            .select_related("center", "manufacturing_facility")
            .filter(coi_din=din)
            .first()
        )
        if journey is None:
            raise forms.ValidationError(
                f"No journey you can see has the COI identifier {spaced(din)}."
            )
        self.journey = journey
        return f"{journey.coi_din}{journey.coi_check}"


class ScanItemForm(forms.Form):
    scanned_text = forms.CharField(
        label="Scan the label",
        max_length=80,
        error_messages={
            "required": "Scan or type the label: nothing was read.",
            "max_length": "The label can be at most %(limit_value)d characters "
            "(it has %(show_value)d).",
        },
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "spellcheck": "false",
                "autocapitalize": "characters",
                "class": "scan-input",
                "data-scan-input": "",
                "autofocus": "",
            }
        ),
    )
    occurred_at = forms.DateTimeField(
        label="Scanned at",
        required=False,
        widget=DateTimeInput(),
        help_text="Leave empty for a scan made now. For a scan entered late, when it was made, "
        "in the center's local time.",
        error_messages={"invalid": "Scanned at must be a date and time (YYYY-MM-DD HH:MM)."},
    )
    late_entry_reason = forms.CharField(
        label="Why is it entered late?",
        max_length=LATE_REASON_MAX,
        required=False,
        help_text="Required for a scan made more than 5 minutes ago, e.g. “From the paper "
        "custody form after the system was down”.",
        error_messages={
            "max_length": "Why is it entered late: at most %(limit_value)d characters "
            "(it has %(show_value)d)."
        },
    )


def _session(request: HttpRequest, data: Any) -> ScanSetupForm:
    form = ScanSetupForm(data, user=user_of(request))
    form.is_valid()
    return form


def _context(request: HttpRequest, setup: ScanSetupForm, **extra: Any) -> dict[str, Any]:
    user = user_of(request)
    journey = setup.journey if setup.is_bound and not setup.errors else None
    context: dict[str, Any] = {
        "page_title": "Scan",
        "setup": setup,
        "journey": journey,
        "time_zone": journey.center.time_zone if journey else user_time_zone(user),
    }
    if journey is not None:
        step = setup.cleaned_data["step"]
        identity = policies.can_view_journey_identity(user, journey)
        context.update(
            {
                "step": step,
                "step_label": HandoffStep(step).label,
                "step_hint": STEP_HINTS[step],
                "stage_label": Stage(journey.stage).label,
                "location": setup.cleaned_data.get("location", ""),
                "coi": setup.cleaned_data["coi"],
                "identity": identity,
                # The patient row is read only for those who may see who the patient is.
                "patient": journey.patient if identity else None,
                "item_form": extra.pop("item_form", None) or ScanItemForm(),
                "recent": selectors.recent_scans(journey, user, step, RECENT_SCANS),
                "journey_url": journey_url(journey, "custody"),
            }
        )
    context.update(extra)
    return context


def _render(request: HttpRequest, context: dict[str, Any], *, partial: bool) -> HttpResponse:
    journey: Journey | None = context.get("journey")
    template = "journey/partials/_scan_result.html" if partial else "journey/scan.html"
    with local_time(context["time_zone"] if journey is None else journey.center.time_zone):
        return render(request, template, context)


def _require_scanner(user: User) -> None:
    require(
        can_record_scans(user),
        "Only staff who handle the specimen and the product record custody scans.",
    )


@require_GET
def scan_page(request: HttpRequest) -> HttpResponse:
    """The start form, or (with step and COI in the query) the scanning panel for that journey."""
    user = user_of(request)
    _require_scanner(user)
    if "coi" in request.GET and "step" in request.GET:
        setup = _session(request, request.GET)
    else:
        # From a journey page: the COI is filled in, the step is still to choose.
        setup = ScanSetupForm(user=user, initial={"coi": request.GET.get("coi", "")[:40]})
    return _render(request, _context(request, setup), partial=False)


@require_POST
def scan_record(request: HttpRequest) -> HttpResponse:
    """Record one scan. With htmx only the result panel is returned (always 200)."""
    user = user_of(request)
    _require_scanner(user)
    setup = _session(request, request.POST)
    if setup.errors:
        return _render(request, _context(request, setup), partial=False)
    journey = setup.journey
    assert journey is not None
    item_form = ScanItemForm(request.POST)
    result: custody.ScanStep | None = None
    refused: list[str] = []
    # A time typed on the page is read on the center's clocks.
    with local_time(journey.center.time_zone):
        valid = item_form.is_valid()
    if valid:
        try:
            scan = custody.scan_request(
                journey,
                setup.cleaned_data["step"],
                item_form.cleaned_data["scanned_text"],
                location=setup.cleaned_data.get("location", ""),
                occurred_at=item_form.cleaned_data.get("occurred_at"),
                late_entry_reason=item_form.cleaned_data.get("late_entry_reason", ""),
            )
            result = custody.record_handoff(journey, scan, actor=user)
        except InvalidInput as error:
            refused = [m for messages in error.errors.values() for m in messages]
    else:
        refused = [str(m) for messages in item_form.errors.values() for m in messages]
    partial = htmx_target(request) == "scan-result"
    # After a scan the input is empty again, ready for the next label.
    context = _context(request, setup, item_form=ScanItemForm(), result=result, refused=refused)
    return _render(request, context, partial=partial)


@require_GET
def journey_by_coi(request: HttpRequest, din: str) -> HttpResponse:
    """The journey page of a COI identifier (for pages that know the COI only), or 404."""
    journey = selectors.visible_to(request.user).filter(coi_din=din.upper()[:13]).first()
    if journey is None:
        raise Http404("Not found")
    return redirect(journey_url(journey, "custody"))


urlpatterns = [
    path("scan/", scan_page, name="scan"),
    path("scan/record/", scan_record, name="scan-record"),
    path("journeys/coi/<str:din>/", journey_by_coi, name="journey-by-coi"),
]
