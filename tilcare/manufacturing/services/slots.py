"""Every write to manufacturing capacity: slots (by the facility) and bookings (by a center).

Each function checks its policy, validates with messages that name the field and the limit,
writes in one transaction and records the audit event in it. `book_slot` locks the slot row
before counting its bookings, so two coordinators booking the last place at the same moment
are served one after the other: the first gets the place, the second is told the slot is full.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from tilcare.accounts.models import Organization, User
from tilcare.audit.actions import Action
from tilcare.audit.hashing import snapshot
from tilcare.audit.services import check_occurred_at, record_written
from tilcare.audit.times import audit_time
from tilcare.clinical.checkdigits import DIN_PATTERN, mod37_2
from tilcare.clinical.identity_scan import spaced
from tilcare.core.db import create_unless_taken
from tilcare.core.errors import Conflict, InvalidInput
from tilcare.core.policy import require
from tilcare.core.timeutil import local_today
from tilcare.core.validation import TextWords, check_text
from tilcare.identity import selectors as identity_selectors
from tilcare.identity.services.alerts import subject_of
from tilcare.manufacturing import policies
from tilcare.manufacturing.choices import (
    ATTEMPT_MAX,
    ATTEMPT_MIN,
    CANCEL_REASON_MAX,
    CAPACITY_MAX,
    CAPACITY_MIN,
    NOTE_MAX,
    SLOT_HORIZON_DAYS,
)
from tilcare.manufacturing.models import ManufacturingSlot, SlotBooking
from tilcare.manufacturing.selectors.slots import ACTIVE

FULL = "This slot is full: {booked} of {capacity} places are booked. Choose another date."


class SlotFull(InvalidInput):
    """The slot has no free place left. Shown like any refusal on a page; 409 in the API."""


_NOTE_WORDS = TextWords(too_long="Note can be at most {max_length} characters (it has {length}).")
_CANCEL_WORDS = TextWords(
    required="Reason for cancelling is required.",
    too_long="Reason can be at most {max_length} characters ({length}).",
)


def day_text(day: dt.date) -> str:
    """A date as staff read it on the pages and in messages: "Tue 12 May 2026"."""
    return f"{day:%a} {day.day} {day:%b %Y}"


def _whole_number(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _capacity_errors(capacity: Any) -> list[str]:
    if not _whole_number(capacity) or not CAPACITY_MIN <= capacity <= CAPACITY_MAX:
        return [
            f"Capacity must be a whole number of places from {CAPACITY_MIN} to {CAPACITY_MAX} "
            f"(got {capacity})."
        ]
    return []


# ---------- slots (the facility) ----------


def create_slot(
    *,
    facility: Organization,
    starts_on: dt.date,
    capacity: int,
    note: str = "",
    actor: User,
    occurred_at: dt.datetime | None = None,
) -> ManufacturingSlot:
    """Open a manufacturing start on `starts_on` (from today on). `occurred_at`: when it was
    opened, if earlier than now (its audit event is dated then)."""
    require(
        policies.can_manage_slots(actor, facility),
        "Only the facility's own manufacturing staff may open its slots.",
    )
    today = local_today(facility.time_zone)
    last = today + dt.timedelta(days=SLOT_HORIZON_DAYS)
    errors: dict[str, list[str]] = {}
    if starts_on < today:
        errors["starts_on"] = [
            f"Start date {day_text(starts_on)} is in the past; slots open from today "
            f"({day_text(today)})."
        ]
    elif starts_on > last:
        errors["starts_on"] = [
            f"Start date can be at most {SLOT_HORIZON_DAYS} days ahead (until {day_text(last)})."
        ]
    if capacity_errors := _capacity_errors(capacity):
        errors["capacity"] = capacity_errors
    note = check_text(errors, "note", note, max_length=NOTE_MAX, words=_NOTE_WORDS)
    if errors:
        raise InvalidInput(errors)
    taken = InvalidInput(
        {
            "starts_on": [
                f"{facility.name} already has a slot on {day_text(starts_on)}; "
                "change its capacity instead."
            ]
        }
    )
    with transaction.atomic():
        slot = create_unless_taken(
            ManufacturingSlot,
            taken,
            {"facility": facility, "starts_on": starts_on},
            capacity=capacity,
            note=note,
            created_by=actor,
        )
        record_written(
            Action.SLOT_CREATE, slot, actor=actor, subject_id=str(slot.public_id),
            occurred_at=occurred_at,
        )  # fmt: skip
    return slot


def change_capacity(slot: ManufacturingSlot, *, capacity: int, actor: User) -> ManufacturingSlot:
    """Set the number of places; never below the places already booked."""
    require(
        policies.can_manage_slots(actor, slot.facility),
        "Only the facility's own manufacturing staff may change its slots.",
    )
    if capacity_errors := _capacity_errors(capacity):
        raise InvalidInput({"capacity": capacity_errors})
    today = local_today(slot.facility.time_zone)
    with transaction.atomic():
        locked = ManufacturingSlot.objects.select_for_update().get(pk=slot.pk)
        if locked.starts_on < today:
            raise InvalidInput(
                {
                    "capacity": [
                        f"The slot of {day_text(locked.starts_on)} is in the past; "
                        "its capacity can no longer change."
                    ]
                }
            )
        booked = SlotBooking.objects.filter(ACTIVE, slot=locked).count()
        if capacity < booked:
            raise InvalidInput(
                {
                    "capacity": [
                        f"{booked} places are booked on {day_text(locked.starts_on)}: capacity "
                        f"cannot go below {booked}. Ask the centers to move bookings first."
                    ]
                }
            )
        if capacity == locked.capacity:
            return locked
        before = snapshot(locked)
        locked.capacity = capacity
        locked.save(update_fields=["capacity", "updated_at"])
        record_written(
            Action.SLOT_CHANGE_CAPACITY, locked, actor=actor, before=before,
            subject_id=str(locked.public_id),
        )  # fmt: skip
    return locked


# ---------- bookings (the center) ----------


def _coi_errors(coi_din: str, coi_check: str, center: Organization) -> dict[str, list[str]]:
    if not DIN_PATTERN.match(coi_din):
        return {
            "coi_din": [
                "COI identifier must be the 13-character ISBT 128 identifier (FIN, year, "
                f"sequence), e.g. W1234 26 000017; got “{coi_din}”."
            ]
        }
    if len(coi_check) != 1:
        return {"coi_check": ["Check character: give the one character printed after the COI."]}
    expected = mod37_2(coi_din).character
    if coi_check != expected:
        return {
            "coi_check": [
                f"Check character “{coi_check}” does not match {spaced(coi_din)}: expected "
                f"“{expected}”. The identifier was mistyped or misread."
            ]
        }
    return {}


def _check_issued_by(coi_din: str, center: Organization) -> None:
    """A place is booked only for a COI identifier the booking center issued: checked always,
    whether or not the center has a facility identification number."""
    if identity_selectors.coi_issued_by(coi_din, center):
        return
    fin = (center.isbt_fin or "").upper()
    if fin and coi_din[:5] != fin:
        message = (
            f"{spaced(coi_din)} was not issued by {center.name} (its identifiers start with "
            f"{center.isbt_fin}): book places only for your own center's journeys."
        )
    else:
        message = (
            f"{spaced(coi_din)} was not issued by {center.name}: book places only for your own "
            "center's journeys."
        )
    raise Conflict({"coi_din": [message]})


def _existing_booking(coi_din: str, attempt: int, today: dt.date) -> SlotBooking | None:
    """An active booking that stands in the way: the same attempt on any date, or any attempt
    on a date still to come (a journey waits for one manufacturing start at a time)."""
    return (
        SlotBooking.objects.filter(ACTIVE, coi_din=coi_din)
        .filter(Q(manufacture_attempt=attempt) | Q(slot__starts_on__gte=today))
        .select_related("slot__facility")
        .order_by("slot__starts_on", "id")
        .first()
    )


def _already_booked(existing: SlotBooking) -> InvalidInput:
    slot = existing.slot
    return InvalidInput(
        {
            "coi_din": [
                f"{existing.coi_display} already has a place booked on {day_text(slot.starts_on)} "
                f"at {slot.facility.name}; cancel that booking before booking another date."
            ]
        }
    )


def book_slot(
    slot: ManufacturingSlot,
    *,
    coi_din: str,
    coi_check: str,
    center: Organization,
    actor: User,
    manufacture_attempt: int = 1,
    occurred_at: dt.datetime | None = None,
) -> SlotBooking:
    """Book one place in `slot` for the journey with this COI identifier.

    Raises SlotFull when every place is taken (also when a colleague took the last one a moment
    earlier), Conflict for a COI identifier another center issued, InvalidInput for a past date,
    a COI already booked or a mistyped identifier.
    `occurred_at`: when it was booked, if earlier than now (`booked_at` and the audit event),
    never before the slot was opened; the slot must still be to come.
    """
    require(
        policies.can_book_slot(actor, center),
        "Only your center's navigators and physicians may book manufacturing slots for it.",
    )
    coi_din = (coi_din or "").strip().upper().replace(" ", "")
    coi_check = (coi_check or "").strip().upper()
    errors = _coi_errors(coi_din, coi_check, center)
    if not _whole_number(manufacture_attempt) or not (
        ATTEMPT_MIN <= manufacture_attempt <= ATTEMPT_MAX
    ):
        errors["manufacture_attempt"] = [
            f"Manufacture attempt must be a whole number from {ATTEMPT_MIN} to {ATTEMPT_MAX} "
            f"(got {manufacture_attempt})."
        ]
    if errors:
        raise InvalidInput(errors)
    _check_issued_by(coi_din, center)
    today = local_today(slot.facility.time_zone)
    if occurred_at is not None:
        check_occurred_at(occurred_at, now=timezone.now())
    with transaction.atomic():
        # The lock: a second booking of this slot waits here until the first has committed,
        # then counts its place.
        locked = ManufacturingSlot.objects.select_for_update().get(pk=slot.pk)
        if occurred_at is not None and audit_time(locked, occurred_at) is None:
            raise InvalidInput(
                {
                    "occurred_at": [
                        f"The booking cannot be dated before the slot of "
                        f"{day_text(locked.starts_on)} was opened or last changed."
                    ]
                }
            )
        if locked.starts_on < today:
            raise InvalidInput(
                {
                    "slot": [
                        f"The slot of {day_text(locked.starts_on)} is in the past; choose a "
                        f"date from {day_text(today)} on."
                    ]
                }
            )
        existing = _existing_booking(coi_din, manufacture_attempt, today)
        if existing is not None:
            raise _already_booked(existing)
        booked = SlotBooking.objects.filter(ACTIVE, slot=locked).count()
        if booked >= locked.capacity:
            raise SlotFull({"slot": [FULL.format(booked=booked, capacity=locked.capacity)]})
        try:
            with transaction.atomic():
                booking = SlotBooking.objects.create(
                    slot=locked,
                    coi_din=coi_din,
                    coi_check=coi_check,
                    manufacture_attempt=manufacture_attempt,
                    center=center,
                    booked_by=actor,
                    booked_at=occurred_at or timezone.now(),
                )
        except IntegrityError:  # the same COI booked into another slot at the same moment
            existing = _existing_booking(coi_din, manufacture_attempt, today)
            if existing is None:
                raise
            raise _already_booked(existing) from None
        record_written(
            Action.BOOKING_CREATE, booking, actor=actor, subject_id=subject_of(coi_din),
            occurred_at=audit_time(booking, booking.booked_at),
        )  # fmt: skip
    return booking


def cancel_booking(booking: SlotBooking, *, actor: User, reason: str) -> SlotBooking:
    require(
        policies.can_cancel_booking(actor, booking),
        "You may not cancel this booking (it is not your organization's, or it is cancelled).",
    )
    errors: dict[str, list[str]] = {}
    reason = check_text(errors, "reason", reason, max_length=CANCEL_REASON_MAX, words=_CANCEL_WORDS)
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        locked = SlotBooking.objects.select_for_update().get(pk=booking.pk)
        if locked.cancelled_at is not None:
            raise InvalidInput({"__all__": ["This booking was already cancelled."]})
        starts_on = locked.slot.starts_on
        if starts_on < local_today(locked.slot.facility.time_zone):
            raise InvalidInput(
                {
                    "__all__": [
                        f"The slot of {day_text(starts_on)} is in the past; its booking is kept "
                        "as it was."
                    ]
                }
            )
        before = snapshot(locked)
        locked.cancelled_at = timezone.now()
        locked.cancelled_by = actor
        locked.cancellation_reason = reason
        locked.save(
            update_fields=["cancelled_at", "cancelled_by", "cancellation_reason", "updated_at"]
        )
        record_written(
            Action.BOOKING_CANCEL, locked, actor=actor, before=before, reason=reason,
            subject_id=subject_of(locked.coi_din),
        )  # fmt: skip
    return locked
