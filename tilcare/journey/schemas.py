"""API shapes for journeys, their steps, timeline, milestones and tasks.

Two shapes for a journey: `JourneyOut` for center staff (with the patient's name, MRN and date of
birth) and `JourneyCoiOut` for everyone else, a manufacturing facility above all, which has no
patient field at all (21 CFR 1271.290(c)). Each is built field by field from the journey by
`journey_out()`, never by letting a schema read attributes off the model, so the facility shape
cannot pick up identity by accident. Free text that a person typed (reasons, notes, references) may
name the patient, so it is null for a viewer who may not see the patient's identity (a milestone's
reference stays readable to the organization that typed it).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from ninja import Field, Schema
from pydantic import ConfigDict

from tilcare.clinical.renal import SCR_MAX_MG_PER_DL, SCR_MIN_MG_PER_DL
from tilcare.core.api_support import AwareDateTime, InputSchema, IsoDate, UtcDateTime
from tilcare.journey.choices import MilestoneKind, Protocol, Stage, WithdrawalReason
from tilcare.journey.models import Journey, JourneyTransition, Milestone, Task
from tilcare.journey.selectors import NextStep
from tilcare.manufacturing.api.release import ReleaseOut
from tilcare.patients.policies import can_view_typed_text
from tilcare.treatment.choices import OrderKind
from tilcare.treatment.schemas.orders import CreatinineText

_STRICT_INPUT = ConfigDict(extra="forbid", use_enum_values=True)


# --- journeys -------------------------------------------------------------------------------


class _JourneyFields(Schema):
    public_id: UUID
    coi_din: str = Field(..., description="ISBT 128 DIN: FIN, year, sequence")
    coi_check: str = Field(..., description="ISO 7064 Mod 37-2 check character")
    coi_display: str
    protocol: str
    protocol_label: str
    stage: str
    stage_label: str
    stage_entered_at: UtcDateTime
    is_closed: bool
    manufacture_attempt: int
    planned_resection_on: IsoDate | None
    planned_infusion_on: IsoDate | None
    center: str
    manufacturing_facility: str | None


class JourneyCoiOut(_JourneyFields):
    """A journey as a manufacturing facility sees it: the COI identifier, never the patient."""


class JourneyPatientOut(Schema):
    public_id: UUID
    given_name: str
    family_name: str
    mrn: str
    date_of_birth: IsoDate


class JourneyOut(_JourneyFields):
    """A journey as its center's staff see it, with who the patient is."""

    patient: JourneyPatientOut
    referred_on: IsoDate
    referring_physician: str
    withdrawal_reason: str
    withdrawal_note: str


def _journey_fields(journey: Journey) -> dict[str, Any]:
    facility = journey.manufacturing_facility
    return {
        "public_id": journey.public_id,
        "coi_din": journey.coi_din,
        "coi_check": journey.coi_check,
        "coi_display": journey.coi_display,
        "protocol": journey.protocol,
        "protocol_label": journey.get_protocol_display(),
        "stage": journey.stage,
        "stage_label": journey.stage_label(),
        "stage_entered_at": journey.stage_entered_at,
        "is_closed": journey.is_closed,
        "manufacture_attempt": journey.manufacture_attempt,
        "planned_resection_on": journey.planned_resection_on,
        "planned_infusion_on": journey.planned_infusion_on,
        "center": journey.center.name,
        "manufacturing_facility": facility.name if facility is not None else None,
    }


def journey_out(journey: Journey, *, with_identity: bool) -> JourneyOut | JourneyCoiOut:
    """The journey in the shape this viewer may see. The COI shape never reads the patient row."""
    fields = _journey_fields(journey)
    if not with_identity:
        return JourneyCoiOut(**fields)
    patient = journey.patient
    return JourneyOut(
        **fields,
        patient=JourneyPatientOut(
            public_id=patient.public_id,
            given_name=patient.given_name,
            family_name=patient.family_name,
            mrn=patient.mrn,
            date_of_birth=patient.date_of_birth,
        ),
        referred_on=journey.referred_on,
        referring_physician=journey.referring_physician,
        withdrawal_reason=journey.withdrawal_reason,
        withdrawal_note=journey.withdrawal_note,
    )


class JourneyOpenIn(InputSchema):
    model_config = _STRICT_INPUT

    protocol: Protocol
    referred_on: IsoDate
    referring_physician: str = Field("", max_length=200)


# --- next steps and transitions -------------------------------------------------------------


class RequirementOut(Schema):
    code: str
    label: str
    met: bool
    reason: str


class NextStepOut(Schema):
    stage: str
    label: str
    kind: str
    allowed_for_user: bool
    ready: bool
    requirements: list[RequirementOut]
    blocked_reasons: list[str]


def next_step_out(step: NextStep) -> NextStepOut:
    return NextStepOut(
        stage=step.stage,
        label=step.label,
        kind=step.kind,
        allowed_for_user=step.allowed_for_user,
        ready=step.ready,
        requirements=[
            RequirementOut(code=r.code, label=r.label, met=r.met, reason=r.reason)
            for r in step.requirements
        ],
        blocked_reasons=list(step.blocked_reasons),
    )


class TransitionIn(InputSchema):
    model_config = _STRICT_INPUT

    to_stage: Stage
    reason: str = Field("", max_length=2000)
    withdrawal_reason: WithdrawalReason | None = Field(
        None, description="Required when to_stage is withdrawn"
    )


class TransitionOut(Schema):
    from_stage: str
    to_stage: str
    to_stage_label: str
    kind: str
    actor: str
    occurred_at: UtcDateTime
    reason: str | None = Field(..., description="Null when the viewer may not see identity")
    withdrawal_reason: str


def transition_out(row: JourneyTransition, *, with_identity: bool) -> TransitionOut:
    return TransitionOut(
        from_stage=row.from_stage,
        to_stage=row.to_stage,
        to_stage_label=row.get_to_stage_display(),
        kind=row.kind,
        actor=row.actor.printed_name,
        occurred_at=row.occurred_at,
        reason=row.reason if with_identity else None,
        withdrawal_reason=row.withdrawal_reason,
    )


# --- milestones -----------------------------------------------------------------------------


class MilestoneIn(InputSchema):
    model_config = _STRICT_INPUT

    kind: MilestoneKind
    occurred_at: AwareDateTime = Field(..., description="ISO 8601 with its UTC offset")
    reference: str = Field("", max_length=100, description="Authorization, lot or order number")
    note: str = Field("", max_length=2000)


class MilestoneOut(Schema):
    public_id: str
    kind: str
    kind_label: str
    attempt: int
    occurred_at: UtcDateTime
    reference: str | None = Field(
        ...,
        description="Null unless your organization recorded the milestone or you see patient "
        "identity (it is typed text)",
    )
    note: str | None = Field(..., description="Null when the viewer may not see identity")
    recorded_by: str
    recorded_at: UtcDateTime
    voided_at: UtcDateTime | None
    voided_by: str | None
    void_reason: str | None


def milestone_out(
    milestone: Milestone, journey: Journey, *, with_identity: bool, viewer: Any
) -> MilestoneOut:
    """The reference is typed by whoever recorded the milestone (an authorization or lot number,
    or anything else): a facility reads only its own staff's, never the center's."""
    reference_shown = can_view_typed_text(
        viewer,
        author_organization_id=milestone.recorded_by.organization_id,
        center_id=journey.center_id,
    )
    return MilestoneOut(
        public_id=f"{journey.public_id}:m{milestone.pk}",
        kind=milestone.kind,
        kind_label=milestone.get_kind_display(),
        attempt=milestone.attempt,
        occurred_at=milestone.occurred_at,
        reference=milestone.reference if reference_shown else None,
        note=milestone.note if with_identity else None,
        recorded_by=milestone.recorded_by.printed_name,
        recorded_at=milestone.recorded_at,
        voided_at=milestone.voided_at,
        voided_by=milestone.voided_by.printed_name if milestone.voided_by else None,
        void_reason=milestone.void_reason if with_identity else None,
    )


# --- tasks ----------------------------------------------------------------------------------


class TaskJourneyOut(Schema):
    public_id: UUID
    coi_display: str


class TaskPatientOut(Schema):
    public_id: UUID
    given_name: str
    family_name: str
    mrn: str


class TaskOut(Schema):
    public_id: UUID
    title: str
    role: str
    role_label: str
    stage: str
    stage_label: str
    due_on: IsoDate
    status: str
    completed_at: UtcDateTime | None
    completed_by: str | None
    journey: TaskJourneyOut
    patient: TaskPatientOut | None = Field(..., description="Null when identity is not visible")


def task_out(task: Task, *, with_identity: bool) -> TaskOut:
    journey = task.journey
    patient = journey.patient if with_identity else None
    return TaskOut(
        public_id=task.public_id,
        title=task.title,
        role=task.role,
        role_label=task.get_role_display(),
        stage=task.stage,
        stage_label=task.get_stage_display(),
        due_on=task.due_on,
        status=task.status,
        completed_at=task.completed_at,
        completed_by=task.completed_by.printed_name if task.completed_by else None,
        journey=TaskJourneyOut(public_id=journey.public_id, coi_display=journey.coi_display),
        patient=(
            TaskPatientOut(
                public_id=patient.public_id,
                given_name=patient.given_name,
                family_name=patient.family_name,
                mrn=patient.mrn,
            )
            if patient is not None
            else None
        ),
    )


# --- a batch's release, signed through the journey ------------------------------------------


class DispositionIn(InputSchema):
    decision: str
    password: str
    reason: str = ""
    expires_at: AwareDateTime | None = None


class AcknowledgementIn(InputSchema):
    password: str


class ReleaseStepOut(Schema):
    release: ReleaseOut
    journey_notes: list[str]


# --- treatment orders for the journey's course ----------------------------------------------


class OrderIn(InputSchema):
    """A physician's order for the journey's current course; the doses are computed, never
    sent. Lymphodepletion takes the serum creatinine (as text) and the date it was drawn; IL-2
    neither; filgrastim the number of days it covers. The answer is the order as
    `GET /treatment/orders/{public_id}` shows it."""

    model_config = _STRICT_INPUT

    kind: OrderKind
    serum_creatinine_mg_per_dl: CreatinineText = Field(
        None,
        description=(
            f"Lymphodepletion only: serum creatinine in mg/dL, as text ({SCR_MIN_MG_PER_DL} to "
            f"{SCR_MAX_MG_PER_DL}, at most 2 decimal places)."
        ),
        examples=["0.8"],
    )
    creatinine_drawn_on: IsoDate | None = Field(
        None, description="Lymphodepletion only: the date the creatinine was drawn."
    )
    days: int | None = Field(
        None,
        ge=1,
        le=30,
        description=(
            "Filgrastim only: how many daily doses the order covers (1 to 30), from Day +1, "
            "from today once the infusion has started, or from the day after the last dose "
            "recorded, whichever is latest."
        ),
    )
