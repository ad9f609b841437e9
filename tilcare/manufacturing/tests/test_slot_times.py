"""A slot opened and a place booked, entered after the fact, are dated in the audit trail when
they happened; the booking keeps that time as `booked_at`. A booking dated before its slot was
opened, or after now, is refused on `occurred_at` and writes nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from tilcare.audit.models import AuditEvent
from tilcare.core.errors import InvalidInput
from tilcare.manufacturing.models import ManufacturingSlot, SlotBooking
from tilcare.manufacturing.services import slots as slot_services
from tilcare.manufacturing.tests.factories import NOW, coi_number

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

OPENED = dt.datetime(2026, 12, 1, 14, 0, tzinfo=dt.UTC)
BOOKED = dt.datetime(2026, 12, 3, 16, 30, tzinfo=dt.UTC)
STARTS_ON = dt.date(2026, 12, 14)


@pytest.fixture
def slot(team) -> ManufacturingSlot:
    return slot_services.create_slot(
        facility=team.facility, starts_on=STARTS_ON, capacity=2, note="Clean room 1",
        actor=team.manufacturing_tech, occurred_at=OPENED,
    )  # fmt: skip


def book(team, slot: ManufacturingSlot, at: dt.datetime) -> SlotBooking:
    din, check = coi_number(17)
    return slot_services.book_slot(
        slot, coi_din=din, coi_check=check, center=team.center, actor=team.navigator,
        occurred_at=at,
    )  # fmt: skip


def times(action: str) -> tuple[dt.datetime, dt.datetime]:
    event = AuditEvent.objects.get(action=action)
    return event.occurred_at, event.recorded_at


def test_a_slot_opened_earlier_is_dated_then_in_the_trail(slot):
    assert times("manufacturing.slot.create") == (OPENED, NOW)


def test_a_booking_entered_later_keeps_when_it_was_booked(team, slot):
    booking = book(team, slot, BOOKED)

    assert booking.booked_at == BOOKED
    assert times("manufacturing.booking.create") == (BOOKED, NOW)


def test_a_booking_dated_before_its_slot_was_opened_is_refused(team, slot):
    before = (SlotBooking.objects.count(), AuditEvent.objects.count())

    with pytest.raises(InvalidInput) as refused:
        book(team, slot, OPENED - dt.timedelta(minutes=1))

    assert refused.value.errors == {
        "occurred_at": [
            "The booking cannot be dated before the slot of Mon 14 Dec 2026 was opened or last "
            "changed."
        ]
    }
    assert (SlotBooking.objects.count(), AuditEvent.objects.count()) == before


def test_a_booking_dated_after_now_is_refused(team, slot):
    with pytest.raises(InvalidInput) as refused:
        book(team, slot, NOW + dt.timedelta(minutes=1))

    assert refused.value.errors == {
        "occurred_at": ["The time it happened cannot be later than now (07 Dec 2026 15:00 UTC)."]
    }
