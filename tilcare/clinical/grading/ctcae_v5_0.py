"""CTCAE v5.0 term catalogue and the grade result shared by every CTCAE v5.0 grader.

Source: NCI CTEP, Common Terminology Criteria for Adverse Events (CTCAE) v5.0, released
2017-11-27, workbook CTCAE_v5.0.xlsx, sheet "CTCAE v5.0 Clean Copy" (837 terms). The package
carries its own copy of the table in data/ctcae_v5_0.json, generated from the workbook by
scripts/build_ctcae_catalogue.py and checked against the workbook by the catalogue test; it is
read once, with importlib.resources, on first use.

Texts are verbatim from the workbook, stripped of surrounding whitespace; a grade the workbook
marks "-" does not exist for the term (None here). MedDRA codes are identifiers only: MedDRA is
licensed by the ICH MSSO.

Graders: ctcae_v5_0_labs (grades that follow from measured values) and ctcae_v5_0_questions
(grades that need clinical context, from structured answers). Both return `CtcaeGrade`. No
rounding is done in this module.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from types import MappingProxyType
from typing import Any

from tilcare.clinical.units import (
    FloatNotAllowed,
    ImplausibleInput,
    InvalidQuantity,
    Quantity,
    Unit,
    UnitMismatch,
)

VERSION = "CTCAE v5.0"
RELEASE_DATE = "2017-11-27"
SOURCE = (
    "NCI CTEP, Common Terminology Criteria for Adverse Events (CTCAE) v5.0, released 2017-11-27, "
    'workbook CTCAE_v5.0.xlsx, sheet "CTCAE v5.0 Clean Copy"'
)
GRADES = (1, 2, 3, 4, 5)
_DATA_FILE = "data/ctcae_v5_0.json"


class UnknownCtcaeTerm(LookupError):
    """No CTCAE v5.0 term matches the name or MedDRA code asked for."""


class GradeNotDefined(LookupError):
    """The term has no such grade in CTCAE v5.0 (the workbook shows "-")."""


class CatalogueError(ValueError):
    """The packaged catalogue file is malformed."""


class CtcaeUnitError(UnitMismatch):
    """An input given in a unit the grader does not accept; the message names the field."""

    def __init__(self, name: str, given: Unit, accepted: tuple[Unit, ...]) -> None:
        self.left = given
        self.right = accepted[0]
        # The UnitMismatch wording speaks of two operands; here one field has the wrong unit.
        ValueError.__init__(
            self,
            f"{name} is given in {given.value}; {VERSION} grades it in "
            f"{' or '.join(unit.value for unit in accepted)}.",
        )


class MissingInput(ValueError):
    """An input (or an answer) needed for this grade was not given; the message names it."""


@dataclass(frozen=True)
class CtcaeTerm:
    """One CTCAE v5.0 term; `grades[0]` is the grade 1 text, `grades[4]` grade 5 (None = none)."""

    meddra_code: int
    soc: str
    term: str
    grades: tuple[str | None, str | None, str | None, str | None, str | None]
    definition: str | None
    navigational_note: str | None

    @property
    def available_grades(self) -> tuple[int, ...]:
        """The grades that exist for this term, lowest first."""
        return tuple(grade for grade in GRADES if self.grades[grade - 1] is not None)

    def grade_text(self, grade: int) -> str:
        """The verbatim grade text; refuse grades outside 1–5 or not defined for this term."""
        if isinstance(grade, bool) or not isinstance(grade, int) or grade not in GRADES:
            raise ValueError(f"grade {grade!r} must be an integer from 1 to 5.")
        text = self.grades[grade - 1]
        if text is None:
            raise GradeNotDefined(
                f"{VERSION} term '{self.term}' has no grade {grade} "
                f"(grades defined: {', '.join(map(str, self.available_grades))})."
            )
        return text


@dataclass(frozen=True)
class CtcaeGrade:
    """A CTCAE v5.0 grade with what set it.

    grade 0 means "not an adverse event for this term" (within normal / criteria not met) and
    carries no grade text. `values` maps each input's name to the Quantity or text used.

    `at_least` is None when the grade is the grade the grade text gives for these inputs. When an
    input the grade text also uses was not given (a baseline creatinine, whether a transfusion is
    indicated), a higher grade cannot be ruled out: `grade` is then only the lowest grade the
    inputs allow, and `at_least` says so, what could raise it and what to give to settle it.
    """

    term: CtcaeTerm
    grade: int
    rule: str
    values: Mapping[str, Quantity | str]
    grade_text: str | None
    notes: tuple[str, ...] = ()
    rounding: str = "none"
    at_least: str | None = None
    source: str = SOURCE
    version: str = VERSION

    def __post_init__(self) -> None:
        if isinstance(self.grade, bool) or not isinstance(self.grade, int):
            raise ValueError(f"grade {self.grade!r} must be an integer from 0 to 5.")
        if self.grade == 0:
            if self.grade_text is not None:
                raise ValueError("grade 0 carries no grade text.")
        elif self.grade_text != self.term.grade_text(self.grade):
            raise ValueError(
                f"grade_text for '{self.term.term}' grade {self.grade} must be the catalogue text."
            )
        # A read-only view, so the frozen result cannot be changed through its mapping.
        object.__setattr__(self, "values", MappingProxyType(dict(self.values)))


# Input checks shared by the graders -------------------------------------------------------------


def checked_quantity(value: object, name: str) -> Quantity:
    """`value` as a Quantity; floats and bare numbers are refused, naming the field."""
    if isinstance(value, float):
        raise FloatNotAllowed(value, name)
    if not isinstance(value, Quantity):
        raise InvalidQuantity(f"{name} {value!r} must be a Quantity with its unit.")
    return value


def in_unit(
    value: object, name: str, target: Unit, accepted: tuple[Unit, ...], notes: list[str]
) -> Quantity:
    """`value` converted to `target` with `.to()`; the conversion is appended to `notes`."""
    given = checked_quantity(value, name)
    if given.unit not in accepted:
        raise CtcaeUnitError(name, given.unit, accepted)
    if given.unit is target:
        return given
    converted = given.to(target)
    notes.append(f"{name} {given} converted to {converted} with .to(Unit.{target.name})")
    return converted


def within(name: str, value: Quantity, low: Decimal, high: Decimal, *, low_open: bool) -> None:
    """Refuse a value outside [low, high] (or (low, high]), naming the field and the limit."""
    unit = value.unit.value
    if value.magnitude < low or (low_open and value.magnitude == low):
        limit = f"greater than {low}" if low_open else f"at least {low}"
        raise ImplausibleInput(f"{name} {value} must be {limit} {unit}.")
    if value.magnitude > high:
        raise ImplausibleInput(f"{name} {value} is above the plausible maximum {high} {unit}.")


# Catalogue ---------------------------------------------------------------------------------------


def _text(entry: Mapping[str, Any], key: str, *, optional: bool) -> str | None:
    value = entry.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value:
        raise CatalogueError(f"catalogue entry {entry.get('term')!r}: {key} must be text.")
    return value


def _term_from(entry: object) -> CtcaeTerm:
    if not isinstance(entry, dict):
        raise CatalogueError(f"catalogue entry {entry!r} is not an object.")
    code = entry.get("meddra_code")
    if isinstance(code, bool) or not isinstance(code, int):
        raise CatalogueError(f"catalogue entry {entry.get('term')!r}: meddra_code must be an int.")
    grades = entry.get("grades")
    if not isinstance(grades, dict) or set(grades) != {str(g) for g in GRADES}:
        raise CatalogueError(f"catalogue entry {entry.get('term')!r}: grades must be '1'–'5'.")
    texts = [_text(grades, str(g), optional=True) for g in GRADES]
    soc = _text(entry, "soc", optional=False)
    name = _text(entry, "term", optional=False)
    assert soc is not None and name is not None
    return CtcaeTerm(
        meddra_code=code,
        soc=soc,
        term=name,
        grades=(texts[0], texts[1], texts[2], texts[3], texts[4]),
        definition=_text(entry, "definition", optional=True),
        navigational_note=_text(entry, "navigational_note", optional=True),
    )


@functools.cache
def _catalogue() -> tuple[CtcaeTerm, ...]:
    raw = resources.files(__package__).joinpath(_DATA_FILE).read_text(encoding="utf-8")
    data = json.loads(raw)
    if not isinstance(data, dict) or data.get("version") != VERSION:
        raise CatalogueError(f"{_DATA_FILE} is not a {VERSION} catalogue.")
    if data.get("source") != SOURCE:
        raise CatalogueError(f"{_DATA_FILE} names a different source: {data.get('source')!r}.")
    entries = data.get("terms")
    if not isinstance(entries, list):
        raise CatalogueError(f"{_DATA_FILE} has no term list.")
    return tuple(_term_from(entry) for entry in entries)


@functools.cache
def _by_name() -> Mapping[str, CtcaeTerm]:
    return MappingProxyType({t.term.casefold(): t for t in _catalogue()})


@functools.cache
def _by_code() -> Mapping[int, CtcaeTerm]:
    return MappingProxyType({t.meddra_code: t for t in _catalogue()})


def all_terms() -> tuple[CtcaeTerm, ...]:
    """Every CTCAE v5.0 term, in workbook order."""
    return _catalogue()


def term(name: str) -> CtcaeTerm:
    """The term with exactly this name, ignoring case; an unknown name is refused, naming it."""
    if not isinstance(name, str):
        raise TypeError(f"term name {name!r} must be text.")
    found = _by_name().get(name.casefold())
    if found is None:
        raise UnknownCtcaeTerm(
            f"{VERSION} has no term named '{name}' (names match exactly, ignoring case; "
            "use search_terms() to find a term)."
        )
    return found


def term_by_meddra_code(code: int) -> CtcaeTerm:
    """The term with this MedDRA code; an unknown code is refused, naming it."""
    if isinstance(code, bool) or not isinstance(code, int):
        raise TypeError(f"MedDRA code {code!r} must be an int.")
    found = _by_code().get(code)
    if found is None:
        raise UnknownCtcaeTerm(f"{VERSION} has no term with MedDRA code {code}.")
    return found


def search_terms(text: str) -> tuple[CtcaeTerm, ...]:
    """Terms whose name contains `text`, ignoring case, in workbook order."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("search text must be non-empty text.")
    needle = text.strip().casefold()
    return tuple(t for t in _catalogue() if needle in t.term.casefold())
