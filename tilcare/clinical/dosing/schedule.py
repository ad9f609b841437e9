"""When the cells may be infused, and when the next IL-2 dose may be given.

Infusion window: allowed from (end of the last fludarabine dose + earliest hours) until (that end
+ latest hours). Lifileucel: 24 h to 4 days = 96 h (Amtagvi US label 2024: "as soon as possible
after 24 hours have elapsed following the last fludarabine dose, but no later than 4 days");
where the sources do not settle the window (NKI) it comes from the center's settings.

IL-2 schedule: the first dose is allowed from (end of the cell infusion + start minimum) until
(that end + start maximum); each later dose from (previous dose given + minimum interval) until
(previous dose + maximum interval). When the protocol's maximum number of doses has been given,
no further dose is allowed; doses recorded beyond the maximum are counted and flagged
(`doses_beyond_maximum`). Interval and start window come from the protocol where its sources
settle them (after lifileucel: every 8 to 12 hours, the first dose 3 to 24 hours after the
infusion, at most 6 doses; a center may narrow these ranges, never widen them) and from the
center's settings where they do not.

Edges are inclusive: exactly at "allowed from" or "allowed until" is allowed. Status values:
too_early / allowed / too_late / maximum_reached, with the reason in words a nurse understands.
Times must be timezone-aware datetimes (naive ones are refused: an hour's offset would move the
window); the caller passes `now` (no clock here). Hours convert to timedelta exactly (to the
microsecond) or are refused; there is no rounding.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import NamedTuple

from tilcare.clinical.dosing.regimens import (
    FromCenter,
    Il2Regimen,
    InfusionWindow,
    Narrowable,
    ProtocolRef,
    QuantityParam,
    ResolvedQuantity,
    resolve,
)
from tilcare.clinical.dosing.settings import CenterSettings, InvalidCenterSetting
from tilcare.clinical.units import InvalidQuantity, Unit

_MICROSECONDS_PER_HOUR = Decimal(3_600_000_000)


class NaiveDatetime(ValueError):
    """A date-time without a time zone was given."""


class ScheduleStatus(Enum):
    TOO_EARLY = "too_early"
    ALLOWED = "allowed"
    TOO_LATE = "too_late"
    MAXIMUM_REACHED = "maximum_reached"


def require_aware(value: object, name: str) -> datetime:
    """Return `value` if it is a timezone-aware datetime; refuse anything else, naming it."""
    if not isinstance(value, datetime):
        raise TypeError(f"{name} {value!r} must be a datetime.")
    if value.tzinfo is None or value.utcoffset() is None:
        raise NaiveDatetime(
            f"{name} {value.isoformat()} has no time zone; give a timezone-aware date-time."
        )
    return value


def hours_to_timedelta(hours: Decimal) -> timedelta:
    """Exact conversion to the microsecond; refuses a value that would need rounding."""
    microseconds = hours * _MICROSECONDS_PER_HOUR
    if microseconds != microseconds.to_integral_value():
        raise InvalidQuantity(f"{hours} h cannot be expressed exactly in microseconds.")
    return timedelta(microseconds=int(microseconds))


def when(moment: datetime) -> str:
    """A date-time as a nurse reads it: “2024-03-04 10:00 UTC”."""
    return f"{moment:%Y-%m-%d %H:%M} {moment.tzname()}"


def _hours_text(hours: Decimal) -> str:
    return f"{hours.normalize():f} h"


@dataclass(frozen=True)
class WindowLimits:
    earliest: ResolvedQuantity  # hours
    latest: ResolvedQuantity  # hours


def _limits(
    earliest: QuantityParam, latest: QuantityParam, settings: CenterSettings, what: str
) -> WindowLimits:
    low, high = resolve(earliest, settings), resolve(latest, settings)
    if low.value > high.value:
        spec = next(
            (
                p.setting
                for p, r in ((latest, high), (earliest, low))
                if isinstance(p, FromCenter | Narrowable) and r.setting_key is not None
            ),
            None,
        )
        raise InvalidCenterSetting(
            spec,
            spec.key if spec is not None else what,
            f"the {what} starts at {low.value} but ends at {high.value}; "
            "the earliest must not be later than the latest.",
        )
    return WindowLimits(low, high)


class _Window(NamedTuple):
    low_hours: Decimal
    high_hours: Decimal
    allowed_from: datetime
    allowed_until: datetime
    status: ScheduleStatus


def _window(
    limits: WindowLimits, anchor: datetime, now: datetime, names: tuple[str, str]
) -> _Window:
    """The window `limits` opens after `anchor` (edges inclusive) and where `now` falls in it;
    `names` name the two limits if one is not in hours."""
    low = limits.earliest.value.require(Unit.hours, names[0])
    high = limits.latest.value.require(Unit.hours, names[1])
    allowed_from = anchor + hours_to_timedelta(low)
    allowed_until = anchor + hours_to_timedelta(high)
    if now < allowed_from:
        status = ScheduleStatus.TOO_EARLY
    elif now > allowed_until:
        status = ScheduleStatus.TOO_LATE
    else:
        status = ScheduleStatus.ALLOWED
    return _Window(low, high, allowed_from, allowed_until, status)


# Cell infusion ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class InfusionWindowStatus:
    protocol: ProtocolRef
    last_fludarabine_end: datetime
    now: datetime
    earliest_hours: Decimal
    latest_hours: Decimal
    allowed_from: datetime
    allowed_until: datetime
    status: ScheduleStatus
    reason: str
    source: str
    rule: str = "allowed from last fludarabine end + earliest h until + latest h, inclusive"


def infusion_window(
    window: InfusionWindow,
    settings: CenterSettings,
    *,
    last_fludarabine_end: datetime,
    now: datetime,
) -> InfusionWindowStatus:
    """Whether the cells may be infused at `now`, and from when until when."""
    end = require_aware(last_fludarabine_end, "last_fludarabine_end")
    now = require_aware(now, "now")
    limits = _limits(window.earliest_hours, window.latest_hours, settings, "infusion window")
    low, high, allowed_from, allowed_until, status = _window(
        limits, end, now, ("earliest", "latest")
    )
    after = "after the last fludarabine dose ended"
    if status is ScheduleStatus.TOO_EARLY:
        reason = (
            f"Too early to give the cells: they may be given from {when(allowed_from)}, "
            f"{_hours_text(low)} {after}."
        )
    elif status is ScheduleStatus.TOO_LATE:
        reason = (
            f"Too late: the window to give the cells closed at {when(allowed_until)}, "
            f"{_hours_text(high)} {after}. Do not infuse; call the treating physician."
        )
    else:
        reason = (
            f"The cells may be given now, until {when(allowed_until)} "
            f"({_hours_text(high)} {after})."
        )
    return InfusionWindowStatus(
        protocol=window.protocol,
        last_fludarabine_end=end,
        now=now,
        earliest_hours=low,
        latest_hours=high,
        allowed_from=allowed_from,
        allowed_until=allowed_until,
        status=status,
        reason=reason,
        source=f"{limits.earliest.source}; {limits.latest.source}",
    )


# IL-2 ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Il2ScheduleStatus:
    protocol: ProtocolRef
    infusion_end: datetime
    doses_given: tuple[datetime, ...]  # sorted
    now: datetime
    max_doses: int
    next_dose_number: int | None  # None when the maximum is reached
    anchor: datetime  # infusion end for the first dose, else the previous dose
    minimum_hours: Decimal | None
    maximum_hours: Decimal | None
    allowed_from: datetime | None
    allowed_until: datetime | None
    status: ScheduleStatus
    reason: str
    source: str
    rule: str
    doses_beyond_maximum: int = 0  # doses recorded past the protocol's maximum: flagged


def next_il2_dose(
    regimen: Il2Regimen,
    settings: CenterSettings,
    *,
    infusion_end: datetime,
    doses_given: Sequence[datetime],
    now: datetime,
) -> Il2ScheduleStatus:
    """Whether the next IL-2 dose may be given at `now`, and from when until when."""
    infusion_end = require_aware(infusion_end, "infusion_end")
    now = require_aware(now, "now")
    given = tuple(sorted(require_aware(t, f"doses_given[{i}]") for i, t in enumerate(doses_given)))
    _check_given(given, infusion_end, now)
    count = len(given)
    if count >= regimen.max_doses:
        beyond = count - regimen.max_doses
        if beyond:
            reason = (
                f"No more IL-2, and {beyond} {'dose' if beyond == 1 else 'doses'} beyond the "
                f"maximum: {count} doses are recorded but this protocol allows at most "
                f"{regimen.max_doses} (the last at {when(given[-1])}). Check the dose record and "
                "tell the treating physician."
            )
        else:
            reason = (
                f"No more IL-2: all {regimen.max_doses} doses this protocol allows have been "
                f"given (the last at {when(given[-1])})."
            )
        return Il2ScheduleStatus(
            protocol=regimen.protocol,
            infusion_end=infusion_end,
            doses_given=given,
            now=now,
            max_doses=regimen.max_doses,
            next_dose_number=None,
            anchor=given[-1],
            minimum_hours=None,
            maximum_hours=None,
            allowed_from=None,
            allowed_until=None,
            status=ScheduleStatus.MAXIMUM_REACHED,
            reason=reason,
            source=regimen.source,
            rule=f"at most {regimen.max_doses} doses",
            doses_beyond_maximum=beyond,
        )
    first = count == 0
    if first:
        limits = _limits(regimen.start_min_hours, regimen.start_max_hours, settings, "IL-2 start")
        anchor, anchor_text = infusion_end, "after the cell infusion ended"
    else:
        limits = _limits(
            regimen.interval_min_hours, regimen.interval_max_hours, settings, "IL-2 interval"
        )
        anchor, anchor_text = given[-1], f"after the previous dose ({when(given[-1])})"
    low, high, allowed_from, allowed_until, status = _window(
        limits, anchor, now, ("minimum", "maximum")
    )
    number = count + 1
    dose_text = f"IL-2 dose {number} of at most {regimen.max_doses}"
    if status is ScheduleStatus.TOO_EARLY:
        reason = (
            f"Too early for {dose_text}: it may be given from {when(allowed_from)}, "
            f"{_hours_text(low)} {anchor_text}."
        )
    elif status is ScheduleStatus.TOO_LATE and first:
        reason = (
            f"Too late to start IL-2: the first dose had to be given by {when(allowed_until)}, "
            f"{_hours_text(high)} {anchor_text}. Do not give it without the physician's decision."
        )
    elif status is ScheduleStatus.TOO_LATE:
        reason = (
            f"Too late for {dose_text}: it was due by {when(allowed_until)}, "
            f"{_hours_text(high)} {anchor_text}. Do not give it without the physician's decision."
        )
    else:
        reason = (
            f"{dose_text} may be given now, until {when(allowed_until)} "
            f"({_hours_text(high)} {anchor_text})."
        )
    window = "start window" if first else "interval"
    return Il2ScheduleStatus(
        protocol=regimen.protocol,
        infusion_end=infusion_end,
        doses_given=given,
        now=now,
        max_doses=regimen.max_doses,
        next_dose_number=number,
        anchor=anchor,
        minimum_hours=low,
        maximum_hours=high,
        allowed_from=allowed_from,
        allowed_until=allowed_until,
        status=status,
        reason=reason,
        source=f"{regimen.source}; {limits.earliest.source}; {limits.latest.source}",
        rule=f"{window} {_hours_text(low)} to {_hours_text(high)} {anchor_text}, inclusive",
    )


def _check_given(given: tuple[datetime, ...], infusion_end: datetime, now: datetime) -> None:
    for moment in given:
        if moment < infusion_end:
            raise InvalidQuantity(
                f"An IL-2 dose recorded at {when(moment)} is before the cell infusion ended "
                f"({when(infusion_end)}); correct the record first."
            )
        if moment > now:
            raise InvalidQuantity(
                f"An IL-2 dose recorded at {when(moment)} is later than now ({when(now)}); "
                "correct the record first."
            )
    for earlier, later in itertools.pairwise(given):
        if earlier == later:
            raise InvalidQuantity(
                f"Two IL-2 doses are recorded at the same time ({when(earlier)}); "
                "correct the record first."
            )
