"""Filgrastim (G-CSF) after the infusion: ordered daily from Day +1, stopped when the absolute
neutrophil count has recovered as the protocol says.

The treating physician writes the order for a number of days (each dose computed by the clinical
core from the center's dose per kg and the patient's actual weight); a pharmacist verifies it
as any order. Each day's dose is recorded at the bedside like any other. The order stops when the
protocol's rule is met (for lifileucel: ANC above 1000/mm³ on 3 consecutive days, per the US
label's boxed warning), judged by the clinical core from the ANC of each day (entered with the
stop until laboratory results are recorded on the patient), or earlier on the institution's own
standard, which the label allows, with the physician's reason. The remaining doses are then
recorded not given and the order is stopped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from tilcare.accounts.models import User
from tilcare.audit.actions import Action
from tilcare.clinical.dosing.filgrastim import filgrastim_stop
from tilcare.clinical.units import Quantity, Unit
from tilcare.core.errors import Conflict, InvalidInput
from tilcare.core.policy import require
from tilcare.core.timeutil import local_today
from tilcare.core.validation import DecimalWords, Errors, check_decimal_range, check_text
from tilcare.treatment import policies
from tilcare.treatment.choices import REASON_MAX, OrderKind, OrderStatus
from tilcare.treatment.models import Order
from tilcare.treatment.selectors import day_zero, infusion_of_course, protocol_of
from tilcare.treatment.services.administrations import stop_remaining
from tilcare.treatment.services.orders import (
    NOT_PRESCRIBER,
    Course,
    check_no_open_order,
    compute_filgrastim,
    in_force,
    latest_measurement,
    lock_course,
    recorded_sequences,
    require_prescriber,
    write_order,
)

DAYS_MAX = 30
ANC_MAX_PER_MM3 = Decimal(100_000)
STUDY_DAY_MAX = 365
DAYS_WHOLE = f"Days must be a whole number from 1 to {DAYS_MAX}."
DAYS_WORDS = DecimalWords(required=DAYS_WHOLE, not_a_number=DAYS_WHOLE, too_many_places=DAYS_WHOLE)


def order_filgrastim(course: Course, *, days: object, actor: User) -> Order:
    """Order filgrastim daily for `days` days (1 to 30), from Day +1, from the day after the last
    dose recorded on an earlier filgrastim order of the course, or from today once the infusion
    has started (no dose is ordered for a day already past)."""
    require_prescriber(course, actor)
    errors: Errors = {}
    number = None
    if isinstance(days, bool) or not isinstance(days, int | str):
        errors["days"] = [DAYS_WHOLE]
    else:
        number = check_decimal_range(
            errors,
            "days",
            "Days",
            days,
            Decimal(1),
            Decimal(DAYS_MAX),
            "days",
            places=0,
            words=DAYS_WORDS,
        )
    if errors or number is None:
        raise InvalidInput(errors)
    today = local_today(course.center.time_zone)
    with transaction.atomic():
        lock_course(course)
        check_no_open_order(course, OrderKind.FILGRASTIM)
        if Order.objects.filter(
            coi_din=course.coi_din,
            manufacture_attempt=course.manufacture_attempt,
            kind=OrderKind.FILGRASTIM,
            status=OrderStatus.STOPPED,
        ).exists():
            raise Conflict({"__all__": ["Filgrastim was stopped for this course."]})
        activation = in_force(course)
        measurement = latest_measurement(course.patient)
        recorded = recorded_sequences(course, OrderKind.FILGRASTIM)
        # Never a dose on a day already past: an order written after Day 0 starts today.
        day0 = day_zero(infusion_of_course(course.coi_din, course.manufacture_attempt))
        today_day = (today - day0).days if day0 is not None else 0
        computed = compute_filgrastim(
            course,
            activation,
            measurement,
            today,
            first_day=max(max(recorded, default=0) + 1, today_day),
            days=int(number),
        )
        return write_order(
            course,
            OrderKind.FILGRASTIM,
            activation,
            measurement,
            computed,
            creatinine=None,
            actor=actor,
        )


_DAY_KEY = re.compile(r"\+?0*([0-9]{1,3})")


def _anc_values(order: Order, anc: Mapping[Any, Any]) -> dict[int, Quantity]:
    """ANC by study day (Day +1 up to today on the center's calendar, counted from the day the
    infusion started), in /mm³ (cells/µL), refusing what is not: a day not yet come, a day given
    twice, a value out of range."""
    errors: Errors = {}
    values: dict[int, Quantity] = {}
    day0 = day_zero(infusion_of_course(order.coi_din, order.manufacture_attempt))
    today = (local_today(order.center.time_zone) - day0).days if day0 is not None else None
    for key, value in anc.items():
        match = _DAY_KEY.fullmatch(str(key).strip()) if isinstance(key, str | int) else None
        day = int(match.group(1)) if match and not isinstance(key, bool) else 0
        if not 1 <= day <= STUDY_DAY_MAX:
            errors[f"anc.{key}"] = [
                f"“{str(key)[:10]}” is not a study day after the infusion (1 to {STUDY_DAY_MAX})."
            ]
            continue
        if today is not None and day > today:
            errors[f"anc.{key}"] = [
                f"Day +{day} has not come yet: today is Day +{today} on the center's calendar."
            ]
            continue
        if day in values:
            errors[f"anc.{key}"] = [f"Day +{day} is given twice: give each day's ANC once."]
            continue
        number = check_decimal_range(
            errors,
            f"anc.{day}",
            f"ANC on Day +{day}",
            value,
            Decimal(0),
            ANC_MAX_PER_MM3,
            "/mm³",
            places=0,
        )
        if number is not None:
            values[day] = Quantity.of(number, Unit.per_mm3)
    if errors:
        raise InvalidInput(errors)
    return values


def stop_filgrastim(
    order: Order, *, anc: Mapping[Any, Any], reason: object = "", actor: User
) -> Order:
    """Stop the course's filgrastim: on the protocol's ANC rule, met on the days given, or, with
    the physician's reason, on the institution's standard. The remaining doses are recorded not
    given."""
    with transaction.atomic():
        order = (
            Order.objects.select_for_update(of=("self",))
            .select_related("center", "patient", "activation")
            .get(pk=order.pk)
        )
        # The physician of the center, whatever the order's state (the state is refused in
        # words below, not as a person who may not write orders).
        require(policies.can_write_order(actor, order.center), NOT_PRESCRIBER)
        if order.kind != OrderKind.FILGRASTIM:
            raise Conflict({"__all__": ["Only a filgrastim order is stopped on its ANC rule."]})
        if order.status != OrderStatus.VERIFIED:
            raise Conflict({"__all__": ["Only a verified filgrastim order is stopped."]})
        errors: Errors = {}
        text = check_text(errors, "reason", reason, max_length=REASON_MAX)
        if errors:
            raise InvalidInput(errors)
        values = _anc_values(order, anc)
        result = filgrastim_stop(protocol_of(order.activation).filgrastim, values)
        if not result.met and not text:
            raise InvalidInput(
                {
                    "anc": [
                        f"{result.reason} To stop on the institution's standard instead, give "
                        "the reason."
                    ]
                }
            )
        why = (
            f"Filgrastim stopped: {result.reason}"
            if result.met
            else f"Filgrastim stopped on the institution's standard: {text}"
        )[:REASON_MAX]
        stop_remaining(
            order, reason=why, action=Action.FILGRASTIM_STOP, actor=actor, at=timezone.now()
        )
        return order
