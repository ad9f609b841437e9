"""IL-2, dose by dose: the nurse's assessment and the treating physician's decision.

Before each dose of a verified IL-2 order a nurse enters what the protocol's hold and stop rule
sets read (vital signs, fluid balance, laboratory values and findings; until monitoring records
observations on the patient, they are entered on the decision screen). The clinical core
evaluates every rule set of the protocol at once, the strictest answer wins, and each rule that
fired keeps the value that fired it. The nurse decides give, hold or stop; the treating physician,
another person, decides finally:

- give: refused when a stop criterion is met; when the rules did not clear the dose, or the dose
  is past its window, the physician says why. The dose is then recorded given at the bedside
  within its window (`administrations.record_administration`).
- hold: the dose is recorded held, now, with the rules that fired. A held dose is counted among
  the protocol's doses and not made up: the next is assessed one interval later.
- stop: IL-2 ends for this course. This dose and every later one are recorded not given, and
  the order is stopped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from tilcare.accounts.models import User
from tilcare.audit.actions import Action
from tilcare.audit.hashing import snapshot
from tilcare.audit.services import record_change, record_written
from tilcare.clinical.rule_evaluation import CombinedEvaluation, evaluate_all
from tilcare.clinical.rules import Decision
from tilcare.clinical.serialize import to_jsonable
from tilcare.clinical.units import Quantity
from tilcare.core.errors import Conflict, InvalidInput
from tilcare.core.policy import require
from tilcare.core.validation import TYPED, Errors, check_decimal_range, check_moment, check_text
from tilcare.treatment import policies
from tilcare.treatment.choices import (
    NOTE_MAX,
    AdministrationOutcome,
    Il2Choice,
    Il2DecisionStatus,
    OrderKind,
    OrderStatus,
)
from tilcare.treatment.models import Administration, Il2Decision, Order
from tilcare.treatment.selectors import (
    il2_schedule,
    infusion_of_order,
    next_slot,
    observation_catalogue,
    rule_sets_of,
)
from tilcare.treatment.services.administrations import stop_remaining

NOT_ASSESSOR = "Only a nurse or a treating physician of this center assesses an IL-2 dose."
NOT_DECIDER = (
    "Only a treating physician of this center decides an IL-2 dose awaiting the decision, and "
    "never one they assessed themselves."
)
# What the rules' decision asks of the nurse without a note.
_PLAIN_CHOICE = {
    Decision.GIVE: Il2Choice.GIVE,
    Decision.HOLD: Il2Choice.HOLD,
    Decision.STOP: Il2Choice.STOP,
}
YES = ("yes", "true")
NO = ("no", "false")


def _subject(order: Order) -> str:
    return str(order.patient.public_id)


def _locked(order: Order) -> Order:
    return (
        Order.objects.select_for_update(of=("self",))
        .select_related("center", "patient", "activation")
        .get(pk=order.pk)
    )


def _observations(order: Order, raw: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The observations typed for the rule sets (and as stored), refusing any the protocol's
    rule sets do not read, a measurement outside its plausible range, and a finding that is not
    yes or no. A blank is "not assessed"."""
    catalogue = observation_catalogue(order)
    errors: Errors = {}
    typed: dict[str, Any] = {}
    stored: dict[str, Any] = {}
    for key in sorted(set(raw) - set(catalogue)):
        errors[key] = [f"“{key[:40]}” is not an observation this protocol's IL-2 rules read."]
    for key, spec in catalogue.items():
        value = raw.get(key)
        if value is None or value == "":
            continue
        if spec.unit is None:
            text = value.strip().lower() if isinstance(value, str) else None
            if isinstance(value, bool) or text in YES + NO:
                finding = value if isinstance(value, bool) else text in YES
                typed[key] = stored[key] = finding
            else:
                errors[key] = [f"{spec.label}: answer yes or no, or leave it not assessed."]
            continue
        number = check_decimal_range(
            errors,
            key,
            spec.label,
            value,
            spec.minimum,
            spec.maximum,
            spec.unit.value,
            places=2,
        )
        if number is not None:
            typed[key] = Quantity.of(number, spec.unit)
            stored[key] = str(number)
    if errors:
        raise InvalidInput(errors)
    return typed, stored


def _open_il2(order: Order) -> None:
    if order.kind != OrderKind.IL2:
        raise Conflict({"__all__": ["Only an IL-2 order's doses are decided here."]})
    if order.status == OrderStatus.STOPPED:
        raise Conflict({"__all__": ["IL-2 was stopped for this course: no dose is assessed."]})
    if order.status != OrderStatus.VERIFIED:
        raise Conflict(
            {"__all__": ["This order is not verified by a pharmacist: no dose is assessed."]}
        )


def assess_il2_dose(
    order: Order,
    *,
    observations: Mapping[str, Any],
    choice: object,
    note: object = "",
    at: Any = None,
    actor: User,
) -> Il2Decision:
    """The nurse's assessment before the next dose: the observations, the rules' evaluation, and
    her decision (give only when the rules clear the dose; a decision other than the rules' says
    why)."""
    with transaction.atomic():
        order = _locked(order)
        require(policies.can_assess_il2_dose(actor, order), NOT_ASSESSOR)
        _open_il2(order)
        infusion = infusion_of_order(order)
        if infusion is None or infusion.ended_at is None:
            raise Conflict(
                {
                    "__all__": [
                        "The end of the cell infusion is not recorded: IL-2 is timed from it."
                    ]
                }
            )
        slot = next_slot(order)
        if slot is None:
            raise Conflict({"__all__": ["Every IL-2 dose of this order is recorded."]})
        existing = getattr(slot, "il2_decision", None)
        if existing is not None:
            waiting = existing.status == Il2DecisionStatus.AWAITING_PHYSICIAN
            raise Conflict(
                {
                    "__all__": [
                        f"IL-2 dose {slot.sequence} is already assessed"
                        + (
                            " and awaits the physician's decision."
                            if waiting
                            else ": the physician decided to give it; record it given first."
                        )
                    ]
                }
            )
        errors: Errors = {}
        moment = (
            timezone.now()
            if at is None
            else check_moment(errors, "at", at, label="The time of the assessment", allowance=TYPED)
        )
        if choice not in Il2Choice.values:
            errors["choice"] = [f"Decision must be one of {', '.join(Il2Choice.values)}."]
        text = check_text(errors, "note", note, max_length=NOTE_MAX)
        if errors or moment is None:
            raise InvalidInput(errors)
        typed, stored = _observations(order, observations)
        evaluation = evaluate_all(rule_sets_of(order), typed)
        _check_nurse_choice(str(choice), evaluation, text)
        window = il2_schedule(order, infusion.ended_at, moment)
        decision = Il2Decision.objects.create(
            order=order,
            dose=slot,
            observations=stored,
            evaluation=to_jsonable(evaluation),
            evaluated_decision=evaluation.decision.value,
            window=to_jsonable(window),
            assessed_at=moment,
            nurse=actor,
            nurse_choice=str(choice),
            nurse_note=text,
        )
        record_written(
            Action.IL2_ASSESS,
            decision,
            actor=actor,
            reason=text,
            subject_id=_subject(order),
            occurred_at=moment,
        )
        return decision


def _check_nurse_choice(choice: str, evaluation: CombinedEvaluation, note: str) -> None:
    decision = evaluation.decision
    if choice == Il2Choice.GIVE and decision is not Decision.GIVE:
        raise InvalidInput(
            {
                "choice": [
                    f"The rules do not clear this dose ({evaluation.reason}) A nurse may hold it "
                    "for the physician's decision or stop; only the physician may give it."
                ]
            }
        )
    plain = _PLAIN_CHOICE.get(decision)
    if plain is not None and choice != plain and not note:
        raise InvalidInput(
            {"note": [f"The rules say {decision.value}: say why you decide {choice}."]}
        )


def _decide_problems(decision: Il2Decision, choice: str, note: str, now: dt.datetime) -> Errors:
    """What refuses the physician's choice, by field (empty: none)."""
    evaluated = Decision(decision.evaluated_decision)
    reason = str(decision.evaluation.get("reason", ""))
    if choice == Il2Choice.GIVE:
        if evaluated is Decision.STOP:
            return {"choice": [f"A stop criterion is met: IL-2 is not given. {reason}"]}
        if evaluated is not Decision.GIVE and not note:
            return {"note": [f"The rules did not clear this dose: say why you give it. {reason}"]}
        until = decision.window.get("allowed_until")
        if until and now > dt.datetime.fromisoformat(until) and not note:
            return {"note": ["This dose is past its window: say why it is given late."]}
    if choice == Il2Choice.STOP and not note:
        return {"note": ["Say why IL-2 is stopped."]}
    return {}


def decide_il2_dose(
    decision: Il2Decision, *, choice: object, note: object = "", actor: User
) -> Il2Decision:
    """The treating physician's decision for an assessed dose (see the module)."""
    with transaction.atomic():
        order = _locked(decision.order)
        decision = (
            Il2Decision.objects.select_for_update(of=("self",))
            .select_related("dose", "nurse")
            .get(pk=decision.pk)
        )
        decision.order = order
        require(policies.can_decide_il2_dose(actor, decision), NOT_DECIDER)
        _open_il2(order)
        errors: Errors = {}
        if choice not in Il2Choice.values:
            errors["choice"] = [f"Decision must be one of {', '.join(Il2Choice.values)}."]
        text = check_text(errors, "note", note, max_length=NOTE_MAX)
        if errors:
            raise InvalidInput(errors)
        now = timezone.now()
        problems = _decide_problems(decision, str(choice), text, now)
        if problems:
            raise InvalidInput(problems)
        before = snapshot(decision)
        decision.physician, decision.physician_choice = actor, str(choice)
        decision.physician_note, decision.decided_at = text, now
        decision.status = Il2DecisionStatus.DECIDED
        decision.save()
        record_change(
            Action.IL2_DECIDE,
            decision,
            actor=actor,
            before=before,
            reason=text,
            subject_id=_subject(order),
            occurred_at=now,
        )
        if choice == Il2Choice.HOLD:
            _record(decision, AdministrationOutcome.HELD, _hold_reason(decision), actor, now)
        elif choice == Il2Choice.STOP:
            _stop(order, decision, text, actor, now)
        return decision


def _hold_reason(decision: Il2Decision) -> str:
    why = decision.physician_note or decision.evaluation.get("reason", "")
    return f"Held on the physician's decision: {why}"[:NOTE_MAX]


def _record(
    decision: Il2Decision, outcome: str, reason: str, actor: User, at: dt.datetime
) -> Administration:
    administration = Administration.objects.create(
        dose=decision.dose, outcome=outcome, at=at, reason=reason, recorded_by=actor
    )
    record_written(
        Action.ADMINISTRATION_RECORD,
        administration,
        actor=actor,
        reason=reason,
        subject_id=_subject(decision.order),
        occurred_at=at,
    )
    return administration


def _stop(order: Order, decision: Il2Decision, note: str, actor: User, now: dt.datetime) -> None:
    reason = f"IL-2 stopped by the treating physician: {note}"[:NOTE_MAX]
    _record(decision, AdministrationOutcome.NOT_GIVEN, reason, actor, now)
    stop_remaining(order, reason=reason, action=Action.IL2_STOP, actor=actor, at=now)
