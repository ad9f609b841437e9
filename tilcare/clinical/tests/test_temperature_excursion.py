"""Temperature excursions of a shipment's log, with hand-worked cases.

Rule under test (tilcare.clinical.custody.temperature): the readings are put in time order; an
interval between consecutive readings counts as outside the range when either end is outside;
limits are inclusive; the time outside is the sum of outside intervals; gaps are intervals longer
than the maximum logging interval; minutes are rounded up.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tilcare.clinical.custody.temperature import (
    SOURCE,
    Excursion,
    LoggedTemperature,
    LoggingGap,
    NoReadings,
    assess_temperature_log,
    whole_minutes_up,
)
from tilcare.clinical.units import (
    FloatNotAllowed,
    ImplausibleInput,
    Quantity,
    Unit,
    UnitMismatch,
    kg,
)

START = dt.datetime(2026, 1, 5, 10, 0, tzinfo=dt.UTC)
TEN_MINUTES = dt.timedelta(minutes=10)


def c(value: str) -> Quantity:
    return Quantity.of(value, Unit.celsius)


def at(minutes: int) -> dt.datetime:
    return START + dt.timedelta(minutes=minutes)


def log(*temperatures: str, every: int = 10) -> list[tuple[dt.datetime, Quantity]]:
    """Readings every `every` minutes from 10:00 UTC."""
    return [(at(i * every), c(t)) for i, t in enumerate(temperatures)]


def assess(readings, low="2.0", high="8.0", interval=TEN_MINUTES):
    return assess_temperature_log(
        readings, range_min=c(low), range_max=c(high), max_logging_interval=interval
    )


def test_worked_example_three_readings_above_range_count_40_minutes() -> None:
    # Given 2.0–8.0 °C and readings 5.0, 5.0, 9.0, 9.5, 9.0, 5.0 every 10 minutes from 10:00
    result = assess(log("5.0", "5.0", "9.0", "9.5", "9.0", "5.0"))

    # Then 10:10–10:20, 10:20–10:30, 10:30–10:40 and 10:40–10:50 each have an outside end
    assert result.is_excursion is True
    assert result.time_outside == dt.timedelta(minutes=40)
    assert result.minutes_outside == 40
    assert [r.recorded_at for r in result.readings_outside] == [at(20), at(30), at(40)]
    assert result.excursions == (
        Excursion(
            started_after=at(10),
            ended_before=at(50),
            readings_outside=3,
            extreme=LoggedTemperature(at(30), c("9.5")),
        ),
    )
    assert result.longest_excursion == result.excursions[0]
    assert result.longest_excursion.duration == dt.timedelta(minutes=40)
    assert result.maximum == LoggedTemperature(at(30), c("9.5"))
    assert result.minimum == LoggedTemperature(at(0), c("5.0"))


def test_all_inside_is_no_excursion() -> None:
    result = assess(log("4.0", "5.1", "7.9", "2.1"))

    assert result.is_excursion is False
    assert result.time_outside == dt.timedelta(0)
    assert result.minutes_outside == 0
    assert result.readings_outside == ()
    assert result.excursions == ()
    assert result.longest_excursion is None


@pytest.mark.parametrize(("case", "temperature"), [("at minimum", "2.0"), ("at maximum", "8.0")])
def test_exactly_at_a_limit_is_inside(case: str, temperature: str) -> None:
    result = assess(log("5.0", temperature, "5.0"))

    assert result.is_excursion is False
    assert result.time_outside == dt.timedelta(0)


@pytest.mark.parametrize(("case", "temperature"), [("below", "1.9"), ("above", "8.1")])
def test_one_tenth_past_a_limit_is_outside(case: str, temperature: str) -> None:
    # One reading outside between two inside readings: both its intervals count (20 minutes)
    result = assess(log("5.0", temperature, "5.0"))

    assert result.is_excursion is True
    assert result.minutes_outside == 20


def test_unsorted_readings_give_the_same_answer_as_sorted() -> None:
    readings = log("5.0", "5.0", "9.0", "9.5", "9.0", "5.0")

    assert assess(list(reversed(readings))) == assess(readings)


def test_readings_with_different_offsets_are_ordered_by_instant() -> None:
    # Given 10:10 UTC written as 11:10+01:00, after 10:00 UTC and before 10:20 UTC
    plus_one = dt.timezone(dt.timedelta(hours=1))
    readings = [
        (at(20), c("5.0")),
        (dt.datetime(2026, 1, 5, 11, 10, tzinfo=plus_one), c("9.0")),
        (at(0), c("5.0")),
    ]

    result = assess(readings)

    assert result.minutes_outside == 20
    assert result.first_at == at(0)
    assert result.last_at == at(20)


def test_outside_at_the_start_counts_from_the_first_reading() -> None:
    # 10:00 and 10:10 outside; the first inside reading is 10:20
    result = assess(log("9.0", "9.0", "5.0", "5.0"))

    assert result.excursions[0].started_after == at(0)
    assert result.excursions[0].ended_before == at(20)
    assert result.minutes_outside == 20


def test_outside_at_the_end_counts_to_the_last_reading() -> None:
    result = assess(log("5.0", "5.0", "1.0"))

    assert result.excursions[0].started_after == at(10)
    assert result.excursions[0].ended_before == at(20)
    assert result.minutes_outside == 10


def test_a_single_outside_reading_is_an_excursion_of_zero_minutes() -> None:
    result = assess(log("12.0"))

    assert result.is_excursion is True
    assert result.time_outside == dt.timedelta(0)
    assert result.excursions[0].duration == dt.timedelta(0)


def test_two_excursions_are_summed_and_the_longest_is_named() -> None:
    # 10:10 outside (10:00–10:20, 20 min); 10:40 and 10:50 outside (10:30–11:00, 30 min)
    result = assess(log("5.0", "9.0", "5.0", "5.0", "1.5", "0.5", "5.0"))

    assert result.minutes_outside == 50
    assert len(result.excursions) == 2
    assert result.longest_excursion is not None
    assert result.longest_excursion.started_after == at(30)
    assert result.longest_excursion.ended_before == at(60)
    # The reading furthest outside: 0.5 °C is 1.5 below the minimum, 1.5 °C only 0.5 below
    assert result.longest_excursion.extreme == LoggedTemperature(at(50), c("0.5"))


def test_excursions_separated_by_one_inside_reading_do_not_overlap() -> None:
    # 10:00 outside, 10:10 inside, 10:20 outside: 10 + 10 minutes, never 10:10 counted twice
    result = assess(log("9.0", "5.0", "9.0"))

    assert result.minutes_outside == 20
    assert len(result.excursions) == 2


def test_equally_long_excursions_name_the_earliest_as_longest() -> None:
    result = assess(log("9.0", "5.0", "5.0", "9.0"))

    assert result.longest_excursion is not None
    assert result.longest_excursion.started_after == at(0)


def test_uneven_intervals_count_their_real_length() -> None:
    # 10:00 inside, 10:07 outside, 10:30 inside: 7 + 23 = 30 minutes
    readings = [(at(0), c("5.0")), (at(7), c("8.5")), (at(30), c("5.0"))]

    assert assess(readings).minutes_outside == 30


def test_gaps_longer_than_the_logging_interval_are_listed() -> None:
    # 10:00, 10:10, then nothing until 10:45: a 35-minute gap (the 10-minute interval is not)
    readings = [(at(0), c("5.0")), (at(10), c("5.0")), (at(45), c("5.0"))]

    result = assess(readings)

    assert result.gaps == (LoggingGap(at(10), at(45)),)
    assert result.gaps[0].duration == dt.timedelta(minutes=35)
    assert result.gaps_assessed is True
    # A gap is not time outside the range
    assert result.time_outside == dt.timedelta(0)


def test_an_interval_exactly_at_the_maximum_is_not_a_gap() -> None:
    assert assess(log("5.0", "5.0"), interval=TEN_MINUTES).gaps == ()


def test_no_logging_interval_means_gaps_not_assessed() -> None:
    result = assess(log("5.0", "5.0", every=600), interval=None)

    assert result.gaps == ()
    assert result.gaps_assessed is False


def test_result_carries_its_inputs_rule_and_source() -> None:
    readings = log("5.0", "9.0")

    result = assess(readings)

    assert result.readings == tuple(LoggedTemperature(t, q) for t, q in readings)
    assert result.range_min == c("2.0")
    assert result.range_max == c("8.0")
    assert result.max_logging_interval == TEN_MINUTES
    assert "either" in result.rule and "inclusive" in result.rule
    assert result.source == SOURCE
    assert result.source.startswith("center's validated shipping range; method:")


def test_liquid_nitrogen_range_below_zero() -> None:
    # Vapor-phase dry shipper, −196.0 to −150.0 °C; −149.5 is outside, −150.0 is inside
    result = assess(log("-190.0", "-150.0", "-149.5", "-185.0"), low="-196.0", high="-150.0")

    assert [r.temperature for r in result.readings_outside] == [c("-149.5")]
    assert result.minutes_outside == 20


@pytest.mark.parametrize(
    ("duration", "minutes"),
    [
        (dt.timedelta(0), 0),
        (dt.timedelta(seconds=1), 1),
        (dt.timedelta(seconds=30), 1),
        (dt.timedelta(minutes=40), 40),
        (dt.timedelta(minutes=40, microseconds=1), 41),
        (dt.timedelta(days=1), 1440),
    ],
)
def test_whole_minutes_round_up(duration: dt.timedelta, minutes: int) -> None:
    assert whole_minutes_up(duration) == minutes


# --- refused inputs --------------------------------------------------------------------------


def test_no_readings_is_refused() -> None:
    with pytest.raises(NoReadings, match="no readings"):
        assess([])


def test_duplicate_times_are_refused() -> None:
    readings = [(at(0), c("5.0")), (at(0), c("5.1"))]

    with pytest.raises(ImplausibleInput, match="same time"):
        assess(readings)


def test_naive_time_is_refused() -> None:
    with pytest.raises(ImplausibleInput, match="no UTC offset"):
        assess([(dt.datetime(2026, 1, 5, 10, 0), c("5.0"))])


def test_temperature_in_another_unit_is_refused() -> None:
    with pytest.raises(UnitMismatch):
        assess([(at(0), kg("5"))])


def test_range_in_another_unit_is_refused() -> None:
    with pytest.raises(UnitMismatch):
        assess_temperature_log(
            log("5.0"), range_min=kg("2"), range_max=c("8.0"), max_logging_interval=None
        )


def test_float_temperature_is_refused() -> None:
    with pytest.raises(FloatNotAllowed):
        c(5.0)  # type: ignore[arg-type]


@pytest.mark.parametrize(("low", "high"), [("8.0", "2.0"), ("5.0", "5.0")])
def test_range_minimum_must_be_below_maximum(low: str, high: str) -> None:
    with pytest.raises(ImplausibleInput, match="must be below"):
        assess(log("5.0"), low=low, high=high)


def test_non_positive_logging_interval_is_refused() -> None:
    with pytest.raises(ImplausibleInput, match="must be positive"):
        assess(log("5.0"), interval=dt.timedelta(0))


def test_magnitudes_stay_decimal() -> None:
    result = assess(log("5.0", "9.5"))

    assert result.maximum.temperature.magnitude == Decimal("9.5")
    assert isinstance(result.maximum.temperature.magnitude, Decimal)
