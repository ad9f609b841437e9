"""Checks every batch step shares: the batch locked for the write, the status the step belongs
to, numbers within their limits (with the unit in the message), and moments not in the future.

Values are taken as given, never converted or rounded: a weight with four decimals where the
record keeps three is refused, not cut.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tilcare.core.errors import InvalidInput
from tilcare.core.validation import DecimalWords, Errors, MomentWords, check_decimal_range
from tilcare.core.validation import check_moment as core_check_moment
from tilcare.manufacturing.models import Batch
from tilcare.manufacturing.selectors.batches import status_label

NOTE_MAX = 400


def locked_batch(batch: Batch) -> Batch:
    """The batch row, locked until the transaction ends (steps on one batch run one at a time)."""
    return Batch.objects.select_for_update().select_related("facility", "center").get(pk=batch.pk)


def require_status(batch: Batch, statuses: tuple[str, ...], step: str) -> None:
    if batch.status in statuses:
        return
    allowed = " or ".join(f"“{status_label(s)}”" for s in statuses)
    raise InvalidInput(
        {
            "__all__": [
                f"{step} is recorded while the batch is in {allowed}; this batch is in "
                f"“{status_label(batch.status)}”."
            ]
        }
    )


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, (bool, float)):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal) and value.is_finite():
        return value
    return None


def check_number(
    errors: Errors,
    field: str,
    value: Any,
    *,
    label: str,
    unit: str,
    minimum: Decimal,
    maximum: Decimal,
    places: int,
    whole: bool = False,
) -> None:
    """Add the field's problem to `errors`: missing, not an exact number, too many decimal
    places, or outside minimum..maximum (both included)."""
    number = _decimal(value)
    if (
        value is not None
        and value != ""
        and (number is None or (whole and not isinstance(value, int)))
    ):
        # Only a number the program holds exactly is taken here: text, a float or true/false
        # means the caller skipped the form or schema that reads what was typed.
        kind = "a whole number" if whole else "an exact decimal number"
        errors[field] = [f"{label} must be {kind} ({unit}); got {value!r}."]
        return
    allowed = "no decimals" if places == 0 else f"at most {places} decimal places"
    words = DecimalWords(
        required="{label} is required ({unit}).",
        out_of_range="{label} must be from {low:,f} to {high:,f} {unit} (got {number:,f} {unit}).",
        too_many_places=f"{{label}} {number} {{unit}} has too many decimals ({allowed}).",
    )
    # 1.20 g has the value of 1.2 g; 1.2345 g has more than the record keeps and is refused.
    given = value if number is None else number.normalize()
    check_decimal_range(errors, field, label, given, minimum, maximum, unit, places, words=words)


def check_moment(errors: Errors, field: str, value: Any, *, label: str) -> None:
    core_check_moment(errors, field, value, label=label, words=_MOMENT_WORDS)


_MOMENT_WORDS = MomentWords(
    missing="{label} is required (date and time).",
    no_offset="{label} must carry its UTC offset; a time without one is ambiguous.",
)


def exact(value: Any, places: int) -> Decimal:
    """A checked number with the decimal places the record keeps (1.20 g -> 1.200 g)."""
    return Decimal(value).quantize(Decimal(1).scaleb(-places))
