"""Checks every domain shares: exact decimal ranges, and the JSON types an input field accepts.

Each message names the field (or its label) and the allowed limit, so that the person or the
program sending it can fix it.

JSON types are checked strictly at the API's edge, before any conversion: `true` is not the
number 1 and 1 is not `true`; a whole-number field takes a JSON integer only (not "3", not 3.0);
a date or a date-time is text, never a number of seconds since 1970. Decimal fields take a JSON
number or decimal text (the API reads JSON numbers as Decimal, so both are exact).
"""

from __future__ import annotations

import datetime as dt
import enum
import types
import typing
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

Errors = dict[str, list[str]]

# How far ahead of the server's clock a time typed or sent may be: a scanner's, an instrument's or
# a workstation's clock runs a little fast. Anything further ahead is refused as in the future,
# and a time more than this far in the past is an entry made after the fact.
CLOCK_ALLOWANCE = dt.timedelta(minutes=5)

WHOLE_NUMBER = "Send a whole number, e.g. 3 (not text, a decimal or true/false)."
TRUE_OR_FALSE = "Send true or false (not a number or text)."
DECIMAL = 'Send a number or plain decimal text, e.g. 68.4 or "68.4".'
DATE = "Send the date as YYYY-MM-DD text, not a number."
DATE_TIME = "Send the date and time as ISO 8601 text with its UTC offset, not a number."
NO_OFFSET = (
    "Give the date and time with its UTC offset, e.g. 2026-01-05T14:30:00+01:00 or "
    "2026-01-05T13:30:00Z; a time without an offset is ambiguous."
)


def _add(errors: Errors, field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


def check_decimal_range(
    errors: Errors,
    field: str,
    label: str,
    value: Any,
    low: Decimal,
    high: Decimal,
    unit: str,
    places: int = 1,
) -> Decimal | None:
    """`value` as an exact Decimal within [low, high] with at most `places` decimals, else None.

    A refusal is added to `errors[field]` with the label, the limits and the unit.
    """
    if value is None or value == "":
        _add(errors, field, f"{label} is required.")
        return None
    if isinstance(value, float):
        # A float has already lost the typed digits (and may carry a unit error from a device or
        # spreadsheet): refuse it so callers pass what was typed, as Decimal or text.
        _add(
            errors,
            field,
            f"{label} must be sent as an exact decimal number in {unit}, not a float.",
        )
        return None
    if isinstance(value, bool):
        _add(errors, field, f"{label} must be a number in {unit}, not true/false.")
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        _add(errors, field, f"{label} must be a number in {unit}.")
        return None
    if not number.is_finite() or number < low or number > high:
        _add(errors, field, f"{label} must be between {low} and {high} {unit}.")
        return None
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        _add(errors, field, f"{label} takes at most {places} decimal place(s) in {unit}.")
        return None
    return number


UNDERSCORE = "Write the number without underscores (1_0 would be read as 10)."


def typed_text_problem(value: Any, annotation: Any) -> str | None:
    """Why text typed on a page cannot be the number `annotation` asks for; None if it may be.

    Python reads "1_0" as 10; a number is never written that way, so it is refused rather than
    read (the rest of a typed number's checks are the field's own).
    """
    if typing.get_origin(annotation) is Annotated:
        return typed_text_problem(value, typing.get_args(annotation)[0])
    members = _members(annotation)
    if members is not None:
        return next((p for m in members if (p := typed_text_problem(value, m)) is not None), None)
    if typing.get_origin(annotation) in (list, tuple) and isinstance(value, list | tuple):
        args = typing.get_args(annotation)
        for item in value:
            if args and (problem := typed_text_problem(item, args[0])):
                return problem
        return None
    if annotation in (int, Decimal) and isinstance(value, str) and "_" in value:
        return UNDERSCORE
    return None


def _naive_text(value: str) -> str | None:
    """A date-time written without its UTC offset is ambiguous by up to a day across centers."""
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None  # not a date-time at all: the field's own validation says so
    return NO_OFFSET if moment.tzinfo is None else None


def _members(annotation: Any) -> tuple[Any, ...] | None:
    """The members of a union (`X | None`, `Optional[X]`), else None."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return typing.get_args(annotation)
    return None


def _is_model(annotation: Any) -> bool:
    # A nested schema checks its own fields (with their full path in the error).
    return isinstance(annotation, type) and hasattr(annotation, "model_fields")


def json_type_problem(value: Any, annotation: Any) -> str | None:
    """Why `value`, as parsed from JSON, is not acceptable for `annotation`; None if it may be.

    Only the confusions that lax conversion would otherwise accept are refused here (a boolean
    for a number, a number for a boolean or a date, text or 3.0 for a whole number); everything
    else is left to the field's own validation (pydantic already refuses true for a decimal, a
    number for text, and text that is not a number).
    """
    if typing.get_origin(annotation) is Annotated:
        return json_type_problem(value, typing.get_args(annotation)[0])
    members = _members(annotation)
    if members is not None:
        if value is None and type(None) in members:
            return None
        problems = [json_type_problem(value, member) for member in members if member is not None]
        if any(problem is None for problem in problems):
            return None
        return next((problem for problem in problems if problem), None)
    if annotation is type(None):
        return None if value is None else "Send null."
    origin = typing.get_origin(annotation)
    if origin in (list, tuple, set, frozenset):
        if not isinstance(value, list | tuple):
            return None  # the field's own validation says it must be a list
        args = [arg for arg in typing.get_args(annotation) if arg is not Ellipsis]
        if not args:
            return None
        for number, item in enumerate(value, start=1):
            kind = args[number - 1] if len(args) > 1 and number <= len(args) else args[0]
            problem = json_type_problem(item, kind)
            if problem:
                return f"Item {number}: {problem[:1].lower()}{problem[1:]}"
        return None
    if origin is Literal:
        choices = typing.get_args(annotation)
        if isinstance(value, bool) and not any(isinstance(choice, bool) for choice in choices):
            return "Send one of: " + ", ".join(str(choice) for choice in choices) + "."
        return None
    if _is_model(annotation) or annotation is Any:
        return None
    if annotation is bool:
        return None if isinstance(value, bool) else TRUE_OR_FALSE
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "Send one of the listed codes, not true/false." if isinstance(value, bool) else None
    if annotation is int:
        return None if isinstance(value, int) and not isinstance(value, bool) else WHOLE_NUMBER
    if annotation is Decimal and isinstance(value, str) and "_" in value:
        return UNDERSCORE
    if annotation is dt.datetime:
        if isinstance(value, str):
            return _naive_text(value)
        return None if isinstance(value, dt.datetime) else DATE_TIME
    if annotation is dt.date:
        return None if isinstance(value, str | dt.date) else DATE
    return None
