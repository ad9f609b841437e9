"""What a product's release or rejection does to the journey: the doors QA, the physician and the
technologist sign or reject a batch through.

Layering: manufacturing sits below the journey and never imports it. The release and rejection
steps therefore enter here: each calls the manufacturing service (`decide_disposition`,
`acknowledge_exception`, `advance_batch`) and then, in the same transaction, tells the journey of
the batch's COI identifier, for the batch's manufacture attempt only:

- `on_batch_released`: records "Product released by the facility's QA" once per attempt, as the
  signer: a center user through `record_milestone`; the facility's QA reviewer who signed the
  release directly (its staff hold no milestone permission, as in the facility's receipt of
  tissue in `journey.custody`), audited under the journey. The journey moves to "Product
  released" when the user's role may (`ADVANCE_ROLES`: the navigator); otherwise a task asks the
  center's navigator to.
- `on_batch_rejected`: the choice between re-manufacture (back to "Resection scheduled", a new
  attempt, a new resection date) and withdrawal ("Manufacturing failure") is clinical: a task asks
  the treating physician, who makes it with the journey's own advance and withdraw. Every
  rejection reaches it once, in the rejecting transaction: QA's signed one through
  `dispose_batch`, the technologist's through `reject_batch` (the batch page and the batch API
  call it, the only imports from manufacturing up to the journey).
- `on_exception_pending`: a task asks a treating physician to review and sign the exception.

Messages here name the COI identifier and the process, never the patient (QA reads them).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction

from tilcare.accounts.choices import Role
from tilcare.accounts.models import User
from tilcare.audit.actions import Action
from tilcare.audit.services import record_written
from tilcare.audit.times import audit_time
from tilcare.core.errors import InvalidInput
from tilcare.core.timeutil import local_datetime, local_today
from tilcare.journey import guards, policies
from tilcare.journey.choices import MilestoneKind, Stage, TaskStatus
from tilcare.journey.models import Journey, Milestone, Task
from tilcare.journey.services.journeys import advance_where_allowed
from tilcare.journey.services.milestones import record_milestone_where_allowed
from tilcare.journey.services.tasks import complete_task
from tilcare.manufacturing.choices import BatchStatus, Disposition
from tilcare.manufacturing.models import Batch, QaDisposition
from tilcare.manufacturing.services import batches as batch_services
from tilcare.manufacturing.services import release as release_services

RELEASED = MilestoneKind.PRODUCT_RELEASED
RELEASED_STATUSES = frozenset({BatchStatus.RELEASED, BatchStatus.RELEASED_EXCEPTION})
# Days the tasks created here are due in: the product waits in storage meanwhile.
MOVE_TASK_DAYS, DECISION_TASK_DAYS, ACK_TASK_DAYS = 1, 2, 1


@dataclass(frozen=True)
class JourneyStep:
    milestone: Milestone | None = None
    advanced_to: str = ""
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReleaseOutcome:
    disposition: QaDisposition
    journey: JourneyStep

    @property
    def notes(self) -> tuple[str, ...]:
        return self.journey.notes


def _journey_of(batch: Batch) -> tuple[Journey | None, str]:
    """The batch's journey, locked, if this batch is its current attempt; else why not."""
    journey = (
        Journey.objects.select_for_update()
        .select_related("center")
        .filter(coi_din=batch.coi_din)
        .first()
    )
    if journey is None:
        return None, "No journey carries this COI identifier: nothing was recorded on a journey."
    if journey.is_closed:
        return None, f"The journey is closed ({journey.stage_label()}): nothing was recorded on it."
    if journey.manufacture_attempt != batch.manufacture_attempt:
        return None, (
            f"This batch is manufacture attempt {batch.manufacture_attempt}; the journey is on "
            f"attempt {journey.manufacture_attempt}: nothing was recorded on it."
        )
    return journey, ""


def _task(
    journey: Journey,
    *,
    title: str,
    role: Role,
    days: int,
    actor: User,
    at: dt.datetime | None = None,
) -> Task:
    """An open task for `role` (once: an identical open task is not repeated). `at`: when what
    opened it happened (a rejection entered after the fact), if the trail can carry it and the
    journey was already in its stage; the task is then due `days` after that day."""
    found = journey.tasks.filter(title=title, status=TaskStatus.OPEN).first()
    if found is not None:
        return found
    opened = audit_time(None, at)
    if opened is not None and opened < journey.stage_entered_at:
        opened = None
    zone = journey.center.time_zone
    day = local_today(zone) if opened is None else local_datetime(opened, zone).date()
    task = Task.objects.create(
        journey=journey,
        stage=journey.stage,
        title=title,
        role=role,
        due_on=day + dt.timedelta(days=days),
    )
    record_written(
        Action.JOURNEY_TASK_CREATE,
        task,
        actor=actor,
        subject_id=str(journey.public_id),
        occurred_at=opened,
    )
    return task


def _record_release(journey: Journey, batch: Batch, actor: User) -> Milestone | None:
    d = QaDisposition.objects.select_related("qa_signature", "physician_ack_signature").get(
        batch=batch
    )
    occurred_at = d.physician_acknowledged_at or d.decided_at
    reference = f"Batch {batch.coi_display} attempt {batch.manufacture_attempt}"
    note = f"{d.get_decision_display()} signed by {d.qa_signature.printed_name} (QA)."  # type: ignore[union-attr]
    if d.physician_ack_signature is not None:
        note += f" Acknowledged by {d.physician_ack_signature.printed_name}. Reason: {d.reason}"
    return record_milestone_where_allowed(
        journey,
        actor=actor,
        kind=RELEASED,
        occurred_at=occurred_at,
        reference=reference,
        note=note,
        facility_may=policies.can_record_release(actor, journey, batch),
        recorded_at=d.decided_at,
    )


def _move_on(journey: Journey, batch: Batch, actor: User) -> tuple[str, str]:
    """Into "Product released" when this user may; else a task for the navigator."""
    target = Stage.PRODUCT_RELEASED
    move = advance_where_allowed(journey, source=Stage.AT_MANUFACTURING, target=target, actor=actor)
    if move.permitted:
        return move.stage, move.note
    _task(
        journey,
        title=f"Product released (attempt {batch.manufacture_attempt}): move the journey to "
        f"“{target.label}” and plan the shipment",
        role=Role.NAVIGATOR,
        days=MOVE_TASK_DAYS,
        actor=actor,
    )
    return "", (
        f"The journey stays in “{Stage.AT_MANUFACTURING.label}” until the center's navigator "
        f"moves it to “{target.label}”; a task asks them to."
    )


def on_batch_released(batch: Batch, *, actor: User) -> JourneyStep:
    """Record the release on the batch's journey and move it on where the user may."""
    with transaction.atomic():
        batch = Batch.objects.get(pk=batch.pk)
        if batch.status not in RELEASED_STATUSES:
            raise InvalidInput({"__all__": ["The product is not released."]})
        journey, why_not = _journey_of(batch)
        if journey is None:
            return JourneyStep(notes=(why_not,))
        notes = []
        milestone = None
        if guards.current_milestone(journey, RELEASED) is not None:
            notes.append(f"“{RELEASED.label}” was already recorded for this attempt.")
        else:
            milestone = _record_release(journey, batch, actor)
            notes.append(
                f"Recorded on the journey: {RELEASED.label}."
                if milestone
                else f"Your role may not record “{RELEASED.label}”; ask the center's navigator."
            )
        advanced_to, note = _move_on(journey, batch, actor)
        return JourneyStep(milestone, advanced_to, tuple(n for n in (*notes, note) if n))


def on_batch_rejected(batch: Batch, *, actor: User) -> JourneyStep:
    """Ask the treating physician to choose re-manufacture or withdrawal."""
    with transaction.atomic():
        batch = Batch.objects.get(pk=batch.pk)
        if batch.status != BatchStatus.REJECTED:
            raise InvalidInput({"__all__": ["The product is not rejected."]})
        journey, why_not = _journey_of(batch)
        if journey is None:
            return JourneyStep(notes=(why_not,))
        _task(
            journey,
            title=f"Product of attempt {batch.manufacture_attempt} rejected by the manufacturing "
            "facility: choose "
            "re-manufacture (a new resection) or withdrawal (manufacturing failure)",
            role=Role.PHYSICIAN,
            days=DECISION_TASK_DAYS,
            actor=actor,
            at=batch.status_changed_at,
        )
        return JourneyStep(
            notes=(
                "The treating physician chooses between re-manufacture (a new resection and "
                "attempt) and withdrawal; a task asks them to.",
            )
        )


def reject_batch(
    batch: Batch, *, reason: str, actor: User, occurred_at: dt.datetime | None = None
) -> JourneyStep:
    """The technologist's rejection of the batch (the batch page, the batch API) and the
    physician's decision task it opens, in one transaction. `occurred_at`: see `advance_batch`."""
    with transaction.atomic():
        rejected = batch_services.advance_batch(
            batch, BatchStatus.REJECTED, actor=actor, reason=reason, occurred_at=occurred_at
        )
        return on_batch_rejected(rejected, actor=actor)


def _ack_task_title(batch: Batch) -> str:
    return (
        f"Review and sign the release under exception of the product (attempt "
        f"{batch.manufacture_attempt}, batch {batch.coi_display})"
    )


def on_exception_pending(batch: Batch, *, actor: User) -> JourneyStep:
    """Ask a treating physician to review the failed test(s) and sign the acknowledgement."""
    with transaction.atomic():
        journey, why_not = _journey_of(batch)
        if journey is None:
            return JourneyStep(notes=(why_not,))
        _task(
            journey,
            title=_ack_task_title(batch),
            role=Role.PHYSICIAN,
            days=ACK_TASK_DAYS,
            actor=actor,
        )
        return JourneyStep(
            notes=(
                "Not released until a treating physician of the center signs the "
                "acknowledgement; a task asks them to.",
            )
        )


def dispose_batch(
    batch: Batch,
    *,
    decision: str,
    password: str,
    actor: User,
    reason: str = "",
    expires_at: dt.datetime | None = None,
) -> ReleaseOutcome:
    """QA's signed disposition, and what it does to the journey, in one transaction."""
    with transaction.atomic():
        disposition = release_services.decide_disposition(
            batch,
            decision=decision,
            password=password,
            actor=actor,
            reason=reason,
            expires_at=expires_at,
        )
        react = {
            Disposition.RELEASE: on_batch_released,
            Disposition.REJECT: on_batch_rejected,
            Disposition.RELEASE_EXCEPTION: on_exception_pending,
        }[Disposition(decision)]
        return ReleaseOutcome(disposition, react(disposition.batch, actor=actor))


def acknowledge_batch_exception(batch: Batch, *, password: str, actor: User) -> ReleaseOutcome:
    """The treating physician's signed acknowledgement, the release it makes, the journey."""
    with transaction.atomic():
        disposition = release_services.acknowledge_exception(batch, password=password, actor=actor)
        step = on_batch_released(disposition.batch, actor=actor)
        task = Task.objects.filter(
            journey__coi_din=batch.coi_din, title=_ack_task_title(batch), status=TaskStatus.OPEN
        ).first()
        if task is not None and policies.can_complete_task(actor, task):
            complete_task(task, actor=actor)
        return ReleaseOutcome(disposition, step)
