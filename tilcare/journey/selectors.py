"""Reads of journeys: who sees which, the coordinator board, the journey page's pieces, and the
journey's chain of custody (its custody events and open identity alerts).

Cards for the board carry the patient's identity only for users allowed to see it; for a
manufacturing facility they are built without ever reading the patient row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet

from tilcare.accounts.models import User
from tilcare.accounts.roles import Perm
from tilcare.clinical.identity_scan import coi_display
from tilcare.core.timeutil import local_datetime, local_today
from tilcare.identity import policies as identity_policies
from tilcare.identity.models import CustodyEvent, IdentityAlert
from tilcare.identity.selectors import alerts_visible_to
from tilcare.journey import guards, policies
from tilcare.journey.choices import (
    ACTIVE_STAGES,
    TERMINAL_STAGES,
    TRANSITIONS,
    MilestoneKind,
    Stage,
    TaskStatus,
    transition_kind,
)
from tilcare.journey.models import Journey, Milestone, Task
from tilcare.treatment.services.orders import Course


def visible_to(user: Any) -> QuerySet[Journey]:
    """Journeys this user may see: their center's, or for a facility, those it manufactures."""
    if not (isinstance(user, User) and user.is_authenticated and user.is_active):
        return Journey.objects.none()
    if user.has_perm_code(Perm.VIEW_JOURNEY):
        return Journey.objects.filter(center_id=user.organization_id)
    if user.has_perm_code(Perm.VIEW_JOURNEY_COI_ONLY):
        return Journey.objects.filter(manufacturing_facility_id=user.organization_id)
    return Journey.objects.none()


def center_of_coi(coi_din: str) -> int | None:
    """The id of the center whose journey carries this COI identifier (None if no journey does)."""
    return Journey.objects.filter(coi_din=coi_din).values_list("center_id", flat=True).first()


def day_zero(journey: Journey) -> dt.date | None:
    """Infusion day: the recorded infusion if there is one, else the planned date."""
    infused = guards.current_milestone(journey, MilestoneKind.INFUSION_DONE)
    if infused is not None:
        return local_datetime(infused.occurred_at, journey.center.time_zone).date()
    return journey.planned_infusion_on


def study_day(day0: dt.date | None, today: dt.date) -> int | None:
    return None if day0 is None else (today - day0).days


def format_study_day(day: int | None) -> str:
    """ "Day −7", "Day 0", "Day +3" (with a true minus sign, as printed in protocols)."""
    if day is None:
        return ""
    if day == 0:
        return "Day 0"
    return f"Day +{day}" if day > 0 else f"Day −{-day}"


@dataclass(frozen=True)
class BoardCard:
    public_id: str
    coi_display: str
    coi_din: str
    coi_check: str
    protocol: str
    protocol_label: str
    stage: str
    days_in_stage: int
    open_tasks: int
    overdue_tasks: int
    planned_infusion_on: dt.date | None
    # Identity: None whenever the viewer may not see who the patient is.
    patient_name: str | None
    mrn: str | None


@dataclass(frozen=True)
class BoardColumn:
    stage: str
    label: str
    cards: list[BoardCard]


def board(
    user: Any,
    *,
    stage: str = "",
    protocol: str = "",
    query: str = "",
    include_closed: bool = False,
) -> list[BoardColumn]:
    """The coordinator board: journeys grouped by stage, with days in stage and overdue tasks."""
    journeys = visible_to(user)
    show_identity = isinstance(user, User) and user.has_perm_code(Perm.VIEW_PATIENT_IDENTITY)
    tz = user.organization.time_zone if getattr(user, "organization", None) else "UTC"
    today = local_today(tz)
    if stage:
        journeys = journeys.filter(stage=stage)
    elif not include_closed:
        journeys = journeys.exclude(stage__in=TERMINAL_STAGES)
    if protocol:
        journeys = journeys.filter(protocol=protocol)
    if query.strip():
        text = query.strip().upper().replace(" ", "")
        match = Q(coi_din__startswith=text[:13])
        if show_identity:
            for word in query.split():
                match |= Q(patient__given_name__icontains=word) | Q(
                    patient__family_name__icontains=word
                )
            match |= Q(patient__mrn__iexact=query.strip())
        journeys = journeys.filter(match)
    journeys = journeys.annotate(
        open_tasks=Count("tasks", filter=Q(tasks__status=TaskStatus.OPEN)),
        overdue_tasks=Count(
            "tasks", filter=Q(tasks__status=TaskStatus.OPEN, tasks__due_on__lt=today)
        ),
    ).order_by("stage_entered_at")
    fields = [
        "public_id",
        "coi_din",
        "coi_check",
        "protocol",
        "stage",
        "stage_entered_at",
        "planned_infusion_on",
        "open_tasks",
        "overdue_tasks",
    ]
    if show_identity:
        fields += ["patient__given_name", "patient__family_name", "patient__mrn"]
    by_stage: dict[str, list[BoardCard]] = {}
    for row in journeys.values(*fields):
        din = row["coi_din"]
        card = BoardCard(
            public_id=str(row["public_id"]),
            coi_display=coi_display(din, row["coi_check"]),
            coi_din=din,
            coi_check=row["coi_check"],
            protocol=row["protocol"],
            protocol_label=Journey(protocol=row["protocol"]).get_protocol_display(),
            stage=row["stage"],
            # Calendar days where the viewer works, not 24-hour periods (a daylight-saving
            # change would otherwise drop a day).
            days_in_stage=(today - local_datetime(row["stage_entered_at"], tz).date()).days,
            open_tasks=row["open_tasks"],
            overdue_tasks=row["overdue_tasks"],
            planned_infusion_on=row["planned_infusion_on"],
            patient_name=(
                f"{row['patient__family_name']}, {row['patient__given_name']}"
                if show_identity
                else None
            ),
            mrn=row["patient__mrn"] if show_identity else None,
        )
        by_stage.setdefault(row["stage"], []).append(card)
    stages = [Stage(stage)] if stage else list(ACTIVE_STAGES if not include_closed else Stage)
    return [BoardColumn(s.value, s.label, by_stage.get(s.value, [])) for s in stages]


@dataclass(frozen=True)
class NextStep:
    stage: str
    label: str
    kind: str
    allowed_for_user: bool
    requirements: list[guards.RequirementStatus]
    blocked_reasons: list[str]

    @property
    def ready(self) -> bool:
        return self.allowed_for_user and not self.blocked_reasons


def next_steps(journey: Journey, user: Any) -> list[NextStep]:
    """Every move the table allows from here, with what blocks it and whether this user may."""
    source = Stage(journey.stage)
    steps = []
    for target in sorted(TRANSITIONS[source], key=lambda s: list(Stage).index(s)):
        kind = transition_kind(source, target)
        requirements = guards.evaluate_move(journey, target)
        allowed = policies.can_advance_journey(user, journey, target)
        reasons = [r.reason for r in requirements if not r.met]
        if not allowed:
            reasons = [*reasons, f"Your role may not move a journey to “{target.label}”."]
        steps.append(
            NextStep(target.value, target.label, kind.value, allowed, requirements, reasons)
        )
    return steps


def milestones_of(journey: Journey) -> QuerySet[Milestone]:
    return journey.milestones.select_related("recorded_by", "voided_by").order_by("occurred_at")


def timeline(journey: Journey) -> QuerySet[Any]:
    return journey.transitions.select_related("actor").order_by("occurred_at", "id")


def tasks_for_user(user: Any, *, include_done: bool = False) -> QuerySet[Task]:
    """The tasks this user's role is responsible for at their center (navigators see all)."""
    if not (isinstance(user, User) and user.has_perm_code(Perm.COMPLETE_TASK)):
        return Task.objects.none()
    tasks = Task.objects.filter(journey__center_id=user.organization_id).select_related(
        "journey", "journey__patient"
    )
    if user.role != "navigator":
        tasks = tasks.filter(role=user.role)
    if not include_done:
        tasks = tasks.filter(status=TaskStatus.OPEN)
    return tasks.order_by("due_on", "id")


# ---------- The chain of custody of a journey ----------


@dataclass(frozen=True)
class _Parties:
    center_id: int
    facility_id: int | None


@dataclass(frozen=True)
class AlertRow:
    alert: IdentityAlert
    can_acknowledge: bool


@dataclass(frozen=True)
class CustodyView:
    visible: bool
    events: list[CustodyEvent]
    open_alerts: list[AlertRow]


@dataclass(frozen=True)
class ScanRow:
    """A custody event as a page lists it, and whether the user may read what was typed on it."""

    event: CustodyEvent
    typed_visible: bool


def custody_of(journey: Journey, user: Any) -> CustodyView:
    """The journey's custody events (oldest first) and open alerts, if the user may see custody.

    Read by the journey's COI identifier, so a scan of an unknown label (no item) is shown too.
    """
    parties = _Parties(journey.center_id, journey.manufacturing_facility_id)
    if not identity_policies.can_view_custody(user, parties):
        return CustodyView(False, [], [])
    events = list(
        CustodyEvent.objects.filter(coi_din=journey.coi_din)
        .select_related("item", "actor", "organization")
        .order_by("occurred_at", "id")
    )
    alerts = alerts_visible_to(user).filter(coi_din=journey.coi_din, acknowledged_at__isnull=True)
    rows = [
        AlertRow(alert, identity_policies.can_acknowledge_alert(user, alert))
        for alert in alerts.select_related(
            "custody_event__actor", "custody_event__organization"
        ).order_by("-raised_at", "-id")
    ]
    return CustodyView(True, events, rows)


def scan_rows(journey: Journey, user: Any, events: Iterable[CustodyEvent]) -> list[ScanRow]:
    """The journey's events as rows, each saying whether `user` may read its typed text."""
    return [
        ScanRow(e, identity_policies.can_view_scan_text(user, e, center_id=journey.center_id))
        for e in events
    ]


def recent_scans(journey: Journey, user: Any, step: str, limit: int) -> list[ScanRow]:
    """The journey's latest `limit` scans at `step`, newest first."""
    events = (
        CustodyEvent.objects.filter(coi_din=journey.coi_din, step=step)
        .select_related("item", "actor", "organization")
        .order_by("-occurred_at", "-id")[:limit]
    )
    return scan_rows(journey, user, events)


# ---------- The course its treatment orders are for ----------


def course_of(journey: Journey) -> Course:
    """The course the journey's orders are written for: its center and patient, the product's
    chain-of-identity number and current manufacturing attempt, and the protocol it follows (a
    new attempt is a new course: the orders of an earlier product do not carry over)."""
    return Course(
        center=journey.center,
        patient=journey.patient,
        coi_din=journey.coi_din,
        coi_check=journey.coi_check,
        manufacture_attempt=journey.manufacture_attempt,
        protocol=journey.protocol_ref,
    )


def order_refusal(journey: Journey) -> str | None:
    """Why no treatment may be ordered on this journey now, or None: a withdrawn or completed
    journey takes no new order (the orders it has stay on record)."""
    if journey.is_closed:
        return (
            f"This journey is closed (“{Stage(journey.stage).label}”): no treatment is ordered "
            "on it."
        )
    return None
