"""The IL-2 decision screen of one order: the answer first (the next dose, n of the protocol's
maximum, allowed from … until … on the center's clock, the doses given, held and not given),
then the dose's assessment (each rule that fired with the value that fired it, the rules not
assessed, the combined decision) and the physician's decision, then the nurse's assessment form
(in a fold: one field per observation the protocol's hold and stop rules read, grouped by rule
set and organ system), then the history of the decisions.

The center's clinical staff read it; a nurse or a treating physician assesses, a treating
physician other than the assessor decides. Each POST checks the policy before reading its form
(403), calls one service and goes back to the screen with a message; a refusal is shown on its
form (422, or 409 when what is recorded stands in the way), nothing written. Another center's
order answers 404.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from tilcare.accounts.models import User
from tilcare.clinical.dosing.schedule import ScheduleStatus
from tilcare.clinical.rules import Decision, comparisons
from tilcare.core.http import get_visible_or_404
from tilcare.core.policy import require
from tilcare.treatment import policies, selectors
from tilcare.treatment.choices import Il2Choice, Il2DecisionStatus, OrderKind, OrderStatus
from tilcare.treatment.forms import Il2AssessForm, Il2DecideForm
from tilcare.treatment.models import Il2Decision, Order
from tilcare.treatment.services.il2 import (
    NOT_ASSESSOR,
    NOT_DECIDER,
    assess_il2_dose,
    decide_il2_dose,
)
from tilcare.treatment.views.infusion import at_words, infusion_url, staff, window_words, write
from tilcare.treatment.views.order_parts import miu, number

DECISION_TONES = {"give": "ok", "hold": "warn", "stop": "danger"}
DECISION_WORDS = {
    Decision.GIVE.value: "Give",
    Decision.HOLD.value: "Hold",
    Decision.STOP.value: "Stop IL-2",
    Decision.CANNOT_DECIDE.value: "Cannot decide: not enough was assessed",
    Decision.CLINICIAN_REVIEW.value: "Between criteria: the physician reviews",
}


# ---------- Access ----------


def order_of(request: HttpRequest, public_id: Any) -> tuple[User, Order]:
    user, _center = staff(request)
    found = get_visible_or_404(selectors.orders_visible_to(user), public_id)
    if found.kind != OrderKind.IL2:
        raise Http404("Not an IL-2 order.")
    return user, found


def il2_url(order: Order, anchor: str = "") -> str:
    url = reverse("treatment:il2", kwargs={"public_id": order.public_id})
    return f"{url}#{anchor}" if anchor else url


# ---------- The answer ----------


def answer(order: Order, now: dt.datetime) -> dict[str, Any]:
    """The next dose, its window and the counts, in words and a colour."""
    standing = selectors.il2_standing(order, now)
    total = order.doses.count()
    said: dict[str, Any] = {
        "given": standing.given,
        "held": standing.held,
        "not_given": standing.not_given,
        "total": total,
        "dose": standing.next_dose,
        "window": None,
        "reason": "",
        "tone": "muted",
        "headline": "",
    }
    center = order.center
    if order.status == OrderStatus.STOPPED:
        said.update(headline="IL-2 stopped", tone="danger", reason="No further dose is given.")
    elif order.status != OrderStatus.VERIFIED:
        said.update(
            headline="Not verified",
            tone="warn",
            reason="A pharmacist verifies this order before any dose is assessed or given.",
        )
    elif standing.next_dose is None:
        said.update(headline="Every dose recorded", tone="muted")
    elif standing.schedule is None:
        said.update(
            headline=f"Next: dose {standing.next_dose.sequence} of {total}",
            tone="muted",
            reason="The end of the cell infusion is not recorded: IL-2 is timed from it.",
        )
    else:
        schedule = standing.schedule
        said["headline"] = f"Next: dose {standing.next_dose.sequence} of {total}"
        if schedule.next_dose_number is None or schedule.allowed_from is None:
            said.update(tone="danger", reason=schedule.reason)
        else:
            window = window_words(
                schedule.allowed_from, schedule.allowed_until, schedule.status, now, center
            )
            # The window is said on the center's clock (the schedule's own words are in UTC).
            reason = (
                "Past its window: the treating physician decides, and says why if it is given late."
                if schedule.status is ScheduleStatus.TOO_LATE
                else ""
            )
            said.update(window=window, tone=window.tone, reason=reason)
    if standing.next_dose is not None:
        dose = standing.next_dose
        said["amount"] = f"{number(dose.dose)} {dose.dose_unit}" + (
            f" ({miu(dose.dose)})" if dose.dose_unit == "IU" else ""
        )
        said["route"] = dose.route
    return said


# ---------- One assessment ----------


@dataclass
class FiredLine:
    rule_set: str
    system: str
    action: str
    text: str
    values: list[str]
    note: str = ""


@dataclass
class Assessment:
    decision: Il2Decision
    headline: str
    tone: str
    reason: str
    fired: list[FiredLine] = field(default_factory=list)
    not_assessed: list[FiredLine] = field(default_factory=list)
    observations: list[tuple[str, str]] = field(default_factory=list)
    window: str = ""
    assessed: str = ""
    at_least: str = ""  # the strictest action a fired rule already asks, whatever is missing


MISSING_KEYS = re.compile(r"\s*Missing: [a-z0-9_, ]+\.")


def readable_reason(reason: str, listed_below: bool) -> str:
    """The engine's reason without its list of observation keys (the rules not assessed are
    listed below in words)."""
    if not listed_below:
        return reason
    return MISSING_KEYS.sub(" The rules not assessed are listed below.", reason, count=1)


def label_of(catalogue: dict[str, Any], key: str) -> str:
    return catalogue[key].label if key in catalogue else key


def _value_words(value: Any, test: str) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return f"{value.get('value', '')} {value.get('unit', '')}".strip()
    return str(value)


def assessment_of(decision: Il2Decision, order: Order) -> Assessment:
    catalogue = selectors.observation_catalogue(order)
    evaluation = decision.evaluation or {}
    evaluated = decision.evaluated_decision
    titles = {r.id: r.title for r in selectors.rule_sets_of(order)}
    fired, not_assessed = [], []
    for result in evaluation.get("evaluations", []):
        title = titles.get(result.get("rule_set_id", ""), result.get("rule_set_id", ""))
        for rule in result.get("fired", []):
            values = [
                f"{label_of(catalogue, v['observation'])}: "
                f"{_value_words(v.get('value'), v.get('test', ''))} ({v.get('test', '')})"
                for v in rule.get("triggering_values", [])
            ]
            fired.append(
                FiredLine(
                    title,
                    rule.get("system", ""),
                    rule.get("action", ""),
                    rule.get("source_text", ""),
                    values,
                    rule.get("note", ""),
                )
            )
        for rule in result.get("not_assessed", []):
            missing = [label_of(catalogue, key) for key in rule.get("missing_observations", [])]
            not_assessed.append(
                FiredLine(
                    title,
                    rule.get("system", ""),
                    rule.get("action", ""),
                    rule.get("source_text", ""),
                    missing,
                )
            )
    observations = []
    for key, value in (decision.observations or {}).items():
        spec = catalogue.get(key)
        label = spec.label if spec else key
        if isinstance(value, bool):
            shown = "Yes" if value else "No"
        else:
            unit = spec.unit.value if spec and spec.unit else ""
            shown = f"{value} {unit}".strip()
        observations.append((label, shown))
    window = decision.window or {}
    window_text = ""
    if window.get("allowed_from"):
        opens = dt.datetime.fromisoformat(window["allowed_from"])
        window_text = f"allowed from {at_words(opens, order.center)}"
        if window.get("allowed_until"):
            closes = dt.datetime.fromisoformat(window["allowed_until"])
            window_text += f" until {at_words(closes, order.center)}"
    return Assessment(
        decision=decision,
        headline=f"The rules say: {DECISION_WORDS.get(evaluated, evaluated)}",
        tone=DECISION_TONES.get(evaluated, "warn"),
        reason=readable_reason(str(evaluation.get("reason", "")), bool(not_assessed)),
        fired=fired,
        not_assessed=not_assessed,
        observations=observations,
        window=window_text,
        assessed=at_words(decision.assessed_at, order.center),
        at_least=(
            f"A rule that fired already asks at least: {evaluation['minimum_action']}."
            if evaluation.get("minimum_action") and evaluated not in DECISION_TONES
            else ""
        ),
    )


# ---------- The assessment form, grouped ----------


@dataclass
class FieldGroup:
    title: str
    fields: list[forms.BoundField]


@dataclass
class RuleSetFields:
    title: str
    covers_only: str
    source: str
    groups: list[FieldGroup]


def grouped_fields(order: Order, form: Il2AssessForm) -> list[RuleSetFields]:
    """The form's observation fields by rule set, then by the organ system of the rules that
    read them (each observation once, where it is first read)."""
    placed: set[str] = set()
    sections = []
    for rule_set in selectors.rule_sets_of(order):
        by_system: dict[str, list[str]] = {}
        for rule in rule_set.rules:
            for comparison in comparisons(rule.condition):
                key = comparison.observation
                if key in form.catalogue and key not in placed:
                    placed.add(key)
                    by_system.setdefault(rule.system, []).append(key)
        rest = [s.key for s in rule_set.observations if s.key not in placed]
        if rest:
            placed.update(rest)
            by_system.setdefault("Other observations", []).extend(rest)
        if by_system:
            sections.append(
                RuleSetFields(
                    rule_set.title,
                    rule_set.covers_only,
                    rule_set.source,
                    [
                        FieldGroup(system, [form[key] for key in keys])
                        for system, keys in by_system.items()
                    ],
                )
            )
    return sections


def may_assess_now(order: Order, slot: Any) -> bool:
    if order.status != OrderStatus.VERIFIED or slot is None:
        return False
    if getattr(slot, "il2_decision", None) is not None:
        return False
    infusion = selectors.infusion_of_order(order)
    return infusion is not None and infusion.ended_at is not None


# ---------- The screen ----------


def history_rows(order: Order) -> list[dict[str, Any]]:
    center = order.center
    rows = []
    for decision in selectors.decisions_of(order):
        evaluated = decision.evaluated_decision
        rows.append(
            {
                "dose": decision.dose.sequence,
                "rules": DECISION_WORDS.get(evaluated, evaluated),
                # What fired it, in a line each: "Serum creatinine: 3.1 mg/dL (≥ 3 mg/dL)".
                "fired": list(
                    dict.fromkeys(
                        value
                        for line in assessment_of(decision, order).fired
                        for value in line.values
                    )
                ),
                "tone": DECISION_TONES.get(decision.physician_choice or evaluated, "warn"),
                "assessed": at_words(decision.assessed_at, center),
                "nurse": decision.nurse.printed_name,
                "nurse_choice": decision.get_nurse_choice_display(),
                "nurse_note": decision.nurse_note,
                "physician": decision.physician.printed_name if decision.physician else "",
                "physician_choice": decision.get_physician_choice_display()
                if decision.physician_choice
                else "",
                "physician_note": decision.physician_note,
                "decided": at_words(decision.decided_at, center) if decision.decided_at else "",
                "status": decision.get_status_display(),
            }
        )
    return rows


def render_il2(
    request: HttpRequest,
    user: User,
    order: Order,
    *,
    assess_form: Il2AssessForm | None = None,
    decide_form: Il2DecideForm | None = None,
    status: int = 200,
) -> HttpResponse:
    now = timezone.now()
    slot = selectors.next_slot(order)
    current = getattr(slot, "il2_decision", None) if slot is not None else None
    context: dict[str, Any] = {
        "page_title": "IL-2 decision",
        "order": order,
        "patient": order.patient,
        "center": order.center,
        "answer": answer(order, now),
        "order_url": reverse("treatment:order", kwargs={"public_id": order.public_id}),
        "history": history_rows(order),
        "assessment": assessment_of(current, order) if current is not None else None,
    }
    infusion = selectors.infusion_of_order(order)
    if infusion is not None and policies.can_view_orders(user, order.center):
        context["infusion_url"] = infusion_url(infusion)
    if current is not None:
        context["awaiting"] = current.status == Il2DecisionStatus.AWAITING_PHYSICIAN
        context["give_decided"] = current.physician_choice == Il2Choice.GIVE
        if policies.can_decide_il2_dose(user, current):
            context["decide_form"] = decide_form or Il2DecideForm()
        context["may_record_dose"] = policies.can_record_administration(user, order)
    if policies.can_assess_il2_dose(user, order) and (
        assess_form is not None or may_assess_now(order, slot)
    ):
        form = assess_form or Il2AssessForm(
            catalogue=selectors.observation_catalogue(order), initial={"choice": ""}
        )
        context["assess_form"] = form
        context["assess_sections"] = grouped_fields(order, form)
    return render(request, "treatment/il2.html", context, status=status)


@require_GET
def il2(request: HttpRequest, public_id: Any) -> HttpResponse:
    user, found = order_of(request, public_id)
    return render_il2(request, user, found)


@require_POST
def il2_assess(request: HttpRequest, public_id: Any) -> HttpResponse:
    """POST one field per observation key (blank: not assessed), choice and note."""
    user, found = order_of(request, public_id)
    require(policies.can_assess_il2_dose(user, found), NOT_ASSESSOR)
    form = Il2AssessForm(request.POST, catalogue=selectors.observation_catalogue(found))
    done, status = write(
        form,
        lambda data: assess_il2_dose(
            found,
            observations=form.observations(),
            choice=data["choice"],
            note=data["note"],
            actor=user,
        ),
    )
    if done is not None:
        rules = DECISION_WORDS.get(done.evaluated_decision, done.evaluated_decision)
        messages.success(
            request,
            f"Dose {done.dose.sequence} assessed: the rules say {rules.lower()}; you chose "
            f"{done.get_nurse_choice_display().lower()}. It awaits the treating physician's "
            "decision.",
        )
        return redirect(il2_url(found, "assessment"))
    return render_il2(request, user, found, assess_form=form, status=status)


@require_POST
def il2_decide(request: HttpRequest, public_id: Any) -> HttpResponse:
    """POST choice (give, hold or stop) and note."""
    user, _center = staff(request)
    decision = get_visible_or_404(
        Il2Decision.objects.filter(order__in=selectors.orders_visible_to(user)).select_related(
            "order", "dose", "nurse"
        ),
        public_id,
    )
    require(policies.can_decide_il2_dose(user, decision), NOT_DECIDER)
    order = decision.order
    form = Il2DecideForm(request.POST)
    done, status = write(
        form,
        lambda data: decide_il2_dose(
            decision, choice=data["choice"], note=data["note"], actor=user
        ),
    )
    if done is not None:
        said = {
            Il2Choice.GIVE: "Decided: give. Record the dose given at the bedside within its "
            "window.",
            Il2Choice.HOLD: "Decided: hold. The dose is recorded held; the next is assessed one "
            "interval later.",
            Il2Choice.STOP: "Decided: stop. IL-2 ends for this course; the remaining doses are "
            "recorded not given.",
        }
        messages.success(
            request, f"Dose {done.dose.sequence}. {said[Il2Choice(done.physician_choice)]}"
        )
        return redirect(il2_url(order))
    return render_il2(request, user, order, decide_form=form, status=status)
