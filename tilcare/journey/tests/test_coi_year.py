"""The year in a journey's chain-of-identity number is the year the number was assigned, in the
center's time zone: a referral recorded late (`occurred_at=`) carries the year of that moment,
and continues that year's own sequence, so no number is ever issued twice.

Source: ICCBBA, ISBT 128 Standard Technical Specification (ST-001), Data Structure 001
"Donation Identification Number": FIN, then "YY", the year the DIN is assigned, then a 6-digit
sequence number; and ICCBBA IG-033 "Implementation Guide: Use of the Donation Identification
Number", section "Year code"."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from tilcare.journey import services
from tilcare.journey.choices import Protocol
from tilcare.journey.models import CoiSequence
from tilcare.journey.tests.factories import make_team
from tilcare.patients.tests.factories import CenterFactory, PatientFactory

# Every test runs at NOW, its clock stopped.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock_stopped_at_module_now")]

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
NOW = dt.datetime(2026, 1, 5, 15, 0, tzinfo=dt.UTC)  # 5 Jan 2026, 10:00 in New York


def team_in(time_zone: str):
    return make_team(CenterFactory(isbt_fin="W1234", time_zone=time_zone))


def opened(team, referred_on: dt.date, occurred_at: dt.datetime | None = None):
    return services.open_journey(
        PatientFactory(center=team.center),
        actor=team.navigator,
        protocol=Protocol.LIFILEUCEL_US_2024,
        referred_on=referred_on,
        occurred_at=occurred_at,
    )


def test_a_referral_recorded_late_carries_the_year_it_was_opened_in():
    team = team_in("America/New_York")

    journey = opened(team, dt.date(2025, 11, 20), dt.datetime(2025, 11, 20, 14, 0, tzinfo=NEW_YORK))

    assert journey.coi_din == "W123425000001"


def test_a_referral_at_2330_on_31_december_in_new_york_is_of_that_year_though_utc_is_in_the_next():
    # Given a New York center; 23:30 on 31 Dec 2025 there is 04:30 on 1 Jan 2026 in UTC
    team = team_in("America/New_York")
    late_evening = dt.datetime(2025, 12, 31, 23, 30, tzinfo=NEW_YORK)
    assert late_evening.astimezone(dt.UTC).year == 2026

    journey = opened(team, dt.date(2025, 12, 31), late_evening)

    assert journey.coi_din[5:7] == "25"


def test_a_referral_just_after_midnight_on_1_january_in_tokyo_is_of_the_new_year():
    # Given a Tokyo center; 00:30 on 1 Jan 2026 there is still 31 Dec 2025 in UTC
    team = team_in("Asia/Tokyo")
    tokyo = zoneinfo.ZoneInfo("Asia/Tokyo")
    just_after = dt.datetime(2026, 1, 1, 0, 30, tzinfo=tokyo)
    assert just_after.astimezone(dt.UTC).year == 2025

    journey = opened(team, dt.date(2026, 1, 1), just_after)

    assert journey.coi_din[5:7] == "26"


def test_a_number_issued_late_continues_its_own_year_and_leaves_this_year_s_alone():
    # Given W1234 had issued 500 numbers in 2025 and 3 in 2026
    team = team_in("America/New_York")
    CoiSequence.objects.create(fin="W1234", year=25, last_sequence=500)
    CoiSequence.objects.create(fin="W1234", year=26, last_sequence=3)

    # When a referral of December 2025 is recorded now, and another journey is opened today
    late = opened(team, dt.date(2025, 12, 9), dt.datetime(2025, 12, 9, 9, 0, tzinfo=NEW_YORK))
    today = opened(team, dt.date(2026, 1, 5))

    # Then each takes the next number of its own year
    assert (late.coi_din, today.coi_din) == ("W123425000501", "W123426000004")
    assert dict(CoiSequence.objects.values_list("year", "last_sequence")) == {25: 501, 26: 4}
