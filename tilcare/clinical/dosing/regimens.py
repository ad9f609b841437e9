"""The regimen facts the dosing calculators need, independent of any protocol file format.

`tilcare.protocols.schema` builds these from the versioned protocol files; the calculators take
them with the center's `CenterSettings`. A value the sources settle is a `Fixed` quantity with its
source; a value they do not settle is `FromCenter`, naming the `DecimalSetting` to read. A value the
sources settle as a range that a center may narrow (the IL-2 interval after lifileucel, every 8 to
12 hours) is `Narrowable`: the protocol's value applies until the center sets its own within the
protocol's range; a value that would widen the range is refused, naming the limit. The
thaw-to-infusion limit (`ThawLimit`) is always the center's: no source carried here gives it.
Premedication before the cells (`Premedication`) and filgrastim after them (`Filgrastim`) exist
only where a protocol's sources give them; where they do not, `RegimenNotInProtocol` says so, and
the treating physician orders them outside the platform.
Construction checks the invariants the calculators rely on (units, positive doses, day numbers
before day 0), so a regimen built by hand is held to the same rules as one read from a file.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from tilcare.clinical.body_size import BsaFormula
from tilcare.clinical.dosing.settings import (
    CenterSettings,
    ChoiceSetting,
    DecimalSetting,
    InvalidCenterSetting,
    RenalBandsSetting,
    center_source,
)
from tilcare.clinical.renal import WeightBasis
from tilcare.clinical.units import InvalidQuantity, Quantity, Unit


@dataclass(frozen=True)
class ProtocolRef:
    """The protocol and version a calculation follows; carried on every result."""

    protocol_id: str
    version: str

    def __str__(self) -> str:
        return f"{self.protocol_id} version {self.version}"


@dataclass(frozen=True)
class Fixed:
    """A value the protocol's sources settle, with that source."""

    value: Quantity
    source: str


@dataclass(frozen=True)
class FromCenter:
    """A value the sources do not settle: read from the center's settings."""

    setting: DecimalSetting


@dataclass(frozen=True)
class Narrowable:
    """One end of a protocol range (`low` to `high`, with its source) that a center may narrow.

    `value` is the protocol's value at this end; the center's `setting`, when set, replaces it and
    must lie within `low`..`high` (inclusive). Unset, the protocol's value applies.
    """

    value: Quantity
    source: str
    setting: DecimalSetting
    low: Quantity
    high: Quantity

    def __post_init__(self) -> None:
        units = {self.value.unit, self.low.unit, self.high.unit}
        if len(units) != 1 or self.setting.unit is not self.value.unit:
            raise InvalidQuantity(
                f"'{self.setting.key}': the protocol's range and the center setting must share "
                "one unit."
            )
        if not self.low.magnitude <= self.value.magnitude <= self.high.magnitude:
            raise InvalidQuantity(
                f"'{self.setting.key}': {self.value} lies outside the protocol's range "
                f"{self.low.magnitude}–{self.high}."
            )
        if self.setting.minimum < self.low.magnitude or self.setting.maximum > self.high.magnitude:
            raise InvalidQuantity(
                f"'{self.setting.key}' allows {self.setting.minimum}–{self.setting.maximum} "
                f"{self.setting.unit_text}, wider than the protocol's range "
                f"{self.low.magnitude}–{self.high}: a center may narrow it, never widen it."
            )


QuantityParam = Fixed | FromCenter | Narrowable


@dataclass(frozen=True)
class ResolvedQuantity:
    value: Quantity
    source: str
    setting_key: str | None  # the center setting it came from, or None for a protocol value


def resolve(param: QuantityParam, settings: CenterSettings) -> ResolvedQuantity:
    """The protocol value, or the center's value for a setting (refused while unset).

    A `Narrowable` value is the protocol's until the center sets its own; the center's must lie
    within the protocol's range, or it is refused naming the range (its source is in the
    working of an accepted value, not in the refusal).
    """
    if isinstance(param, Fixed):
        return ResolvedQuantity(param.value, param.source, None)
    spec = param.setting
    if isinstance(param, FromCenter):
        return ResolvedQuantity(settings.quantity(spec), center_source(spec), spec.key)
    if spec.key not in settings:
        return ResolvedQuantity(param.value, param.source, None)
    entered = settings[spec.key]
    if (
        isinstance(entered, Quantity)
        and entered.unit is param.value.unit
        and not param.low.magnitude <= entered.magnitude <= param.high.magnitude
    ):
        raise InvalidCenterSetting(
            spec,
            spec.key,
            f"{entered} would widen the protocol's range {param.low.magnitude}–{param.high}. "
            f"A center may narrow the range, never widen it: enter a value from "
            f"{param.low.magnitude} to {param.high}.",
        )
    value = settings.quantity(spec)
    return ResolvedQuantity(
        value,
        f"{center_source(spec)}, within the protocol's {param.low.magnitude}–{param.high} "
        f"({param.source})",
        spec.key,
    )


def _require_unit(value: Quantity, units: tuple[Unit, ...], name: str) -> None:
    if value.unit not in units:
        allowed = " or ".join(unit.value for unit in units)
        raise InvalidQuantity(f"{name} must be in {allowed}, not {value.unit.value}.")


def _require_options(spec: ChoiceSetting, known: tuple[str, ...]) -> None:
    unknown = [option for option in spec.options if option not in known]
    if unknown:
        raise InvalidQuantity(
            f"'{spec.key}' offers {', '.join(unknown)}; known options: {', '.join(known)}."
        )


def _require_hours(param: QuantityParam, name: str) -> None:
    unit = param.setting.unit if isinstance(param, FromCenter) else param.value.unit
    if unit is not Unit.hours:
        shown = unit.value if unit is not None else "a plain number"
        raise InvalidQuantity(f"{name} must be in hours (h), not {shown}.")


# Weight, body surface area and renal settings --------------------------------------------------


@dataclass(frozen=True)
class WeightBasisSettings:
    """Which weight to use (actual / ideal / adjusted) and, for adjusted, the factor setting."""

    basis: ChoiceSetting
    adjusted_factor: DecimalSetting | None

    def __post_init__(self) -> None:
        _require_options(self.basis, tuple(basis.value for basis in WeightBasis))
        offers_adjusted = WeightBasis.ADJUSTED.value in self.basis.options
        if offers_adjusted != (self.adjusted_factor is not None):
            raise InvalidQuantity(
                f"'{self.basis.key}': an adjusted-weight factor setting is needed exactly when "
                "the adjusted weight is offered."
            )
        if self.adjusted_factor is not None and self.adjusted_factor.unit is not None:
            raise InvalidQuantity(f"'{self.adjusted_factor.key}' must be a plain number.")


@dataclass(frozen=True)
class BsaSettings:
    formula: ChoiceSetting  # mosteller / dubois
    cap: DecimalSetting  # m², with an explicit "no cap" option

    def __post_init__(self) -> None:
        _require_options(self.formula, tuple(formula.value for formula in BsaFormula))
        if self.cap.unit is not Unit.m2 or self.cap.none_option is None:
            raise InvalidQuantity(f"'{self.cap.key}' must be in m² with an explicit no-cap option.")


@dataclass(frozen=True)
class RenalAdjustment:
    bands: RenalBandsSetting
    crcl_weight: WeightBasisSettings


# Lymphodepletion -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DaySchedule:
    """Day numbers relative to the cell infusion (day 0) and whether they are confirmed."""

    day_numbers: tuple[int, ...]
    confirmed: bool
    source: str

    def __post_init__(self) -> None:
        if not self.day_numbers:
            raise InvalidQuantity("A lymphodepletion agent needs at least one day.")
        if any(day >= 0 for day in self.day_numbers):
            raise InvalidQuantity(
                f"Lymphodepletion days {self.day_numbers} must all be before day 0 (the infusion)."
            )
        if list(self.day_numbers) != sorted(set(self.day_numbers)):
            raise InvalidQuantity(
                f"Lymphodepletion days {self.day_numbers} must be distinct and in order."
            )


@dataclass(frozen=True)
class LymphodepletionAgent:
    """One chemotherapy agent: a per-kg or per-m² daily dose on the listed days."""

    agent: str
    route: str
    dose: Quantity  # mg/kg or mg/m²
    source: str
    days: DaySchedule
    rounding_increment: DecimalSetting  # in mg, a pharmacy choice
    weight: WeightBasisSettings | None = None  # for a mg/kg dose
    bsa: BsaSettings | None = None  # for a mg/m² dose
    renal: RenalAdjustment | None = None

    def __post_init__(self) -> None:
        _require_unit(self.dose, (Unit.mg_per_kg, Unit.mg_per_m2), f"{self.agent} dose")
        if self.dose.magnitude <= 0:
            raise InvalidQuantity(f"{self.agent} dose {self.dose} must be greater than 0.")
        if self.dose.unit is Unit.mg_per_kg and (self.weight is None or self.bsa is not None):
            raise InvalidQuantity(f"{self.agent}: a mg/kg dose needs weight-basis settings only.")
        if self.dose.unit is Unit.mg_per_m2 and (self.bsa is None or self.weight is not None):
            raise InvalidQuantity(f"{self.agent}: a mg/m² dose needs BSA settings only.")
        if self.rounding_increment.unit is not Unit.mg:
            raise InvalidQuantity(f"{self.agent}: the rounding increment must be in mg.")
        if self.renal is not None and self.renal.bands.dose_unit is not self.dose.unit:
            raise InvalidQuantity(
                f"{self.agent}: renal-band doses must be in {self.dose.unit.value} like the dose."
            )


@dataclass(frozen=True)
class MesnaNote:
    """Mesna given with an agent; its dose is a center setting (noted, not calculated)."""

    with_agent: str
    dose: DecimalSetting
    source: str


@dataclass(frozen=True)
class LymphodepletionRegimen:
    protocol: ProtocolRef
    agents: tuple[LymphodepletionAgent, ...]
    mesna: MesnaNote | None

    def __post_init__(self) -> None:
        names = [agent.agent for agent in self.agents]
        if not names or len(set(names)) != len(names):
            raise InvalidQuantity(f"Lymphodepletion agents {names} must be present and distinct.")
        if self.mesna is not None and self.mesna.with_agent not in names:
            raise InvalidQuantity(f"Mesna is given with {self.mesna.with_agent!r}, not an agent.")


# Cells, infusion window, IL-2 ------------------------------------------------------------------


@dataclass(frozen=True)
class CellDoseRange:
    """Total viable cells (in ×10⁹ cells) and, where the sources give them, the maximum and the
    bag count (None: the protocol's sources set no such limit)."""

    protocol: ProtocolRef
    minimum: Quantity
    maximum: Quantity | None
    source: str
    minimum_bags: int | None = None
    maximum_bags: int | None = None

    def __post_init__(self) -> None:
        _require_unit(self.minimum, (Unit.cells_1e9,), "minimum cell dose")
        if self.maximum is not None:
            _require_unit(self.maximum, (Unit.cells_1e9,), "maximum cell dose")
        top = self.maximum.magnitude if self.maximum is not None else self.minimum.magnitude
        if not Decimal(0) < self.minimum.magnitude <= top:
            raise InvalidQuantity(f"Cell dose range {self.minimum} to {self.maximum} is invalid.")
        if (self.minimum_bags is None) != (self.maximum_bags is None):
            raise InvalidQuantity("Give both bag limits or neither.")
        low, high = self.minimum_bags, self.maximum_bags
        if low is not None and high is not None and not 1 <= low <= high:
            raise InvalidQuantity(f"Bag range {low} to {high} is invalid.")


@dataclass(frozen=True)
class InfusionWindow:
    """Hours after the end of the last fludarabine dose within which the cells may be given."""

    protocol: ProtocolRef
    earliest_hours: QuantityParam
    latest_hours: QuantityParam

    def __post_init__(self) -> None:
        _require_hours(self.earliest_hours, "infusion window earliest")
        _require_hours(self.latest_hours, "infusion window latest")


@dataclass(frozen=True)
class ThawLimit:
    """The longest time thawed cells may wait before they are infused, in minutes from the thaw
    time recorded at the bedside. Always the center's own setting: the sources this platform
    carries do not give the limit, so no protocol value exists to fall back on.
    """

    setting: DecimalSetting  # min
    source: str  # what the protocol's sources say about the limit, and who sets it
    protocol: ProtocolRef

    def __post_init__(self) -> None:
        if self.setting.unit is not Unit.minutes:
            shown = self.setting.unit_text or "a plain number"
            raise InvalidQuantity(
                f"'{self.setting.key}': the thaw-to-infusion limit must be in minutes (min), "
                f"not {shown}."
            )
        if self.setting.minimum <= 0:
            raise InvalidQuantity(
                f"'{self.setting.key}': the thaw-to-infusion limit must allow only values "
                f"greater than 0 min, not from {self.setting.minimum}."
            )
        if self.setting.none_option is not None:
            raise InvalidQuantity(
                f"'{self.setting.key}': the thaw-to-infusion limit cannot be "
                f"“{self.setting.none_option}”: thawed cells always have a limit."
            )
        if not self.source.strip():
            raise InvalidQuantity(
                f"'{self.setting.key}': the thaw-to-infusion limit needs a source."
            )


@dataclass(frozen=True)
class Il2Regimen:
    """High-dose IL-2 after the cells: IU/kg per dose, maximum doses, interval and start window.

    The start window is counted from the end of the cell infusion; the interval from the
    previous dose given.
    """

    protocol: ProtocolRef
    dose_per_kg: Quantity  # IU/kg
    max_doses: int
    source: str
    weight: WeightBasisSettings
    interval_min_hours: QuantityParam
    interval_max_hours: QuantityParam
    start_min_hours: QuantityParam
    start_max_hours: QuantityParam

    def __post_init__(self) -> None:
        _require_unit(self.dose_per_kg, (Unit.iu_per_kg,), "IL-2 dose")
        if self.dose_per_kg.magnitude <= 0:
            raise InvalidQuantity(f"IL-2 dose {self.dose_per_kg} must be greater than 0.")
        if isinstance(self.max_doses, bool) or not isinstance(self.max_doses, int):
            raise InvalidQuantity(f"IL-2 maximum doses {self.max_doses!r} must be an integer.")
        if self.max_doses < 1:
            raise InvalidQuantity(f"IL-2 maximum doses {self.max_doses} must be at least 1.")
        _require_hours(self.interval_min_hours, "IL-2 minimum interval")
        _require_hours(self.interval_max_hours, "IL-2 maximum interval")
        _require_hours(self.start_min_hours, "IL-2 start window earliest")
        _require_hours(self.start_max_hours, "IL-2 start window latest")


# Premedication and filgrastim: only where the protocol's sources give them ---------------------


class RegimenNotInProtocol(ValueError):
    """The protocol's sources give no such regimen: the treating physician orders it."""

    def __init__(self, what: str) -> None:
        self.what = what
        super().__init__(
            f"This protocol's sources give no {what} regimen; the treating physician orders it "
            "outside tilcare."
        )


def _agent_name(name: str) -> str:
    """An agent or group name as compared: stripped, spaces squeezed, case ignored."""
    return " ".join(name.split()).casefold()


@dataclass(frozen=True)
class PremedicationGroup:
    """One premedication that must be given: the group, the agents the source names, and, where
    the source allows any agent of the group (“or another H1-antihistamine”), those words."""

    group: str  # "acetaminophen", "H1 antihistamine"
    agents: tuple[str, ...]  # the agents the source names
    other_agents: str | None = None  # e.g. "another H1-antihistamine"; None: only `agents`

    def __post_init__(self) -> None:
        if not self.group.strip():
            raise InvalidQuantity("A premedication group needs a name.")
        if not self.agents or any(not agent.strip() for agent in self.agents):
            raise InvalidQuantity(f"Premedication group {self.group!r} needs its named agents.")
        names = [_agent_name(agent) for agent in self.agents]
        if len(set(names)) != len(names):
            raise InvalidQuantity(f"Premedication group {self.group!r} names an agent twice.")
        if self.other_agents is not None and not self.other_agents.strip():
            raise InvalidQuantity(
                f"Premedication group {self.group!r}: other agents, when allowed, are described."
            )

    def accepts(self, agent: str) -> bool:
        """Whether `agent` may be recorded for this group (any agent where others are allowed)."""
        if not agent.strip():
            return False
        if self.other_agents is not None:
            return True
        return _agent_name(agent) in {_agent_name(name) for name in self.agents}

    def describe(self) -> str:
        """The agents as the source gives them: “diphenhydramine or another H1-antihistamine”."""
        named = " or ".join(self.agents)
        return f"{named} or {self.other_agents}" if self.other_agents is not None else named


@dataclass(frozen=True)
class Premedication:
    """The premedications given before the cell infusion, and how long before its start.

    Every group must be given before the infusion starts, between `minutes_before_min` and
    `minutes_before_max` minutes before it (inclusive). `approximate` is True where the source
    gives the timing as approximate (“~30 to 60 minutes”): timing outside it is then a warning,
    never a refusal.
    """

    protocol: ProtocolRef
    groups: tuple[PremedicationGroup, ...]
    minutes_before_min: Quantity  # min
    minutes_before_max: Quantity  # min
    approximate: bool
    source: str

    def __post_init__(self) -> None:
        names = [_agent_name(group.group) for group in self.groups]
        if not names or len(set(names)) != len(names):
            raise InvalidQuantity(
                f"Premedication groups {[g.group for g in self.groups]} must be present and "
                "distinct."
            )
        _require_unit(self.minutes_before_min, (Unit.minutes,), "premedication earliest time")
        _require_unit(self.minutes_before_max, (Unit.minutes,), "premedication latest time")
        low, high = self.minutes_before_min.magnitude, self.minutes_before_max.magnitude
        if not Decimal(0) <= low <= high:
            raise InvalidQuantity(
                f"Premedication {low}–{high} min before the infusion is not a valid window."
            )
        if not self.source.strip():
            raise InvalidQuantity("The premedication regimen needs a source.")

    def group(self, name: str) -> PremedicationGroup | None:
        wanted = _agent_name(name)
        return next((g for g in self.groups if _agent_name(g.group) == wanted), None)


@dataclass(frozen=True)
class AncStopRule:
    """Stop once the ANC has been above `anc_above` (strictly) on `consecutive_days` consecutive
    days; a day without an ANC breaks the run."""

    anc_above: Quantity  # /mm³, strictly greater than
    consecutive_days: int
    source: str

    def __post_init__(self) -> None:
        _require_unit(self.anc_above, (Unit.per_mm3,), "the ANC stop threshold")
        if self.anc_above.magnitude <= 0:
            raise InvalidQuantity(f"The ANC stop threshold {self.anc_above} must be above 0.")
        if isinstance(self.consecutive_days, bool) or not isinstance(self.consecutive_days, int):
            raise InvalidQuantity(
                f"The consecutive days {self.consecutive_days!r} must be a whole number."
            )
        if self.consecutive_days < 1:
            raise InvalidQuantity(
                f"The consecutive days {self.consecutive_days} must be at least 1."
            )
        if not self.source.strip():
            raise InvalidQuantity("The ANC stop rule needs a source.")

    @property
    def threshold_text(self) -> str:
        """The threshold as the label writes it: “1000/mm³”."""
        return f"{self.anc_above.magnitude.normalize():f}{self.anc_above.unit.value}"

    def describe(self) -> str:
        """“ANC > 1000/mm³ for 3 consecutive days”."""
        days = "day" if self.consecutive_days == 1 else "consecutive days"
        return f"ANC > {self.threshold_text} for {self.consecutive_days} {days}"


@dataclass(frozen=True)
class Filgrastim:
    """Filgrastim (G-CSF) after the cells: from `start_day` (Day +1 is the day after the
    infusion, Day 0), every `interval_days`, until the `stop` rule is met, or per the center's
    institutional standard where the source allows it. The dose per kg is always the center's
    (`dose`, µg/kg): the sources carried here give none.
    """

    protocol: ProtocolRef
    agent: str  # "filgrastim (or a biosimilar)"
    start_day: int  # days after the infusion (day 0)
    interval_days: int  # 1: daily
    stop: AncStopRule
    institutional_alternative: str | None  # the source's words, e.g. "or per institutional ..."
    dose: DecimalSetting  # µg/kg
    source: str

    def __post_init__(self) -> None:
        if not self.agent.strip():
            raise InvalidQuantity("The filgrastim regimen needs the agent's name.")
        for name, value in (("start day", self.start_day), ("interval", self.interval_days)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidQuantity(f"Filgrastim {name} {value!r} must be a whole number.")
        if self.start_day < 1:
            raise InvalidQuantity(
                f"Filgrastim starts on Day +{self.start_day}: it starts after the infusion "
                "(day 0), from Day +1."
            )
        if self.interval_days < 1:
            raise InvalidQuantity(
                f"Filgrastim every {self.interval_days} days: the interval must be at least 1 day."
            )
        if self.dose.unit is not Unit.ug_per_kg:
            shown = self.dose.unit_text or "a plain number"
            raise InvalidQuantity(
                f"'{self.dose.key}': the filgrastim dose must be in µg/kg, not {shown}."
            )
        if self.dose.minimum <= 0 or self.dose.none_option is not None:
            raise InvalidQuantity(
                f"'{self.dose.key}': the filgrastim dose must allow only values greater than "
                "0 µg/kg, with no “none” option."
            )
        if (
            self.institutional_alternative is not None
            and not self.institutional_alternative.strip()
        ):
            raise InvalidQuantity("The institutional alternative, when given, needs its words.")
        if not self.source.strip():
            raise InvalidQuantity("The filgrastim regimen needs a source.")

    @property
    def frequency(self) -> str:
        return "daily" if self.interval_days == 1 else f"every {self.interval_days} days"
