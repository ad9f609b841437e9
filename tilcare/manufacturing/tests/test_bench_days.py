"""Bench days are the facility's calendar days: a count at 23:30 in Chicago is on the Chicago
day, though UTC (and a center in New York) is already on the next one.

Chicago is UTC−6 in December; it moved its clocks back at 02:00 on 1 November 2026 (IANA time
zone database).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from tilcare.accounts.models import Organization
from tilcare.core.errors import InvalidInput
from tilcare.core.timeutil import local_moment, local_today
from tilcare.manufacturing.choices import BatchStatus
from tilcare.manufacturing.selectors.batches import days_in_status
from tilcare.manufacturing.services import batches as batch_services
from tilcare.manufacturing.tests.batch_factories import fresh, open_test_batch, walk_batch

pytestmark = pytest.mark.django_db

CHICAGO = "America/Chicago"


def _in_rep_started_on(team, started: dt.date):
    """A batch of a Chicago facility whose REP started on `started` (a Chicago date)."""
    Organization.objects.filter(pk=team.facility.pk).update(time_zone=CHICAGO)
    team.facility.refresh_from_db()
    batch = walk_batch(open_test_batch(team), team, BatchStatus.REP)
    batch.__class__.objects.filter(pk=batch.pk).update(rep_started_on=started)
    return fresh(batch)


def _count(batch, team, day: int, counted_at: dt.datetime):
    return batch_services.record_rep_count(
        batch,
        day=day,
        viable_cells=Decimal("2.8") * 10**9,
        viability_percent=Decimal("91.5"),
        counted_at=counted_at,
        actor=team.manufacturing_tech,
    )


def test_a_count_at_23_30_in_chicago_is_on_the_chicago_rep_day(team):
    # Given a REP started on 30 November 2026 in Chicago, and the clock at 05:40 UTC on
    # 7 December (23:40 on the 6th in Chicago, already the 7th in UTC and in New York)
    with time_machine.travel(dt.datetime(2026, 12, 7, 5, 40, tzinfo=dt.UTC), tick=False):
        batch = _in_rep_started_on(team, dt.date(2026, 11, 30))

        # When a count made at 23:30 Chicago time on the 6th is recorded as day 6
        count = _count(batch, team, 6, local_moment(CHICAGO, dt.date(2026, 12, 6), dt.time(23, 30)))

    # Then it is accepted as REP day 6
    assert (count.day, count.counted_at) == (6, dt.datetime(2026, 12, 7, 5, 30, tzinfo=dt.UTC))


def test_a_count_at_23_30_in_chicago_recorded_as_the_utc_day_is_refused(team):
    # Given the same REP and clock
    with time_machine.travel(dt.datetime(2026, 12, 7, 5, 40, tzinfo=dt.UTC), tick=False):
        batch = _in_rep_started_on(team, dt.date(2026, 11, 30))

        # When the same count is recorded as day 7 (the day it is in UTC)
        # Then it is refused, naming the Chicago date and its REP day
        with pytest.raises(InvalidInput) as refused:
            _count(batch, team, 7, local_moment(CHICAGO, dt.date(2026, 12, 6), dt.time(23, 30)))
    assert refused.value.errors == {
        "day": [
            "Day 7 does not match the count date 2026-12-06: the REP started on 2026-11-30 "
            "(day 0), so 2026-12-06 is day 6."
        ]
    }


def test_days_in_status_are_the_facility_s_calendar_days_across_the_clocks_going_back(team):
    # Given a batch whose status changed at 00:30 on 31 October 2026 in Chicago, the day before
    # the clocks went back
    with time_machine.travel(dt.datetime(2026, 11, 2, 5, 45, tzinfo=dt.UTC), tick=False):
        batch = _in_rep_started_on(team, dt.date(2026, 10, 31))
        changed = local_moment(CHICAGO, dt.date(2026, 10, 31), dt.time(0, 30))
        batch.__class__.objects.filter(pk=batch.pk).update(status_changed_at=changed)

        # When its days in status are counted at 23:45 on 1 November in Chicago (05:45 UTC on
        # the 2nd, 48 hours 15 minutes later)
        today = local_today(team.facility)
        days = days_in_status(fresh(batch), today)

    # Then they are the calendar days in Chicago (31 October to 1 November): 1, not the 2 whole
    # days elapsed nor the 2 days of the UTC calendar
    assert (today, days) == (dt.date(2026, 11, 1), 1)
