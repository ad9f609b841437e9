"""Forms for the slots page.

They check at the edge with the services' limits and words; the services check again and the
views show any refusal on the same form (`apply_service_errors`, with the service's `coi_din` and
`coi_check` messages shown on the one COI field the person typed or scanned into).
"""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.db.models import QuerySet

from tilcare.clinical.checkdigits import IdentifierError, parse_din_with_check
from tilcare.core.forms import DateInput, IntegerField
from tilcare.manufacturing.choices import (
    ATTEMPT_MAX,
    ATTEMPT_MIN,
    CANCEL_REASON_MAX,
    CAPACITY_MAX,
    CAPACITY_MIN,
    NOTE_MAX,
)
from tilcare.manufacturing.models import ManufacturingSlot
from tilcare.manufacturing.services import day_text
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
