"""Journeys and tasks over the API: the same selectors, policies and services as the pages.

Who the patient is is shown only to those `policies.can_view_journey_identity` allows; everyone
else (a manufacturing facility) gets `JourneyCoiOut`, which has no patient field, and their
queries never join the patient table.

(No `from __future__ import annotations` in this module: ninja reads the operations' parameter
annotations as objects when the routes are built.)
"""

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Router, Status
from ninja.pagination import paginate

from tilcare.accounts.roles import Perm
from tilcare.core.api_support import ApiPagination, MappedQuerySet, caller
from tilcare.core.http import get_visible_or_404
from tilcare.journey import policies, selectors, services
from tilcare.journey.choices import Protocol, Stage
from tilcare.journey.models import Journey, Task
from tilcare.journey.schemas import (
    JourneyCoiOut,
    JourneyOpenIn,
    JourneyOut,
    MilestoneIn,
    MilestoneOut,
    NextStepOut,
    TaskOut,
    TransitionIn,
    TransitionOut,
    journey_out,
    milestone_out,
    next_step_out,
    task_out,
    transition_out,
)
from tilcare.patients import selectors as patient_selectors
from tilcare.patients.models import Patient

router = Router(tags=["journeys"])
tasks_router = Router(tags=["tasks"])

JourneyView = JourneyOut | JourneyCoiOut


def _journeys_for(user: Any) -> QuerySet[Journey]:
    journeys = selectors.visible_to(user).select_related("center", "manufacturing_facility")
    if user.has_perm_code(Perm.VIEW_PATIENT_IDENTITY):
        journeys = journeys.select_related("patient")
    return journeys


def _visible_journey(request: HttpRequest, public_id: str) -> Journey:
    journey: Journey = get_visible_or_404(_journeys_for(caller(request)), public_id)
    return journey


def _out(user: Any, journey: Journey) -> JourneyView:
    return journey_out(journey, with_identity=policies.can_view_journey_identity(user, journey))


@router.get("/journeys", response=list[JourneyView], summary="List journeys")
@paginate(ApiPagination)
def list_journeys(
    request: HttpRequest, stage: Stage | None = None, protocol: Protocol | None = None
) -> MappedQuerySet[Journey, JourneyView]:
    """Journeys the caller may see, newest first; a facility sees COI identifiers only."""
    user = caller(request)
    journeys = _journeys_for(user)
    if stage:
        journeys = journeys.filter(stage=stage)
    if protocol:
        journeys = journeys.filter(protocol=protocol)
    return MappedQuerySet(journeys.order_by("-created_at", "-id"), lambda j: _out(user, j))


@router.post(
    "/patients/{public_id}/journeys",
    response={201: JourneyView},
    summary="Open a journey (issues its COI identifier)",
)
def open_journey(
    request: HttpRequest, public_id: str, payload: JourneyOpenIn
) -> Status[JourneyView]:
    user = caller(request)
    patient: Patient = get_visible_or_404(patient_selectors.visible_to(user), public_id)
    journey = services.open_journey(
        patient,
        actor=user,
        protocol=payload.protocol,
        referred_on=payload.referred_on,
        referring_physician=payload.referring_physician,
    )
    return Status(201, _out(user, journey))


@router.get("/journeys/{public_id}", response=JourneyView, summary="One journey")
def get_journey(request: HttpRequest, public_id: str) -> JourneyView:
    return _out(caller(request), _visible_journey(request, public_id))


@router.get(
    "/journeys/{public_id}/next-steps",
    response=list[NextStepOut],
    summary="Moves allowed from here, with what blocks each",
)
def next_steps(request: HttpRequest, public_id: str) -> list[NextStepOut]:
    user = caller(request)
    journey = _visible_journey(request, public_id)
    return [next_step_out(step) for step in selectors.next_steps(journey, user)]


@router.post(
    "/journeys/{public_id}/transitions",
    response=JourneyView,
    summary="Move the journey to another stage (409 with the reasons when blocked)",
)
def advance_journey(request: HttpRequest, public_id: str, payload: TransitionIn) -> JourneyView:
    user = caller(request)
    journey = services.advance(
        _visible_journey(request, public_id),
        payload.to_stage,
        actor=user,
        reason=payload.reason,
        withdrawal_reason=payload.withdrawal_reason or "",
    )
    return _out(user, journey)


@router.get(
    "/journeys/{public_id}/transitions",
    response=list[TransitionOut],
    summary="The journey's timeline",
)
def list_transitions(request: HttpRequest, public_id: str) -> list[TransitionOut]:
    user = caller(request)
    journey = _visible_journey(request, public_id)
    with_identity = policies.can_view_journey_identity(user, journey)
    return [transition_out(row, with_identity=with_identity) for row in selectors.timeline(journey)]


@router.get(
    "/journeys/{public_id}/milestones", response=list[MilestoneOut], summary="Recorded milestones"
)
def list_milestones(request: HttpRequest, public_id: str) -> list[MilestoneOut]:
    user = caller(request)
    journey = _visible_journey(request, public_id)
    with_identity = policies.can_view_journey_identity(user, journey)
    return [
        milestone_out(m, journey, with_identity=with_identity, viewer=user)
        for m in selectors.milestones_of(journey)
    ]


@router.post(
    "/journeys/{public_id}/milestones", response={201: MilestoneOut}, summary="Record a milestone"
)
def record_milestone(
    request: HttpRequest, public_id: str, payload: MilestoneIn
) -> Status[MilestoneOut]:
    user = caller(request)
    journey = _visible_journey(request, public_id)
    milestone = services.record_milestone(
        journey,
        actor=user,
        kind=payload.kind,
        occurred_at=payload.occurred_at,
        reference=payload.reference,
        note=payload.note,
    )
    with_identity = policies.can_view_journey_identity(user, journey)
    return Status(201, milestone_out(milestone, journey, with_identity=with_identity, viewer=user))


# --- tasks ----------------------------------------------------------------------------------


@tasks_router.get("/tasks", response=list[TaskOut], summary="My tasks, soonest due first")
@paginate(ApiPagination)
def list_tasks(request: HttpRequest, include_done: bool = False) -> MappedQuerySet[Task, TaskOut]:
    user = caller(request)
    tasks = selectors.tasks_for_user(user, include_done=include_done).select_related(
        "completed_by", "journey__center"
    )
    return MappedQuerySet(
        tasks,
        lambda t: task_out(t, with_identity=policies.can_view_journey_identity(user, t.journey)),
    )


@tasks_router.post("/tasks/{public_id}/complete", response=TaskOut, summary="Complete a task")
def complete_task(request: HttpRequest, public_id: str) -> TaskOut:
    user = caller(request)
    # Any task of a journey the caller can see is found; whether they may complete it is the
    # policy's answer (403), not a 404.
    visible = Task.objects.filter(journey__in=selectors.visible_to(user)).select_related(
        "journey__center"
    )
    task: Task = get_visible_or_404(visible, public_id)
    task = services.complete_task(task, actor=user)
    task = visible.select_related("completed_by").get(pk=task.pk)
    return task_out(task, with_identity=policies.can_view_journey_identity(user, task.journey))
