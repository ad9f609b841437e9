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

from django.db import transaction

from tilcare.accounts.models import User
from tilcare.audit.actions import Action
from tilcare.audit.services import record_written
from tilcare.clinical.dosing.lymphodepletion import day_label
from tilcare.core.errors import Conflict, InvalidInput
from tilcare.core.policy import require
from tilcare.core.validation import Errors, TextWords, check_moment, check_text
from tilcare.treatment import policies
from tilcare.treatment.choices import REASON_MAX, AdministrationOutcome, OrderStatus
from tilcare.treatment.models import Administration, Order, OrderDose
from tilcare.treatment.selectors import newer_inputs

NOT_RECORDER = "Only a nurse or a treating physician of this center records a dose."
NOT_VERIFIED = {
    OrderStatus.AWAITING_VERIFICATION: (
        "This order awaits the pharmacist's verification: no dose is recorded from it before."
    ),
    OrderStatus.CANCELLED: "This order is cancelled: its doses are no longer recorded.",
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
