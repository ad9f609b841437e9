"""Forms of the manufacturing pages: the slots page, and the batch page.

Slots: they check at the edge with the services' limits and words; the services check again and
the views show any refusal on the same form (`apply_service_errors`, with the service's `coi_din`
and `coi_check` messages shown on the one COI field the person typed or scanned into).

The batch page: each form carries its unit in the label and converts nothing silently: counts
typed in millions (pre-REP) or billions (REP) of cells are multiplied out exactly, and a value
that does not come to a whole number of cells is refused.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import QuerySet

from tilcare.clinical.checkdigits import IdentifierError, parse_din_with_check
from tilcare.core.forms import DateInput, DateTimeInput, DecimalField, IntegerField
from tilcare.core.http import upload_too_large
from tilcare.manufacturing.choices import (
    ATTEMPT_MAX,
    ATTEMPT_MIN,
    CANCEL_REASON_MAX,
    CAPACITY_MAX,
    CAPACITY_MIN,
    NOTE_MAX,
)
from tilcare.manufacturing.models import (
    CD137_DIFFERENCE_MAX,
    FOLD_MAX,
    IFN_GAMMA_DIFFERENCE_MAX,
    ManufacturingSlot,
)
from tilcare.manufacturing.reactivity_csv import HEADER_TEXT, MAX_BYTES
from tilcare.manufacturing.selectors.forecast import THRESHOLD_FIELDS
from tilcare.manufacturing.services.slots import day_text
from tilcare.patients.forms import NamedErrorsForm

CAPACITY_RANGE = f"Capacity must be a whole number of places from {CAPACITY_MIN} to {CAPACITY_MAX}."
ATTEMPT_RANGE = f"Manufacture attempt must be a whole number from {ATTEMPT_MIN} to {ATTEMPT_MAX}."


def _capacity_field(**kwargs: Any) -> IntegerField:
    return IntegerField(
        label="Places",
        min_value=CAPACITY_MIN,
        max_value=CAPACITY_MAX,
        error_messages={
            "invalid": CAPACITY_RANGE,
            "min_value": CAPACITY_RANGE,
            "max_value": CAPACITY_RANGE,
        },
        **kwargs,
    )


class SlotCreateForm(NamedErrorsForm):
    starts_on = forms.DateField(
        label="Start date",
        widget=DateInput,
        help_text="The day manufacturing starts: the tissue is expected at the facility.",
    )
    capacity = _capacity_field(
        help_text=f"How many products can start that day ({CAPACITY_MIN}–{CAPACITY_MAX})."
    )
    note = forms.CharField(
        label="Note",
        max_length=NOTE_MAX,
        required=False,
        help_text="Seen by every center. Never write a patient's name.",
    )


class CapacityForm(NamedErrorsForm):
    capacity = _capacity_field()


class BookingForm(NamedErrorsForm):
    """Book a place: which slot, and the COI identifier typed or scanned (14 characters)."""

    slot = forms.CharField(label="Start date and facility", widget=forms.Select)
    coi = forms.CharField(
        label="COI identifier",
        max_length=40,
        help_text="Type or scan the identifier with its check character, e.g. W1234 26 000017 H.",
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "class": "coi-input"}
        ),
    )
    manufacture_attempt = IntegerField(
        label="Manufacture attempt",
        initial=1,
        min_value=ATTEMPT_MIN,
        max_value=ATTEMPT_MAX,
        help_text="1 for the first manufacture; 2 or more after a re-manufacture.",
        error_messages={
            "invalid": ATTEMPT_RANGE,
            "min_value": ATTEMPT_RANGE,
            "max_value": ATTEMPT_RANGE,
        },
    )

    def __init__(
        self,
        *args: Any,
        slots: QuerySet[ManufacturingSlot],
        open_slots: list[ManufacturingSlot],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._slots = slots
        # Only dates with a free place are offered; a date that filled up since the page was
        # shown is still accepted here, so the service can say it is full.
        self.fields["slot"].widget.choices = [
            ("", "Choose a date…"),
            *[
                (
                    str(slot.public_id),
                    f"{day_text(slot.starts_on)} · {slot.facility.name} · "
                    f"{slot.free} of {slot.capacity} free",  # type: ignore[attr-defined]
                )
                for slot in open_slots
            ],
        ]

    def clean_slot(self) -> ManufacturingSlot:
        value = self.cleaned_data["slot"]
        try:
            key = uuid.UUID(str(value))
        except ValueError:
            raise forms.ValidationError("Choose a start date from the list.") from None
        slot = self._slots.filter(public_id=key).first()
        if slot is None:
            raise forms.ValidationError("Choose a start date from the list.")
        return slot

    def clean_coi(self) -> str:
        text: str = self.cleaned_data["coi"]
        try:
            din = parse_din_with_check(text)
        except IdentifierError as error:
            raise forms.ValidationError(f"COI identifier: {error}") from None
        self.cleaned_data["coi_check"] = text.strip().upper().replace(" ", "").lstrip("=")[13]
        return din


class CancelBookingForm(NamedErrorsForm):
    reason = forms.CharField(
        label="Reason for cancelling",
        max_length=CANCEL_REASON_MAX,
        help_text="Seen by the facility. Never write the patient's name.",
    )


# --- the batch page -----------------------------------------------------------------------------

MILLION = Decimal(10) ** 6
BILLION = Decimal(10) ** 9


def _cells(value: Decimal | None, factor: Decimal, field: str) -> Decimal | None:
    if value is None:
        return None
    cells = value * factor
    if cells != cells.to_integral_value():
        raise forms.ValidationError({field: "This does not come to a whole number of cells."})
    return cells.quantize(Decimal(1))


class TissueReceiptForm(forms.Form):
    received_at = forms.DateTimeField(label="Received at", widget=DateTimeInput())
    weight_g = DecimalField(
        label="Tissue weight (g)", help_text="0.001 to 500 g, up to 3 decimals."
    )
    fragments = IntegerField(label="Fragments", help_text="1 to 200.")
    note = forms.CharField(label="Note", required=False, max_length=400)


class CultureForm(forms.Form):
    culture_id = forms.CharField(
        label="Culture (well) id", max_length=20, help_text="As on the plate, e.g. F03."
    )
    viable_cells_1e6 = DecimalField(
        label="Viable cells (×10⁶)", required=False, help_text="e.g. 25.4 for 25.4 million."
    )
    viability_percent = DecimalField(label="Viability (%)", required=False)
    counted_at = forms.DateTimeField(label="Counted at", required=False, widget=DateTimeInput())

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["viable_cells"] = _cells(data.get("viable_cells_1e6"), MILLION, "viable_cells_1e6")
        return data


class CultureCountForm(forms.Form):
    culture_id = forms.ChoiceField(label="Culture")
    viable_cells_1e6 = DecimalField(label="Viable cells (×10⁶)")
    viability_percent = DecimalField(label="Viability (%)")
    counted_at = forms.DateTimeField(label="Counted at", widget=DateTimeInput())

    def __init__(self, *args: Any, culture_ids: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["culture_id"].choices = [(c, c) for c in culture_ids]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["viable_cells"] = _cells(data.get("viable_cells_1e6"), MILLION, "viable_cells_1e6")
        return data


class ScreenUploadForm(forms.Form):
    file = forms.FileField(
        label="Plate-reader CSV",
        help_text=(
            f"First line exactly {HEADER_TEXT}. IFN-γ in pg/mL (one decimal at most), CD137 in % "
            f"(two decimals at most), numbers only, one line per culture; at most {MAX_BYTES:,} "
            "bytes. The whole file is imported or none of it."
        ),
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        # The size Django counted as it stored the upload: refused before the file is read.
        if upload.size is not None and upload.size > MAX_BYTES:
            raise forms.ValidationError(upload_too_large(MAX_BYTES))
        return upload


def _threshold_field(label: str, maximum: Decimal) -> DecimalField:
    """A reactivity threshold from 0 to the stored threshold's plausibility limit."""
    limit = f"{label} must be from 0 to {maximum:,f}."
    return DecimalField(
        label=label,
        min_value=0,
        max_value=maximum,
        error_messages={"min_value": limit, "max_value": limit},
    )


class ThresholdsForm(forms.Form):
    """The facility's reactivity thresholds (no defaults), entered for the ranking."""

    min_ifn_gamma_difference_pg_per_ml = _threshold_field(
        THRESHOLD_FIELDS[0][1], IFN_GAMMA_DIFFERENCE_MAX
    )
    min_ifn_gamma_fold = _threshold_field(THRESHOLD_FIELDS[1][1], FOLD_MAX)
    min_cd137_difference_points = _threshold_field(THRESHOLD_FIELDS[2][1], CD137_DIFFERENCE_MAX)


class SelectionForm(ThresholdsForm):
    culture_ids = forms.MultipleChoiceField(
        label="Cultures for the REP", widget=forms.CheckboxSelectMultiple
    )
    reason = forms.CharField(
        label="Why these cultures",
        max_length=400,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Recorded with your name, the thresholds and the ranking as shown.",
    )

    def __init__(self, *args: Any, culture_ids: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["culture_ids"].choices = [(c, c) for c in culture_ids]  # type: ignore[attr-defined]
        self.order_fields(["culture_ids", "reason"])


class WarningThresholdForm(forms.Form):
    warn_below_probability = DecimalField(
        label="Early warning below probability",
        required=False,
        help_text="Above 0 and at most 1 (e.g. 0.80): warn when the chance of reaching the lower "
        "dose by the planned harvest day is below it. Empty: the facility's stored setting.",
    )


class RepCountForm(forms.Form):
    day = IntegerField(label="REP day", help_text="Day 0 is the REP start.")
    viable_cells_1e9 = DecimalField(
        label="Viable cells (×10⁹)", help_text="e.g. 2.8 for 2.8 billion."
    )
    viability_percent = DecimalField(label="Viability (%)")
    counted_at = forms.DateTimeField(label="Counted at", widget=DateTimeInput())

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["viable_cells"] = _cells(data.get("viable_cells_1e9"), BILLION, "viable_cells_1e9")
        return data


class HarvestPlanForm(forms.Form):
    planned_harvest_on = forms.DateField(label="Planned harvest date", widget=DateInput())


class AdvanceForm(forms.Form):
    to_status = forms.CharField(widget=forms.HiddenInput)
    rep_started_on = forms.DateField(
        label="REP started on",
        required=False,
        widget=DateInput(),
        help_text="Day 0; today if empty.",
    )
    reason = forms.CharField(label="Reason", required=False, max_length=400)


def _required_reason(label: str, help_text: str) -> forms.CharField:
    """The written reason an ending step requires: up to 400 characters in a three-line box."""
    return forms.CharField(
        label=label,
        max_length=400,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=help_text,
    )


class StopForm(forms.Form):
    to_status = forms.CharField(widget=forms.HiddenInput)
    reason = _required_reason(
        "Who at the center asked to stop, and when",
        "The center withdrew the patient from therapy; this is not a manufacturing failure. "
        "Never a patient's name.",
    )


class RejectForm(forms.Form):
    to_status = forms.CharField(widget=forms.HiddenInput)
    reason = _required_reason(
        "Why the batch is rejected", "Seen in the batch's history; never a patient's name."
    )
