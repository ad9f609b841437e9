"""Hold/stop rule sets for a dose; `rule_evaluation.evaluate` never reads missing data as fine.

A rule set (e.g. Dutcher et al. 2014, Table 3) is data: an observation catalogue, rules, optional
count meta-rules and declared gaps, loaded from TOML by `tilcare.protocols.rulesets`. Nothing here
parses expressions: a condition is a small tree of `Comparison`, `AllOf` and `AnyOf`.

Observations. Every observation a rule reads is declared in the set's catalogue, either as a
measurement with a `Unit` (the key names the unit: `serum_creatinine_mg_per_dl`), a plausible
minimum and maximum, and the direction in which it gets worse (`Worse.HIGHER` for creatinine,
`Worse.LOWER` for platelets), or as a boolean clinician finding (`ecg_ischemia`). `evaluate`
refuses keys the catalogue does not declare, floats (`FloatNotAllowed`), a measurement in another
unit (`UnitMismatch`; nothing is converted), a number for a finding or a bare number for a
measurement (`InvalidObservation`), and magnitudes outside the catalogue's plausible range
(`ImplausibleInput`, naming the field and the limit).

Bands never soften. A rule reads a measurement only in its worse direction (`>`, `>=` or a band
where higher is worse; `<`, `<=` or a band where lower is worse). A band ("creatinine 2.5–2.9
mg/dL") is met by any value at or past its near end: a value beyond its far end is at least as bad
as the band, so the rule still fires ("creatinine 2.95" holds, "maximum phenylephrine 2.5
µg/kg/min" stops). The decision is therefore monotone: worsening one measurement never makes
the answer milder.

Three-valued logic. A comparison on a missing observation is unknown. AllOf is false as soon as one
part is false, true when all parts are true, otherwise unknown; AnyOf is true as soon as one part
is true, false when all are false, otherwise unknown. A missing observation therefore leaves a
rule "not assessed" only when its value could change that rule's outcome.

Decision (the safe rule, first match wins):
  1. STOP if a stop rule or stop meta-rule fired: no missing value can make it stricter.
  2. CANNOT_DECIDE if a rule or meta-rule stricter than everything that fired is not assessed.
     The result names the missing observations; `minimum_action` is HOLD if a hold rule already
     fired (do not give). The decision is never GIVE while a rule that could hold or stop is
     unassessed.
  3. CLINICIAN_REVIEW if a value lies in a gap the source leaves where it names no criterion
     (e.g. oxygen by mask below 40%).
  4. HOLD if a hold rule fired.
  5. CANNOT_DECIDE if the set covers only some organ systems (`covers_only`): it can hold or stop
     a dose but never clear one alone.  6. GIVE otherwise.
A protocol's decision over several rule sets (`rule_evaluation.evaluate_all`) is the strictest of
them, and is GIVE only when every criterion of every set is assessed and at least one set covers
every organ system.

Rounding: none. Comparisons use the exact Decimal magnitudes given against exact Decimal thresholds
from the rule set; "between" includes both ends.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeAlias

from tilcare.clinical.units import FloatNotAllowed, Unit

DECISION_RULE = (
    "stop if any stop criterion is met; otherwise cannot decide while a criterion stricter than "
    "those met is not assessed; otherwise clinician review if a value lies where the source "
    "names no criterion; otherwise hold if any hold criterion is met; otherwise give, unless the "
    "rule set covers only some organ systems (then it cannot decide alone)"
)
ROUNDING = (
    "none: exact Decimal comparisons; 'between' includes both ends, and a value past a band's "
    "far end counts as meeting it"
)

_KEY = re.compile(r"^[a-z][a-z0-9_]*$")


class RuleSetInvalid(ValueError):
    """A rule set whose parts do not fit together (unknown observation, duplicate id...)."""


class InvalidObservation(ValueError):
    """An observation the rule set does not declare, or a value of the wrong kind."""


class Action(enum.Enum):
    HOLD = "hold"
    STOP = "stop"

    @property
    def rank(self) -> int:
        return 2 if self is Action.STOP else 1


class Worse(enum.Enum):
    """The direction in which a measurement gets worse (creatinine: higher; platelets: lower)."""

    HIGHER = "higher"
    LOWER = "lower"


class Decision(enum.Enum):
    GIVE = "give"
    HOLD = "hold"
    STOP = "stop"
    CANNOT_DECIDE = "cannot decide"
    CLINICIAN_REVIEW = "between criteria: clinician review"


class Operator(enum.Enum):
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    EQ = "=="
    BETWEEN = "between"  # inclusive at both ends
    IS_TRUE = "is_true"


# The operators a rule may apply to a measurement, by the direction in which it gets worse: a
# rule that fires on a value also fires on every worse value (see "Bands never soften").
_WORSENING = {
    Worse.HIGHER: frozenset({Operator.GT, Operator.GE, Operator.BETWEEN}),
    Worse.LOWER: frozenset({Operator.LT, Operator.LE, Operator.BETWEEN}),
}

_SIGN = {Operator.LT: "<", Operator.LE: "≤", Operator.GT: ">", Operator.GE: "≥", Operator.EQ: "="}


def _check_decimal(value: object, name: str) -> None:
    if isinstance(value, float):
        raise FloatNotAllowed(value, name)
    if not isinstance(value, Decimal) or not value.is_finite():
        raise RuleSetInvalid(f"{name} {value!r} must be a finite Decimal.")


@dataclass(frozen=True)
class ObservationSpec:
    """A catalogue entry: a measurement in `unit`, or a boolean clinician finding (unit None)."""

    key: str
    label: str
    unit: Unit | None
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    worse: Worse | None = None  # required for a measurement

    def __post_init__(self) -> None:
        if not _KEY.match(self.key):
            raise RuleSetInvalid(f"Observation key {self.key!r} must be lower_snake_case.")
        if self.unit is None:
            if self.minimum is not None or self.maximum is not None or self.worse is not None:
                raise RuleSetInvalid(
                    f"Finding {self.key!r} cannot have a minimum, maximum or worse direction."
                )
            return
        # The key must say its unit, so a value in the wrong unit is visible where it is typed.
        if f"_{self.unit.name}_" not in f"_{self.key}_":
            raise RuleSetInvalid(
                f"Observation key {self.key!r} must contain its unit name '{self.unit.name}' "
                f"({self.unit.value})."
            )
        for name in ("minimum", "maximum"):
            if getattr(self, name) is not None:
                _check_decimal(getattr(self, name), f"{self.key} {name}")
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise RuleSetInvalid(f"Observation {self.key!r}: minimum is above maximum.")
        missing = [n for n in ("minimum", "maximum", "worse") if getattr(self, n) is None]
        if missing:
            raise RuleSetInvalid(
                f"Measurement {self.key!r} needs a plausible minimum and maximum and the "
                f"direction in which it gets worse; missing: {', '.join(missing)}."
            )

    @property
    def is_finding(self) -> bool:
        return self.unit is None


@dataclass(frozen=True)
class Comparison:
    """`observation <operator> value`, `observation between low and high`, or `is_true`."""

    observation: str
    operator: Operator
    value: Decimal | None = None
    low: Decimal | None = None
    high: Decimal | None = None

    def __post_init__(self) -> None:
        given = {n for n in ("value", "low", "high") if getattr(self, n) is not None}
        needed = {Operator.IS_TRUE: set(), Operator.BETWEEN: {"low", "high"}}.get(
            self.operator, {"value"}
        )
        if given != needed:
            raise RuleSetInvalid(
                f"Comparison on {self.observation!r} with '{self.operator.value}' needs "
                f"{sorted(needed) or 'no threshold'}, got {sorted(given) or 'none'}."
            )
        for name in given:
            _check_decimal(getattr(self, name), f"{self.observation} {name}")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise RuleSetInvalid(f"Comparison on {self.observation!r}: low is above high.")

    def describe(self, unit: Unit | None) -> str:
        suffix = f" {unit.value}" if unit is not None else ""
        if self.operator is Operator.IS_TRUE:
            return "is true"
        if self.operator is Operator.BETWEEN:
            return f"between {self.low} and {self.high}{suffix} inclusive"
        return f"{_SIGN[self.operator]} {self.value}{suffix}"


@dataclass(frozen=True)
class _Group:
    parts: tuple[Condition, ...]

    def __post_init__(self) -> None:
        if not self.parts:
            raise RuleSetInvalid(f"{type(self).__name__} needs at least one condition.")


class AllOf(_Group):
    """True when every part is true."""


class AnyOf(_Group):
    """True when at least one part is true."""


Condition: TypeAlias = Comparison | AllOf | AnyOf


def comparisons(condition: Condition) -> tuple[Comparison, ...]:
    """Every comparison in a condition tree, depth first."""
    if isinstance(condition, Comparison):
        return (condition,)
    return tuple(c for part in condition.parts for c in comparisons(part))


@dataclass(frozen=True)
class Rule:
    """One criterion; `source_text` is the source's wording of it, verbatim."""

    id: str
    system: str
    action: Action
    source_text: str
    condition: Condition
    note: str = ""


@dataclass(frozen=True)
class CountMetaRule:
    """Fires `action` when at least `count_at_least` rules with `of_action` fired."""

    id: str
    action: Action
    source_text: str
    count_at_least: int
    of_action: Action
    note: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.count_at_least, bool) or not isinstance(self.count_at_least, int):
            raise RuleSetInvalid(f"Meta-rule {self.id!r}: count_at_least must be an integer.")
        if self.count_at_least < 1:
            raise RuleSetInvalid(f"Meta-rule {self.id!r}: count_at_least must be at least 1.")


@dataclass(frozen=True)
class CriteriaGap:
    """A range the source leaves between or beyond its criteria; a value there needs review."""

    id: str
    system: str
    note: str
    condition: Condition


@dataclass(frozen=True)
class RuleSet:
    id: str
    version: str
    title: str
    source: str
    observations: tuple[ObservationSpec, ...]
    rules: tuple[Rule, ...]
    meta_rules: tuple[CountMetaRule, ...] = ()
    gaps: tuple[CriteriaGap, ...] = ()
    notes: tuple[str, ...] = ()
    # What a set covering only some organ systems covers ("blood pressure and kidney"); empty
    # when it covers them all. Such a set can hold or stop a dose, never clear one alone.
    covers_only: str = ""

    def __post_init__(self) -> None:
        if not self.rules:
            raise RuleSetInvalid(f"Rule set {self.id!r} has no rules.")
        keys = [o.key for o in self.observations]
        ids = [r.id for r in self.rules] + [m.id for m in self.meta_rules]
        ids += [g.id for g in self.gaps]
        for label, names in (("observation key", keys), ("rule id", ids)):
            duplicates = sorted({n for n in names if names.count(n) > 1})
            if duplicates:
                raise RuleSetInvalid(f"Rule set {self.id!r}: duplicate {label} {duplicates}.")
        catalogue = self.catalogue
        for owner, condition in [(r.id, r.condition) for r in self.rules] + [
            (g.id, g.condition) for g in self.gaps
        ]:
            for c in comparisons(condition):
                spec = catalogue.get(c.observation)
                if spec is None:
                    raise RuleSetInvalid(
                        f"{owner}: unknown observation {c.observation!r}; "
                        f"declare it in the catalogue first."
                    )
                if spec.is_finding != (c.operator is Operator.IS_TRUE):
                    kind = "finding" if spec.is_finding else "measurement"
                    raise RuleSetInvalid(
                        f"{owner}: '{c.operator.value}' cannot be used on the {kind} "
                        f"{c.observation!r}; findings take is_true, measurements a threshold."
                    )
        for rule in self.rules:
            for c in comparisons(rule.condition):
                worse = catalogue[c.observation].worse
                if worse is not None and c.operator not in _WORSENING[worse]:
                    raise RuleSetInvalid(
                        f"{rule.id}: '{c.operator.value}' on {c.observation!r} does not read it "
                        f"in the direction it gets worse ({worse.value}); a rule uses "
                        f"{', '.join(sorted(o.value for o in _WORSENING[worse]))}."
                    )

    @property
    def catalogue(self) -> dict[str, ObservationSpec]:
        return {o.key: o for o in self.observations}
