"""The facility's own settings pages: its release specifications (per protocol file) and its
reactivity-screen and early-warning thresholds. The facility's staff read them; its QA reviewer
sets them; anyone else is refused (403). Neither has a default anywhere: what is not set says so.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from tilcare.accounts.models import Organization, User
from tilcare.core.errors import InvalidInput
from tilcare.core.forms import DecimalField, apply_service_errors
from tilcare.core.policy import require
from tilcare.manufacturing import policies
from tilcare.manufacturing.choices import ReleaseTestKind
from tilcare.manufacturing.models import ReleaseSpecification
from tilcare.manufacturing.selectors.forecast import SETTING_FIELDS, stored_thresholds
from tilcare.manufacturing.services import formulation
from tilcare.manufacturing.services import thresholds as threshold_services
from tilcare.manufacturing.services.formulation import dose_specification
from tilcare.manufacturing.views.release import time_zone_of
from tilcare.patients.forms import NamedErrorsForm
from tilcare.protocols.loader import available_protocols, load_protocol

SPECS_PAGE = "manufacturing/release_specifications.html"
THRESHOLDS_PAGE = "manufacturing/facility_thresholds.html"
# What each stored threshold is for and its unit, as the thresholds page shows them.
THRESHOLD_USES = {
    "min_ifn_gamma_difference_pg_per_ml": (
        "pg/mL", "Reactive when IFN-γ against tumor minus control is at least this."
    ),
    "min_ifn_gamma_fold": (
        "× control", "Reactive when IFN-γ against tumor divided by control is at least this "
        "(not assessable when the control is 0 pg/mL)."
    ),
    "min_cd137_difference_points": (
        "percentage points", "Reactive when CD137 % against tumor minus control is at least this."
    ),
    "warn_below_probability": (
        "probability", "Early warning when the chance of reaching the protocol's lower dose by "
        "the planned harvest day is below this."
    ),
}  # fmt: skip


class SpecificationForm(NamedErrorsForm):
    protocol_id = forms.ChoiceField(label="Protocol")
    test = forms.ChoiceField(
        label="Test",
        choices=[c for c in ReleaseTestKind.choices if c[0] != ReleaseTestKind.VIABLE_CELL_DOSE],
    )
    minimum = DecimalField(label="Minimum", required=False, max_digits=20, decimal_places=4)
    maximum = DecimalField(label="Maximum", required=False, max_digits=20, decimal_places=4)
    unit = forms.CharField(
        label="Unit", required=False, max_length=30, help_text="With limits, e.g. “%” or “EU/mL”."
    )
    expected_text = forms.CharField(
        label="Expected result",
        required=False,
        max_length=80,
        help_text="For a pass/fail test, e.g. “No growth”.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        ids = sorted({ref.protocol_id for ref in available_protocols()})
        cast(forms.ChoiceField, self.fields["protocol_id"]).choices = [(i, i) for i in ids]


class FacilityThresholdsForm(NamedErrorsForm):
    """The four settings as typed: the service reads each number and names its limit; an empty
    field is "not set"."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field, label in SETTING_FIELDS:
            rule = threshold_services.LIMITS[field].rule
            self.fields[field] = forms.CharField(
                label=label,
                required=False,
                max_length=40,
                widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
                help_text=f"{rule[0].upper()}{rule[1:]}. Empty: not set.",
            )


def _staff_facility(
    request: HttpRequest, may_view: Callable[[User, Organization], bool], refusal: str
) -> tuple[User, Organization]:
    """The caller and their facility, once `may_view` lets them read its settings (else 403)."""
    user = _user(request)
    facility = user.organization
    require(facility is not None and may_view(user, facility), refusal)
    assert facility is not None
    return user, facility


@require_http_methods(["GET", "POST"])
def release_specifications(request: HttpRequest) -> HttpResponse:
    user, facility = _staff_facility(
        request,
        policies.can_view_specifications,
        "Release specifications are kept by a manufacturing facility's staff.",
    )
    may_set = policies.can_set_release_specification(user, facility)
    form = SpecificationForm(request.POST or None) if may_set else None
    if request.method == "POST":
        require(may_set, "Only a QA reviewer of this facility sets its release specifications.")
        assert form is not None
        if form.is_valid():
            try:
                spec = formulation.set_release_specification(
                    facility=facility, actor=user, **form.cleaned_data
                )
            except InvalidInput as error:
                apply_service_errors(form, error)
            else:
                messages.success(
                    request,
                    f"{ReleaseTestKind(spec.test).label} under "
                    f"{spec.protocol_id}: {spec.criterion}.",
                )
                return redirect(reverse("manufacturing:release-specifications"))
    specs = ReleaseSpecification.objects.filter(facility=facility).select_related("set_by")
    by_key = {(s.protocol_id, s.test): s for s in specs}
    protocols = []
    for ref in available_protocols():
        dose = dose_specification(load_protocol(ref.protocol_id, ref.version).cell_dose)
        rows = [(kind, by_key.get((ref.protocol_id, kind))) for kind in ReleaseTestKind]
        protocols.append({"ref": ref, "dose": dose, "rows": rows})
    return render(
        request,
        SPECS_PAGE,
        {
            "page_title": "Release specifications",
            "facility": facility,
            "protocols": protocols,
            "form": form,
            "dose_kind": ReleaseTestKind.VIABLE_CELL_DOSE,
            "thresholds_url": reverse("manufacturing:facility-thresholds"),
        },
    )


@require_http_methods(["GET", "POST"])
def facility_thresholds(request: HttpRequest) -> HttpResponse:
    """The facility's reactivity-screen and early-warning thresholds: its staff read them, its
    QA reviewer sets them; anyone else is refused (403)."""
    user, facility = _staff_facility(
        request,
        policies.can_view_facility_thresholds,
        "The thresholds are kept by a manufacturing facility's staff.",
    )
    may_set = policies.can_set_facility_thresholds(user, facility)
    stored = stored_thresholds(facility.pk)
    form = None
    if request.method == "POST":
        require(may_set, threshold_services.NOT_QA)
        form = FacilityThresholdsForm(request.POST)
        if form.is_valid():
            try:
                threshold_services.set_facility_thresholds(
                    facility, actor=user, values=form.cleaned_data
                )
            except InvalidInput as error:
                apply_service_errors(form, error)
            else:
                messages.success(request, "Thresholds saved; the batch pages use them from now.")
                return redirect(reverse("manufacturing:facility-thresholds"))
    elif may_set:
        form = FacilityThresholdsForm(
            initial={f: v for f, v in stored.values.items() if v is not None}
        )
    rows = [
        {
            "field": field,
            "label": label,
            "value": stored.values.get(field),
            "unit": THRESHOLD_USES[field][0],
            "use": THRESHOLD_USES[field][1],
        }
        for field, label in SETTING_FIELDS
    ]
    with timezone.override(time_zone_of(user)):
        return render(
            request,
            THRESHOLDS_PAGE,
            {
                "page_title": "Screen and early-warning thresholds",
                "facility": facility,
                "stored": stored,
                "screen_rows": rows[:3],
                "warn_row": rows[3],
                "form": form,
                "time_zone": time_zone_of(user).key,
            },
        )


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


urlpatterns = [
    path("release-specifications/", release_specifications, name="release-specifications"),
    path("thresholds/", facility_thresholds, name="facility-thresholds"),
]
