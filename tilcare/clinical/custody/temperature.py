"""Temperature excursions of a shipment, from its logged readings and its acceptable range.

Inputs: the readings, each an aware date-time and a temperature as a Quantity in °C (sorted or
not; two readings at the same instant are refused); the acceptable range, minimum and maximum in
°C, both inclusive (a reading exactly at a limit is inside); and the longest interval the data
logger may leave between two readings. That interval has no default: it depends on the logger's
configuration, so the caller passes it, or passes None, which the result states as "not assessed".

Method (the conservative interval rule). The readings are put in time order. A reading is
outside when it is below the minimum or above the maximum. Each interval between two consecutive
readings counts as outside when EITHER end is outside, because the log cannot show when between
the two readings the temperature crossed the limit. The time outside the range is the sum of the
outside intervals. Consecutive outside intervals make one continuous excursion, from the last
inside reading before it (or its first reading, at the start of the log) to the first inside
reading after it (or its last reading, at the end of the log). An outside reading alone at the
start or end of the log with no neighbour is an excursion of zero length: it is still an
excursion. The log shows an excursion when any reading is outside.

Worked example: range 2.0–8.0 °C, readings every 10 minutes at 5.0, 5.0, 9.0, 9.5, 9.0, 5.0 °C
(10:00 … 10:50). Readings 10:20, 10:30 and 10:40 are outside; the intervals 10:10–10:20,
10:20–10:30, 10:30–10:40 and 10:40–10:50 each have an outside end, so the time outside is
40 minutes, one excursion from 10:10 to 10:50, highest 9.5 °C.

Gaps: an interval between consecutive readings longer than the maximum logging interval is a
gap (strictly longer; an interval exactly equal to it is not). Gaps are reported, not counted as
time outside: the temperature during a gap is unknown, and whoever assesses the product decides.

Rounding: the time outside is exact (a timedelta); `whole_minutes_up` turns it into whole minutes
rounding up (ceiling), so that 30 seconds outside is never shown as 0 minutes.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

from tilcare.clinical.units import ImplausibleInput, InvalidQuantity, Quantity, Unit

RULE = (
    "an interval between consecutive readings counts as outside the range when either of its "
    "two readings is outside; limits inclusive (a reading exactly at a limit is inside)"
)
FORMULA = (
    "time outside = sum of the durations of outside intervals; an excursion = a run of "
    "consecutive outside intervals; excursion when any reading is outside; gap = interval "
    "longer than the maximum logging interval"
)
SOURCE = (
    "center's validated shipping range; method: conservative interval rule (an interval counts "
    "as outside when either end is outside), limits inclusive, minutes rounded up"
)
ROUNDING = "time outside exact; whole minutes rounded up (ceiling) by whole_minutes_up"


class NoReadings(ValueError):
    """The log holds no reading at all: nothing can be said about the temperature in transit."""


@dataclass(frozen=True)
class LoggedTemperature:
    recorded_at: dt.datetime
    temperature: Quantity  # °C

    def __str__(self) -> str:
        return f"{self.temperature} at {self.recorded_at.isoformat()}"


@dataclass(frozen=True)
class Excursion:
    """One continuous excursion: bounded by the readings either side (see the module rule)."""

    started_after: dt.datetime
    ended_before: dt.datetime
    readings_outside: int
    extreme: LoggedTemperature  # the reading furthest outside the range

    @property
    def duration(self) -> dt.timedelta:
        return self.ended_before - self.started_after


@dataclass(frozen=True)
class LoggingGap:
    after: dt.datetime
    before: dt.datetime

    @property
    def duration(self) -> dt.timedelta:
        return self.before - self.after


@dataclass(frozen=True)
class TemperatureLogAssessment:
    # Inputs, as used (readings in time order).
    readings: tuple[LoggedTemperature, ...]
    range_min: Quantity
    range_max: Quantity
    max_logging_interval: dt.timedelta | None
    # Findings.
    readings_outside: tuple[LoggedTemperature, ...]
    time_outside: dt.timedelta
    excursions: tuple[Excursion, ...]
    minimum: LoggedTemperature
    maximum: LoggedTemperature
    gaps: tuple[LoggingGap, ...]
    rule: str = RULE
    formula: str = FORMULA
    source: str = SOURCE
    rounding: str = ROUNDING

    @property
    def is_excursion(self) -> bool:
        return bool(self.readings_outside)

    @property
    def minutes_outside(self) -> int:
        return whole_minutes_up(self.time_outside)

    @property
    def longest_excursion(self) -> Excursion | None:
        if not self.excursions:
            return None
        # Excursions are in time order and max() keeps the first: the earliest of equal ones.
        return max(self.excursions, key=lambda e: e.duration)

    @property
    def gaps_assessed(self) -> bool:
        return self.max_logging_interval is not None

    @property
    def first_at(self) -> dt.datetime:
        return self.readings[0].recorded_at

    @property
    def last_at(self) -> dt.datetime:
        return self.readings[-1].recorded_at


def whole_minutes_up(duration: dt.timedelta) -> int:
    """A duration in whole minutes, rounded up: 30 s → 1, 40 min → 40, 0 → 0."""
    if duration < dt.timedelta(0):
        raise ImplausibleInput(f"A duration cannot be negative (got {duration}).")
    microseconds = Decimal(duration // dt.timedelta(microseconds=1))
    minutes = (microseconds / Decimal(60_000_000)).to_integral_value(rounding=ROUND_CEILING)
    return int(minutes)


def _celsius(value: Quantity, name: str) -> Quantity:
    if not isinstance(value, Quantity):
        raise InvalidQuantity(f"{name} must be a Quantity in °C, not {value!r}.")
    value.require(Unit.celsius, name)
    return value


def _readings(raw: Iterable[tuple[dt.datetime, Quantity]]) -> tuple[LoggedTemperature, ...]:
    readings: list[LoggedTemperature] = []
    for index, (recorded_at, temperature) in enumerate(raw, start=1):
        if not isinstance(recorded_at, dt.datetime):
            raise ImplausibleInput(f"Reading {index}: the time must be a date-time.")
        if recorded_at.tzinfo is None or recorded_at.utcoffset() is None:
            raise ImplausibleInput(
                f"Reading {index}: the time {recorded_at.isoformat()} has no UTC offset; "
                "a time without an offset is ambiguous."
            )
        readings.append(LoggedTemperature(recorded_at, _celsius(temperature, f"reading {index}")))
    if not readings:
        raise NoReadings("The temperature log has no readings.")
    readings.sort(key=lambda r: r.recorded_at)
    for previous, current in itertools.pairwise(readings):
        if previous.recorded_at == current.recorded_at:
            raise ImplausibleInput(
                f"Two readings at the same time ({current.recorded_at.isoformat()}): "
                "each time may appear once."
            )
    return tuple(readings)


def _distance_outside(reading: LoggedTemperature, low: Quantity, high: Quantity) -> Decimal:
    if reading.temperature < low:
        return low.magnitude - reading.temperature.magnitude
    if reading.temperature > high:
        return reading.temperature.magnitude - high.magnitude
    return Decimal(0)


def assess_temperature_log(
    readings: Sequence[tuple[dt.datetime, Quantity]],
    *,
    range_min: Quantity,
    range_max: Quantity,
    max_logging_interval: dt.timedelta | None,
) -> TemperatureLogAssessment:
    """Readings outside the range, the time outside, the excursions and the gaps of one log."""
    low = _celsius(range_min, "range minimum")
    high = _celsius(range_max, "range maximum")
    if not low < high:
        raise ImplausibleInput(
            f"The range minimum ({low}) must be below the range maximum ({high})."
        )
    if max_logging_interval is not None and max_logging_interval <= dt.timedelta(0):
        raise ImplausibleInput(
            f"The maximum logging interval must be positive (got {max_logging_interval})."
        )
    ordered = _readings(readings)
    outside = [_distance_outside(r, low, high) > 0 for r in ordered]

    excursions: list[Excursion] = []
    index = 0
    while index < len(ordered):
        if not outside[index]:
            index += 1
            continue
        start = index
        while index + 1 < len(ordered) and outside[index + 1]:
            index += 1
        end = index
        run = ordered[start : end + 1]
        excursions.append(
            Excursion(
                started_after=ordered[max(start - 1, 0)].recorded_at,
                ended_before=ordered[min(end + 1, len(ordered) - 1)].recorded_at,
                readings_outside=len(run),
                # The first of equally extreme readings.
                extreme=max(run, key=lambda r: _distance_outside(r, low, high)),
            )
        )
        index += 1

    gaps: tuple[LoggingGap, ...] = ()
    if max_logging_interval is not None:
        gaps = tuple(
            LoggingGap(a.recorded_at, b.recorded_at)
            for a, b in itertools.pairwise(ordered)
            if b.recorded_at - a.recorded_at > max_logging_interval
        )
    return TemperatureLogAssessment(
        readings=ordered,
        range_min=low,
        range_max=high,
        max_logging_interval=max_logging_interval,
        readings_outside=tuple(r for r, out in zip(ordered, outside, strict=True) if out),
        time_outside=sum((e.duration for e in excursions), dt.timedelta(0)),
        excursions=tuple(excursions),
        # The earliest of equal readings, so ties do not depend on the input order.
        minimum=min(ordered, key=lambda r: r.temperature.magnitude),
        maximum=max(ordered, key=lambda r: r.temperature.magnitude),
        gaps=gaps,
    )
