"""Shipment times at the edges of the center's day: hold times are elapsed hours, whatever the
clocks do, and "not in the future" is judged against the instant, not a local date.

New York moved its clocks forward at 02:00 on 8 March 2026 (IANA time zone database).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from tilcare.core.errors import InvalidInput
from tilcare.core.timeutil import local_datetime, local_moment
from tilcare.identity.selectors import is_late
from tilcare.identity.services.shipments import dispatch_shipment, receive_shipment
from tilcare.identity.tests.helpers import make_world, new_shipment

pytestmark = pytest.mark.django_db

NEW_YORK = "America/New_York"


def test_a_hold_time_across_the_clocks_going_forward_is_counted_in_elapsed_hours():
    # Given a 30-hour shipment dispatched at 23:30 on 7 March 2026 in New York (04:30 UTC on
    # the 8th), the night the clocks went forward
    dispatched = local_moment(NEW_YORK, dt.date(2026, 3, 7), dt.time(23, 30))
    with time_machine.travel(dt.datetime(2026, 3, 9, 12, 0, tzinfo=dt.UTC), tick=False):
        world = make_world()
        shipment = new_shipment(world, expected_hold_hours=Decimal("30.0"))

        # When it is dispatched
        shipment = dispatch_shipment(shipment, actor=world.team.navigator, at=dispatched)

    # Then it is expected 30 hours later (06:30 EDT on the 9th, 31 hours on the wall clock), and
    # it is late from the minute after, not an hour later
    expected = dt.datetime(2026, 3, 9, 10, 30, tzinfo=dt.UTC)
    wall = local_datetime(shipment.expected_at, NEW_YORK)
    assert (shipment.expected_at, wall.date(), wall.time()) == (
        expected,
        dt.date(2026, 3, 9),
        dt.time(6, 30),
    )
    assert [is_late(shipment, expected + dt.timedelta(minutes=m)) for m in (-1, 1)] == [
        False,
        True,
    ]


def test_a_receipt_at_23_30_new_york_is_accepted_at_04_31_utc_the_next_day():
    # Given a shipment dispatched at 20:00 on 7 December 2026 in New York
    dispatched = local_moment(NEW_YORK, dt.date(2026, 12, 7), dt.time(20, 0))
    received = local_moment(NEW_YORK, dt.date(2026, 12, 7), dt.time(23, 30))
    with time_machine.travel(dt.datetime(2026, 12, 8, 4, 31, tzinfo=dt.UTC), tick=False):
        world = make_world()
        shipment = dispatch_shipment(new_shipment(world), actor=world.team.navigator, at=dispatched)

        # When the facility records its receipt at 23:30 New York time (04:30 UTC on the 8th)
        shipment = receive_shipment(shipment, actor=world.team.manufacturing_tech, at=received)

    # Then it is recorded at that instant, on the 7th in New York
    assert (shipment.received_at, local_datetime(shipment.received_at, NEW_YORK).date()) == (
        dt.datetime(2026, 12, 8, 4, 30, tzinfo=dt.UTC),
        dt.date(2026, 12, 7),
    )


def test_a_receipt_more_than_five_minutes_ahead_of_the_clock_is_refused_as_in_the_future():
    # Given 04:31 UTC on 8 December 2026 (23:31 on the 7th in New York)
    dispatched = local_moment(NEW_YORK, dt.date(2026, 12, 7), dt.time(20, 0))
    with time_machine.travel(dt.datetime(2026, 12, 8, 4, 31, tzinfo=dt.UTC), tick=False):
        world = make_world()
        shipment = dispatch_shipment(new_shipment(world), actor=world.team.navigator, at=dispatched)

        # When a receipt at 23:37 New York time, still the 7th there, is recorded
        # Then it is refused: six minutes ahead is in the future, whatever the local date
        with pytest.raises(InvalidInput) as refused:
            receive_shipment(
                shipment,
                actor=world.team.manufacturing_tech,
                at=local_moment(NEW_YORK, dt.date(2026, 12, 7), dt.time(23, 37)),
            )
    assert refused.value.errors == {"at": ["Date and time cannot be in the future."]}
