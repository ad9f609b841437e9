"""Cell infusion window and IL-2 schedule: edges on both sides, maximum doses, center settings.

Infusion: from 24 h until 4 days (96 h) after the last fludarabine dose (Amtagvi US label 2024,
§2: "as soon as possible after 24 hours have elapsed following the last fludarabine dose, but no
later than 4 days"). IL-2 after lifileucel: "Three to 24 hours after infusion, patients received
IL-2 … 600,000 IU/kg every 8 to 12 hours for up to 6 doses" (C-144-01 regimen summaries; the ONS
drug sheet, referring to the US prescribing information: "3–24 hours post infusion … every 8–12
hours for a maximum of six doses"); a center may narrow these ranges, never widen them. NKI
design (ESMO 2018): every 8 hours, up to 15 doses; how late a dose may still be given and the
start window are center settings there, entered in the examples as 12 h and 3–24 h.
"""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from tilcare.clinical.dosing.regimens import Il2Regimen, Narrowable
from tilcare.clinical.dosing.schedule import (
    NaiveDatetime,
    ScheduleStatus,
    hours_to_timedelta,
    infusion_window,
    next_il2_dose,
)
from tilcare.clinical.dosing.settings import (
    CenterSettings,
    DecimalSetting,
    InvalidCenterSetting,
    MissingCenterSetting,
    SettingSpec,
)
from tilcare.clinical.tests.dosing_regimens import (
    IL2_INTERVAL_MAX,
    IL2_INTERVAL_MIN,
    IL2_START_MAX,
    IL2_START_MIN,
    INFUSION_EARLIEST,
    INFUSION_LATEST,
    LIFILEUCEL_IL2,
    LIFILEUCEL_WINDOW,
    NKI_IL2,
    NKI_INTERVAL_MAX,
    NKI_START_MAX,
    NKI_START_MIN,
    NKI_WINDOW,
    center,
    hours,
    missing_message,
)
from tilcare.clinical.units import InvalidQuantity, Unit

T0 = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
H = timedelta(hours=1)
MIN = timedelta(minutes=1)
TOO_EARLY, ALLOWED = ScheduleStatus.TOO_EARLY, ScheduleStatus.ALLOWED
TOO_LATE, MAXIMUM = ScheduleStatus.TOO_LATE, ScheduleStatus.MAXIMUM_REACHED


# Infusion window -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("after", "status"),
    [
        (24 * H - MIN, TOO_EARLY),
        (24 * H, ALLOWED),
        (60 * H, ALLOWED),
        (96 * H, ALLOWED),
        (96 * H + timedelta(microseconds=1), TOO_LATE),
        (96 * H + MIN, TOO_LATE),
    ],
    ids=[
        "label: 23:59 after fludarabine too early",
        "label: exactly 24 h allowed",
        "label: 60 h allowed",
        "label: exactly 96 h allowed",
        "label: 96 h + 1 µs too late",
        "label: 96 h + 1 min too late",
    ],
)
def test_lifileucel_infusion_window_edges(after: timedelta, status: ScheduleStatus) -> None:
    result = infusion_window(LIFILEUCEL_WINDOW, center(), last_fludarabine_end=T0, now=T0 + after)
    assert result.status is status
    assert result.allowed_from == datetime(2024, 3, 2, 10, 0, tzinfo=UTC)
    assert result.allowed_until == datetime(2024, 3, 5, 10, 0, tzinfo=UTC)
    assert result.earliest_hours == Decimal(24) and result.latest_hours == Decimal(96)
    assert "Amtagvi" in result.source


def test_infusion_reasons_in_words() -> None:
    early = infusion_window(LIFILEUCEL_WINDOW, center(), last_fludarabine_end=T0, now=T0)
    now = infusion_window(LIFILEUCEL_WINDOW, center(), last_fludarabine_end=T0, now=T0 + 30 * H)
    late = infusion_window(LIFILEUCEL_WINDOW, center(), last_fludarabine_end=T0, now=T0 + 97 * H)
    assert early.reason == (
        "Too early to give the cells: they may be given from 2024-03-02 10:00 UTC, "
        "24 h after the last fludarabine dose ended."
    )
    assert now.reason == (
        "The cells may be given now, until 2024-03-05 10:00 UTC "
        "(96 h after the last fludarabine dose ended)."
    )
    assert late.reason == (
        "Too late: the window to give the cells closed at 2024-03-05 10:00 UTC, "
        "96 h after the last fludarabine dose ended. Do not infuse; call the treating physician."
    )


def test_infusion_window_across_time_zones() -> None:
    # 24 h after 10:00 UTC is 11:00 at UTC+01:00 the next day: allowed exactly then.
    plus_one = timezone(timedelta(hours=1))
    now = datetime(2024, 3, 2, 11, 0, tzinfo=plus_one)
    result = infusion_window(LIFILEUCEL_WINDOW, center(), last_fludarabine_end=T0, now=now)
    assert result.status is ALLOWED


@pytest.mark.parametrize("field", ["last_fludarabine_end", "now"])
def test_naive_datetimes_are_refused(field: str) -> None:
    times = {"last_fludarabine_end": T0, "now": T0 + 30 * H}
    times[field] = times[field].replace(tzinfo=None)
    with pytest.raises(NaiveDatetime, match=f"^{field} .* has no time zone"):
        infusion_window(LIFILEUCEL_WINDOW, center(), **times)


def test_nki_window_comes_from_center_settings() -> None:
    # Center entered 24–72 h for the NKI protocol (not settled by its sources).
    result = infusion_window(NKI_WINDOW, center(), last_fludarabine_end=T0, now=T0 + 72 * H)
    assert result.status is ALLOWED
    assert "infusion_latest_hours" in result.source
    late = infusion_window(NKI_WINDOW, center(), last_fludarabine_end=T0, now=T0 + 72 * H + MIN)
    assert late.status is TOO_LATE


@pytest.mark.parametrize("spec", [INFUSION_EARLIEST, INFUSION_LATEST], ids=lambda s: s.key)
def test_unset_infusion_settings_are_refused_by_name(spec: SettingSpec) -> None:
    with pytest.raises(MissingCenterSetting) as refused:
        infusion_window(NKI_WINDOW, center(**{spec.key: None}), last_fludarabine_end=T0, now=T0)
    assert refused.value.key == spec.key
    assert str(refused.value) == missing_message(spec)


def test_center_window_earliest_after_latest_is_refused() -> None:
    settings = center(infusion_earliest_hours=hours(80), infusion_latest_hours=hours(72))
    with pytest.raises(InvalidCenterSetting, match="starts at 80 h but ends at 72 h"):
        infusion_window(NKI_WINDOW, settings, last_fludarabine_end=T0, now=T0)


# IL-2 ------------------------------------------------------------------------------------------


def il2(
    given: list[datetime], now: datetime, regimen: Il2Regimen = LIFILEUCEL_IL2, **changes: object
) -> tuple[ScheduleStatus, str, int | None]:
    result = next_il2_dose(regimen, center(**changes), infusion_end=T0, doses_given=given, now=now)
    return result.status, result.reason, result.next_dose_number


@pytest.mark.parametrize(
    ("after", "status"),
    [
        (3 * H - MIN, TOO_EARLY),
        (3 * H, ALLOWED),
        (24 * H, ALLOWED),
        (24 * H + MIN, TOO_LATE),
    ],
    ids=["start 2:59 too early", "start exactly 3 h", "start exactly 24 h", "start 24:01 too late"],
)
def test_first_dose_start_window_edges(after: timedelta, status: ScheduleStatus) -> None:
    result = next_il2_dose(
        LIFILEUCEL_IL2, center(), infusion_end=T0, doses_given=[], now=T0 + after
    )
    assert result.status is status
    assert result.next_dose_number == 1
    assert result.allowed_from == T0 + 3 * H
    assert result.allowed_until == T0 + 24 * H
    assert result.anchor == T0


def test_first_dose_reasons() -> None:
    assert il2([], T0 + H)[1] == (
        "Too early for IL-2 dose 1 of at most 6: it may be given from 2024-03-01 13:00 UTC, "
        "3 h after the cell infusion ended."
    )
    assert il2([], T0 + 25 * H)[1] == (
        "Too late to start IL-2: the first dose had to be given by 2024-03-02 10:00 UTC, 24 h "
        "after the cell infusion ended. Do not give it without the physician's decision."
    )


@pytest.mark.parametrize(
    ("after_previous", "status"),
    [
        (8 * H - MIN, TOO_EARLY),
        (8 * H, ALLOWED),
        (12 * H, ALLOWED),
        (12 * H + MIN, TOO_LATE),
    ],
    ids=[
        "interval 7:59 too early",
        "interval exactly 8 h",
        "interval exactly 12 h",
        "interval 12:01 too late",
    ],
)
def test_next_dose_interval_edges(after_previous: timedelta, status: ScheduleStatus) -> None:
    first = T0 + 4 * H
    result = next_il2_dose(
        LIFILEUCEL_IL2, center(), infusion_end=T0, doses_given=[first], now=first + after_previous
    )
    assert result.status is status
    assert result.next_dose_number == 2
    assert result.anchor == first
    assert (result.allowed_from, result.allowed_until) == (first + 8 * H, first + 12 * H)


def test_next_dose_reasons() -> None:
    first = T0 + 4 * H
    allowed = il2([first], first + 9 * H)
    assert allowed == (
        ALLOWED,
        "IL-2 dose 2 of at most 6 may be given now, until 2024-03-02 02:00 UTC "
        "(12 h after the previous dose (2024-03-01 14:00 UTC)).",
        2,
    )
    late = il2([first], first + 13 * H)
    assert late[1].startswith("Too late for IL-2 dose 2 of at most 6: it was due by 2024-03-02")


def test_doses_are_counted_from_the_latest_given_in_any_order() -> None:
    given = [T0 + 12 * H, T0 + 4 * H]
    result = next_il2_dose(
        LIFILEUCEL_IL2, center(), infusion_end=T0, doses_given=given, now=T0 + 20 * H
    )
    assert result.doses_given == (T0 + 4 * H, T0 + 12 * H)
    assert result.next_dose_number == 3
    assert result.status is ALLOWED


def every_8_hours(count: int) -> list[datetime]:
    return [T0 + 4 * H + n * 8 * H for n in range(count)]


@pytest.mark.parametrize(
    ("regimen", "count", "status", "number"),
    [
        (LIFILEUCEL_IL2, 5, ALLOWED, 6),
        (LIFILEUCEL_IL2, 6, MAXIMUM, None),
        (NKI_IL2, 14, ALLOWED, 15),
        (NKI_IL2, 15, MAXIMUM, None),
    ],
    ids=[
        "Medina: 5 given, 6th allowed",
        "Medina: 6 given, maximum reached",
        "ESMO 2018: 14 given, 15th allowed",
        "ESMO 2018: 15 given, maximum reached",
    ],
)
def test_maximum_doses(
    regimen: Il2Regimen, count: int, status: ScheduleStatus, number: int | None
) -> None:
    given = every_8_hours(count)
    result = next_il2_dose(
        regimen, center(), infusion_end=T0, doses_given=given, now=given[-1] + 8 * H
    )
    assert result.status is status
    assert result.next_dose_number == number
    if status is MAXIMUM:
        assert result.allowed_from is None and result.allowed_until is None
        assert result.reason.startswith(f"No more IL-2: all {regimen.max_doses} doses")


def test_nki_interval_minimum_is_the_protocol_8_hours() -> None:
    # ESMO 2018: every 8 hours. The center's 8-12 h interval minimum is not used by NKI.
    first = T0 + 4 * H
    result = next_il2_dose(
        NKI_IL2,
        center(il2_interval_min_hours=None),
        infusion_end=T0,
        doses_given=[first],
        now=first + 8 * H,
    )
    assert result.status is ALLOWED
    assert result.minimum_hours == Decimal(8)
    assert "ESMO 2018" in result.source


UNSET_CASES: list[tuple[SettingSpec, list[datetime]]] = [
    (NKI_START_MIN, []),
    (NKI_START_MAX, []),
    (NKI_INTERVAL_MAX, [T0 + 4 * H]),
]


@pytest.mark.parametrize(("spec", "given"), UNSET_CASES, ids=[s.key for s, _ in UNSET_CASES])
def test_each_unset_nki_setting_is_refused_by_name(
    spec: SettingSpec, given: list[datetime]
) -> None:
    settings: CenterSettings = center(**{spec.key: None})
    with pytest.raises(MissingCenterSetting) as refused:
        next_il2_dose(NKI_IL2, settings, infusion_end=T0, doses_given=given, now=T0 + 20 * H)
    assert refused.value.key == spec.key
    assert str(refused.value) == missing_message(spec)


NO_IL2_SETTINGS = {
    spec.key: None for spec in (IL2_INTERVAL_MIN, IL2_INTERVAL_MAX, IL2_START_MIN, IL2_START_MAX)
}


def test_lifileucel_start_window_is_the_protocols_3_to_24_hours_without_center_settings() -> None:
    # C-144-01: "Three to 24 hours after infusion"; ONS: "3–24 hours post infusion".
    result = next_il2_dose(
        LIFILEUCEL_IL2, center(**NO_IL2_SETTINGS), infusion_end=T0, doses_given=[], now=T0 + H
    )
    assert (result.minimum_hours, result.maximum_hours) == (Decimal(3), Decimal(24))
    assert (result.allowed_from, result.allowed_until) == (T0 + 3 * H, T0 + 24 * H)
    assert result.status is TOO_EARLY
    assert "Three to 24 hours after infusion" in result.source


def test_lifileucel_interval_is_the_protocols_8_to_12_hours_without_center_settings() -> None:
    # C-144-01: "every 8 to 12 hours"; ONS: "every 8–12 hours".
    first = T0 + 4 * H
    result = next_il2_dose(
        LIFILEUCEL_IL2,
        center(**NO_IL2_SETTINGS),
        infusion_end=T0,
        doses_given=[first],
        now=first + 12 * H,
    )
    assert (result.allowed_from, result.allowed_until) == (first + 8 * H, first + 12 * H)
    assert result.status is ALLOWED
    assert result.rule == (
        "interval 8 h to 12 h after the previous dose (2024-03-01 14:00 UTC), inclusive"
    )


def test_a_center_may_narrow_the_lifileucel_interval() -> None:
    # C-144-01 "every 8 to 12 hours": a center giving IL-2 no sooner than 10 h stays within it.
    first = T0 + 4 * H
    result = next_il2_dose(
        LIFILEUCEL_IL2,
        center(**{**NO_IL2_SETTINGS, "il2_interval_min_hours": hours(10)}),
        infusion_end=T0,
        doses_given=[first],
        now=first + 9 * H,
    )
    assert result.status is TOO_EARLY
    assert (result.minimum_hours, result.maximum_hours) == (Decimal(10), Decimal(12))
    assert "Center setting" in result.source and "within the protocol's 8–12 h" in result.source


@pytest.mark.parametrize(
    ("key", "value", "given", "message"),
    [
        (
            "il2_interval_min_hours",
            "6",
            [T0 + 4 * H],
            "6 h would widen the protocol's range 8–12 h",
        ),
        (
            "il2_interval_max_hours",
            "14",
            [T0 + 4 * H],
            "14 h would widen the protocol's range 8–12 h",
        ),
        ("il2_start_min_hours", "2", [], "2 h would widen the protocol's range 3–24 h"),
        ("il2_start_max_hours", "30", [], "30 h would widen the protocol's range 3–24 h"),
    ],
    ids=["interval below 8 h", "interval above 12 h", "start before 3 h", "start after 24 h"],
)
def test_a_center_may_not_widen_the_lifileucel_ranges(
    key: str, value: str, given: list[datetime], message: str
) -> None:
    # C-144-01: "Three to 24 hours after infusion … every 8 to 12 hours".
    settings = center(**{**NO_IL2_SETTINGS, key: hours(value)})
    with pytest.raises(InvalidCenterSetting) as refused:
        next_il2_dose(LIFILEUCEL_IL2, settings, infusion_end=T0, doses_given=given, now=T0 + 9 * H)
    assert refused.value.key == key
    assert message in str(refused.value)
    assert "A center may narrow the range, never widen it" in str(refused.value)


def test_doses_beyond_the_maximum_are_flagged() -> None:
    # C-144-01: "for up to 6 doses"; ONS: "a maximum of six doses". Seven are recorded.
    given = every_8_hours(7)
    result = next_il2_dose(
        LIFILEUCEL_IL2, center(), infusion_end=T0, doses_given=given, now=given[-1] + H
    )
    assert result.status is MAXIMUM
    assert result.doses_beyond_maximum == 1
    assert result.reason == (
        "No more IL-2, and 1 dose beyond the maximum: 7 doses are recorded but this protocol "
        "allows at most 6 (the last at 2024-03-03 14:00 UTC). Check the dose record and tell "
        "the treating physician."
    )


def test_the_maximum_exactly_reached_flags_nothing() -> None:
    given = every_8_hours(6)
    result = next_il2_dose(
        LIFILEUCEL_IL2, center(), infusion_end=T0, doses_given=given, now=given[-1] + H
    )
    assert result.doses_beyond_maximum == 0


@pytest.mark.parametrize(
    ("given", "now", "fragment"),
    [
        ([T0 - H], T0 + 5 * H, "is before the cell infusion ended"),
        ([T0 + 30 * H], T0 + 5 * H, "is later than now"),
        ([T0 + 4 * H, T0 + 4 * H], T0 + 13 * H, "Two IL-2 doses are recorded at the same time"),
    ],
    ids=["dose before infusion", "dose in the future", "duplicate dose"],
)
def test_impossible_dose_records_are_refused(
    given: list[datetime], now: datetime, fragment: str
) -> None:
    with pytest.raises(InvalidQuantity, match=fragment):
        next_il2_dose(LIFILEUCEL_IL2, center(), infusion_end=T0, doses_given=given, now=now)


def test_naive_dose_time_is_refused_naming_it() -> None:
    given = [T0 + 4 * H, (T0 + 12 * H).replace(tzinfo=None)]
    with pytest.raises(NaiveDatetime, match=r"^doses_given\[1\] "):
        next_il2_dose(LIFILEUCEL_IL2, center(), infusion_end=T0, doses_given=given, now=T0 + 20 * H)


def test_center_interval_minimum_above_maximum_is_refused() -> None:
    settings = center(il2_interval_min_hours=hours(12), il2_interval_max_hours=hours(8))
    with pytest.raises(
        InvalidCenterSetting, match=r"\(il2_interval_max_hours\).*starts at 12 h but ends at 8 h"
    ):
        next_il2_dose(
            LIFILEUCEL_IL2, settings, infusion_end=T0, doses_given=[T0 + 4 * H], now=T0 + 9 * H
        )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("8", timedelta(hours=8)),
        ("0.5", timedelta(minutes=30)),
        ("1.000001", timedelta(hours=1, microseconds=3600)),
    ],
    ids=["8 h", "half an hour", "3600 µs over an hour"],
)
def test_hours_to_timedelta(value: str, expected: timedelta) -> None:
    assert hours_to_timedelta(Decimal(value)) == expected


def test_hours_needing_rounding_are_refused() -> None:
    # 10⁻¹⁰ h = 0.36 µs: not a whole number of microseconds
    with pytest.raises(InvalidQuantity, match="cannot be expressed exactly"):
        hours_to_timedelta(Decimal("0.0000000001"))


def test_a_narrowing_setting_wider_than_the_protocol_range_is_refused_when_built() -> None:
    # C-144-01 "every 8 to 12 hours": a setting allowing 4–24 h could widen it.
    wide = DecimalSetting(
        "il2_interval_min_hours", "label", "why", Unit.hours, Decimal(4), Decimal(24), "limits"
    )
    with pytest.raises(InvalidQuantity, match="a center may narrow it, never widen it"):
        Narrowable(hours(8), "C-144-01", wide, hours(8), hours(12))
