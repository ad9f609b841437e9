"""Evaluating a hold/stop rule set against one moment's observations.

The rule-set model and the decision rule are described in `tilcare.clinical.rules`; this module
holds `evaluate` and the result it returns: every rule that fired with the value that fired it,
every rule that could not be assessed and why, and the decision; and `evaluate_all`, the decision
of a protocol over all its rule sets (the strictest of them).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from tilcare.clinical.rules import (
    DECISION_RULE,
    ROUNDING,
    Action,
    AllOf,
    Comparison,
    Condition,
    Decision,
    InvalidObservation,
    ObservationSpec,
    Operator,
    RuleSet,
    RuleSetInvalid,
    Worse,
)
from tilcare.clinical.units import FloatNotAllowed, ImplausibleInput, Quantity

_BINARY: dict[Operator, Callable[[Decimal, Decimal], bool]] = {
    Operator.LT: operator.lt,
    Operator.LE: operator.le,
    Operator.GT: operator.gt,
    Operator.GE: operator.ge,
    Operator.EQ: operator.eq,
}


# Evaluation results ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TriggeringValue:
    observation: str
    value: Quantity | bool
    test: str  # the comparison it met, e.g. "≥ 3 mg/dL"


@dataclass(frozen=True)
class FiredRule:
    """A rule that fired; for a meta-rule, system is "all systems" and the counted rules given."""

    rule_id: str
    system: str
    action: Action
    source_text: str
    triggering_values: tuple[TriggeringValue, ...]
    note: str = ""
    counted_rule_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class UnassessedRule:
    """A rule (or meta-rule, system "all systems") whose outcome depends on missing data."""

    rule_id: str
    system: str
    action: Action
    source_text: str
    missing_observations: tuple[str, ...]


@dataclass(frozen=True)
class BetweenCriteria:
    gap_id: str
    system: str
    note: str
    values: tuple[TriggeringValue, ...]


@dataclass(frozen=True)
class RuleSetEvaluation:
    rule_set_id: str
    rule_set_version: str
    source: str
    observations: tuple[tuple[str, Quantity | bool], ...]
    decision: Decision
    minimum_action: Action | None  # the strictest action already met, whatever is missing
    reason: str
    fired: tuple[FiredRule, ...]  # rules, then meta-rules
    not_assessed: tuple[UnassessedRule, ...]
    between_criteria: tuple[BetweenCriteria, ...]
    missing_observations: tuple[str, ...]  # every key an unassessed rule needs
    decisive_missing_observations: tuple[str, ...]  # those that could make the action stricter
    covers_only: str = ""  # what a set covering only some organ systems covers
    rule: str = DECISION_RULE
    rounding: str = ROUNDING


class _Outcome(NamedTuple):
    state: bool | None  # None: unknown because an observation is missing
    triggers: tuple[TriggeringValue, ...]
    missing: frozenset[str]


def _check_observations(
    rule_set: RuleSet, observations: Mapping[str, Quantity | bool]
) -> dict[str, Quantity | bool]:
    catalogue = rule_set.catalogue
    checked: dict[str, Quantity | bool] = {}
    for key, value in observations.items():
        spec = catalogue.get(key)
        if spec is None:
            raise InvalidObservation(
                f"Unknown observation {key!r} for rule set {rule_set.id!r}; "
                f"known: {', '.join(sorted(catalogue))}."
            )
        if isinstance(value, float):
            raise FloatNotAllowed(value, key)
        if spec.unit is None:
            if not isinstance(value, bool):
                raise InvalidObservation(f"{key} is a finding: give True or False, not {value!r}.")
        else:
            if not isinstance(value, Quantity):
                raise InvalidObservation(
                    f"{key} must be a Quantity in {spec.unit.value}, not {value!r}."
                )
            magnitude = value.require(spec.unit, key)
            if spec.minimum is not None and magnitude < spec.minimum:
                raise ImplausibleInput(
                    f"{key} {value} is below the minimum {spec.minimum} {spec.unit.value}."
                )
            if spec.maximum is not None and magnitude > spec.maximum:
                raise ImplausibleInput(
                    f"{key} {value} is above the maximum {spec.maximum} {spec.unit.value}."
                )
        checked[key] = value
    return checked


def _band(
    condition: Comparison, magnitude: Decimal, spec: ObservationSpec, rule: bool
) -> tuple[bool, str]:
    """Whether a value meets a band, and the test it met.

    In a rule, a value past the band's far end meets it too (it is worse than the band); a gap's
    band is read literally.
    """
    low, high = condition.low, condition.high
    assert low is not None and high is not None
    test = condition.describe(spec.unit)
    if low <= magnitude <= high:
        return True, test
    if not rule or spec.worse is None:
        return False, test
    unit = f" {spec.unit.value}" if spec.unit is not None else ""
    if spec.worse is Worse.HIGHER and magnitude > high:
        return True, f"above {low}–{high}{unit}: past the band's far end, so it meets it"
    if spec.worse is Worse.LOWER and magnitude < low:
        return True, f"below {low}–{high}{unit}: past the band's far end, so it meets it"
    return False, test


def _outcome(
    condition: Condition,
    values: Mapping[str, Quantity | bool],
    catalogue: dict[str, ObservationSpec],
    rule: bool = True,
) -> _Outcome:
    if isinstance(condition, Comparison):
        key = condition.observation
        if key not in values:
            return _Outcome(None, (), frozenset({key}))
        value = values[key]
        test = condition.describe(catalogue[key].unit)
        if isinstance(value, bool):
            met = value
        elif condition.operator is Operator.BETWEEN:
            met, test = _band(condition, value.magnitude, catalogue[key], rule)
        else:
            assert condition.value is not None
            met = _BINARY[condition.operator](value.magnitude, condition.value)
        return _Outcome(met, (TriggeringValue(key, value, test),) if met else (), frozenset())
    parts = [_outcome(p, values, catalogue, rule) for p in condition.parts]
    decisive = not isinstance(condition, AllOf)  # the part state that settles the whole
    if any(p.state is decisive for p in parts):
        # any_of met: report only the parts that met it; all_of failed: nothing to report.
        return _Outcome(decisive, tuple(t for p in parts for t in p.triggers), frozenset())
    unknown = [p for p in parts if p.state is None]
    if unknown:
        return _Outcome(None, (), frozenset().union(*(p.missing for p in unknown)))
    return _Outcome(not decisive, tuple(t for p in parts for t in p.triggers), frozenset())


def _keys(rules: list[UnassessedRule]) -> tuple[str, ...]:
    return tuple(sorted({k for u in rules for k in u.missing_observations}))


def evaluate(rule_set: RuleSet, observations: Mapping[str, Quantity | bool]) -> RuleSetEvaluation:
    """Evaluate every rule; report what fired, what could not be assessed, and the decision."""
    values = _check_observations(rule_set, observations)
    catalogue = rule_set.catalogue
    fired: list[FiredRule] = []
    unassessed: list[UnassessedRule] = []
    for r in rule_set.rules:
        result = _outcome(r.condition, values, catalogue)
        if result.state is True:
            fired.append(
                FiredRule(r.id, r.system, r.action, r.source_text, result.triggers, r.note)
            )
        elif result.state is None:
            missing = tuple(sorted(result.missing))
            unassessed.append(UnassessedRule(r.id, r.system, r.action, r.source_text, missing))
    for meta in rule_set.meta_rules:
        counted = tuple(f.rule_id for f in fired if f.action is meta.of_action)
        # Unassessed rules of the counted action could still bring the count to the threshold.
        pending = [u for u in unassessed if u.action is meta.of_action]
        if len(counted) >= meta.count_at_least:
            fired.append(
                FiredRule(
                    meta.id, "all systems", meta.action, meta.source_text, (), meta.note, counted
                )
            )
        elif len(counted) + len(pending) >= meta.count_at_least:
            unassessed.append(
                UnassessedRule(
                    meta.id, "all systems", meta.action, meta.source_text, _keys(pending)
                )
            )
    between = []
    for gap in rule_set.gaps:
        result = _outcome(gap.condition, values, catalogue, rule=False)
        if result.state is True:
            between.append(BetweenCriteria(gap.id, gap.system, gap.note, result.triggers))
    decision, minimum, blocking = _decide(
        fired, unassessed, between, complete=not rule_set.covers_only
    )
    return RuleSetEvaluation(
        rule_set_id=rule_set.id,
        rule_set_version=rule_set.version,
        source=rule_set.source,
        observations=tuple(sorted(values.items())),
        decision=decision,
        minimum_action=minimum,
        reason=_reason(decision, minimum, fired, blocking, between, _partial(rule_set)),
        fired=tuple(fired),
        not_assessed=tuple(unassessed),
        between_criteria=tuple(between),
        missing_observations=_keys(unassessed),
        decisive_missing_observations=_keys(blocking),
        covers_only=rule_set.covers_only,
    )


def _decide(
    fired: list[FiredRule],
    unassessed: list[UnassessedRule],
    between: list[BetweenCriteria],
    *,
    complete: bool,
) -> tuple[Decision, Action | None, list[UnassessedRule]]:
    """The decision, the strongest action met, and the unassessed rules that could raise it.

    A stop met decides; else an unassessed rule stronger than what was met leaves it undecided; else
    a value between criteria goes to the clinician; else a hold met holds; else the dose is given
    when the criteria cover every organ system (`complete`), and cannot be decided when they cover
    only some.
    """
    minimum = max((f.action for f in fired), key=lambda a: a.rank, default=None)
    blocking = [u for u in unassessed if u.action.rank > (minimum.rank if minimum else 0)]
    if minimum is Action.STOP:
        decision = Decision.STOP
    elif blocking:
        decision = Decision.CANNOT_DECIDE
    elif between:
        decision = Decision.CLINICIAN_REVIEW
    elif minimum is Action.HOLD:
        decision = Decision.HOLD
    else:
        decision = Decision.GIVE if complete else Decision.CANNOT_DECIDE
    return decision, minimum, blocking


def _partial(rule_set: RuleSet) -> str:
    if not rule_set.covers_only:
        return ""
    return f"{rule_set.title} covers only {rule_set.covers_only}"


def _reason(
    decision: Decision,
    minimum: Action | None,
    fired: list[FiredRule],
    blocking: list[UnassessedRule],
    between: list[BetweenCriteria],
    partial: str = "",
) -> str:
    met = "; ".join(f"{f.system}: {f.source_text}" for f in fired if f.action is minimum)
    if decision is Decision.STOP:
        return f"Stop: {met}."
    floor = f" Hold criteria met ({met}): do not give." if met else ""
    gaps = "; ".join(f"{b.system}: {b.note}" for b in between)
    if decision is Decision.CANNOT_DECIDE and not blocking:
        return (
            f"Cannot decide from these criteria alone: every one was assessed and none is met, "
            f"but {partial}. Check the dose against the criteria for the other organ systems "
            "before giving it."
        )
    if decision is Decision.CANNOT_DECIDE:
        could = "stop" if minimum else "hold or stop"
        also = f" Also between criteria: {gaps}" if gaps else ""
        return (
            f"Cannot decide: {len(blocking)} {'criterion' if len(blocking) == 1 else 'criteria'} "
            f"that could {could} {'was' if len(blocking) == 1 else 'were'} not assessed. "
            f"Missing: {', '.join(_keys(blocking))}.{floor}{also}"
        )
    if decision is Decision.CLINICIAN_REVIEW:
        return f"Between criteria: clinician review. {gaps}{floor}"
    if decision is Decision.HOLD:
        return f"Hold: {met}."
    return "Give: every criterion was assessed and none is met."


# A protocol's decision over all its rule sets ---------------------------------------------------

COMBINED_RULE = (
    "each rule set is evaluated on the observations it declares; the decision is the strictest: "
    "stop if any set's stop criterion is met; otherwise cannot decide while any criterion of any "
    "set stricter than those met is not assessed; otherwise clinician review if any set asks for "
    "it; otherwise hold if any hold criterion is met; otherwise give only when at least one set "
    "covers every organ system"
)


@dataclass(frozen=True)
class CombinedEvaluation:
    """The decision for a dose over several rule sets, with each set's own evaluation."""

    rule_set_ids: tuple[str, ...]
    observations: tuple[tuple[str, Quantity | bool], ...]
    decision: Decision
    minimum_action: Action | None
    reason: str
    evaluations: tuple[RuleSetEvaluation, ...]
    missing_observations: tuple[str, ...]
    decisive_missing_observations: tuple[str, ...]
    source: str
    rule: str = COMBINED_RULE
    rounding: str = ROUNDING


def shared_catalogue(rule_sets: tuple[RuleSet, ...]) -> dict[str, ObservationSpec]:
    """Every observation the sets declare, once; a key two sets declare differently is refused."""
    found: dict[str, ObservationSpec] = {}
    for rule_set in rule_sets:
        for spec in rule_set.observations:
            seen = found.setdefault(spec.key, spec)
            if (seen.unit, seen.minimum, seen.maximum, seen.worse) != (
                spec.unit,
                spec.minimum,
                spec.maximum,
                spec.worse,
            ):
                raise RuleSetInvalid(
                    f"Observation {spec.key!r} is declared with a different unit, range or "
                    f"direction in {rule_set.id!r}; the rule sets cannot be read together."
                )
    return found


def evaluate_all(
    rule_sets: tuple[RuleSet, ...], observations: Mapping[str, Quantity | bool]
) -> CombinedEvaluation:
    """The strictest decision of all `rule_sets`; every set sees the observations it declares."""
    if not rule_sets:
        raise RuleSetInvalid("A dose decision needs at least one rule set.")
    catalogue = shared_catalogue(rule_sets)
    unknown = sorted(set(observations) - set(catalogue))
    if unknown:
        raise InvalidObservation(
            f"Unknown observation {unknown[0]!r} for rule sets "
            f"{', '.join(r.id for r in rule_sets)}; known: {', '.join(sorted(catalogue))}."
        )
    evaluations = tuple(
        evaluate(r, {k: v for k, v in observations.items() if k in r.catalogue}) for r in rule_sets
    )
    fired = [f for e in evaluations for f in e.fired]
    unassessed = [u for e in evaluations for u in e.not_assessed]
    between = [b for e in evaluations for b in e.between_criteria]
    decision, minimum, blocking = _decide(
        fired, unassessed, between, complete=any(not r.covers_only for r in rule_sets)
    )
    partial = "; ".join(_partial(r) for r in rule_sets if r.covers_only)
    if decision is Decision.GIVE:
        reason = "Give: every criterion of every rule set was assessed and none is met."
    else:
        reason = _reason(decision, minimum, fired, blocking, between, partial)
    return CombinedEvaluation(
        rule_set_ids=tuple(r.id for r in rule_sets),
        observations=tuple(sorted(observations.items())),
        decision=decision,
        minimum_action=minimum,
        reason=reason,
        evaluations=evaluations,
        missing_observations=_keys(unassessed),
        decisive_missing_observations=_keys(blocking),
        source="; ".join(r.source for r in rule_sets),
    )
