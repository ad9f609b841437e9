"""One entry of a batch of observations, read and checked: its kind in the catalogue
(`clinical.observations`), its unit (the kind's UCUM unit, never converted), its value within the
plausible range and to the kind's decimals, its times (with a UTC offset, not ahead of the clock,
not before the patient's birth; a fluid period ending after it starts, within a day) and its
course. Each problem is named under `entries.<i>.<field>` with the limit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tilcare.clinical.checkdigits import DIN_PATTERN
from tilcare.clinical.observations import BY_KEY, Group, ObservationKind
from tilcare.core.timeutil import day_start
from tilcare.core.validation import (
    Errors,
    check_decimal_range,
    check_moment,
    check_text,
)
from tilcare.monitoring.choices import (
    CLIENT_ID_MAX,
    FLUID_PERIOD_MAX_HOURS,
    SET_ID_MAX,
)
from tilcare.patients.models import Patient

ENTRY_FIELDS = frozenset(
    {
        "kind",
        "value",
        "value_text",
        "unit",
        "effective_at",
        "period_start",
        "reference_low",
        "reference_high",
        "set_id",
        "client_id",
        "coi_din",
        "manufacture_attempt",
    }
)
_KINDS_TEXT = ", ".join(BY_KEY)


@dataclass(frozen=True)
class Entry:
    index: int
    kind: ObservationKind
    value: Decimal | None
    value_text: str
    unit: str
    effective_at: dt.datetime
    period_start: dt.datetime | None
    reference_low: Decimal | None
    reference_high: Decimal | None
    set_id: str
    client_id: str
    coi_din: str
    manufacture_attempt: int | None


def entry_key(index: int, name: str) -> str:
    return f"entries.{index}.{name}"


def entry_field(index: int) -> Callable[[str], str]:
    return lambda name: entry_key(index, name)


def add_error(errors: Errors, key: str, message: str) -> None:
    errors.setdefault(key, []).append(message)


def _check_value(errors: Errors, i: int, kind: ObservationKind, raw: Mapping[str, Any]) -> Any:
    """The entry's value: a Decimal for a quantity, an answer's code for a categorical kind."""
    unit, value, text = raw.get("unit"), raw.get("value"), raw.get("value_text")
    if kind.is_categorical:
        if unit not in (None, ""):
            add_error(
                errors,
                entry_key(i, "unit"),
                f"{kind.label} is an answer, not a quantity: send no unit.",
            )
        if value is not None:
            add_error(
                errors, entry_key(i, "value"), f"{kind.label} is answered in value_text, not value."
            )
        choices = ", ".join(f"{a.code} ({a.label})" for a in kind.answers)
        if not isinstance(text, str) or kind.answer(text) is None:
            add_error(errors, entry_key(i, "value_text"), f"{kind.label} takes one of: {choices}.")
            return None
        return text
    if text not in (None, ""):
        add_error(
            errors, entry_key(i, "value_text"), f"{kind.label} is a number: send it in value."
        )
    if unit != kind.ucum:
        sent = "no unit" if unit in (None, "") else f"“{str(unit)[:20]}”"
        add_error(
            errors,
            entry_key(i, "unit"),
            f"{kind.label} is recorded in {kind.ucum} ({kind.unit_text}); {sent} was sent. "
            f"Send the value in {kind.ucum}: a value in another unit is refused, not converted.",
        )
        # A value in another unit is not judged against this unit's range.
        return None
    return check_decimal_range(
        errors,
        entry_key(i, "value"),
        kind.label,
        value,
        kind.minimum,
        kind.maximum,
        kind.unit_text,
        kind.places,
    )


def _check_reference(
    errors: Errors, i: int, kind: ObservationKind, raw: Mapping[str, Any]
) -> tuple[Decimal | None, Decimal | None]:
    low_raw, high_raw = raw.get("reference_low"), raw.get("reference_high")
    if not kind.takes_reference_range:
        for name, sent in (("reference_low", low_raw), ("reference_high", high_raw)):
            if sent is not None:
                add_error(
                    errors, entry_key(i, name), f"{kind.label} takes no laboratory reference range."
                )
        return None, None
    bounds: list[Decimal | None] = []
    for name, sent, words in (
        ("reference_low", low_raw, "lower limit of normal"),
        ("reference_high", high_raw, "upper limit of normal"),
    ):
        if sent is None:
            bounds.append(None)
            continue
        label = f"The laboratory's {words} for {kind.label}"
        bounds.append(
            check_decimal_range(
                errors,
                entry_key(i, name),
                label,
                sent,
                kind.minimum,
                kind.maximum,
                kind.unit_text,
                kind.places,
            )
        )
    low, high = bounds
    if low is not None and high is not None and low >= high:
        add_error(
            errors,
            entry_key(i, "reference_high"),
            f"The laboratory's upper limit of normal ({high}) must be above its lower limit "
            f"({low}).",
        )
    return low, high


def _check_times(
    errors: Errors,
    i: int,
    kind: ObservationKind,
    raw: Mapping[str, Any],
    patient: Patient,
    now: dt.datetime,
) -> tuple[dt.datetime | None, dt.datetime | None]:
    born = day_start(patient.center, patient.date_of_birth)
    label = "The end of the period" if kind.period else "The time it was measured"
    moment = check_moment(
        errors,
        entry_key(i, "effective_at"),
        raw.get("effective_at"),
        label=label,
        now=now,
        not_before=born,
        not_before_label="the patient's date of birth",
    )
    start_raw = raw.get("period_start")
    if not kind.period:
        if start_raw is not None:
            add_error(
                errors,
                entry_key(i, "period_start"),
                f"{kind.label} is taken at a moment: only fluid totals take a period start.",
            )
        return moment, None
    if start_raw is None:
        add_error(
            errors,
            entry_key(i, "period_start"),
            f"{kind.label} is a total over a period: give when the period started.",
        )
        return moment, None
    start = check_moment(
        errors,
        entry_key(i, "period_start"),
        start_raw,
        label="The start of the period",
        now=now,
        not_before=born,
        not_before_label="the patient's date of birth",
    )
    if start is not None and moment is not None:
        if start >= moment:
            add_error(errors, entry_key(i, "period_start"), "The period must start before it ends.")
        elif moment - start > dt.timedelta(hours=FLUID_PERIOD_MAX_HOURS):
            add_error(
                errors,
                entry_key(i, "period_start"),
                f"A fluid total covers at most {FLUID_PERIOD_MAX_HOURS} hours: record each day's "
                "total on its own.",
            )
    return moment, start


def _check_course(errors: Errors, i: int, raw: Mapping[str, Any]) -> tuple[str, int | None]:
    din, attempt = raw.get("coi_din"), raw.get("manufacture_attempt")
    if din in (None, "") and attempt is None:
        return "", None
    if not isinstance(din, str) or not DIN_PATTERN.match(din):
        add_error(
            errors,
            entry_key(i, "coi_din"),
            "Give the course's COI identifier: the 13 characters of the donation identification "
            "number, without its check character.",
        )
        din = None
    if isinstance(attempt, bool) or not isinstance(attempt, int) or not 1 <= attempt <= 9:
        add_error(
            errors,
            entry_key(i, "manufacture_attempt"),
            "Give the course's manufacturing attempt, a whole number from 1 to 9.",
        )
        attempt = None
    return (din or ""), attempt


def check_entry(
    errors: Errors, i: int, raw: object, patient: Patient, now: dt.datetime
) -> Entry | None:
    if not isinstance(raw, Mapping):
        add_error(errors, f"entries.{i}", "Send each observation as an object with its fields.")
        return None
    before = sum(len(messages) for messages in errors.values())
    for name in sorted(set(raw) - ENTRY_FIELDS):
        add_error(
            errors,
            entry_key(i, str(name)[:40]),
            "Unknown field; check its spelling against the API documentation.",
        )
    sent_kind = raw.get("kind")
    kind = BY_KEY.get(sent_kind) if isinstance(sent_kind, str) else None
    if kind is None:
        sent = raw.get("kind")
        shown = f"“{str(sent)[:40]}” is not" if sent not in (None, "") else "Say which"
        add_error(
            errors,
            entry_key(i, "kind"),
            f"{shown} an observation tilcare takes: one of {_KINDS_TEXT}.",
        )
        return None
    value = _check_value(errors, i, kind, raw)
    low, high = _check_reference(errors, i, kind, raw)
    moment, start = _check_times(errors, i, kind, raw, patient, now)
    set_id = check_text(errors, entry_key(i, "set_id"), raw.get("set_id"), max_length=SET_ID_MAX)
    if set_id and kind.group is not Group.VITAL_SIGN:
        add_error(errors, entry_key(i, "set_id"), "Only vital signs are recorded as a set.")
    client_id = check_text(
        errors, entry_key(i, "client_id"), raw.get("client_id"), max_length=CLIENT_ID_MAX
    )
    din, attempt = _check_course(errors, i, raw)
    if sum(len(messages) for messages in errors.values()) > before or moment is None:
        return None
    return Entry(
        index=i,
        kind=kind,
        value=None if kind.is_categorical else value,
        value_text=value if kind.is_categorical else "",
        unit="" if kind.is_categorical else str(kind.ucum),
        effective_at=moment,
        period_start=start,
        reference_low=low,
        reference_high=high,
        set_id=set_id,
        client_id=client_id,
        coi_din=din,
        manufacture_attempt=attempt,
    )
