"""Load and validate dose hold/stop rule sets from the TOML files in tilcare/protocols/rulesets/.

A file holds one `tilcare.clinical.rules.RuleSet`; its name is the id with "-" written "_"
(dutcher_2014.toml holds "dutcher-2014"). Shape (every key is checked):

    id, version, title, source          strings
    notes                               optional list of strings
    covers_only                         optional: what a set covering only some organ systems
                                        covers ("blood pressure and kidney function"); such a
                                        set can hold or stop a dose, never clear one alone
    [observations.<key>]                label; kind = "measurement" with unit (a Unit name such as
                                        "mg_per_dl"), plausible minimum and maximum, and worse
                                        ("higher" | "lower": the direction it gets worse), or
                                        kind = "finding" (a clinician's true/false finding)
    [[rules]]                           id, system, action ("hold" | "stop"), source_text
                                        (the source's wording, verbatim), condition, optional note
    [[meta_rules]]                      id, action, source_text, count_at_least (integer),
                                        of_action, optional note
    [[gaps]]                            id, system, note, condition: a range the source leaves
                                        between or beyond its criteria (clinician review)
    condition                           {observation, operator, value} with operator one of
                                        <, <=, >, >=, ==; {observation, operator = "between",
                                        low, high} (inclusive); {observation, operator =
                                        "is_true"}; {all_of = [conditions]}; {any_of = [...]}

Numbers are decimal strings (or integers) and become Decimal. A TOML float is refused wherever it
appears, because it has already been rounded to binary; so are unknown keys, missing keys,
observations a condition names but the catalogue does not declare, and malformed TOML. Every
refusal is a `RuleSetFileError` naming the file and the key path (e.g.
`rules[4].condition.all_of[1].value`; list positions count from 0).
Files are read with importlib.resources; parsed rule sets are cached per id.
"""

from __future__ import annotations

import contextlib
import functools
import tomllib
from collections.abc import Iterator
from decimal import Decimal
from importlib import resources
from importlib.resources.abc import Traversable
from typing import NoReturn

from tilcare.clinical.rules import (
    Action,
    AllOf,
    AnyOf,
    Comparison,
    Condition,
    CountMetaRule,
    CriteriaGap,
    ObservationSpec,
    Operator,
    Rule,
    RuleSet,
    RuleSetInvalid,
    Worse,
)
from tilcare.clinical.units import FloatNotAllowed, InvalidQuantity, Unit, to_decimal

PACKAGE = "tilcare.protocols"
DIRECTORY = "rulesets"

_TOP_REQUIRED = frozenset({"id", "version", "title", "source", "observations", "rules"})
_TOP_OPTIONAL = frozenset({"notes", "meta_rules", "gaps", "covers_only"})


class RuleSetFileError(ValueError):
    """A rule-set file that cannot be used; the message names the file and the key path."""

    def __init__(self, origin: str, path: str, problem: str) -> None:
        self.origin = origin
        self.path = path
        super().__init__(f"{origin}: {path}: {problem}")


class UnknownRuleSet(LookupError):
    """No rule-set file has this id."""


def _refuse_floats(value: object, path: str, origin: str) -> None:
    if isinstance(value, float):
        raise RuleSetFileError(
            origin, path, f'{value!r} is a TOML float; write the number as a string, e.g. "{value}"'
        )
    if isinstance(value, dict):
        for key, item in value.items():
            _refuse_floats(item, f"{path}.{key}" if path else str(key), origin)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _refuse_floats(item, f"{path}[{index}]", origin)


class _Reader:
    def __init__(self, origin: str) -> None:
        self.origin = origin

    def fail(self, path: str, problem: str) -> NoReturn:
        raise RuleSetFileError(self.origin, path, problem)

    @contextlib.contextmanager
    def at(self, path: str) -> Iterator[None]:
        """Report a refusal from the clinical dataclasses under the key path being read."""
        try:
            yield
        except (RuleSetInvalid, InvalidQuantity, FloatNotAllowed) as error:
            raise RuleSetFileError(self.origin, path, str(error)) from error

    def table(
        self, value: object, path: str, required: set[str], optional: frozenset[str] = frozenset()
    ) -> dict[str, object]:
        if not isinstance(value, dict):
            self.fail(path, f"must be a table, not {type(value).__name__}")
        unknown = sorted(set(value) - required - optional)
        if unknown:
            self.fail(path, f"unknown key(s) {unknown}; allowed: {sorted(required | optional)}")
        missing = sorted(required - set(value))
        if missing:
            self.fail(path, f"missing required key(s) {missing}")
        return value

    def array(self, value: object, path: str) -> list[object]:
        if not isinstance(value, list) or not value:
            self.fail(path, "must be a non-empty array")
        return value

    def text(self, table: dict[str, object], key: str, path: str) -> str:
        value = table[key]
        if not isinstance(value, str) or not value.strip():
            self.fail(f"{path}{key}", "must be a non-empty string")
        return value

    def number(self, table: dict[str, object], key: str, path: str) -> Decimal:
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            self.fail(f"{path}{key}", f'must be a decimal string such as "2.5", not {value!r}')
        with self.at(f"{path}{key}"):
            return to_decimal(value, key)

    def action(self, table: dict[str, object], key: str, path: str) -> Action:
        value = self.text(table, key, path)
        try:
            return Action(value)
        except ValueError:
            self.fail(f"{path}{key}", f"{value!r} is not one of {[a.value for a in Action]}")

    def unit(self, table: dict[str, object], path: str) -> Unit:
        value = self.text(table, "unit", path)
        if value not in Unit.__members__:
            self.fail(f"{path}unit", f"{value!r} is not a Unit name (e.g. 'mg_per_dl', 'per_mm3')")
        return Unit[value]

    def observation(self, key: str, value: object) -> ObservationSpec:
        path = f"observations.{key}"
        kind = value.get("kind") if isinstance(value, dict) else None
        if kind == "finding":
            table = self.table(value, path, {"label", "kind"})
            with self.at(path):
                return ObservationSpec(key, self.text(table, "label", f"{path}."), None)
        if kind != "measurement":
            self.fail(f"{path}.kind", 'must be "measurement" (with a unit) or "finding"')
        table = self.table(value, path, {"label", "kind", "unit", "minimum", "maximum", "worse"})
        worse = self.text(table, "worse", f"{path}.")
        if worse not in {w.value for w in Worse}:
            self.fail(f"{path}.worse", f"{worse!r} is not one of {[w.value for w in Worse]}")
        with self.at(path):
            return ObservationSpec(
                key,
                self.text(table, "label", f"{path}."),
                self.unit(table, f"{path}."),
                minimum=self.number(table, "minimum", f"{path}."),
                maximum=self.number(table, "maximum", f"{path}."),
                worse=Worse(worse),
            )

    def condition(
        self, value: object, path: str, catalogue: dict[str, ObservationSpec]
    ) -> Condition:
        for group, cls in (("all_of", AllOf), ("any_of", AnyOf)):
            if isinstance(value, dict) and group in value:
                table = self.table(value, path, {group})
                items = self.array(table[group], f"{path}.{group}")
                return cls(
                    tuple(
                        self.condition(item, f"{path}.{group}[{index}]", catalogue)
                        for index, item in enumerate(items)
                    )
                )
        operator_text = value.get("operator") if isinstance(value, dict) else None
        operators = {o.value: o for o in Operator}
        if operator_text not in operators:
            self.fail(
                f"{path}.operator",
                f"needs all_of, any_of or an operator among {sorted(operators)}, "
                f"not {operator_text!r}",
            )
        op = operators[str(operator_text)]
        thresholds = {Operator.IS_TRUE: set(), Operator.BETWEEN: {"low", "high"}}.get(op, {"value"})
        table = self.table(value, path, {"observation", "operator"} | thresholds)
        key = self.text(table, "observation", f"{path}.")
        if key not in catalogue:
            self.fail(
                f"{path}.observation",
                f"unknown observation {key!r}; declare it under [observations.{key}] first",
            )
        if catalogue[key].is_finding != (op is Operator.IS_TRUE):
            kind = "finding" if catalogue[key].is_finding else "measurement"
            self.fail(
                f"{path}.operator",
                f"'{op.value}' cannot be used on the {kind} {key!r}; "
                f"findings take is_true, measurements a threshold",
            )
        numbers = {n: self.number(table, n, f"{path}.") for n in sorted(thresholds)}
        with self.at(path):
            return Comparison(key, op, **numbers)

    def rule(self, value: object, path: str, catalogue: dict[str, ObservationSpec]) -> Rule:
        required = {"id", "system", "action", "source_text", "condition"}
        table = self.table(value, path, required, frozenset({"note"}))
        prefix = f"{path}."
        return Rule(
            id=self.text(table, "id", prefix),
            system=self.text(table, "system", prefix),
            action=self.action(table, "action", prefix),
            source_text=self.text(table, "source_text", prefix),
            condition=self.condition(table["condition"], f"{path}.condition", catalogue),
            note=self.text(table, "note", prefix) if "note" in table else "",
        )

    def meta_rule(self, value: object, path: str) -> CountMetaRule:
        required = {"id", "action", "source_text", "count_at_least", "of_action"}
        table = self.table(value, path, required, frozenset({"note"}))
        prefix = f"{path}."
        count = table["count_at_least"]
        if isinstance(count, bool) or not isinstance(count, int):
            self.fail(f"{path}.count_at_least", f"must be an integer, not {count!r}")
        with self.at(path):
            return CountMetaRule(
                id=self.text(table, "id", prefix),
                action=self.action(table, "action", prefix),
                source_text=self.text(table, "source_text", prefix),
                count_at_least=count,
                of_action=self.action(table, "of_action", prefix),
                note=self.text(table, "note", prefix) if "note" in table else "",
            )

    def gap(self, value: object, path: str, catalogue: dict[str, ObservationSpec]) -> CriteriaGap:
        table = self.table(value, path, {"id", "system", "note", "condition"})
        prefix = f"{path}."
        return CriteriaGap(
            id=self.text(table, "id", prefix),
            system=self.text(table, "system", prefix),
            note=self.text(table, "note", prefix),
            condition=self.condition(table["condition"], f"{path}.condition", catalogue),
        )

    def rule_set(self, document: dict[str, object]) -> RuleSet:
        _refuse_floats(document, "", self.origin)
        top = self.table(document, "(top level)", set(_TOP_REQUIRED), _TOP_OPTIONAL)
        entries = top["observations"]
        if not isinstance(entries, dict) or not entries:
            self.fail("observations", "must be a non-empty table of observations")
        observations = tuple(self.observation(k, v) for k, v in entries.items())
        catalogue = {o.key: o for o in observations}
        notes = self.array(top["notes"], "notes") if "notes" in top else []
        for index, note in enumerate(notes):
            if not isinstance(note, str) or not note.strip():
                self.fail(f"notes[{index}]", "must be a non-empty string")
        rules = self.array(top["rules"], "rules")
        metas = self.array(top["meta_rules"], "meta_rules") if "meta_rules" in top else []
        gaps = self.array(top["gaps"], "gaps") if "gaps" in top else []
        with self.at("(rule set)"):
            return RuleSet(
                id=self.text(top, "id", ""),
                version=self.text(top, "version", ""),
                title=self.text(top, "title", ""),
                source=self.text(top, "source", ""),
                observations=observations,
                rules=tuple(self.rule(r, f"rules[{i}]", catalogue) for i, r in enumerate(rules)),
                meta_rules=tuple(
                    self.meta_rule(m, f"meta_rules[{i}]") for i, m in enumerate(metas)
                ),
                gaps=tuple(self.gap(g, f"gaps[{i}]", catalogue) for i, g in enumerate(gaps)),
                notes=tuple(str(n) for n in notes),
                covers_only=self.text(top, "covers_only", "") if "covers_only" in top else "",
            )


def parse_rule_set(text: str, origin: str = "<text>") -> RuleSet:
    """Parse and validate one rule set from TOML text; `origin` names it in error messages."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise RuleSetFileError(origin, "(TOML)", f"malformed TOML: {error}") from error
    return _Reader(origin).rule_set(document)


def read_rule_set(file: Traversable) -> RuleSet:
    """Parse and validate one rule-set file (a pathlib.Path or an importlib.resources file)."""
    return parse_rule_set(file.read_text(encoding="utf-8"), origin=file.name)


def _directory() -> Traversable:
    return resources.files(PACKAGE).joinpath(DIRECTORY)


@functools.cache
def available_rule_sets() -> tuple[str, ...]:
    """Ids of the rule-set files shipped with the package, sorted."""
    names = (f.name for f in _directory().iterdir() if f.is_file() and f.name.endswith(".toml"))
    return tuple(sorted(name.removesuffix(".toml").replace("_", "-") for name in names))


@functools.cache
def load_rule_set(rule_set_id: str) -> RuleSet:
    """The validated rule set with this id (cached); refuses ids with no file."""
    if rule_set_id not in available_rule_sets():
        raise UnknownRuleSet(
            f"No rule set {rule_set_id!r}; available: {', '.join(available_rule_sets())}."
        )
    file = _directory().joinpath(rule_set_id.replace("-", "_") + ".toml")
    rule_set = read_rule_set(file)
    if rule_set.id != rule_set_id:
        raise RuleSetFileError(
            file.name, "id", f"is {rule_set.id!r} but the file name says {rule_set_id!r}"
        )
    return rule_set
