"""Premedication before the cell infusion: which groups were given, and how long before the start.

Lifileucel: “Acetaminophen and diphenhydramine or another H1-antihistamine, ~30 to 60 minutes
before infusion” (Amtagvi US label 2024, section 2): two groups, acetaminophen and an H1
antihistamine, each 30 to 60 minutes before the infusion starts. Where a protocol's sources give
no premedication (NKI phase 3) the check refuses with `RegimenNotInProtocol`: the treating
physician orders it outside the platform.

For each group, the dose that counts is the last one given at or before the infusion start (or,
when none was, the first one after it). Its status:
  * within: given between the protocol's earliest and latest minutes before the start, both
    edges inclusive (30 and 60 min are within);
  * earlier than the window: more minutes before the start than the latest (90 min before);
  * later than the window: fewer minutes before the start than the earliest, including at the
    start itself (10 min before, 0 min);
  * after the start: given after the infusion started;
  * missing: no dose recorded for the group.
`complete` is True when every group was given at or before the start; `timing_ok` when every
group is within. A missing group or one given after the start makes the premedication incomplete:
that is a problem. Timing outside the window is only a warning where the source gives it as
approximate (“~”): `acceptable` is then `complete`; for an exact window it also needs
`timing_ok`. Nothing here refuses on timing.

Times must be timezone-aware datetimes (naive ones are refused, as in `schedule`) and are compared
as instants; they are shown in the zone they were given in. The comparison is exact to the
microsecond; minutes are shown as whole minutes completed, with “over” when a part minute is left
(60 min 30 s before reads “over 60 min”, earlier than a 60 min edge). No other rounding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import NamedTuple

from tilcare.clinical.dosing.regimens import (
    Premedication,
    PremedicationGroup,
    ProtocolRef,
    RegimenNotInProtocol,
)
from tilcare.clinical.dosing.schedule import require_aware, when
from tilcare.clinical.dosing.thaw import completed_minutes, minutes_to_timedelta
from tilcare.clinical.units import InvalidQuantity, Quantity

_ONE_MINUTE = timedelta(minutes=1)


class PremedicationTiming(Enum):
    WITHIN = "within"
    EARLIER_THAN_WINDOW = "earlier_than_window"
    LATER_THAN_WINDOW = "later_than_window"
    AFTER_START = "after_start"
    MISSING = "missing"


class GivenPremedication(NamedTuple):
    """One premedication recorded as given: its group, the agent and when."""

    group: str
    agent: str
    given_at: datetime


@dataclass(frozen=True)
class GroupCheck:
    group: str  # as the protocol names it
    agents: str  # the agents the source allows, e.g. “diphenhydramine or another H1-antihistamine”
    given: tuple[GivenPremedication, ...]  # every dose recorded for the group, in time order
    counted: GivenPremedication | None  # the dose the status is about; None when missing
    before_start: timedelta | None  # start − given time; negative when given after the start
    minutes_before: int | None  # whole minutes completed before the start (None: after, missing)
    minutes_after: int | None  # whole minutes completed after the start (None: before, missing)
    status: PremedicationTiming
    reason: str

    @property
    def given_before_start(self) -> bool:
        return self.status not in (PremedicationTiming.AFTER_START, PremedicationTiming.MISSING)


@dataclass(frozen=True)
class PremedicationCheck:
    protocol: ProtocolRef
    infusion_start: datetime
    given: tuple[GivenPremedication, ...]  # as recorded, each group named as the protocol names it
    minutes_before_min: Quantity  # min
    minutes_before_max: Quantity  # min
    approximate: bool
    groups: tuple[GroupCheck, ...]  # in the protocol's order
    complete: bool  # every group given at or before the start
    timing_ok: bool  # every group within the window
    reason: str
    source: str
    rule: str

    @property
    def acceptable(self) -> bool:
        """Complete, and on time unless the source gives the timing as approximate."""
        return self.complete and (self.timing_ok or self.approximate)


def _duration(delta: timedelta) -> str:
    """Whole minutes completed, with “over” when part of a minute is left."""
    whole = completed_minutes(delta)
    if delta == whole * _ONE_MINUTE:
        return f"{whole} min"
    return "less than 1 min" if whole == 0 else f"over {whole} min"


def _window_text(regimen: Premedication) -> str:
    low = f"{regimen.minutes_before_min.magnitude.normalize():f}"
    high = f"{regimen.minutes_before_max.magnitude.normalize():f}"
    approximately = "~" if regimen.approximate else ""
    return f"the protocol's {approximately}{low} to {high} min before the infusion"


def _rule(regimen: Premedication) -> str:
    low = f"{regimen.minutes_before_min.magnitude.normalize():f}"
    high = f"{regimen.minutes_before_max.magnitude.normalize():f}"
    outside = (
        "a warning (the source's timing is approximate)"
        if regimen.approximate
        else "not acceptable (the source's timing is exact)"
    )
    return (
        "every group given at or before the infusion start, the last dose before the start "
        f"counting; on time when {low} min ≤ time before the start ≤ {high} min (inclusive); "
        f"a missing group or one given after the start is incomplete; timing outside is {outside}"
    )


def _entries(
    regimen: Premedication, given: Sequence[tuple[str, str, datetime]]
) -> tuple[GivenPremedication, ...]:
    entries = []
    for i, item in enumerate(given):
        if not isinstance(item, tuple) or len(item) != 3:
            raise InvalidQuantity(f"given[{i}] must be (group, agent, time given), not {item!r}.")
        group_name, agent, moment = item
        if not isinstance(group_name, str) or not isinstance(agent, str):
            raise InvalidQuantity(f"given[{i}]: the group and the agent are text.")
        group = regimen.group(group_name)
        if group is None:
            known = ", ".join(g.group for g in regimen.groups)
            raise InvalidQuantity(
                f"given[{i}]: “{group_name}” is not a premedication of this protocol; its "
                f"premedications are {known}."
            )
        if not group.accepts(agent):
            raise InvalidQuantity(
                f"given[{i}]: “{agent}” cannot be recorded as {group.group}: this protocol "
                f"gives {group.describe()}."
            )
        moment = require_aware(moment, f"given[{i}] {group.group} time")
        entries.append(GivenPremedication(group.group, agent.strip(), moment))
    return tuple(entries)


def _group_check(
    regimen: Premedication,
    group: PremedicationGroup,
    entries: tuple[GivenPremedication, ...],
    start: datetime,
) -> GroupCheck:
    mine = tuple(sorted((e for e in entries if e.group == group.group), key=lambda e: e.given_at))
    before = [e for e in mine if e.given_at <= start]
    counted = before[-1] if before else (mine[0] if mine else None)
    window = _window_text(regimen)
    name = group.group[:1].upper() + group.group[1:]
    if counted is None:
        return GroupCheck(
            group=group.group,
            agents=group.describe(),
            given=mine,
            counted=None,
            before_start=None,
            minutes_before=None,
            minutes_after=None,
            status=PremedicationTiming.MISSING,
            reason=f"{name} ({group.describe()}) is not recorded as given.",
        )
    delta = start - counted.given_at
    agent = "" if counted.agent.casefold() == group.group.casefold() else f" ({counted.agent})"
    given = f"{name}{agent} given at {when(counted.given_at)}"
    minutes_before = minutes_after = None
    if delta < timedelta(0):
        status = PremedicationTiming.AFTER_START
        minutes_after = completed_minutes(-delta)
        reason = (
            f"{given}, {_duration(-delta)} after the infusion start: it must be given before "
            f"the infusion starts ({window})."
        )
    else:
        minutes_before = completed_minutes(delta)
        low = minutes_to_timedelta(regimen.minutes_before_min.magnitude)
        high = minutes_to_timedelta(regimen.minutes_before_max.magnitude)
        if delta > high:
            status, where = PremedicationTiming.EARLIER_THAN_WINDOW, "earlier than"
        elif delta < low:
            status, where = PremedicationTiming.LATER_THAN_WINDOW, "later than"
        else:
            status, where = PremedicationTiming.WITHIN, "within"
        reason = f"{given}, {_duration(delta)} before the infusion start: {where} {window}."
    return GroupCheck(
        group=group.group,
        agents=group.describe(),
        given=mine,
        counted=counted,
        before_start=delta,
        minutes_before=minutes_before,
        minutes_after=minutes_after,
        status=status,
        reason=reason,
    )


def _summary(check: GroupCheck) -> str:
    if check.status is PremedicationTiming.MISSING:
        return f"{check.group} not given"
    assert check.before_start is not None
    if check.status is PremedicationTiming.AFTER_START:
        return f"{check.group} given {_duration(-check.before_start)} after the start"
    return f"{check.group} given {_duration(check.before_start)} before the start"


def _overall(regimen: Premedication, checks: tuple[GroupCheck, ...]) -> tuple[bool, bool, str]:
    complete = all(check.given_before_start for check in checks)
    timing_ok = all(check.status is PremedicationTiming.WITHIN for check in checks)
    window = _window_text(regimen)
    names = " and ".join(check.group for check in checks)
    if not complete:
        problems = [check for check in checks if not check.given_before_start]
        reason = (
            "Premedication not complete: "
            + "; ".join(_summary(check) for check in problems)
            + f". Each premedication is given before the infusion starts ({window})."
        )
    elif timing_ok:
        reason = f"Premedication complete: {names} given within {window}."
    else:
        outside = [check for check in checks if check.status is not PremedicationTiming.WITHIN]
        listed = "; ".join(_summary(check) for check in outside)
        tail = (
            "The timing is approximate, so this is a warning for the treating physician, not a "
            "stop."
            if regimen.approximate
            else "The treating physician decides before the infusion starts."
        )
        reason = f"Premedication given, but not within {window}: {listed}. {tail}"
    return complete, timing_ok, reason


def premedication_check(
    regimen: Premedication | None,
    given: Sequence[tuple[str, str, datetime]],
    infusion_start: datetime,
) -> PremedicationCheck:
    """Each premedication group against the infusion start (planned or actual).

    `given` holds (group, agent, aware date-time) for each dose recorded, in any order. Refused:
    a protocol without premedication (`RegimenNotInProtocol`), a group the protocol does not give,
    an agent the group does not allow, and naive date-times (`NaiveDatetime`).
    """
    if regimen is None:
        raise RegimenNotInProtocol("premedication")
    start = require_aware(infusion_start, "infusion_start")
    entries = _entries(regimen, given)
    checks = tuple(_group_check(regimen, group, entries, start) for group in regimen.groups)
    complete, timing_ok, reason = _overall(regimen, checks)
    return PremedicationCheck(
        protocol=regimen.protocol,
        infusion_start=start,
        given=entries,
        minutes_before_min=regimen.minutes_before_min,
        minutes_before_max=regimen.minutes_before_max,
        approximate=regimen.approximate,
        groups=checks,
        complete=complete,
        timing_ok=timing_ok,
        reason=reason,
        source=regimen.source,
        rule=_rule(regimen),
    )
