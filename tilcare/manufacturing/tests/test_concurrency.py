"""Two coordinators booking the last place of a slot at the same moment, on two real database
connections: exactly one gets it, the other is told the slot is full.

`book_slot` locks the slot row (SELECT … FOR UPDATE) before counting its bookings, so the second
booking waits for the first to commit and then counts its place.
"""

from __future__ import annotations

import datetime as dt
import os
import threading

import pytest
from django.db import connections

from tilcare.audit.models import AuditEvent
from tilcare.core.errors import InvalidInput
from tilcare.journey.tests.factories import make_team
from tilcare.manufacturing.models import SlotBooking
from tilcare.manufacturing.services import slots as slot_services
from tilcare.manufacturing.services.slots import day_text
from tilcare.manufacturing.tests.factories import BookingFactory, SlotFactory, coi_number
from tilcare.patients.tests.factories import UserFactory

POSTGRES_ONLY = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="SQLite serialises writers on one database lock; two in-process connections to the "
    "in-memory test database cannot race, so concurrency is tested on PostgreSQL only.",
)


def race(slot, center, bookers: list[tuple]) -> list[str]:
    """Each (actor, COI sequence[, slot]) books `slot` (or its own) in its own thread and
    connection, all released at the same moment; returns "booked" or the refusal for each."""
    start = threading.Barrier(len(bookers))
    outcomes: list[str] = []

    def submit(actor, sequence: int, target=slot) -> None:
        din, check = coi_number(sequence)
        try:
            start.wait()
            slot_services.book_slot(
                target, coi_din=din, coi_check=check, center=center, actor=actor
            )
            outcomes.append("booked")
        except InvalidInput as refused:
            outcomes.extend(message for messages in refused.errors.values() for message in messages)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit, args=booker) for booker in bookers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


@POSTGRES_ONLY
@pytest.mark.django_db(transaction=True)
def test_two_coordinators_booking_the_last_place_at_once_one_gets_it():
    # Given a slot of 2 places with one already booked, and two coordinators of the center
    team = make_team()
    slot = SlotFactory(facility=team.facility, capacity=2)
    BookingFactory(slot=slot, center=team.center, coi=coi_number(1))

    # When the navigator and the physician book the last place at the same moment
    outcomes = race(slot, team.center, [(team.navigator, 2), (team.physician, 3)])

    # Then exactly one gets it and the other is told the slot is full
    assert sorted(outcomes) == [
        "This slot is full: 2 of 2 places are booked. Choose another date.",
        "booked",
    ]
    # and exactly one booking row exists for the two, with one audit event
    racing = SlotBooking.objects.filter(coi_din__in=[coi_number(2)[0], coi_number(3)[0]])
    assert racing.count() == 1
    assert SlotBooking.objects.filter(slot=slot, cancelled_at__isnull=True).count() == 2
    assert AuditEvent.objects.filter(action="manufacturing.booking.create").count() == 1


@POSTGRES_ONLY
@pytest.mark.django_db(transaction=True)
def test_six_coordinators_at_once_fill_three_places_and_no_more():
    # Given a slot of 3 places and six coordinators, each with their own journey
    team = make_team()
    slot = SlotFactory(facility=team.facility, capacity=3)
    coordinators = [
        UserFactory(role=role, organization=team.center) for role in ("navigator", "physician") * 3
    ]

    # When all six book at the same moment
    outcomes = race(slot, team.center, [(user, 10 + i) for i, user in enumerate(coordinators)])

    # Then three are booked, three are told the slot is full, and the slot holds three
    full = "This slot is full: 3 of 3 places are booked. Choose another date."
    assert sorted(outcomes) == [full, full, full, "booked", "booked", "booked"]
    assert SlotBooking.objects.filter(slot=slot).count() == 3


@POSTGRES_ONLY
@pytest.mark.django_db(transaction=True)
def test_one_journey_booked_into_two_dates_at_once_keeps_one_booking():
    # Given two dates with free places, and one COI that two coordinators book at once
    team = make_team()
    first = SlotFactory(facility=team.facility)
    second = SlotFactory(facility=team.facility, starts_on=first.starts_on + dt.timedelta(days=1))

    # When the navigator books it on the first date and the physician on the second
    outcomes = race(first, team.center, [(team.navigator, 7, first), (team.physician, 7, second)])

    # Then one booking stands, and the other coordinator is told which date it holds
    din = coi_number(7)[0]
    booking = SlotBooking.objects.get(coi_din=din)
    refusal = next(outcome for outcome in outcomes if outcome != "booked")
    assert sorted(outcomes).count("booked") == 1
    assert f"already has a place booked on {day_text(booking.slot.starts_on)}" in refusal
