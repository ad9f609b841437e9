"""Lymphodepletion doses, day by day, from a protocol regimen and the center's settings.

For each agent (Amtagvi US label section 2 and the NKI phase 3 protocol; label and trial doses):
  * mg/kg agent (cyclophosphamide): dose_mg = dose_mg_per_kg × dosing weight in kg, the weight
    on the basis the center set (actual; Devine ideal; adjusted with the center's factor);
  * mg/m² agent (fludarabine): dose_mg = dose_mg_per_m2 × BSA in m², BSA by the formula the
    center set (Mosteller or DuBois, as body_size rounds it to 0.01 m²), lowered to the center's
    cap when one is set and the BSA is above it;
  * renal adjustment (fludarabine): Cockcroft–Gault CrCl on the weight basis the center set, rounded
    to a whole mL/min, picks the center's band; a CrCl in a band takes that band's reduced dose per
    unit, a CrCl above every band takes the protocol dose, and a CrCl below the lowest band is
    refused ("CrCl X mL/min is below the lowest band the center set (Y mL/min)"). The reference
    notes quote secondary-source bands (CrCl 50–79 → 20 mg/m², 40–49 → 15 mg/m²) but mark them NOT
    CONFIRMED; nothing here uses them unless the center enters them;
  * mesna is noted with the dose the center set, not calculated (the label gives no dose).

Rounding: only `round_dose_to_increment` — the nearest multiple of the center's increment in mg,
half up (ROUND_HALF_UP); a pharmacy choice, so the increment is a center setting. Each line keeps
the unrounded dose, the increment and the rounding text. Every setting the calculation needs is
read through `CenterSettings`, which refuses while one is unset, naming it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from tilcare.clinical.body_size import BsaFormula, BsaResult, Sex, body_surface_area
from tilcare.clinical.dosing.regimens import (
    BsaSettings,
    LymphodepletionAgent,
    LymphodepletionRegimen,
    ProtocolRef,
    RenalAdjustment,
)
from tilcare.clinical.dosing.settings import (
    CenterSettingError,
    CenterSettings,
    InvalidCenterSetting,
    RenalBand,
    center_source,
)
from tilcare.clinical.dosing.weights import DosingWeight, dosing_weight
from tilcare.clinical.renal import CreatinineClearanceResult, cockcroft_gault
from tilcare.clinical.units import Quantity, Unit

PER_KG_FORMULA = "dose (mg) = dose per kg (mg/kg) × dosing weight (kg)"
PER_M2_FORMULA = "dose (mg) = dose per m² (mg/m²) × BSA used (m²)"


class CrClBelowLowestBand(CenterSettingError):
    """The patient's CrCl is below every band the center set: no dose can be calculated."""


def round_dose_to_increment(dose_mg: Decimal, increment_mg: Decimal) -> Decimal:
    """The nearest multiple of `increment_mg` (> 0), half up: 4812 mg to 10 mg -> 4810 mg."""
    if increment_mg <= 0:
        raise ValueError(f"Rounding increment {increment_mg} mg must be greater than 0.")
    steps = (dose_mg / increment_mg).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return steps * increment_mg


def day_label(day: int) -> str:
    """“Day −7”, “Day 0”, “Day +3” (DESIGN.md: study days relative to infusion)."""
    if day < 0:
        return f"Day −{-day}"
    return f"Day +{day}" if day > 0 else "Day 0"


@dataclass(frozen=True)
class BsaUsed:
    bsa: BsaResult
    cap: Quantity | None  # None: the center chose no cap
    cap_setting_key: str
    capped: bool
    bsa_used: Quantity  # in m²
    source: str


@dataclass(frozen=True)
class RenalReduction:
    crcl: CreatinineClearanceResult
    crcl_weight: DosingWeight
    bands: tuple[RenalBand, ...]
    band: RenalBand | None  # None: CrCl above every band, protocol dose
    setting_key: str
    rule: str
    source: str


@dataclass(frozen=True)
class AgentCalculation:
    """One agent's daily dose and everything it was computed from."""

    protocol: ProtocolRef
    agent: str
    route: str
    protocol_dose_per_unit: Quantity  # mg/kg or mg/m² as the protocol gives it
    dose_per_unit: Quantity  # after any renal reduction
    body_size: Quantity  # kg or m² used
    weight: DosingWeight | None
    bsa: BsaUsed | None
    renal: RenalReduction | None
    unrounded_dose_mg: Decimal
    increment_mg: Decimal
    dose: Quantity  # mg, rounded
    formula: str
    working: str
    source: str
    rounding: str


@dataclass(frozen=True)
class DoseLine:
    """One agent on one day: the dose and its inputs, formula, source, protocol and rounding."""

    protocol: ProtocolRef
    day: int
    day_label: str
    day_numbering_confirmed: bool
    day_numbering_source: str
    agent: str
    route: str
    dose: Quantity  # mg
    unrounded_dose_mg: Decimal
    formula: str
    source: str
    rounding: str
    calculation: AgentCalculation


@dataclass(frozen=True)
class MesnaLine:
    protocol: ProtocolRef
    with_agent: str
    days: tuple[int, ...]
    dose: Quantity  # as the center set it
    setting_key: str
    source: str
    note: str


@dataclass(frozen=True)
class LymphodepletionPlan:
    protocol: ProtocolRef
    agents: tuple[AgentCalculation, ...]
    lines: tuple[DoseLine, ...]  # by day, then in protocol order
    mesna: MesnaLine | None


def _bsa_used(
    spec: BsaSettings, settings: CenterSettings, weight: Quantity, height: Quantity
) -> BsaUsed:
    formula = BsaFormula(settings.choice(spec.formula))
    cap = settings.optional_quantity(spec.cap)
    bsa = body_surface_area(weight, height, formula)
    capped = cap is not None and bsa.bsa > cap
    used = cap if capped and cap is not None else bsa.bsa
    cap_text = f"cap {cap}" if cap is not None else "no cap"
    return BsaUsed(
        bsa=bsa,
        cap=cap,
        cap_setting_key=spec.cap.key,
        capped=capped,
        bsa_used=used,
        source=f"{center_source(spec.formula)}; {center_source(spec.cap)} ({cap_text}); "
        f"{bsa.source}",
    )


def _renal(
    spec: RenalAdjustment,
    settings: CenterSettings,
    protocol_dose: Quantity,
    *,
    weight: Quantity,
    height: Quantity,
    sex: str | Sex,
    age: Quantity,
    serum_creatinine: Quantity,
) -> RenalReduction:
    bands = settings.renal_bands(spec.bands)
    for each in bands:
        if each.dose > protocol_dose:
            raise InvalidCenterSetting(
                spec.bands,
                spec.bands.key,
                f"band {each}: a renal band cannot raise the dose above the protocol's "
                f"{protocol_dose}.",
            )
    crcl_weight = dosing_weight(spec.crcl_weight, settings, weight=weight, height=height, sex=sex)
    crcl = cockcroft_gault(
        age=age,
        weight=crcl_weight.weight,
        serum_creatinine=serum_creatinine,
        sex=sex,
        weight_basis=crcl_weight.basis,
    )
    value = crcl.crcl.magnitude
    lowest = bands[0].crcl_from.magnitude
    if value < lowest:
        raise CrClBelowLowestBand(
            f"CrCl {value} mL/min is below the lowest band the center set ({lowest} mL/min): "
            "this dose cannot be calculated from the center's settings; the physician and "
            "pharmacist decide."
        )
    band = next((b for b in bands if b.crcl_from.magnitude <= value <= b.crcl_to.magnitude), None)
    if band is None:
        rule = f"CrCl {value} mL/min is above every band: protocol dose {protocol_dose}"
    else:
        rule = f"CrCl {value} mL/min is in the band {band}"
    return RenalReduction(
        crcl=crcl,
        crcl_weight=crcl_weight,
        bands=bands,
        band=band,
        setting_key=spec.bands.key,
        rule=rule,
        source=f"{center_source(spec.bands)}; {crcl.source}",
    )


def _agent(
    protocol: ProtocolRef,
    agent: LymphodepletionAgent,
    settings: CenterSettings,
    *,
    weight: Quantity,
    height: Quantity,
    sex: str | Sex,
    age: Quantity,
    serum_creatinine: Quantity,
) -> AgentCalculation:
    increment_mg = settings.quantity(agent.rounding_increment).require(Unit.mg, "increment")
    renal = None
    if agent.renal is not None:
        renal = _renal(
            agent.renal,
            settings,
            agent.dose,
            weight=weight,
            height=height,
            sex=sex,
            age=age,
            serum_creatinine=serum_creatinine,
        )
    per_unit = renal.band.dose if renal is not None and renal.band is not None else agent.dose
    used_weight = None
    bsa = None
    if agent.weight is not None:
        used_weight = dosing_weight(agent.weight, settings, weight=weight, height=height, sex=sex)
        size, formula, size_text = used_weight.weight, PER_KG_FORMULA, used_weight.describe()
    else:
        assert agent.bsa is not None  # LymphodepletionAgent enforces one or the other
        bsa = _bsa_used(agent.bsa, settings, weight, height)
        size, formula = bsa.bsa_used, PER_M2_FORMULA
        size_text = f"{bsa.bsa_used} (BSA{', capped' if bsa.capped else ''})"
    unrounded = per_unit.magnitude * size.magnitude
    rounded = round_dose_to_increment(unrounded, increment_mg)
    sources = [agent.source]
    sources += [s.source for s in (used_weight, bsa, renal) if s is not None]
    return AgentCalculation(
        protocol=protocol,
        agent=agent.agent,
        route=agent.route,
        protocol_dose_per_unit=agent.dose,
        dose_per_unit=per_unit,
        body_size=size,
        weight=used_weight,
        bsa=bsa,
        renal=renal,
        unrounded_dose_mg=unrounded,
        increment_mg=increment_mg,
        dose=Quantity(rounded, Unit.mg),
        formula=formula,
        working=f"{per_unit} × {size_text} = {unrounded} mg → {rounded} mg",
        source="; ".join(sources),
        rounding=(
            f"round_dose_to_increment: nearest {increment_mg} mg, half up "
            f"({center_source(agent.rounding_increment)})"
        ),
    )


def lymphodepletion_doses(
    regimen: LymphodepletionRegimen,
    settings: CenterSettings,
    *,
    weight: Quantity,
    height: Quantity,
    sex: str | Sex,
    age: Quantity,
    serum_creatinine: Quantity,
) -> LymphodepletionPlan:
    """Every agent's dose for every day; refuses while a setting it needs is unset."""
    calculations = tuple(
        _agent(
            regimen.protocol,
            agent,
            settings,
            weight=weight,
            height=height,
            sex=sex,
            age=age,
            serum_creatinine=serum_creatinine,
        )
        for agent in regimen.agents
    )
    lines = [
        DoseLine(
            protocol=regimen.protocol,
            day=day,
            day_label=day_label(day),
            day_numbering_confirmed=agent.days.confirmed,
            day_numbering_source=agent.days.source,
            agent=calc.agent,
            route=calc.route,
            dose=calc.dose,
            unrounded_dose_mg=calc.unrounded_dose_mg,
            formula=calc.formula,
            source=calc.source,
            rounding=calc.rounding,
            calculation=calc,
        )
        for agent, calc in zip(regimen.agents, calculations, strict=True)
        for day in agent.days.day_numbers
    ]
    lines.sort(key=lambda line: line.day)  # stable: protocol order within a day
    return LymphodepletionPlan(
        protocol=regimen.protocol,
        agents=calculations,
        lines=tuple(lines),
        mesna=_mesna(regimen, settings),
    )


def _mesna(regimen: LymphodepletionRegimen, settings: CenterSettings) -> MesnaLine | None:
    note = regimen.mesna
    if note is None:
        return None
    dose = settings.quantity(note.dose)
    agent = next(a for a in regimen.agents if a.agent == note.with_agent)
    return MesnaLine(
        protocol=regimen.protocol,
        with_agent=note.with_agent,
        days=agent.days.day_numbers,
        dose=dose,
        setting_key=note.dose.key,
        source=f"{note.source}; {center_source(note.dose)}",
        note=(
            f"Mesna with each {note.with_agent} dose: {dose} as set by the center; "
            "timing and route follow the center's practice."
        ),
    )
