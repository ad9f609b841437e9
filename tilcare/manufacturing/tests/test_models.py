"""What the database itself refuses, whatever code writes the rows: a second active booking of
a COI and attempt, and a slot's capacity outside 1 to 50."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from tilcare.journey.tests.factories import make_team
from tilcare.manufacturing.models import SlotBooking
from tilcare.manufacturing.tests.factories import BookingFactory, SlotFactory, coi_number

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    return make_team()


def test_the_database_allows_one_active_booking_per_coi_and_attempt(team, slot):
    BookingFactory(slot=slot, center=team.center, coi=coi_number(1))

    with pytest.raises(IntegrityError), transaction.atomic():
        BookingFactory(slot=slot, center=team.center, coi=coi_number(1))


def test_the_database_allows_a_new_booking_beside_a_cancelled_one(team, slot):
    cancelled = BookingFactory(slot=slot, center=team.center, coi=coi_number(1))
    SlotBooking.objects.filter(pk=cancelled.pk).update(
        cancelled_at=cancelled.booked_at, cancelled_by=cancelled.booked_by
    )

    BookingFactory(slot=slot, center=team.center, coi=coi_number(1))

    assert SlotBooking.objects.filter(coi_din=coi_number(1)[0]).count() == 2


def test_the_database_refuses_a_capacity_over_50(team):
    with pytest.raises(IntegrityError), transaction.atomic():
        SlotFactory(facility=team.facility, capacity=51)
