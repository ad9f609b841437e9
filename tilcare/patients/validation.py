"""Plausibility rules for a patient's data, shared by forms, the API and services.

Each message names the field and the allowed limit so that the person typing can fix it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from tilcare.core.timeutil import age_in_years
from tilcare.patients.models import (
    MAX_AGE_YEARS,
    Patient,
)

Errors = dict[str, list[str]]


def _add(errors: Errors, field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


def check_date_of_birth(errors: Errors, born: dt.date | None, today: dt.date) -> None:
    if born is None:
        _add(errors, "date_of_birth", "Date of birth is required.")
        return
    if born > today:
        _add(
            errors,
            "date_of_birth",
            f"Date of birth cannot be in the future (today is {today:%Y-%m-%d}).",
        )
    elif age_in_years(born, today) > MAX_AGE_YEARS:
        _add(
            errors,
            "date_of_birth",
            f"Date of birth gives an age over {MAX_AGE_YEARS} years; check the year.",
        )


def check_not_before_birth(
    errors: Errors,
    field: str,
    label: str,
    value: dt.date | None,
    born: dt.date | None,
    today: dt.date,
) -> None:
    if value is None:
        return
    if born is not None and value < born:
        _add(errors, field, f"{label} cannot be before the date of birth ({born:%Y-%m-%d}).")
    if value > today:
        _add(errors, field, f"{label} cannot be in the future (today is {today:%Y-%m-%d}).")


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


def check_mrn_unique(errors: Errors, center_id: int, mrn: str, patient: Patient | None) -> None:
    clash = Patient.objects.filter(center_id=center_id, mrn=mrn)
    if patient is not None:
        clash = clash.exclude(pk=patient.pk)
    if clash.exists():
        _add(
            errors,
            "mrn",
            f"Medical record number {mrn} is already used by another patient at this center.",
        )
