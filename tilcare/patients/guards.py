"""The checks a patient's data must pass before it is written (plausibility and uniqueness),
shared by forms, the API and services: the patient record's guards.

Each message names the field and the allowed limit so that the person typing can fix it.
"""

from __future__ import annotations

import datetime as dt

from tilcare.core.timeutil import age_in_years
from tilcare.core.validation import Errors, check_date
from tilcare.patients.models import (
    MAX_AGE_YEARS,
    Patient,
)

__all__ = [
    "Errors",
    "check_date_of_birth",
    "check_mrn_unique",
    "check_not_before_birth",
]


def _add(errors: Errors, field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


def check_date_of_birth(errors: Errors, born: dt.date | None, today: dt.date) -> None:
    if born is None:
        _add(errors, "date_of_birth", "Date of birth is required.")
        return
    if check_date(errors, "date_of_birth", "Date of birth", born, today=today) is None:
        return
    if age_in_years(born, today) > MAX_AGE_YEARS:
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
    check_date(
        errors,
        field,
        label,
        value,
        today=today,
        not_before=born,
        not_before_label="the date of birth",
    )


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
