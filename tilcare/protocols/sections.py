"""The sections of a protocol file, each read into the clinical core's regimen dataclasses.

Layout (numbers are decimal strings; `*_setting` keys name a declared center setting):

  [[lymphodepletion.agents]]   agent, route, dose, dose_unit (mg/kg | mg/m²), daily_doses, source,
                               rounding_setting (mg); mg/kg: weight_basis_setting
                               [+ adjusted_weight_factor_setting]; mg/m²: bsa_formula_setting,
                               bsa_cap_setting; optional renal_bands_setting with
                               crcl_weight_basis_setting [+ crcl_adjusted_weight_factor_setting]
  [lymphodepletion.agents.days] numbers (before day 0), confirmed (true | false), source
  [lymphodepletion.mesna]      with_agent, dose_setting, source
  [cell_dose]                  min_cells_1e9, [max_cells_1e9], [min_bags, max_bags], source
                               (a limit the sources do not set is left out, not invented)
  [infusion_window]            earliest_hours, latest_hours (after the last fludarabine dose)
  [thaw]                       limit_setting (a declared decimal setting in min, above 0, no
                               none_option), source: the thaw-to-infusion limit is always the
                               center's own (kept apart from the infusion window)
  [il2]                        dose, dose_unit (IU/kg), max_doses, source, weight_basis_setting
                               [+ adjusted_weight_factor_setting], interval_min_hours,
                               interval_max_hours, start_min_hours, start_max_hours
  [premedication]              optional: minutes_before_min, minutes_before_max (minutes before
                               the infusion starts), approximate (true where the source says
                               “~”), source
  [[premedication.groups]]     group, agents (the agents the source names), [other_agents] (the
                               source's words where any agent of the group will do)
  [filgrastim]                 optional: agent, start_day (Day +1 or later), interval_days,
                               dose_setting (a declared decimal setting in µg/kg, above 0, no
                               none_option: the sources give no dose), [institutional_alternative]
                               (the source's words), source
  [filgrastim.stop]            anc_above_per_mm3 (strictly above), consecutive_days, source

A protocol whose sources give no premedication or filgrastim leaves the section out: nothing is
invented, and the treating physician orders it outside the platform.

A value in hours is either a decimal string (its table's `source` applies) or an inline table
`{ setting = "<key>" }` naming a declared decimal setting in h. A range the sources settle but a
center may narrow (the IL-2 interval or start window) writes both ends as
`{ value = "8", narrowing_setting = "<key>" }`: the protocol's value applies until the center
sets its own, and the setting's declared min and max must lie within the protocol's range (a
center may narrow it, never widen it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TypeVar

from tilcare.clinical.body_size import BsaFormula
from tilcare.clinical.dosing.regimens import (
    AncStopRule,
    BsaSettings,
    CellDoseRange,
    DaySchedule,
    Filgrastim,
    Fixed,
    FromCenter,
    Il2Regimen,
    InfusionWindow,
    LymphodepletionAgent,
    LymphodepletionRegimen,
    MesnaNote,
    Narrowable,
    Premedication,
    PremedicationGroup,
    ProtocolRef,
    QuantityParam,
    RenalAdjustment,
    ThawLimit,
    WeightBasisSettings,
)
from tilcare.clinical.dosing.settings import (
    ChoiceSetting,
    DecimalSetting,
    RenalBandsSetting,
    SettingSpec,
)
from tilcare.clinical.renal import WeightBasis
from tilcare.clinical.units import Quantity, Unit
from tilcare.protocols.reader import ProtocolError, Table, decimal_value

T = TypeVar("T")
_WEIGHT_BASES = tuple(basis.value for basis in WeightBasis)
_BSA_FORMULAS = tuple(formula.value for formula in BsaFormula)


def _build(path: str, factory: Callable[[], T]) -> T:
    """Run a clinical constructor; its own checks are reported at the section's path."""
    try:
        return factory()
    except ValueError as error:
        raise ProtocolError(path, str(error)) from None


def _positive(t: Table, key: str) -> Decimal:
    value = t.decimal(key)
    if value <= 0:
        raise ProtocolError(t.path(key), f"{value} must be greater than 0")
    return value


def _ordered(t: Table, low_key: str, high_key: str, low: Decimal, high: Decimal) -> None:
    if low > high:
        raise ProtocolError(t.path(low_key), f"{low} is greater than {high_key} {high}")


def _absent(t: Table, keys: tuple[str, ...], why: str) -> None:
    for key in keys:
        if key in t:
            raise ProtocolError(t.path(key), why)


class Declared:
    """The declared center settings, looked up by the regimen sections and checked for use."""

    def __init__(self, specs: tuple[SettingSpec, ...], path: str) -> None:
        self._path = path
        self._specs: dict[str, tuple[int, SettingSpec]] = {}
        self._used: set[str] = set()
        for i, spec in enumerate(specs):
            if spec.key in self._specs:
                raise ProtocolError(f"{path}[{i}].key", f"“{spec.key}” is declared twice")
            self._specs[spec.key] = (i, spec)

    def _lookup(self, t: Table, field: str) -> SettingSpec:
        key = t.text(field)
        if key not in self._specs:
            raise ProtocolError(t.path(field), f"“{key}” is not declared in {self._path}")
        self._used.add(key)
        return self._specs[key][1]

    def choice(self, t: Table, field: str, allowed: tuple[str, ...]) -> ChoiceSetting:
        spec = self._lookup(t, field)
        if not isinstance(spec, ChoiceSetting):
            raise ProtocolError(t.path(field), f"“{spec.key}” must be a choice setting")
        extra = [option for option in spec.options if option not in allowed]
        if extra:
            raise ProtocolError(
                t.path(field),
                f"“{spec.key}” offers {', '.join(extra)}; allowed options: {', '.join(allowed)}",
            )
        return spec

    def decimal(
        self,
        t: Table,
        field: str,
        units: tuple[Unit | None, ...],
        *,
        none_option: bool = False,
        lowest: Decimal | None = None,
        highest: Decimal | None = None,
        positive: bool = False,
    ) -> DecimalSetting:
        spec = self._lookup(t, field)
        path = t.path(field)
        if not isinstance(spec, DecimalSetting):
            raise ProtocolError(path, f"“{spec.key}” must be a decimal setting")
        if spec.unit not in units:
            expected = " or ".join(unit.value if unit else "1" for unit in units)
            raise ProtocolError(
                path, f"“{spec.key}” is in “{spec.unit_text or '1'}”; expected {expected}"
            )
        if none_option and spec.none_option is None:
            raise ProtocolError(path, f"“{spec.key}” needs a none_option (e.g. “no cap”)")
        if not none_option and spec.none_option is not None:
            raise ProtocolError(path, f"“{spec.key}” cannot offer “{spec.none_option}” here")
        if positive and spec.minimum <= 0:
            raise ProtocolError(path, f"“{spec.key}” must have a min greater than 0")
        if lowest is not None and spec.minimum < lowest:
            raise ProtocolError(path, f"“{spec.key}” must have a min of at least {lowest}")
        if highest is not None and spec.maximum > highest:
            raise ProtocolError(path, f"“{spec.key}” must have a max of at most {highest}")
        return spec

    def bands(self, t: Table, field: str, dose: Quantity) -> RenalBandsSetting:
        spec = self._lookup(t, field)
        path = t.path(field)
        if not isinstance(spec, RenalBandsSetting):
            raise ProtocolError(path, f"“{spec.key}” must be a renal_bands setting")
        if spec.dose_unit is not dose.unit:
            raise ProtocolError(path, f"“{spec.key}” doses must be in {dose.unit.value}")
        if spec.dose_minimum <= 0 or spec.dose_maximum > dose.magnitude:
            raise ProtocolError(
                path, f"“{spec.key}” doses must lie above 0 and at most the protocol dose {dose}"
            )
        return spec

    def finish(self) -> None:
        for key, (i, _spec) in self._specs.items():
            if key not in self._used:
                raise ProtocolError(
                    f"{self._path}[{i}].key", f"“{key}” is declared but nothing uses it"
                )


def _weight_basis(
    t: Table, declared: Declared, basis_field: str, factor_field: str
) -> WeightBasisSettings:
    basis = declared.choice(t, basis_field, _WEIGHT_BASES)
    if WeightBasis.ADJUSTED.value not in basis.options:
        _absent(t, (factor_field,), f"used only when {basis_field} offers “adjusted”")
        return WeightBasisSettings(basis, None)
    factor = declared.decimal(t, factor_field, (None,), lowest=Decimal(0), highest=Decimal(1))
    return WeightBasisSettings(basis, factor)


def hours_param(t: Table, key: str, declared: Declared, source: str | None) -> QuantityParam:
    """A decimal string in hours (the table's source applies) or `{ setting = "<key>" }`."""
    raw = t.raw(key)
    if isinstance(raw, Mapping):
        sub = Table(raw, t.path(key))
        spec = declared.decimal(sub, "setting", (Unit.hours,), lowest=Decimal(0))
        sub.finish()
        return FromCenter(spec)
    value = decimal_value(raw, t.path(key))
    if value < 0:
        raise ProtocolError(t.path(key), f"{value} h must not be negative")
    if source is None:
        raise ProtocolError(t.path("source"), "missing: every number needs its source")
    return Fixed(Quantity(value, Unit.hours), source)


def _ordered_params(t: Table, low_key: str, high_key: str, low: object, high: object) -> None:
    if isinstance(low, Fixed) and isinstance(high, Fixed):
        _ordered(t, low_key, high_key, low.value.magnitude, high.value.magnitude)


def _narrowable(raw: object) -> bool:
    return isinstance(raw, Mapping) and "narrowing_setting" in raw


def hours_range(
    t: Table, low_key: str, high_key: str, declared: Declared, source: str | None
) -> tuple[QuantityParam, QuantityParam]:
    """Both ends of a range in hours; narrowable ends become `Narrowable` over the whole range."""
    raw_low, raw_high = t.raw(low_key), t.raw(high_key)
    if not (_narrowable(raw_low) or _narrowable(raw_high)):
        low = hours_param(t, low_key, declared, source)
        high = hours_param(t, high_key, declared, source)
        _ordered_params(t, low_key, high_key, low, high)
        return low, high
    for key, raw in ((low_key, raw_low), (high_key, raw_high)):
        if not _narrowable(raw):
            raise ProtocolError(
                t.path(key),
                "both ends of a range a center may narrow are written "
                '{ value = "…", narrowing_setting = "…" }',
            )
    if source is None:
        raise ProtocolError(t.path("source"), "missing: every number needs its source")
    ends = (Table(raw_low, t.path(low_key)), Table(raw_high, t.path(high_key)))
    values = [end.decimal("value") for end in ends]
    for end, value in zip(ends, values, strict=True):
        if value < 0:
            raise ProtocolError(end.path("value"), f"{value} h must not be negative")
    _ordered(t, low_key, high_key, values[0], values[1])
    low_q, high_q = Quantity(values[0], Unit.hours), Quantity(values[1], Unit.hours)
    params: list[QuantityParam] = []
    for end, value in zip(ends, values, strict=True):
        spec = declared.decimal(
            end, "narrowing_setting", (Unit.hours,), lowest=values[0], highest=values[1]
        )
        end.finish()

        def build(value: Decimal = value, spec: DecimalSetting = spec) -> Narrowable:
            return Narrowable(Quantity(value, Unit.hours), str(source), spec, low_q, high_q)

        params.append(_build(end.path_text, build))
    return params[0], params[1]


# Sections --------------------------------------------------------------------------------------


def _days(t: Table, daily_doses: int) -> DaySchedule:
    numbers = t.integer_list("numbers")
    if len(numbers) != daily_doses:
        raise ProtocolError(
            t.path("numbers"), f"lists {len(numbers)} days but daily_doses is {daily_doses}"
        )
    if any(day >= 0 for day in numbers):
        raise ProtocolError(t.path("numbers"), "lymphodepletion days come before day 0")
    if list(numbers) != sorted(set(numbers)):
        raise ProtocolError(t.path("numbers"), "days must be in order, without repeats")
    schedule = DaySchedule(numbers, confirmed=t.boolean("confirmed"), source=t.text("source"))
    t.finish()
    return schedule


def _agent(t: Table, declared: Declared) -> LymphodepletionAgent:
    name, route, source = t.text("agent"), t.text("route"), t.text("source")
    unit = t.unit("dose_unit", (Unit.mg_per_kg, Unit.mg_per_m2))
    dose = Quantity(_positive(t, "dose"), unit)
    daily_doses = t.integer("daily_doses")
    if daily_doses < 1:
        raise ProtocolError(t.path("daily_doses"), f"{daily_doses} must be at least 1")
    days = _days(t.table("days"), daily_doses)
    rounding = declared.decimal(t, "rounding_setting", (Unit.mg,), positive=True)
    weight = bsa = renal = None
    if unit is Unit.mg_per_kg:
        _absent(t, ("bsa_formula_setting", "bsa_cap_setting"), "only a mg/m² dose uses BSA")
        weight = _weight_basis(
            t, declared, "weight_basis_setting", "adjusted_weight_factor_setting"
        )
    else:
        _absent(t, ("weight_basis_setting",), "a mg/m² dose uses BSA, not a weight basis")
        bsa = BsaSettings(
            formula=declared.choice(t, "bsa_formula_setting", _BSA_FORMULAS),
            cap=declared.decimal(t, "bsa_cap_setting", (Unit.m2,), none_option=True, positive=True),
        )
    if "renal_bands_setting" in t:
        renal = RenalAdjustment(
            bands=declared.bands(t, "renal_bands_setting", dose),
            crcl_weight=_weight_basis(
                t, declared, "crcl_weight_basis_setting", "crcl_adjusted_weight_factor_setting"
            ),
        )
    else:
        _absent(t, ("crcl_weight_basis_setting",), "used only with renal_bands_setting")
    t.finish()
    return _build(
        t.path_text,
        lambda: LymphodepletionAgent(
            agent=name,
            route=route,
            dose=dose,
            source=source,
            days=days,
            rounding_increment=rounding,
            weight=weight,
            bsa=bsa,
            renal=renal,
        ),
    )


def lymphodepletion(t: Table, ref: ProtocolRef, declared: Declared) -> LymphodepletionRegimen:
    tables = t.tables("agents")
    agents = tuple(_agent(agent, declared) for agent in tables)
    names = [agent.agent for agent in agents]
    for table, name in zip(tables, names, strict=True):
        if names.count(name) > 1:
            raise ProtocolError(table.path("agent"), f"“{name}” is listed twice")
    mesna = None
    mesna_table = t.optional_table("mesna")
    if mesna_table is not None:
        with_agent = mesna_table.text("with_agent")
        if with_agent not in names:
            raise ProtocolError(
                mesna_table.path("with_agent"), f"“{with_agent}” is not one of {', '.join(names)}"
            )
        dose = declared.decimal(
            mesna_table, "dose_setting", (Unit.mg_per_kg, Unit.mg_per_m2, Unit.mg), positive=True
        )
        mesna = MesnaNote(with_agent=with_agent, dose=dose, source=mesna_table.text("source"))
        mesna_table.finish()
    t.finish()
    return _build(t.path_text, lambda: LymphodepletionRegimen(ref, agents, mesna))


def cell_dose(t: Table, ref: ProtocolRef) -> CellDoseRange:
    source = t.text("source")
    low = _positive(t, "min_cells_1e9")
    high = _positive(t, "max_cells_1e9") if "max_cells_1e9" in t else None
    if high is not None:
        _ordered(t, "min_cells_1e9", "max_cells_1e9", low, high)
    min_bags = max_bags = None
    if "min_bags" in t or "max_bags" in t:
        min_bags, max_bags = t.integer("min_bags"), t.integer("max_bags")
        if min_bags < 1:
            raise ProtocolError(t.path("min_bags"), f"{min_bags} must be at least 1")
        _ordered(t, "min_bags", "max_bags", Decimal(min_bags), Decimal(max_bags))
    t.finish()
    return _build(
        t.path_text,
        lambda: CellDoseRange(
            protocol=ref,
            minimum=Quantity(low, Unit.cells_1e9),
            maximum=Quantity(high, Unit.cells_1e9) if high is not None else None,
            source=source,
            minimum_bags=min_bags,
            maximum_bags=max_bags,
        ),
    )


def infusion_window(t: Table, ref: ProtocolRef, declared: Declared) -> InfusionWindow:
    source = t.optional_text("source")
    earliest = hours_param(t, "earliest_hours", declared, source)
    latest = hours_param(t, "latest_hours", declared, source)
    _ordered_params(t, "earliest_hours", "latest_hours", earliest, latest)
    t.finish()
    return _build(t.path_text, lambda: InfusionWindow(ref, earliest, latest))


def thaw(t: Table, ref: ProtocolRef, declared: Declared) -> ThawLimit:
    source = t.text("source")
    setting = declared.decimal(t, "limit_setting", (Unit.minutes,), positive=True)
    t.finish()
    return _build(t.path_text, lambda: ThawLimit(setting=setting, source=source, protocol=ref))


def il2(t: Table, ref: ProtocolRef, declared: Declared) -> Il2Regimen:
    source = t.text("source")
    unit = t.unit("dose_unit", (Unit.iu_per_kg,))
    dose = Quantity(_positive(t, "dose"), unit)
    max_doses = t.integer("max_doses")
    if max_doses < 1:
        raise ProtocolError(t.path("max_doses"), f"{max_doses} must be at least 1")
    weight = _weight_basis(t, declared, "weight_basis_setting", "adjusted_weight_factor_setting")
    params: dict[str, QuantityParam] = {}
    for low, high in (
        ("interval_min_hours", "interval_max_hours"),
        ("start_min_hours", "start_max_hours"),
    ):
        params[low], params[high] = hours_range(t, low, high, declared, source)
    t.finish()
    return _build(
        t.path_text,
        lambda: Il2Regimen(
            protocol=ref,
            dose_per_kg=dose,
            max_doses=max_doses,
            source=source,
            weight=weight,
            interval_min_hours=params["interval_min_hours"],
            interval_max_hours=params["interval_max_hours"],
            start_min_hours=params["start_min_hours"],
            start_max_hours=params["start_max_hours"],
        ),
    )


def _premedication_group(t: Table) -> PremedicationGroup:
    group = t.text("group")
    agents = t.text_list("agents")
    other_agents = t.optional_text("other_agents")
    t.finish()
    return _build(t.path_text, lambda: PremedicationGroup(group, agents, other_agents))


def premedication(t: Table, ref: ProtocolRef) -> Premedication:
    source = t.text("source")
    low = t.decimal("minutes_before_min")
    high = t.decimal("minutes_before_max")
    if low < 0:
        raise ProtocolError(t.path("minutes_before_min"), f"{low} min must not be negative")
    _ordered(t, "minutes_before_min", "minutes_before_max", low, high)
    approximate = t.boolean("approximate")
    tables = t.tables("groups")
    groups = tuple(_premedication_group(group) for group in tables)
    seen: set[str] = set()
    for table, group in zip(tables, groups, strict=True):
        name = " ".join(group.group.split()).casefold()
        if name in seen:
            raise ProtocolError(table.path("group"), f"“{group.group}” is listed twice")
        seen.add(name)
    t.finish()
    return _build(
        t.path_text,
        lambda: Premedication(
            protocol=ref,
            groups=groups,
            minutes_before_min=Quantity(low, Unit.minutes),
            minutes_before_max=Quantity(high, Unit.minutes),
            approximate=approximate,
            source=source,
        ),
    )


def _anc_stop(t: Table) -> AncStopRule:
    source = t.text("source")
    threshold = _positive(t, "anc_above_per_mm3")
    days = t.integer("consecutive_days")
    if days < 1:
        raise ProtocolError(t.path("consecutive_days"), f"{days} must be at least 1")
    t.finish()
    return _build(t.path_text, lambda: AncStopRule(Quantity(threshold, Unit.per_mm3), days, source))


def filgrastim(t: Table, ref: ProtocolRef, declared: Declared) -> Filgrastim:
    source = t.text("source")
    agent = t.text("agent")
    start_day = t.integer("start_day")
    if start_day < 1:
        raise ProtocolError(
            t.path("start_day"), f"{start_day} must be at least 1 (Day +1, after the infusion)"
        )
    interval_days = t.integer("interval_days")
    if interval_days < 1:
        raise ProtocolError(t.path("interval_days"), f"{interval_days} must be at least 1")
    dose = declared.decimal(t, "dose_setting", (Unit.ug_per_kg,), positive=True)
    alternative = t.optional_text("institutional_alternative")
    stop = _anc_stop(t.table("stop"))
    t.finish()
    return _build(
        t.path_text,
        lambda: Filgrastim(
            protocol=ref,
            agent=agent,
            start_day=start_day,
            interval_days=interval_days,
            stop=stop,
            institutional_alternative=alternative,
            dose=dose,
            source=source,
        ),
    )
