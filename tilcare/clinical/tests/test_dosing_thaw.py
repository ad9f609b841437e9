"""The thaw-to-infusion check: the time since the thaw recorded at the bedside against the
center's own limit, with the edge inclusive on both sides of it.

The sources give no limit (the lifileucel label's thaw and hold-time instructions, section 2.2,
are not reproduced; the NKI publications give none), so the limit is always a center setting
with no default. The 60 min used here is a test center's value, not a recommendation.
"""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from tilcare.clinical.dosing.regimens import ProtocolRef, ThawLimit
from tilcare.clinical.dosing.schedule import NaiveDatetime
from tilcare.clinical.dosing.settings import (
    CenterSettings,
    DecimalSetting,
    InvalidCenterSetting,
    MissingCenterSetting,
)
from tilcare.clinical.dosing.thaw import (
    ThawState,
    completed_minutes,
    minutes_to_timedelta,
    thaw_check,
)
from tilcare.clinical.units import InvalidQuantity, Quantity, Unit

LIFILEUCEL = ProtocolRef("lifileucel_us", "2024")
KEY = "thaw_to_infusion_limit_minutes"
SOURCE = "US prescribing information section 2.2: the center enters its own limit"
THAWED = datetime(2024, 3, 4, 9, 45, tzinfo=UTC)
MIN = timedelta(minutes=1)


def spec(
    unit: Unit | None = Unit.minutes,
    low: str = "10",
    high: str = "720",
    none_option: str | None = None,
) -> DecimalSetting:
    return DecimalSetting(
        KEY,
        "Longest time from thawing the cells to infusing them (minutes)",
        "the center's pharmacist and treating physician enter it.",
        unit,
        Decimal(low),
        Decimal(high),
        "test limits",
        none_option,
    )


LIMIT = ThawLimit(setting=spec(), source=SOURCE, protocol=LIFILEUCEL)


def minutes(value: str | int) -> CenterSettings:
    return CenterSettings({KEY: Quantity.of(value, Unit.minutes)})


# Worked boundary cases ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("after", "state", "since"),
    [
        (timedelta(0), ThawState.WITHIN, 0),
        (59 * MIN, ThawState.WITHIN, 59),
        (60 * MIN, ThawState.WITHIN, 60),
        (60 * MIN + timedelta(microseconds=1), ThawState.OVER, 60),
        (61 * MIN, ThawState.OVER, 61),
    ],
    ids=[
        "at the thaw: within",
        "limit - 1 min: within",
        "exactly at the limit: within",
        "limit + 1 µs: over",
        "limit + 1 min: over",
    ],
)
def test_a_60_min_limit_holds_up_to_and_including_the_60th_minute(
    after: timedelta, state: ThawState, since: int
) -> None:
    result = thaw_check(LIMIT, minutes(60), THAWED, THAWED + after)

    assert result.status is state
    assert result.is_within is (state is ThawState.WITHIN)
    assert result.minutes_since_thaw == since
    assert result.limit_minutes == Decimal(60)
    assert result.infuse_by == datetime(2024, 3, 4, 10, 45, tzinfo=UTC)


def test_within_the_limit_the_reason_says_until_when() -> None:
    result = thaw_check(LIMIT, minutes(60), THAWED, THAWED + 59 * MIN)

    assert result.reason == (
        "Within the thaw-to-infusion limit: thawed at 2024-03-04 09:45 UTC, 59 min ago; "
        "infuse by 2024-03-04 10:45 UTC (60 min after the thaw, the center's limit)."
    )


def test_over_the_limit_the_reason_says_when_it_passed_and_who_decides() -> None:
    result = thaw_check(LIMIT, minutes(60), THAWED, THAWED + 61 * MIN)

    assert result.reason == (
        "Over the thaw-to-infusion limit: thawed at 2024-03-04 09:45 UTC, 61 min ago; the "
        "center's limit of 60 min passed at 2024-03-04 10:45 UTC. Do not infuse without the "
        "treating physician's decision."
    )


def test_the_result_carries_its_inputs_and_sources() -> None:
    now = THAWED + 30 * MIN
    result = thaw_check(LIMIT, minutes(60), THAWED, now)

    assert (result.protocol, result.thawed_at, result.now) == (LIFILEUCEL, THAWED, now)
    assert result.setting_key == KEY
    assert result.source == (
        "Center setting 'Longest time from thawing the cells to infusing them (minutes)' "
        f"(thaw_to_infusion_limit_minutes); {SOURCE}"
    )
    assert result.rule == (
        "within from the thaw time until thaw time + the center's limit, inclusive"
    )


def test_a_fractional_limit_is_exact_to_the_second() -> None:
    # 45.5 min: within at 45 min 30 s, over one microsecond later.
    edge = THAWED + timedelta(minutes=45, seconds=30)
    assert thaw_check(LIMIT, minutes("45.5"), THAWED, edge).status is ThawState.WITHIN
    later = edge + timedelta(microseconds=1)
    assert thaw_check(LIMIT, minutes("45.5"), THAWED, later).status is ThawState.OVER
    assert thaw_check(LIMIT, minutes("45.5"), THAWED, edge).reason.endswith(
        "(45.5 min after the thaw, the center's limit)."
    )


def test_other_time_zones_are_compared_as_instants() -> None:
    # 10:44 in Amsterdam (UTC+1 in March) is 09:44 UTC: a minute before the thaw plus 60.
    amsterdam = timezone(timedelta(hours=1), "CET")
    now = datetime(2024, 3, 4, 11, 44, tzinfo=amsterdam)
    result = thaw_check(LIMIT, minutes(60), THAWED, now)
    assert (result.status, result.minutes_since_thaw) == (ThawState.WITHIN, 59)


# Refusals ----------------------------------------------------------------------------------------


def test_without_the_center_s_limit_the_check_refuses_saying_what_to_set() -> None:
    with pytest.raises(MissingCenterSetting) as refused:
        thaw_check(LIMIT, CenterSettings(), THAWED, THAWED + MIN)
    assert str(refused.value) == (
        "Set 'Longest time from thawing the cells to infusing them (minutes)' "
        "(thaw_to_infusion_limit_minutes) in the center's protocol settings: the center's "
        "pharmacist and treating physician enter it."
    )


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (Quantity.of(1, Unit.hours), "expected min, got h"),
        (Quantity.of(9, Unit.minutes), "9 min is below the allowed minimum 10 min."),
        (Quantity.of(721, Unit.minutes), "721 min is above the allowed maximum 720 min."),
    ],
    ids=["hours, not minutes", "below the declared minimum", "above the declared maximum"],
)
def test_a_limit_that_does_not_fit_its_declaration_is_refused(
    value: Quantity, fragment: str
) -> None:
    with pytest.raises(InvalidCenterSetting) as refused:
        thaw_check(LIMIT, CenterSettings({KEY: value}), THAWED, THAWED + MIN)
    assert fragment in str(refused.value)


@pytest.mark.parametrize("which", ["thawed_at", "now"])
def test_naive_datetimes_are_refused(which: str) -> None:
    naive = datetime(2024, 3, 4, 10, 0)
    moments = {"thawed_at": THAWED, "now": THAWED + MIN, which: naive}
    with pytest.raises(NaiveDatetime, match=rf"^{which} 2024-03-04T10:00:00 has no time zone"):
        thaw_check(LIMIT, minutes(60), moments["thawed_at"], moments["now"])


def test_a_thaw_time_after_now_is_refused() -> None:
    with pytest.raises(InvalidQuantity) as refused:
        thaw_check(LIMIT, minutes(60), THAWED + MIN, THAWED)
    assert str(refused.value) == (
        "The thaw time 2024-03-04 09:46 UTC is later than now (2024-03-04 09:45 UTC); correct "
        "the record first."
    )


# The limit's declaration -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "fragment"),
    [
        (spec(unit=Unit.hours), "must be in minutes (min), not h."),
        (spec(unit=None), "must be in minutes (min), not a plain number."),
        (spec(low="0"), "greater than 0 min, not from 0."),
        (spec(none_option="no limit"), "cannot be “no limit”"),
    ],
    ids=["hours", "dimensionless", "minimum 0", "a no-limit option"],
)
def test_a_thaw_limit_must_be_positive_minutes_with_no_way_out(
    setting: DecimalSetting, fragment: str
) -> None:
    with pytest.raises(InvalidQuantity) as refused:
        ThawLimit(setting=setting, source=SOURCE, protocol=LIFILEUCEL)
    assert fragment in str(refused.value)


def test_a_thaw_limit_needs_a_source() -> None:
    with pytest.raises(InvalidQuantity, match="needs a source"):
        ThawLimit(setting=spec(), source="  ", protocol=LIFILEUCEL)


def test_minutes_convert_exactly_or_are_refused() -> None:
    assert minutes_to_timedelta(Decimal("45.5")) == timedelta(minutes=45, seconds=30)
    assert completed_minutes(timedelta(minutes=59, seconds=59, microseconds=999_999)) == 59
    with pytest.raises(InvalidQuantity, match="cannot be expressed exactly in microseconds"):
        minutes_to_timedelta(Decimal("0.00000001"))
