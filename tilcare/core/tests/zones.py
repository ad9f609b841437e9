"""The zones, days and hours the time tests check across, shared by the tests of `core.timeutil`
and of the demo's moments: every zone × every daylight-saving change day of 2026 (and an ordinary
one) × every hour (UTC) where the zones disagree about the date."""

from __future__ import annotations

import datetime as dt

import pytest

NEW_YORK, CHICAGO = "America/New_York", "America/Chicago"
AMSTERDAM, SYDNEY = "Europe/Amsterdam", "Australia/Sydney"
ZONES = (NEW_YORK, CHICAGO, AMSTERDAM, SYDNEY)
DAYS = (
    dt.date(2026, 12, 7),
    dt.date(2026, 3, 8),
    dt.date(2026, 11, 1),
    dt.date(2026, 3, 29),
    dt.date(2026, 10, 25),
)
HOURS_UTC = (dt.time(23, 30), dt.time(0, 30), dt.time(4, 30), dt.time(5, 30), dt.time(6, 30))
MOMENTS = [dt.datetime.combine(day, hour, tzinfo=dt.UTC) for day in DAYS for hour in HOURS_UTC]
# (zone, moment) for every zone and moment, named so that a failure says which.
CROSS = [
    pytest.param(zone, moment, id=f"{zone.split('/')[1]}-{moment:%Y%m%dT%H%MZ}")
    for zone in ZONES
    for moment in MOMENTS
]
