"""Which day it is, and which instant a wall-clock time is, for a center or a facility.

The zones' offsets and daylight-saving rules are those of the IANA time zone database (the
`zoneinfo` data): New York and Chicago move their clocks on the second Sunday of March and the
first Sunday of November (2026-03-08, 2026-11-01) at 02:00 local time; Amsterdam on the last
Sundays of March and October (2026-03-29, 2026-10-25) at 01:00 UTC; Sydney on the first Sundays
of April and October (standard time from 2026-04-05, summer time from 2026-10-04).

The properties are checked over every zone × every change day (and an ordinary one) × every hour
where the zones disagree about the date, without a database.
"""

from __future__ import annotations

import datetime as dt

import pytest

from tilcare.core.tests.zones import AMSTERDAM, CHICAGO, CROSS, NEW_YORK, SYDNEY
from tilcare.core.timeutil import (
    day_start,
    local_datetime,
    local_minute,
    local_moment,
    local_now,
    local_today,
)


def _utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(dt.UTC)


class _Center:
    time_zone = NEW_YORK


# ---------- named instants at the boundaries ----------


def test_a_scan_at_23_30_in_new_york_belongs_to_the_new_york_day():
    # Given a scan at 23:30 in New York on 7 December (04:30 UTC on the 8th)
    scanned = _utc("2026-12-08T04:30:00+00:00")

    # When its day is asked for New York and for UTC
    # Then it is the 7th in New York, though UTC is already on the 8th
    assert (local_today(NEW_YORK, scanned), scanned.date()) == (
        dt.date(2026, 12, 7),
        dt.date(2026, 12, 8),
    )


def test_at_05_30_utc_new_york_is_on_the_next_day_and_chicago_still_on_the_day_before():
    # Given 05:30 UTC on 7 December (00:30 in New York, 23:30 in Chicago)
    now = _utc("2026-12-07T05:30:00+00:00")

    # When each asks which day it is
    # Then each answers on its own calendar
    assert (local_today(NEW_YORK, now), local_today(CHICAGO, now)) == (
        dt.date(2026, 12, 7),
        dt.date(2026, 12, 6),
    )


def test_a_facility_in_sydney_is_a_day_ahead_of_a_center_in_chicago_in_the_evening():
    # Given 23:30 UTC on 7 December (17:30 in Chicago, 10:30 on the 8th in Sydney)
    now = _utc("2026-12-07T23:30:00+00:00")

    # When each asks which day it is
    # Then Sydney is already on the 8th
    assert (local_today(CHICAGO, now), local_today(SYDNEY, now)) == (
        dt.date(2026, 12, 7),
        dt.date(2026, 12, 8),
    )


def test_an_organization_is_asked_by_its_own_zone():
    # Given a center whose zone is New York, at 04:30 UTC on 8 December
    now = _utc("2026-12-08T04:30:00+00:00")

    # When its today is asked through the organization itself
    # Then it is the New York date
    assert local_today(_Center(), now) == dt.date(2026, 12, 7)


def test_a_wall_time_in_the_spring_gap_is_the_time_the_clocks_show_an_hour_later():
    # Given 02:30 on 8 March 2026 in New York, which never happened (02:00 EST -> 03:00 EDT)
    # When its instant is asked
    moment = local_moment(NEW_YORK, dt.date(2026, 3, 8), dt.time(2, 30))

    # Then it is 03:30 EDT (07:30 UTC), still on the 8th
    wall = local_datetime(moment, NEW_YORK)
    assert (moment, wall.date(), wall.time()) == (
        _utc("2026-03-08T07:30:00+00:00"),
        dt.date(2026, 3, 8),
        dt.time(3, 30),
    )


def test_a_wall_time_that_happens_twice_is_the_first_unless_fold_says_the_second():
    # Given 01:30 on 1 November 2026 in New York, which happened in EDT and again in EST
    day, first, second = dt.date(2026, 11, 1), dt.time(1, 30), dt.time(1, 30, fold=1)

    # When its instants are asked
    # Then the first is 05:30 UTC and the second (fold=1) an hour later
    assert (local_moment(NEW_YORK, day, first), local_moment(NEW_YORK, day, second)) == (
        _utc("2026-11-01T05:30:00+00:00"),
        _utc("2026-11-01T06:30:00+00:00"),
    )


@pytest.mark.parametrize(
    ("zone", "day", "hours"),
    [
        (NEW_YORK, dt.date(2026, 3, 8), 23),
        (NEW_YORK, dt.date(2026, 11, 1), 25),
        (CHICAGO, dt.date(2026, 3, 8), 23),
        (AMSTERDAM, dt.date(2026, 3, 29), 23),
        (AMSTERDAM, dt.date(2026, 10, 25), 25),
        (SYDNEY, dt.date(2026, 4, 5), 25),
        (SYDNEY, dt.date(2026, 10, 4), 23),
        (NEW_YORK, dt.date(2026, 12, 7), 24),
    ],
)
def test_a_change_day_is_23_or_25_hours_long(zone, day, hours):
    # Given a local date in a zone
    # When the instants of its start and of the next day's start are asked
    length = day_start(zone, day + dt.timedelta(days=1)) - day_start(zone, day)

    # Then the day lasts as long as the clocks say (IANA rules in the module docstring)
    assert length == dt.timedelta(hours=hours)


def test_a_naive_now_is_refused():
    # Given a date-time without its offset
    naive = dt.datetime(2026, 12, 7, 5, 30)

    # When a day is asked from it
    # Then it is refused rather than read in the server's zone
    with pytest.raises(ValueError, match="aware"):
        local_today(NEW_YORK, naive)


def test_the_form_default_is_the_local_minute_without_offset():
    # Given 04:30:42 UTC on 8 December
    now = _utc("2026-12-08T04:30:42+00:00")

    # When the default of a date-time field is asked for New York
    # Then it is 23:30 on the 7th, to the minute, without an offset
    assert local_minute(NEW_YORK, now) == dt.datetime(2026, 12, 7, 23, 30)


# ---------- every zone x every day x every hour ----------


@pytest.mark.parametrize(("zone", "now"), CROSS)
def test_today_is_the_local_date_whose_bounds_hold_now(zone, now):
    # Given a zone and an instant
    # When its today is asked
    today = local_today(zone, now)

    # Then now falls between the start of that local day and the start of the next
    assert day_start(zone, today) <= now < day_start(zone, today + dt.timedelta(days=1))
    assert today == local_now(zone, now).date() == local_datetime(now, zone).date()


@pytest.mark.parametrize(("zone", "now"), CROSS)
def test_the_local_wall_time_of_now_on_today_is_now(zone, now):
    # Given a zone and an instant, and the wall clock there
    wall = local_now(zone, now)

    # When the instant of that wall-clock time on that date is asked
    moment = local_moment(zone, wall.date(), wall.time())

    # Then it is the same instant, given in UTC
    assert moment == now
    assert moment.tzinfo is dt.UTC


@pytest.mark.parametrize(("zone", "now"), CROSS)
def test_a_day_starts_at_local_midnight_and_the_days_before_count_back_on_the_calendar(zone, now):
    # Given a zone, an instant, and the local date seven days before its today
    today = local_today(zone, now)
    week_ago = today - dt.timedelta(days=7)

    # When the start of that day and 08:00 that day are asked
    start = day_start(zone, week_ago)
    eight = local_moment(zone, week_ago, dt.time(8))

    # Then both are on that local date, at 00:00 and 08:00, and 7 calendar days before today
    start, eight = local_datetime(start, zone), local_datetime(eight, zone)
    assert (start.date(), start.time(), eight.date(), eight.time()) == (
        week_ago,
        dt.time(0),
        week_ago,
        dt.time(8),
    )
    assert (today - local_datetime(eight, zone).date()).days == 7
