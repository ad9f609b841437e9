"""The journey page: where the patient is, what comes next and what blocks it, and the record.

What the page shows depends on who asks. The care team sees the patient, every section and (with
the audit permission) the audit trail. A manufacturing facility sees the COI identifier, the stage,
the protocol and the timeline of stage changes, and nothing that could identify the patient: the
patient row is never read for them and never put in the template context.

The action views (views/actions.py) re-render this page with their bound, refused form through
`detail_context(..., **overrides)`, so field errors appear where they were typed.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import zoneinfo
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from tilcare.accounts.models import Organization, User
from tilcare.audit.actions import label_of
from tilcare.audit.models import AuditEvent, Signature
from tilcare.audit.selectors import list_events_for_subject
from tilcare.audit.services import signature_is_valid
from tilcare.core.timeutil import age_in_years, local_now, local_today
from tilcare.journey import guards, policies, selectors
from tilcare.journey.choices import (
    FacilityChange,
    MilestoneKind,
    Stage,
    TaskStatus,
    TransitionKind,
)
from tilcare.journey.forms import (
    AdvanceForm,
    EligibilityAmendForm,
    EligibilityForm,
    FacilityChangeForm,
    MilestoneForm,
    MilestoneVoidForm,
    PlanForm,
    SignForm,
    WithdrawForm,
)
from tilcare.journey.models import (
    ELIGIBILITY_CRITERIA,
    EligibilityChecklist,
    Journey,
    Milestone,
    Task,
)
from tilcare.journey.views.common import journey_of, local_time, user_of
from tilcare.journey.views.orders import orders_card
from tilcare.protocols.loader import load_protocol
from tilcare.treatment.models import ProtocolActivation
from tilcare.treatment.policies import can_view_protocol_settings
from tilcare.treatment.selectors import active_activation, pending_activation

AUDIT_LIMIT = 200

# Where to go to meet a requirement that is not a milestone (milestones link to their form).
_PLAN_REQUIREMENTS = frozenset({"resection_planned", "infusion_planned", "facility"})
_PATIENT_REQUIREMENTS = {
    "diagnosis": ("diagnosis", "Record the diagnosis"),
    "consent_til": ("consents", "Record consent"),
    "consent_tissue": ("consents", "Record consent"),
}

# Keys that only link records together; they add noise to a diff a person reads.
_DIFF_HIDDEN = frozenset({"public_id", "journey", "patient", "record_hash", "content", "center"})
_DIFF_VALUE_MAX = 80


@dataclass(frozen=True)
class RequirementView:
    label: str
    met: bool
    reason: str
    fix_url: str = ""
    fix_label: str = ""


@dataclass
class StepView:
    step: selectors.NextStep
    requirements: list[RequirementView]
    form: AdvanceForm

    @property
    def ready(self) -> bool:
        return self.step.ready


@dataclass(frozen=True)
class MilestoneRow:
    milestone: Milestone
    void_form: MilestoneVoidForm | None
    void_open: bool


@dataclass(frozen=True)
class TaskRow:
    task: Task
    overdue: bool
    can_complete: bool


@dataclass(frozen=True)
class Change:
    key: str
    before: str
    after: str


@dataclass(frozen=True)
class AuditRow:
    event: AuditEvent
    label: str
    about_patient: bool
    changes: list[Change] = field(default_factory=list)
    created: bool = False


@dataclass(frozen=True)
class ProtocolCard:
    """The protocol file the journey follows and the center's settings for it: the version in
    force, or else the one awaiting signatures, if any."""

    title: str
    in_force: ProtocolActivation | None
    pending: ProtocolActivation | None
    url: str


# ---------- Pieces ----------


def _protocol_card(user: User, journey: Journey) -> ProtocolCard | None:
    """For the center's staff only: orders read the settings in force, so the page says which."""
    if not can_view_protocol_settings(user, journey.center):
        return None
    ref = journey.protocol_ref
    in_force = active_activation(journey.center, ref)
    return ProtocolCard(
        title=load_protocol(ref.protocol_id, ref.version).title,
        in_force=in_force,
        pending=pending_activation(journey.center, ref) if in_force is None else None,
        url=reverse(
            "treatment:protocol", kwargs={"protocol_id": ref.protocol_id, "version": ref.version}
        ),
    )


def _requirement_views(
    user: User, journey: Journey, step: selectors.NextStep, identity: bool
) -> list[RequirementView]:
    """Each requirement with, when it is missing, a link to where it is met (if the user may)."""
    views = []
    can_plan = policies.can_plan_journey(user, journey)
    patient_url = (
        reverse("patients:patient-detail", kwargs={"public_id": journey.patient.public_id})
        if identity
        else ""
    )
    for req in step.requirements:
        url, label = "", ""
        if not req.met:
            if req.code in MilestoneKind.values:
                if policies.can_record_milestone(user, journey, MilestoneKind(req.code)):
                    url, label = f"?record={req.code}#milestones", "Record it"
            elif req.code in _PLAN_REQUIREMENTS:
                if can_plan:
                    url, label = "#plan", "Plan it"
            elif req.code == "eligibility":
                url, label = "#eligibility", "Open the checklist"
            elif req.code in _PATIENT_REQUIREMENTS and patient_url:
                anchor, label = _PATIENT_REQUIREMENTS[req.code]
                url = f"{patient_url}#{anchor}"
        views.append(RequirementView(req.label, req.met, req.reason, url, label))
    return views


def _eligibility_state(journey: Journey) -> dict[str, Any]:
    checklist = (
        EligibilityChecklist.objects.select_related("signature_voided_by")
        .filter(journey=journey)
        .first()
    )
    signature: Signature | None = None
    valid = voided = False
    if checklist is not None:
        signature = guards.latest_eligibility_signature(checklist)
        if signature is not None:
            voided = guards.eligibility_signature_voided(checklist, signature)
            valid = not voided and signature_is_valid(signature, checklist)
    return {
        "checklist": checklist,
        "signature": signature,
        "signature_valid": valid,
        "signature_voided": voided,
    }


_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


class _ValueFormatter:
    """Audit values as a person reads them: people and organizations by name (snapshots store
    their public ids), date-times in the center's zone, long text shortened."""

    def __init__(self, events: list[AuditEvent], time_zone: str) -> None:
        self.zone = zoneinfo.ZoneInfo(time_zone)
        ids = {
            value
            for event in events
            for snap in (event.before or {}, event.after or {})
            for value in snap.values()
            if isinstance(value, str) and _UUID.match(value)
        }
        self.names: dict[str, str] = {}
        if ids:
            for user in User.objects.filter(public_id__in=ids):
                self.names[str(user.public_id)] = user.printed_name
            for org in Organization.objects.filter(public_id__in=ids):
                self.names[str(org.public_id)] = org.name

    def __call__(self, value: Any) -> str:
        if value is None or value == "":
            return "—"
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, str):
            if _UUID.match(value):
                return self.names.get(value, value[:8] + "…")
            if _ISO_DATETIME.match(value):
                try:
                    moment = dt.datetime.fromisoformat(value)
                except ValueError:
                    pass
                else:
                    if moment.tzinfo is not None:
                        return moment.astimezone(self.zone).strftime("%d %b %Y %H:%M")
            text = value
        else:
            text = json.dumps(value, ensure_ascii=False)
        return text if len(text) <= _DIFF_VALUE_MAX else text[: _DIFF_VALUE_MAX - 1] + "…"


def _audit_row(event: AuditEvent, patient_id: str, fmt: _ValueFormatter) -> AuditRow:
    label = label_of(event.action)
    before, after = event.before, event.after or {}
    about_patient = event.subject_id == patient_id
    if event.action == "signature.sign":
        return AuditRow(
            event, label, about_patient, [Change("meaning", "", fmt(after.get("meaning")))]
        )
    if before is None:
        changes = [
            Change(k, "", fmt(v))
            for k, v in sorted(after.items())
            if k not in _DIFF_HIDDEN and v not in (None, "", False)
        ]
        return AuditRow(event, label, about_patient, changes, created=True)
    keys = sorted((set(before) | set(after)) - _DIFF_HIDDEN)
    changes = [
        Change(k, fmt(before.get(k)), fmt(after.get(k)))
        for k in keys
        if before.get(k) != after.get(k)
    ]
    return AuditRow(event, label, about_patient, changes)


def _audit_rows(journey: Journey, patient_id: str) -> tuple[list[AuditRow], int]:
    """The journey's and the patient's audit events, latest first by when they happened."""
    journey_events = list_events_for_subject(str(journey.public_id))
    patient_events = list_events_for_subject(patient_id)
    total = journey_events.count() + patient_events.count()
    events = sorted(
        [*journey_events[:AUDIT_LIMIT], *patient_events[:AUDIT_LIMIT]],
        key=lambda e: (e.occurred_at, e.seq),
        reverse=True,
    )[:AUDIT_LIMIT]
    fmt = _ValueFormatter(events, journey.center.time_zone)
    return [_audit_row(e, patient_id, fmt) for e in events], total


def tasks_context(user: User, journey: Journey, today: dt.date) -> dict[str, Any]:
    """The journey's tasks: open ones first (soonest due first), then done and cancelled."""
    tasks = list(journey.tasks.select_related("completed_by"))
    open_tasks = sorted((t for t in tasks if t.status == TaskStatus.OPEN), key=lambda t: t.due_on)
    closed = sorted(
        (t for t in tasks if t.status != TaskStatus.OPEN),
        key=lambda t: t.completed_at or t.updated_at,
        reverse=True,
    )
    for task in tasks:
        task.journey = journey  # the policy reads task.journey; it is this one

    def row(task: Task) -> TaskRow:
        return TaskRow(task, task.is_overdue(today), policies.can_complete_task(user, task))

    open_rows = [row(t) for t in open_tasks]
    return {
        "open_task_rows": open_rows,
        "closed_task_rows": [row(t) for t in closed],
        "open_task_count": len(open_rows),
        "overdue_task_count": sum(1 for r in open_rows if r.overdue),
    }


def _transition_class(kind: str) -> str:
    if kind == TransitionKind.WITHDRAW:
        return "is-danger"
    if kind == TransitionKind.REMANUFACTURE:
        return "is-warning"
    return ""


# ---------- The page ----------


def detail_context(request: HttpRequest, journey: Journey, **overrides: Any) -> dict[str, Any]:
    """Everything the journey page shows to this user. `overrides` carry refused, bound forms."""
    user = user_of(request)
    identity = policies.can_view_journey_identity(user, journey)
    tz = journey.center.time_zone
    today = local_today(tz)
    day0 = selectors.day_zero(journey)
    transitions = [(t, _transition_class(t.kind)) for t in selectors.timeline(journey)]
    context: dict[str, Any] = {
        "page_title": f"Journey {journey.coi_display}",
        "journey": journey,
        "identity": identity,
        "time_zone": tz,
        "today": today,
        "stage_label": Stage(journey.stage).label,
        "days_in_stage": (timezone.now() - journey.stage_entered_at).days,
        "day0": day0,
        "day0_recorded": guards.current_milestone(journey, MilestoneKind.INFUSION_DONE) is not None,
        "study_day": selectors.study_day(day0, today),
        "transitions": transitions,
    }
    if not identity:
        # A facility (or anyone without identity) sees the COI header, stage, protocol and the
        # timeline; nothing below is computed, so nothing below can leak.
        return context

    patient = journey.patient
    patient_id = str(patient.public_id)
    steps = selectors.next_steps(journey, user)
    bound_step: tuple[str, AdvanceForm] | None = overrides.pop("step_form", None)

    def step_form(step: selectors.NextStep) -> AdvanceForm:
        if bound_step and bound_step[0] == step.stage:
            return bound_step[1]
        return AdvanceForm(
            auto_id=f"id_step_{step.stage}_%s",
            initial={"to_stage": step.stage},
        )

    step_views = [
        StepView(s, _requirement_views(user, journey, s, identity), step_form(s))
        for s in steps
        if s.kind != TransitionKind.WITHDRAW
    ]
    withdraw_step = next((s for s in steps if s.kind == TransitionKind.WITHDRAW), None)
    can_withdraw = withdraw_step is not None and withdraw_step.allowed_for_user

    recordable = [k for k in MilestoneKind if policies.can_record_milestone(user, journey, k)]
    wanted = request.GET.get("record", "")
    bound_void: tuple[int, MilestoneVoidForm] | None = overrides.pop("void_form", None)
    milestone_rows = []
    for milestone in selectors.milestones_of(journey):
        form = None
        is_bound = bound_void is not None and bound_void[0] == milestone.pk
        if milestone.voided_at is None and MilestoneKind(milestone.kind) in recordable:
            form = (
                bound_void[1]
                if is_bound and bound_void
                else MilestoneVoidForm(prefix="void", auto_id=f"id_void_{milestone.pk}_%s")
            )
        milestone_rows.append(MilestoneRow(milestone, form, is_bound))

    eligibility = _eligibility_state(journey)
    can_edit_eligibility = policies.can_edit_eligibility(user, journey)
    can_sign = policies.can_sign_eligibility(user, journey)
    can_plan = policies.can_plan_journey(user, journey)
    can_change_facility = policies.can_change_facility(user, journey)
    facility_rule = guards.facility_change(journey)
    can_audit = policies.can_view_audit(user, journey)
    audit_rows, audit_total = _audit_rows(journey, patient_id) if can_audit else ([], 0)
    # The default date-time of a new milestone: now, where the center is.
    now_local = local_now(tz).replace(second=0, microsecond=0)

    context.update(
        {
            "patient": patient,
            "age": age_in_years(patient.date_of_birth, today),
            "protocol_card": _protocol_card(user, journey),
            "orders_card": orders_card(user, journey),
            "step_views": step_views,
            "forward_steps": [v for v in step_views if v.step.kind == TransitionKind.ADVANCE],
            "remanufacture_steps": [
                v for v in step_views if v.step.kind == TransitionKind.REMANUFACTURE
            ],
            "can_withdraw": can_withdraw,
            "withdraw_form": WithdrawForm(prefix="withdraw") if can_withdraw else None,
            "withdraw_open": False,
            "milestone_rows": milestone_rows,
            "show_attempt": journey.manufacture_attempt > 1,
            "milestone_form": MilestoneForm(
                prefix="milestone",
                kinds=recordable,
                initial={
                    "kind": wanted if wanted in {k.value for k in recordable} else "",
                    "occurred_at": now_local,
                },
            )
            if recordable
            else None,
            "milestone_open": bool(wanted),
            "can_plan": can_plan,
            "plan_form": PlanForm(prefix="plan", journey=journey) if can_plan else None,
            "facility_rule": facility_rule,
            "facility_form": FacilityChangeForm(prefix="facility", journey=journey)
            if can_change_facility and facility_rule == FacilityChange.WITH_REASON
            else None,
            **eligibility,
            "criteria": _criteria(eligibility["checklist"]),
            "can_edit_eligibility": can_edit_eligibility,
            "eligibility_form": EligibilityForm(
                prefix="eligibility", checklist=eligibility["checklist"]
            )
            if can_edit_eligibility
            else None,
            "amend_form": EligibilityAmendForm(prefix="amend", checklist=eligibility["checklist"])
            if can_edit_eligibility and eligibility["signature_valid"]
            else None,
            "can_sign": can_sign,
            "eligibility_meaning": guards.ELIGIBILITY_MEANING,
            "sign_form": SignForm(prefix="sign") if can_sign else None,
            **tasks_context(user, journey, today),
            "can_audit": can_audit,
            "audit_rows": audit_rows,
            "audit_total": audit_total,
            "audit_limit": AUDIT_LIMIT,
        }
    )
    context.update(overrides)
    return context


def _criteria(checklist: EligibilityChecklist | None) -> list[tuple[str, bool]]:
    return [
        (label, bool(checklist is not None and getattr(checklist, name)))
        for name, label in ELIGIBILITY_CRITERIA
    ]


def render_detail(
    request: HttpRequest, journey: Journey, *, status: int = 200, **overrides: Any
) -> HttpResponse:
    with local_time(journey.center.time_zone):
        return render(
            request,
            "journey/journey_detail.html",
            detail_context(request, journey, **overrides),
            status=status,
        )


@require_GET
def journey_detail(request: HttpRequest, public_id: Any) -> HttpResponse:
    return render_detail(request, journey_of(request, public_id))
