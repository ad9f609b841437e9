"""The demo's moments: a step planned for a time still to come today happened earlier the same day.

Checked without a database over every zone × every daylight-saving change day of 2026 (and an
ordinary day) × every hour where the zones disagree about the date.
"""

from __future__ import annotations

import datetime as dt

import pytest

from tilcare.core.tests.zones import CROSS
from tilcare.core.timeutil import day_start, local_datetime, local_moment, local_today
from tilcare.demo.builder import RECORDED_BEFORE_NOW, lived_moment

PLANNED = (dt.time(0, 0), dt.time(8, 0), dt.time(11, 10), dt.time(23, 59))


@pytest.mark.parametrize(("zone", "now"), CROSS)
def test_a_step_planned_for_today_happened_today_and_not_after_now(zone, now):
    # Given today in the zone, and steps planned for several times of that day
    today = local_today(zone, now)

    # When each step's moment is asked
    moments = [lived_moment(zone, today, planned, now) for planned in PLANNED]

    # Then each is on today's local date, and none later than a few minutes before now
    assert [local_datetime(moment, zone).date() for moment in moments] == [today] * len(PLANNED)
    latest = max(now - RECORDED_BEFORE_NOW, day_start(zone, today))
    assert [moment <= latest for moment in moments] == [True] * len(PLANNED)


@pytest.mark.parametrize(("zone", "now"), CROSS)
def test_a_step_planned_for_a_past_time_keeps_its_planned_time(zone, now):
    # Given a day three days before today in the zone
    day = local_today(zone, now) - dt.timedelta(days=3)

    # When the moments of steps planned that day are asked
    moments = [lived_moment(zone, day, planned, now) for planned in PLANNED]

    # Then each is exactly its planned wall time that day
    assert moments == [local_moment(zone, day, planned) for planned in PLANNED]


def test_a_step_planned_at_08_00_is_moved_to_five_minutes_ago_when_it_is_00_30():
    # Given 05:30 UTC on 7 December: 00:30 in New York
    now = dt.datetime(2026, 12, 7, 5, 30, tzinfo=dt.UTC)

    # When a step planned for 08:00 today in New York is dated
    moment = lived_moment("America/New_York", dt.date(2026, 12, 7), dt.time(8), now)

    # Then it is 00:25 New York time, the same day
    assert moment == dt.datetime(2026, 12, 7, 5, 25, tzinfo=dt.UTC)


def test_a_step_planned_at_08_00_is_moved_to_midnight_in_the_first_minutes_of_the_day():
    # Given 05:02 UTC on 7 December: 00:02 in New York
    now = dt.datetime(2026, 12, 7, 5, 2, tzinfo=dt.UTC)

    # When a step planned for 08:00 today in New York is dated
    moment = lived_moment("America/New_York", dt.date(2026, 12, 7), dt.time(8), now)

    # Then it is the start of that day (00:00 New York), not the evening before
    assert moment == dt.datetime(2026, 12, 7, 5, 0, tzinfo=dt.UTC)


def test_a_day_that_has_not_begun_is_refused():
    # Given 05:30 UTC on 7 December: still the 6th in Chicago
    now = dt.datetime(2026, 12, 7, 5, 30, tzinfo=dt.UTC)

    # When a step is dated on the 7th in Chicago
    # Then it is refused, naming the day and the zone
    with pytest.raises(ValueError, match="2026-12-07 has not begun yet in America/Chicago"):
        lived_moment("America/Chicago", dt.date(2026, 12, 7), dt.time(8), now)
