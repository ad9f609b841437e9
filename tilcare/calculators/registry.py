"""The calculators, declared once and served by both the API and the page.

A calculator is its input schema (the API's request body and the page's form, so both refuse the
same things with the same messages), a `run` that calls the clinical core, and the permission it
needs. `execute` turns the clinical core's refusals into field-level messages.

`register` makes every input schema strict (`core.api_support.strict_input`): an unknown or
misspelt field is refused rather than ignored (a misspelt baseline must never fall back to its
default), and `true` is not the number 1. A calculator's own schema needs nothing for this.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from ninja import Schema
from pydantic import BaseModel

from tilcare.accounts.roles import Perm
from tilcare.clinical.serialize import to_jsonable
from tilcare.core.api_support import strict_input
from tilcare.core.errors import InvalidInput

Tone = Literal["ok", "info", "warn", "danger"]


@dataclass(frozen=True)
class Outcome:
    """What a calculation gives the page and the API: a one-line answer and the full working."""

    headline: str
    result: Any  # the clinical core's frozen result dataclass, shown whole as the working
    tone: Tone = "info"
    # Optional chart for the page: {"x": [...], "series": [{"label", "values", "kind"}], ...}
    chart: dict[str, Any] | None = None


@dataclass(frozen=True)
class Calculator:
    slug: str
    title: str
    group: str
    purpose: str
    input_schema: type[Schema]
    run: Callable[[Any], Outcome]
    # Any one of these permissions opens the calculator.
    perms: tuple[Perm, ...] = (Perm.USE_CLINICAL_CALCULATORS,)
    example: dict[str, Any] | None = None
    # On the list page: calculators of one protocol or rule set sit under its name, by short name
    subgroup: str = ""
    list_title: str = ""


GROUPS = (
    "Dosing and schedule",
    "Body size and renal function",
    "Toxicity grading and early warning",
    "Response",
    "Manufacturing",
    "Identity",
)

_REGISTRY: dict[str, Calculator] = {}


def register(calculator: Calculator) -> Calculator:
    if calculator.slug in _REGISTRY:
        raise ValueError(f"Two calculators share the slug {calculator.slug!r}")
    if calculator.group not in GROUPS:
        raise ValueError(f"Unknown calculator group {calculator.group!r}")
    strict = dataclasses.replace(calculator, input_schema=strict_input(calculator.input_schema))
    _REGISTRY[calculator.slug] = strict
    return strict


def all_calculators() -> list[Calculator]:
    from tilcare.calculators import definitions  # noqa: F401 (registers on import)

    return sorted(_REGISTRY.values(), key=lambda c: (GROUPS.index(c.group), c.title))


def get_calculator(slug: str) -> Calculator | None:
    from tilcare.calculators import definitions  # noqa: F401

    return _REGISTRY.get(slug)


def usable_by(user: Any) -> list[Calculator]:
    from tilcare.calculators.policies import can_use_calculator

    return [calc for calc in all_calculators() if can_use_calculator(user, calc)]


def _field_names(schema: type[Schema]) -> list[str]:
    names: list[str] = []
    for name, field in schema.model_fields.items():
        names.append(name)
        if field.alias and field.alias != name:
            names.append(field.alias)
    return names


def field_for_message(message: str, field_names: list[str]) -> str:
    """The input field a clinical-core message is about: the earliest field name it mentions.

    The clinical core's refusals begin with the field they refuse ("weight_kg 400 is above the
    plausible maximum 350 kg."); input names in the API and the page are the same names, or the
    same with the unit added ("dose_lower" for `dose_lower_e9_cells`). A message naming no field
    belongs to the whole form.
    """
    best: tuple[int, int, str] | None = None
    for name in field_names:
        match = re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", message)
        if match and (best is None or (match.start(), -len(name)) < best[:2]):
            best = (match.start(), -len(name), name)
    if best:
        return best[2]
    # The clinical core may name a quantity without the unit the input's name carries
    # ("dose_lower" for dose_lower_e9_cells): the one field whose name it begins.
    for match in re.finditer(r"(?<![A-Za-z0-9_])[a-z][a-z0-9]*_[a-z0-9_]*[a-z0-9]", message):
        begun = [name for name in field_names if name.startswith(f"{match.group()}_")]
        if len(begun) == 1:
            return begun[0]
    return "__all__"


class FieldRefusal(ValueError):
    """A clinical-core refusal attributed to the input field it came from."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


@contextmanager
def refusals_name(field: str) -> Iterator[None]:
    """Attribute the clinical core's refusals inside the block to `field` (e.g. "targets")."""
    try:
        yield
    except (ValueError, TypeError, ArithmeticError) as error:
        if isinstance(error, FieldRefusal):
            raise
        raise FieldRefusal(field, str(error)) from error


def execute(calculator: Calculator, payload: Schema) -> Outcome:
    """Run a calculator; the clinical core's refusals become InvalidInput with field names."""
    try:
        return calculator.run(payload)
    except FieldRefusal as error:
        message = str(error)
        field = row_field_for_message(message, payload, only=error.field) or error.field
        raise InvalidInput({field: [message]}) from error
    except (ValueError, TypeError, ArithmeticError) as error:
        message = str(error) or "This input cannot be calculated."
        names = _field_names(type(payload))
        field = row_field_for_message(message, payload) or (
            names[0] if len(names) == 1 else field_for_message(message, names)
        )
        raise InvalidInput({field: [message]}) from error


def row_field_for_message(message: str, payload: Schema, only: str = "") -> str | None:
    """The row and column a refusal is about, as `rows.<index>.<column>`, or None.

    The clinical core names a row by its position ("counts[0].day 400 is above ...") or by its
    own identifier ("F03 ifn_gamma_tumor 2000000 pg/mL is outside ..."), and the column by its
    name (with or without its unit). `only` limits the search to one list of rows.
    """
    for name in type(payload).model_fields:
        rows = getattr(payload, name, None)
        if (only and name != only) or not isinstance(rows, list) or not rows:
            continue
        if not all(isinstance(row, BaseModel) for row in rows):
            continue
        columns = list(type(rows[0]).model_fields)
        at = re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}\[(\d+)\]\.(\w+)", message)
        if at and int(at.group(1)) < len(rows):
            column = field_for_message(at.group(2), columns)
            if column != "__all__":
                return f"{name}.{at.group(1)}.{column}"
        column = field_for_message(message, columns)
        if column == "__all__":
            continue
        named = [index for index, row in enumerate(rows) if _names_row(message, row)]
        if len(named) == 1:  # a refusal naming several rows is about the list as a whole
            return f"{name}.{named[0]}.{column}"
    return None


def _names_row(message: str, row: BaseModel) -> bool:
    labels = [v for v in row.model_dump().values() if isinstance(v, str) and v.strip()]
    return any(
        re.search(rf"(?<![A-Za-z0-9_]){re.escape(label)}(?![A-Za-z0-9_])", message)
        for label in labels
    )


def outcome_json(calculator: Calculator, outcome: Outcome) -> dict[str, Any]:
    return {
        "calculator": calculator.slug,
        "headline": outcome.headline,
        "tone": outcome.tone,
        "result": to_jsonable(outcome.result),
    }
