"""A calculator number's plausible range, refused on its own field with the field and the limit.

These are entry-slip limits that catch typing errors (a count in cells where ×10⁹ cells were
meant, minutes typed as hours, 10³⁰ from a broken interface); they are generous, not clinical
limits. Where the clinical core already refuses a number with its own limits (often in the unit
chosen), the calculator only declares the range in the API document (`checked_range`); `within`
is for a number no later check would refuse, or would refuse only after asking for something
else first (a center setting).

(No `from __future__ import annotations`: pydantic reads these annotations at import.)
"""

from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator


def refusal(
    key: str, value: Decimal, low: Decimal, high: Decimal, unit: str, kind: str = "plausible"
) -> str | None:
    """The message refusing `value` for `key` outside [low, high], or None if it is within.

    `kind` says what the limits are: "plausible" for a measurement, "allowed" for a setting.
    """
    unit_text = f" {unit}" if unit else ""
    if value < low:
        return f"{key} {value} is below the {kind} minimum {low}{unit_text}."
    if value > high:
        return f"{key} {value} is above the {kind} maximum {high}{unit_text}."
    return None


def checker(
    key: str, low: Decimal, high: Decimal, unit: str, kind: str = "plausible"
) -> AfterValidator:
    """Refuses a Decimal outside [low, high] naming the field and the limit; any other value
    (None, or the text of a setting's explicit choice such as "no cap") passes unchanged."""

    def check(value: Any) -> Any:
        if isinstance(value, Decimal):
            message = refusal(key, value, low, high, unit, kind)
            if message:
                raise ValueError(message)
        return value

    return AfterValidator(check)


def within(
    key: str,
    low: Decimal,
    high: Decimal,
    unit: str,
    *,
    optional: bool = False,
    kind: str = "plausible",
) -> Any:
    """A Decimal input (optional: or None) refused outside [low, high], naming field and limit."""
    if optional:
        return Annotated[Decimal | None, checker(key, low, high, unit, kind)]
    return Annotated[Decimal, checker(key, low, high, unit, kind)]
