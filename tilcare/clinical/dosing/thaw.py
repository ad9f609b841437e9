"""How long thawed cells have waited, against the center's thaw-to-infusion limit.

The limit is always the center's own setting (`ThawLimit`): the sources this platform carries do
not give it, so the center's pharmacist and treating physician enter it in minutes from the
manufacturer's current instructions, and the bedside records the thaw time. `thaw_check` counts
from that time to `now`: within the limit up to and including (thaw time + limit), over it after
that; the edge is inclusive, as the infusion window's are.

Times must be timezone-aware datetimes (naive ones are refused, as in `schedule`); the caller
passes `now` (no clock here), and a thaw time after `now` is refused. The comparison is exact to
the microsecond; `minutes_since_thaw` is the whole minutes completed, as a timer shows them, so
one second past a 60 min limit reads 60 min and "over". No other rounding.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import Enum

from tilcare.clinical.dosing.regimens import ProtocolRef, ThawLimit
from tilcare.clinical.dosing.schedule import require_aware, when
from tilcare.clinical.dosing.settings import CenterSettings, center_source
from tilcare.clinical.units import InvalidQuantity

_MICROSECONDS_PER_MINUTE = Decimal(60_000_000)
_ONE_MINUTE = timedelta(minutes=1)


class ThawState(Enum):
    WITHIN = "within"
    OVER = "over"


@dataclass(frozen=True)
class ThawStatus:
    protocol: ProtocolRef
    thawed_at: datetime
    now: datetime
    minutes_since_thaw: int  # whole minutes completed since the thaw
    limit_minutes: Decimal  # the center's limit
    infuse_by: datetime  # thaw time + limit: still within at this instant
    status: ThawState
    reason: str
    source: str
    setting_key: str
    rule: str = "within from the thaw time until thaw time + the center's limit, inclusive"

    @property
    def is_within(self) -> bool:
        return self.status is ThawState.WITHIN


def minutes_to_timedelta(minutes: Decimal) -> timedelta:
    """Exact conversion to the microsecond; refuses a value that would need rounding."""
    microseconds = minutes * _MICROSECONDS_PER_MINUTE
    if microseconds != microseconds.to_integral_value():
        raise InvalidQuantity(f"{minutes} min cannot be expressed exactly in microseconds.")
    return timedelta(microseconds=int(microseconds))


def completed_minutes(elapsed: timedelta) -> int:
    """Whole minutes completed (rounded down), as a timer shows them."""
    return elapsed // _ONE_MINUTE


def _minutes_text(minutes: Decimal) -> str:
    return f"{minutes.normalize():f} min"


def thaw_check(
    limit: ThawLimit, settings: CenterSettings, thawed_at: datetime, now: datetime
) -> ThawStatus:
    """Whether the cells thawed at `thawed_at` are still within the center's limit at `now`.

    Refused while the center has not set its limit (`MissingCenterSetting`, saying what to set
    and who decides), for a naive date-time (`NaiveDatetime`) and for a thaw time after `now`.
    """
    thawed_at = require_aware(thawed_at, "thawed_at")
    now = require_aware(now, "now")
    if thawed_at > now:
        raise InvalidQuantity(
            f"The thaw time {when(thawed_at)} is later than now ({when(now)}); correct the "
            "record first."
        )
    spec = limit.setting
    limit_minutes = settings.quantity(spec).magnitude
    infuse_by = thawed_at + minutes_to_timedelta(limit_minutes)
    since = completed_minutes(now - thawed_at)
    limit_text = _minutes_text(limit_minutes)
    thawed = f"thawed at {when(thawed_at)}, {since} min ago"
    if now <= infuse_by:
        status = ThawState.WITHIN
        reason = (
            f"Within the thaw-to-infusion limit: {thawed}; infuse by {when(infuse_by)} "
            f"({limit_text} after the thaw, the center's limit)."
        )
    else:
        status = ThawState.OVER
        reason = (
            f"Over the thaw-to-infusion limit: {thawed}; the center's limit of {limit_text} "
            f"passed at {when(infuse_by)}. Do not infuse without the treating physician's "
            "decision."
        )
    return ThawStatus(
        protocol=limit.protocol,
        thawed_at=thawed_at,
        now=now,
        minutes_since_thaw=since,
        limit_minutes=limit_minutes,
        infuse_by=infuse_by,
        status=status,
        reason=reason,
        source=f"{center_source(spec)}; {limit.source}",
        setting_key=spec.key,
    )
