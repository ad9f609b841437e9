"""Filgrastim (G-CSF) after the cells: the daily dose, and when the ANC stop rule is met.

Lifileucel: “Filgrastim (or biosimilar) starting Day 1 after AMTAGVI, daily until ANC > 1000/mm³
for 3 consecutive days, or per institutional standard” (Amtagvi US label 2024, boxed warning).
The sources give no dose, so the dose per kg is always the center's setting, with no default:
until it is set the dose is refused, naming the setting (`MissingCenterSetting`). Where a
protocol's sources give no filgrastim (NKI phase 3) both functions refuse with
`RegimenNotInProtocol`: the treating physician orders it outside the platform.

Dose: dose (µg) = the center's dose per kg (µg/kg) × the patient's actual weight (kg), weight
20–350 kg as `body_size` accepts it. Rounding only through `round_dose_ug`: to a whole µg, half
up, shown in the working; the unrounded value is kept.

Stop rule: the ANC must be strictly above the threshold (exactly 1000/mm³ is not above) on the
required number of consecutive days; a day without an ANC breaks the run, as does a day at or
below the threshold. Days are study days (Day +1 is the day after the infusion, day 0; from the
regimen's start day) or calendar dates, not both. The ANC may be in /mm³ or ×10⁹/L; ×10⁹/L is
converted explicitly with `.to(Unit.per_mm3)` (exact: 1 ×10⁹/L = 1000/mm³) and the conversion is
recorded. Any other unit is refused. The rule is met on the last day of the first qualifying run.
The center may follow its institutional standard instead, where the source allows it; the
result quotes that alternative.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from tilcare.clinical.body_size import checked_weight_kg
from tilcare.clinical.dosing.regimens import Filgrastim, ProtocolRef, RegimenNotInProtocol
from tilcare.clinical.dosing.settings import CenterSettings, center_source
from tilcare.clinical.units import (
    ImplausibleInput,
    InvalidQuantity,
    Quantity,
    Unit,
    UnitMismatch,
)

FORMULA = "dose (µg) = dose per kg (µg/kg, the center's) × actual weight (kg)"
ROUNDING = "round_dose_ug: whole µg, half up"

StudyDay = int | date


def round_dose_ug(value: Decimal) -> Decimal:
    """A filgrastim dose to a whole µg, half up."""
    return value.quantize(Decimal(1), rounding=ROUND_HALF_UP)


def _number(value: Decimal) -> str:
    return f"{value.normalize():f}"


@dataclass(frozen=True)
class FilgrastimDose:
    protocol: ProtocolRef
    agent: str
    dose_per_kg: Quantity  # µg/kg, the center's
    weight: Quantity  # kg, the actual weight
    unrounded_ug: Decimal
    dose: Quantity  # µg, rounded by round_dose_ug
    start_day: int
    frequency: str  # "daily"
    stop_rule: str  # "ANC > 1000/mm³ for 3 consecutive days"
    institutional_alternative: str | None
    working: str
    source: str
    setting_key: str
    formula: str = FORMULA
    rounding: str = ROUNDING


def filgrastim_dose(
    regimen: Filgrastim | None, settings: CenterSettings, weight: Quantity
) -> FilgrastimDose:
    """One daily filgrastim dose in µg on the actual weight; refuses while the dose is unset."""
    if regimen is None:
        raise RegimenNotInProtocol("filgrastim")
    weight_kg = checked_weight_kg(weight)
    per_kg = settings.quantity(regimen.dose)
    unrounded = per_kg.magnitude * weight_kg
    rounded = round_dose_ug(unrounded)
    product = f"{_number(per_kg.magnitude)} µg/kg × {_number(weight_kg)} kg (actual weight)"
    if rounded == unrounded:
        working = f"{product} = {_number(rounded)} µg (a whole µg: no rounding)"
    else:
        working = (
            f"{product} = {_number(unrounded)} µg, rounded to a whole µg (half up): "
            f"{_number(rounded)} µg"
        )
    return FilgrastimDose(
        protocol=regimen.protocol,
        agent=regimen.agent,
        dose_per_kg=per_kg,
        weight=Quantity(weight_kg, Unit.kg),
        unrounded_ug=unrounded,
        dose=Quantity(rounded, Unit.ug),
        start_day=regimen.start_day,
        frequency=regimen.frequency,
        stop_rule=regimen.stop.describe(),
        institutional_alternative=regimen.institutional_alternative,
        working=working,
        source=f"{center_source(regimen.dose)}; {regimen.source}",
        setting_key=regimen.dose.key,
    )


# The stop rule -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AncDay:
    day: StudyDay
    given: Quantity  # as entered
    conversion: str  # how `anc` was obtained from `given`
    anc: Quantity  # /mm³
    above: bool  # strictly above the threshold


@dataclass(frozen=True)
class FilgrastimStop:
    protocol: ProtocolRef
    threshold: Quantity  # /mm³
    consecutive_days: int
    days: tuple[AncDay, ...]  # in day order
    met: bool
    run: tuple[StudyDay, ...]  # the qualifying days when met; the run so far otherwise
    met_on: StudyDay | None  # the last day of the qualifying run
    institutional_alternative: str | None
    reason: str
    rule: str
    source: str


def day_label(day: StudyDay) -> str:
    """“Day +9” for a study day, the ISO date for a calendar day."""
    return day.isoformat() if isinstance(day, date) else f"Day +{day}"


def _anc_text(anc: Quantity) -> str:
    return f"{_number(anc.magnitude)}{anc.unit.value}"


def _days_text(days: tuple[StudyDay, ...]) -> str:
    return ", ".join(day_label(day) for day in days)


def _checked_days(regimen: Filgrastim, anc_by_day: Mapping[StudyDay, Quantity]) -> list[StudyDay]:
    numbers: list[int] = []
    dates: list[date] = []
    for day in anc_by_day:
        if isinstance(day, datetime):
            raise InvalidQuantity(
                f"ANC day {day.isoformat()} is a date-time; give the calendar date or the study "
                "day number."
            )
        if isinstance(day, bool) or not isinstance(day, int | date):
            raise InvalidQuantity(
                f"ANC day {day!r} must be a study day number (Day +1 = 1) or a calendar date."
            )
        if isinstance(day, int) and day < regimen.start_day:
            raise InvalidQuantity(
                f"ANC day {day} is before Day +{regimen.start_day}, when filgrastim starts; "
                f"give study days from {regimen.start_day}."
            )
        if isinstance(day, int):
            numbers.append(day)
        else:
            dates.append(day)
    if numbers and dates:
        raise InvalidQuantity(
            "ANC days are all study day numbers or all calendar dates, not a mix of both."
        )
    return [*sorted(numbers), *sorted(dates)]


def _anc_day(day: StudyDay, given: object, threshold: Quantity) -> AncDay:
    label = day_label(day)
    if not isinstance(given, Quantity):
        raise InvalidQuantity(f"The ANC of {label} must be a quantity in /mm³ or ×10⁹/L.")
    if given.unit is Unit.per_mm3:
        anc, conversion = given, "given in /mm³; no conversion"
    elif given.unit is Unit.e9_per_l:
        anc = given.to(Unit.per_mm3)
        conversion = f"{given} converted with .to(/mm³): × 1000 = {anc}"
    else:
        raise UnitMismatch(given.unit, Unit.per_mm3, f"use the ANC of {label} given in")
    if anc.magnitude < 0:
        raise ImplausibleInput(f"The ANC of {label}, {given}, must not be negative.")
    return AncDay(day, given, conversion, anc, anc > threshold)


def _follows(previous: StudyDay, day: StudyDay) -> bool:
    if isinstance(previous, date) and isinstance(day, date):
        return day - previous == timedelta(days=1)
    if isinstance(previous, int) and isinstance(day, int):
        return day - previous == 1
    return False


def _next_day(day: StudyDay) -> StudyDay:
    return day + timedelta(days=1) if isinstance(day, date) else day + 1


def filgrastim_stop(
    regimen: Filgrastim | None, anc_by_day: Mapping[StudyDay, Quantity]
) -> FilgrastimStop:
    """Whether the ANC stop rule is met, on which days, and why not otherwise."""
    if regimen is None:
        raise RegimenNotInProtocol("filgrastim")
    stop = regimen.stop
    threshold, needed = stop.anc_above, stop.consecutive_days
    days = tuple(
        _anc_day(day, anc_by_day[day], threshold) for day in _checked_days(regimen, anc_by_day)
    )
    run: list[StudyDay] = []
    broken_by: StudyDay | None = None  # the missing day that ended the previous run
    met_on: StudyDay | None = None
    previous: AncDay | None = None
    for entry in days:
        if not entry.above:
            run, broken_by = [], None
        elif previous is not None and previous.above and _follows(previous.day, entry.day):
            run.append(entry.day)
        else:
            broken_by = _next_day(previous.day) if previous is not None and previous.above else None
            run = [entry.day]
        previous = entry
        if len(run) == needed:
            met_on = entry.day
            break
    alternative = regimen.institutional_alternative
    also = f", {alternative}" if alternative else ""
    rule = (
        f"stop filgrastim when {stop.describe()} (strictly above the threshold; a day without "
        f"an ANC breaks the run){also}"
    )
    above = f"above {_anc_text(threshold)}"
    by_day = {entry.day: entry for entry in days}
    if met_on is not None:
        values = ", ".join(f"{day_label(day)} {_anc_text(by_day[day].anc)}" for day in run)
        reason = (
            f"Stop rule met on {day_label(met_on)}: ANC {above} on {needed} consecutive days "
            f"({values}). The protocol gives {regimen.agent} {regimen.frequency} until then"
            f"{also}."
        )
    elif not days:
        reason = (
            f"No ANC recorded yet: {regimen.agent} continues {regimen.frequency} from "
            f"Day +{regimen.start_day} until {stop.describe()}{also}."
        )
    else:
        count = len(run)
        unit = "day" if count == 1 else "days"
        so_far = f"{count} consecutive {unit} {above} so far"
        if run:
            reason = f"{so_far} ({_days_text(tuple(run))}); {needed} needed."
            if broken_by is not None:
                reason += f" {day_label(broken_by)} has no ANC recorded, which broke the run."
        else:
            latest = days[-1]
            reason = (
                f"{so_far}: the latest ANC, {day_label(latest.day)} {_anc_text(latest.anc)}, is "
                f"not {above}."
            )
        reason += f" {regimen.agent[:1].upper()}{regimen.agent[1:]} continues {regimen.frequency}"
        reason += f"{also}."
    return FilgrastimStop(
        protocol=regimen.protocol,
        threshold=threshold,
        consecutive_days=needed,
        days=days,
        met=met_on is not None,
        run=tuple(run),
        met_on=met_on,
        institutional_alternative=alternative,
        reason=reason,
        rule=rule,
        source=stop.source,
    )
