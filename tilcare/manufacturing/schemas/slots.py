"""API shapes for manufacturing slots and bookings.

Nothing here identifies a patient: a booking carries the COI identifier, the center and the
staff who booked it. Each output is built field by field (`slot_out`, `booking_out`) for the
caller, so that a center never receives another center's COI identifiers: a slot's `bookings`
list holds only the bookings the caller may see, while `booked` and `free` count them all.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from ninja import Field, Schema
from pydantic import ConfigDict

from tilcare.core.api_support import InputSchema, IsoDate, UtcDateTime, checked_range
from tilcare.manufacturing.choices import ATTEMPT_MAX, ATTEMPT_MIN, CAPACITY_MAX, CAPACITY_MIN
from tilcare.manufacturing.models import ManufacturingSlot, SlotBooking

_STRICT_INPUT = ConfigDict(extra="forbid")
# Ranges the services check (with the field's label and the value sent in the message).
CAPACITY = checked_range(CAPACITY_MIN, CAPACITY_MAX)


class SlotIn(InputSchema):
    model_config = _STRICT_INPUT

    starts_on: IsoDate = Field(..., description="The day manufacturing starts (tissue expected)")
    capacity: int = Field(..., json_schema_extra=CAPACITY, description="Places that day, 1 to 50")
    note: str = Field("", description="Seen by every center; never a patient's name")


class CapacityIn(InputSchema):
    model_config = _STRICT_INPUT

    capacity: int = Field(
        ...,
        json_schema_extra=CAPACITY,
        description="Places, 1 to 50; not below the places booked",
    )


class BookingIn(InputSchema):
    model_config = _STRICT_INPUT

    coi_din: str = Field(..., description="The journey's ISBT 128 DIN (13 characters)")
    coi_check: str = Field(..., description="Its ISO 7064 Mod 37-2 check character")
    manufacture_attempt: int = Field(
        1,
        json_schema_extra=checked_range(ATTEMPT_MIN, ATTEMPT_MAX),
        description=f"1, or 2 and more after a re-manufacture; at most {ATTEMPT_MAX}",
    )


class CancelIn(InputSchema):
    model_config = _STRICT_INPUT

    reason: str = Field(..., description="Why; seen by the facility, never a patient's name")


class BookingOut(Schema):
    public_id: UUID
    slot_id: UUID
    starts_on: IsoDate
    facility: str
    center: str
    coi_din: str
    coi_check: str
    coi_display: str
    manufacture_attempt: int
    is_active: bool
    booked_at: UtcDateTime
    booked_by: str
    cancelled_at: UtcDateTime | None
    cancelled_by: str | None
    cancellation_reason: str | None = Field(
        ..., description="Null for a facility when the center wrote it (it may name the patient)"
    )


class SlotOut(Schema):
    public_id: UUID
    facility_id: UUID
    facility: str
    starts_on: IsoDate
    capacity: int
    booked: int = Field(..., description="Active bookings, every center's")
    free: int
    is_full: bool
    note: str
    bookings: list[BookingOut] = Field(
        ..., description="Active bookings the caller may see: all for the facility, own center's"
    )


class SlotFullOut(Schema):
    detail: str
    errors: dict[str, list[str]]


def booking_out(booking: SlotBooking, *, viewer_org_id: int | None) -> BookingOut:
    slot = booking.slot
    canceller = booking.cancelled_by
    # The booking center sees its reason; a facility only the reasons its own staff wrote
    # (a center's free text may name the patient).
    reason_visible = viewer_org_id == booking.center_id or (
        canceller is not None and canceller.organization_id == viewer_org_id
    )
    return BookingOut(
        public_id=booking.public_id,
        slot_id=slot.public_id,
        starts_on=slot.starts_on,
        facility=slot.facility.name,
        center=booking.center.name,
        coi_din=booking.coi_din,
        coi_check=booking.coi_check,
        coi_display=booking.coi_display,
        manufacture_attempt=booking.manufacture_attempt,
        is_active=booking.is_active,
        booked_at=booking.booked_at,
        booked_by=booking.booked_by.printed_name,
        cancelled_at=booking.cancelled_at,
        cancelled_by=canceller.printed_name if canceller is not None else None,
        cancellation_reason=booking.cancellation_reason if reason_visible else None,
    )


def slot_out(slot: ManufacturingSlot, *, viewer_org_id: int | None) -> SlotOut:
    annotated: Any = slot
    bookings: list[SlotBooking] = getattr(slot, "visible_bookings", [])
    return SlotOut(
        public_id=slot.public_id,
        facility_id=slot.facility.public_id,
        facility=slot.facility.name,
        starts_on=slot.starts_on,
        capacity=slot.capacity,
        booked=annotated.booked,
        free=max(annotated.free, 0),
        is_full=annotated.free <= 0,
        note=slot.note,
        bookings=[booking_out(b, viewer_org_id=viewer_org_id) for b in bookings],
    )
