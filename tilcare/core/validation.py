"""Checks every domain shares: exact decimal ranges, moments and dates, text, and the JSON types
an input field accepts.

Each message names the field (or its label) and the allowed limit, so that the person or the
program sending it can fix it. The value checks (`check_decimal_range`, `check_moment`,
`check_date`, `check_text`) add their refusal to an `errors` dict keyed by field, so that a form
or a service collects every problem of an input before it refuses it (`InvalidInput(errors)`).
Their wording is the same everywhere unless a caller passes its own words (`DecimalWords`,
`MomentWords`, `TextWords`): a domain whose messages people and clients already read keeps them.

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
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from django.utils import timezone

from tilcare.core.errors import InvalidInput

Errors = dict[str, list[str]]

# How far ahead of the server's clock a time typed or sent may be: a scanner's, an instrument's or
# a workstation's clock runs a little fast. Anything further ahead is refused as in the future,
# and a time more than this far in the past is an entry made after the fact.
CLOCK_ALLOWANCE = dt.timedelta(minutes=5)


def latest_moment(now: dt.datetime | None = None) -> dt.datetime:
    """The latest time a device or a person may give for something that has happened: now (the
    server's clock, unless given) plus the clock allowance."""
    return (now or timezone.now()) + CLOCK_ALLOWANCE


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


@dataclass(frozen=True)
class DecimalWords:
    """How `check_decimal_range` words its refusals. Each is a template that may name `label`,
    `unit`, `low`, `high`, `places`, `value` (as sent) and, once it is a number, `number`."""

    required: str = "{label} is required."
    inexact: str = "{label} must be sent as an exact decimal number in {unit}, not a float."
    true_or_false: str = "{label} must be a number in {unit}, not true/false."
    not_a_number: str = "{label} must be a number in {unit}."
    not_finite: str = "{label} must be between {low} and {high} {unit}."
    out_of_range: str = "{label} must be between {low} and {high} {unit}."
    too_many_places: str = "{label} takes at most {places} decimal place(s) in {unit}."


def check_decimal_range(
    errors: Errors,
    field: str,
    label: str,
    value: Any,
    low: Decimal | None,
    high: Decimal | None,
    unit: str,
    places: int = 1,
    *,
    words: DecimalWords = DecimalWords(),
) -> Decimal | None:
    """`value` as an exact Decimal within [low, high] with at most `places` decimals, else None.

    A refusal is added to `errors[field]` with the label, the limits and the unit. A bound that
    is None is not checked (the caller checks a range it words differently). The range is
    checked before the decimal places.
    """

    def refuse(template: str, **number: Any) -> None:
        names = {"label": label, "unit": unit, "low": low, "high": high, "places": places}
        _add(errors, field, template.format(value=value, **names, **number))

    if value is None or value == "":
        refuse(words.required)
        return None
    if isinstance(value, float):
        # A float has already lost the typed digits (and may carry a unit error from a device or
        # spreadsheet): refuse it so callers pass what was typed, as Decimal or text.
        refuse(words.inexact)
        return None
    if isinstance(value, bool):
        refuse(words.true_or_false)
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        refuse(words.not_a_number)
        return None
    if not number.is_finite():
        refuse(words.not_finite, number=number)
        return None
    if (low is not None and number < low) or (high is not None and number > high):
        refuse(words.out_of_range, number=number)
        return None
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        refuse(words.too_many_places, number=number)
        return None
    return number


@dataclass(frozen=True)
class MomentWords:
    """How `check_moment` words its refusals: templates that may name `label` and, for
    `before`, `what` (the bound's description) and `bound` (as UTC text)."""

    missing: str = "Give the date and time with its time zone."
    no_offset: str = "Give the date and time with its time zone."
    future: str = "{label} cannot be in the future."
    before: str = "{label} cannot be before {what} ({bound} UTC)."


# A time a person types (when a dose was given, a bag thawed): never ahead of the clock. The
# allowance above is for instruments whose clocks drift; the audit trail refuses a future time.
TYPED = dt.timedelta(0)


def check_moment(
    errors: Errors,
    field: str,
    value: Any,
    *,
    label: str = "Date and time",
    now: dt.datetime | None = None,
    allowance: dt.timedelta = CLOCK_ALLOWANCE,
    not_before: dt.datetime | None = None,
    not_before_label: str = "",
    words: MomentWords = MomentWords(),
) -> dt.datetime | None:
    """`value` when it is a date and time with its UTC offset, at most `allowance` ahead of `now`
    (a device's clock may run a little fast; pass `allowance=timedelta(0)` for a time typed for
    the past) and not before `not_before` (described by `not_before_label`, e.g. "the batch was
    opened"); else None, with the first problem added to `errors[field]`."""
    if not isinstance(value, dt.datetime):
        _add(errors, field, words.missing.format(label=label))
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        _add(errors, field, words.no_offset.format(label=label))
        return None
    if value > (now or timezone.now()) + allowance:
        _add(errors, field, words.future.format(label=label))
        return None
    if not_before is not None and value < not_before:
        bound = f"{not_before.astimezone(dt.UTC):%Y-%m-%d %H:%M}"
        _add(errors, field, words.before.format(label=label, what=not_before_label, bound=bound))
        return None
    return value


def check_date(
    errors: Errors,
    field: str,
    label: str,
    value: dt.date | None,
    *,
    today: dt.date,
    not_before: dt.date | None = None,
    not_before_label: str = "",
) -> dt.date | None:
    """`value` when it is not after `today` (the local date where it happened) nor before
    `not_before` (described by `not_before_label`, e.g. "the date of birth"); else None, with
    every problem added to `errors[field]`. A missing date is the caller's to judge."""
    if value is None:
        return None
    problems = len(errors.get(field, []))
    if not_before is not None and value < not_before:
        _add(errors, field, f"{label} cannot be before {not_before_label} ({not_before:%Y-%m-%d}).")
    if value > today:
        _add(errors, field, f"{label} cannot be in the future (today is {today:%Y-%m-%d}).")
    return value if len(errors.get(field, [])) == problems else None


NUL_REFUSED = (
    "Remove the NUL character (U+0000): text may not contain it (a database cannot store it)."
)


@dataclass(frozen=True)
class TextWords:
    """How `check_text` words its refusals: `required` (None: the text may be empty) and
    `too_long`, a template that may name `label`, `max_length` and `length`."""

    required: str | None = None
    too_long: str = "At most {max_length} characters (got {length})."


def check_text(
    errors: Errors,
    field: str,
    value: Any,
    *,
    max_length: int | None = None,
    label: str = "",
    words: TextWords = TextWords(),
    one_line: bool = False,
) -> str:
    """`value` as text without its surrounding spaces (`one_line`: with every run of spaces and
    line breaks made one space), or "" with the problem added to `errors[field]`: empty when
    `words.required` is set, longer than `max_length`, or holding a NUL character."""
    text = value if isinstance(value, str) else "" if value is None else str(value)
    text = " ".join(text.split()) if one_line else text.strip()
    if not text:
        if words.required is not None:
            _add(errors, field, words.required.format(label=label))
        return ""
    if max_length is not None and len(text) > max_length:
        template = words.too_long
        _add(errors, field, template.format(label=label, max_length=max_length, length=len(text)))
        return ""
    if "\x00" in text:
        _add(errors, field, NUL_REFUSED)
        return ""
    return text


def clean_text(
    field: str,
    value: Any,
    *,
    max_length: int | None = None,
    required: str | None = None,
    one_line: bool = False,
) -> str:
    """`check_text` for a step that refuses its first problem at once: raises InvalidInput."""
    errors: Errors = {}
    words = TextWords(required=required)
    text = check_text(errors, field, value, max_length=max_length, words=words, one_line=one_line)
    if errors:
        raise InvalidInput(errors)
    return text


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
