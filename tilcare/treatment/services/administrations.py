"""Administrations: what happened to each ordered dose, recorded at the bedside.

A dose of a verified order is given, held or not given, once, at the time the nurse says (not
ahead of the clock, not before the order was verified), with the reason when it was not given.
An order's doses are recorded in their order, day by day: cyclophosphamide's days before
fludarabine's, day −5's fludarabine before day −4's, IL-2 dose 2 after dose 1. A dose is not given
from an order whose inputs are out of date (a newer weight, or replaced center settings): the
order is written again first; it may still be recorded as not given.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction

from tilcare.accounts.models import User
from tilcare.audit.actions import Action
from tilcare.audit.hashing import snapshot
from tilcare.audit.services import record_change, record_written
from tilcare.clinical.dosing.lymphodepletion import day_label
from tilcare.clinical.dosing.schedule import Il2ScheduleStatus, ScheduleStatus
from tilcare.core.errors import Conflict, InvalidInput
from tilcare.core.policy import require
from tilcare.core.timeutil import nurse_time
from tilcare.core.validation import TYPED, Errors, TextWords, check_moment, check_text
from tilcare.treatment import policies
from tilcare.treatment.choices import (
    REASON_MAX,
    AdministrationOutcome,
    Il2Choice,
    OrderKind,
    OrderStatus,
)
from tilcare.treatment.models import Administration, Il2Decision, Order, OrderDose
from tilcare.treatment.selectors import il2_schedule, infusion_of_order, newer_inputs

NOT_RECORDER = "Only a nurse or a treating physician of this center records a dose."
NOT_VERIFIED = {
    OrderStatus.AWAITING_VERIFICATION: (
        "This order awaits the pharmacist's verification: no dose is recorded from it before."
    ),
    OrderStatus.CANCELLED: "This order is cancelled: its doses are no longer recorded.",
    OrderStatus.STOPPED: "This order was stopped: its remaining doses are not given.",
}


def _dose_label(dose: OrderDose) -> str:
    """ "fludarabine on Day −5", or "aldesleukin dose 2" for a dose timed by the schedule."""
    if dose.day is None:
        return f"{dose.agent} dose {dose.sequence}"
    return f"{dose.agent} on {day_label(dose.day)}"


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _check_in_turn(dose: OrderDose) -> None:
    """An order's doses are recorded in their order (by study day: cyclophosphamide's two days
    before fludarabine's five; IL-2 dose 2 after dose 1), each given, held or not given."""
    earlier = (
        OrderDose.objects.filter(order_id=dose.order_id, sequence__lt=dose.sequence)
        .filter(administration__isnull=True)
        .order_by("sequence")
        .first()
    )
    if earlier is not None:
        raise Conflict(
            {
                "__all__": [
                    f"Record {_dose_label(earlier)} first: an order's doses are recorded in "
                    "their order, day by day."
                ]
            }
        )


def _check_il2(order: Order, dose: OrderDose, outcome: str, at: dt.datetime) -> None:
    """An IL-2 dose is held or stopped only by the physician's decision, and given only on the
    physician's decision to give it, inside its window (past the window only when the physician
    decided after it closed, saying why)."""
    if outcome == AdministrationOutcome.HELD:
        raise Conflict(
            {
                "outcome": [
                    f"IL-2 dose {dose.sequence} is held by the physician's decision after the "
                    "nurse's assessment, on the IL-2 decision screen."
                ]
            }
        )
    if outcome != AdministrationOutcome.GIVEN:
        return
    decision = Il2Decision.objects.filter(dose=dose).first()
    if decision is None or decision.physician_choice != Il2Choice.GIVE:
        raise Conflict(
            {
                "__all__": [
                    f"IL-2 dose {dose.sequence} is given only after the nurse's assessment and "
                    "the physician's decision to give it."
                ]
            }
        )
    infusion = infusion_of_order(order)
    if infusion is None or infusion.ended_at is None:
        raise Conflict({"__all__": ["The end of the cell infusion is not recorded."]})
    zone = order.center.time_zone
    # A dose is given after the physician decided to give it, and after every dose recorded
    # before it: a time typed earlier would hide the previous dose from the schedule.
    if decision.decided_at is not None and at < decision.decided_at:
        raise Conflict(
            {
                "at": [
                    f"IL-2 dose {dose.sequence} cannot be given before the physician decided to "
                    f"give it ({nurse_time(decision.decided_at, zone)})."
                ]
            }
        )
    previous = (
        Administration.objects.filter(
            dose__order__coi_din=order.coi_din, dose__order__kind=order.kind
        )
        .filter(dose__order__manufacture_attempt=order.manufacture_attempt)
        .order_by("-at")
        .first()
    )
    if previous is not None and at <= previous.at:
        raise Conflict(
            {
                "at": [
                    f"IL-2 dose {dose.sequence} must be given after the last dose recorded "
                    f"({nurse_time(previous.at, zone)})."
                ]
            }
        )
    schedule = il2_schedule(order, infusion.ended_at, at)
    late_but_decided = (
        schedule.status is ScheduleStatus.TOO_LATE
        and schedule.allowed_until is not None
        and decision.decided_at is not None
        and decision.decided_at > schedule.allowed_until
    )
    if schedule.status is not ScheduleStatus.ALLOWED and not late_but_decided:
        raise Conflict({"at": [_window_words(schedule, order.center.time_zone)]})


def _window_words(schedule: Il2ScheduleStatus, zone: str) -> str:
    """Why a dose is outside its window, on the center's clock (the core counts in UTC)."""
    number = schedule.next_dose_number
    first = number == 1
    after = "the cell infusion ended" if first else "the previous dose"
    if schedule.status is ScheduleStatus.TOO_EARLY and schedule.allowed_from is not None:
        hours = f"{Decimal(schedule.minimum_hours or 0).normalize():f}"
        return (
            f"Too early for IL-2 dose {number}: it may be given from "
            f"{nurse_time(schedule.allowed_from, zone)}, {hours} h after {after}."
        )
    if schedule.status is ScheduleStatus.TOO_LATE and schedule.allowed_until is not None:
        hours = f"{Decimal(schedule.maximum_hours or 0).normalize():f}"
        return (
            f"Too late for IL-2 dose {number}: it had to be given by "
            f"{nurse_time(schedule.allowed_until, zone)}, {hours} h after {after}. Do not give "
            "it without the physician's decision."
        )
    return schedule.reason


def record_administration(
    dose: OrderDose,
    *,
    outcome: str,
    at: dt.datetime | None,
    reason: object = "",
    actor: User,
) -> Administration:
    """Record that `dose` was given, held or not given at `at` (with the reason unless given)."""
    with transaction.atomic():
        order = (
            Order.objects.select_for_update(of=("self",))
            .select_related("center", "patient", "activation", "verification_signature")
            .get(pk=dose.order_id)
        )
        dose = OrderDose.objects.select_related("order").get(pk=dose.pk)
        require(policies.can_record_administration(actor, order), NOT_RECORDER)
        if order.status != OrderStatus.VERIFIED:
            raise Conflict({"__all__": [NOT_VERIFIED[order.status]]})
        errors: Errors = {}
        if outcome not in AdministrationOutcome.values:
            choices = ", ".join(AdministrationOutcome.values)
            errors["outcome"] = [f"Outcome must be one of {choices} (got “{outcome}”)."]
        verified_at = (
            order.verification_signature.signed_at if order.verification_signature else None
        )
        moment = check_moment(
            errors,
            "at",
            at,
            label="The time of the dose",
            allowance=TYPED,
            not_before=verified_at,
            not_before_label="the order was verified",
        )
        not_given = (AdministrationOutcome.HELD, AdministrationOutcome.NOT_GIVEN)
        required = "Say why the dose was not given." if outcome in not_given else None
        text = check_text(
            errors, "reason", reason, max_length=REASON_MAX, words=TextWords(required=required)
        )
        if errors or moment is None:
            raise InvalidInput(errors)
        if hasattr(dose, "administration"):
            done = dose.administration
            raise Conflict(
                {
                    "__all__": [
                        f"{_sentence(_dose_label(dose))} is already recorded as "
                        f"{done.get_outcome_display().lower()}."
                    ]
                }
            )
        if outcome == AdministrationOutcome.GIVEN:
            stale = newer_inputs(order)
            if stale is not None:
                raise Conflict({"__all__": [stale]})
        _check_in_turn(dose)
        if order.kind == OrderKind.IL2:
            _check_il2(order, dose, outcome, moment)
        administration = Administration.objects.create(
            dose=dose, outcome=outcome, at=moment, reason=text, recorded_by=actor
        )
        record_written(
            Action.ADMINISTRATION_RECORD,
            administration,
            actor=actor,
            reason=text,
            subject_id=str(order.patient.public_id),
            occurred_at=moment,
        )
        return administration


def stop_remaining(
    order: Order, *, reason: str, action: Action, actor: User, at: dt.datetime
) -> None:
    """End an order early, in the caller's transaction: each dose not yet recorded is recorded
    not given with `reason`, and the order is stopped (`action` on its audit event). The order's
    calculation stays as verified: the pharmacist's signature covers it."""
    subject = str(order.patient.public_id)
    for dose in order.doses.filter(administration__isnull=True).order_by("sequence"):
        administration = Administration.objects.create(
            dose=dose,
            outcome=AdministrationOutcome.NOT_GIVEN,
            at=at,
            reason=reason,
            recorded_by=actor,
        )
        record_written(
            Action.ADMINISTRATION_RECORD,
            administration,
            actor=actor,
            reason=reason,
            subject_id=subject,
            occurred_at=at,
        )
    before = snapshot(order)
    order.status = OrderStatus.STOPPED
    order.save(update_fields=["status", "updated_at"])
    record_change(
        action, order, actor=actor, before=before, reason=reason, subject_id=subject, occurred_at=at
    )
