"""Opening a journey with its chain-of-identity number and moving it through its stages.

`advance()` is the only function that changes a journey's stage. It checks the policy, the
transition table and the guards, appends a transition row, records the audit event and creates
the next stage's tasks, all in one transaction. The helpers the other services share (the locked
row, the moment a step happened, a reason's limits) live here too.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from tilcare.accounts.models import Organization, User
from tilcare.audit.actions import Action, journey_move
from tilcare.audit.hashing import snapshot
from tilcare.audit.services import check_occurred_at, record_written
from tilcare.clinical.checkdigits import format_din, mod37_2
from tilcare.core.errors import InvalidInput, TransitionBlocked
from tilcare.core.policy import require
from tilcare.core.timeutil import local_datetime, local_today
from tilcare.core.validation import TextWords, check_text
from tilcare.journey import guards, policies
from tilcare.journey.choices import (
    JOURNEY_WORKFLOW,
    STAGE_TASKS,
    MilestoneKind,
    Protocol,
    Stage,
    TaskStatus,
    TaskTemplate,
    TransitionKind,
    WithdrawalReason,
    transition_kind,
)
from tilcare.journey.models import (
    CoiSequence,
    Journey,
    JourneyTransition,
    Task,
)
from tilcare.patients.models import Patient


def _subject(journey: Journey) -> str:
    return str(journey.public_id)


def _locked(journey: Journey) -> Journey:
    """The journey's row, locked for the rest of the transaction, with its center."""
    return (
        Journey.objects.select_for_update().select_related("center", "patient").get(pk=journey.pk)
    )


def _moment(occurred_at: dt.datetime | None, now: dt.datetime) -> dt.datetime:
    """When a step happened: now, or the earlier instant the caller gives (refused if it has
    no time zone or is later than now)."""
    if occurred_at is None:
        return now
    check_occurred_at(occurred_at, now=now)
    return occurred_at


def _when(moment: dt.datetime, time_zone: str) -> str:
    return local_datetime(moment, time_zone).strftime("%d %b %Y %H:%M")


def _next_coi(center: Organization, assigned: dt.datetime) -> tuple[str, str]:
    """Issue the next DIN for the center's FIN and year, with its check character.

    The year is the one in which the identifier is assigned (ISBT 128: the DIN's year), in the
    center's zone: `assigned` is when the journey was opened, which is earlier than now when a
    referral is recorded late. Each FIN and year has its own sequence, so a number issued late
    for last year continues last year's sequence and never repeats one."""
    if not center.isbt_fin:
        raise InvalidInput(
            {
                "__all__": [
                    "This center has no ISBT 128 facility identification number (FIN) yet. "
                    "A center administrator must set it in the center settings before a "
                    "journey can be given its chain-of-identity number."
                ]
            }
        )
    year = local_datetime(assigned, center.time_zone).year % 100
    try:
        with transaction.atomic():
            CoiSequence.objects.get_or_create(fin=center.isbt_fin, year=year)
    except IntegrityError:
        pass  # created by a concurrent request; the locked read below sees it
    sequence = CoiSequence.objects.select_for_update().get(fin=center.isbt_fin, year=year)
    sequence.last_sequence += 1
    sequence.save(update_fields=["last_sequence"])
    if sequence.last_sequence > 999_999:
        raise InvalidInput(
            {
                "__all__": [
                    f"All 999,999 chain-of-identity numbers of FIN {center.isbt_fin} for "
                    f"{local_datetime(assigned, center.time_zone).year} are used; ICCBBA must "
                    "assign the center another FIN."
                ]
            }
        )
    din = format_din(center.isbt_fin, year, sequence.last_sequence)
    return din, mod37_2(din).character


REASON_MAX = 2000
REASON_TOO_LONG = "Reason can be at most {max_length} characters (it has {length})."


def _clean_reason(reason: str, errors: dict[str, list[str]], missing: str) -> str:
    words = TextWords(required=missing, too_long=REASON_TOO_LONG)
    return check_text(errors, "reason", reason, max_length=REASON_MAX, words=words)


def _due_on(template: TaskTemplate, journey: Journey, entered_on: dt.date) -> dt.date:
    """Tied to a planned date once it is planned (the plan says when), else counted from the
    day the stage was entered."""
    planned = getattr(journey, template.anchor) if template.anchor else None
    if planned is not None:
        return planned + dt.timedelta(days=template.anchor_offset_days)
    return entered_on + dt.timedelta(days=template.due_in_days)


def _create_tasks(journey: Journey, stage: Stage, today: dt.date) -> None:
    # Saved one by one (a stage has a handful), not in bulk: the stage change event that follows
    # vouches for each new task's row (audit/regulated.py).
    for template in STAGE_TASKS.get(stage, ()):
        Task.objects.create(
            journey=journey,
            stage=stage,
            title=template.title,
            role=template.role,
            due_on=_due_on(template, journey, today),
        )


def open_journey(
    patient: Patient,
    *,
    actor: User,
    protocol: str,
    referred_on: dt.date,
    referring_physician: str = "",
    occurred_at: dt.datetime | None = None,
) -> Journey:
    """Open a therapy course for `patient` and give it its chain-of-identity number.

    `occurred_at`: when the journey was opened, if earlier than now; not before the referral
    day. The journey's first stage, its timeline and its audit event are dated then.
    """
    require(
        policies.can_create_journey(actor, patient), "You may not open journeys at this center."
    )
    center = patient.center
    today = local_today(center.time_zone)
    errors: dict[str, list[str]] = {}
    if protocol not in Protocol.values:
        errors["protocol"] = [f"Choose one of: {', '.join(Protocol.labels)}."]
    if referred_on > today:
        errors["referred_on"] = [f"Referral date cannot be in the future (today is {today})."]
    elif referred_on < patient.date_of_birth:
        errors["referred_on"] = ["Referral date cannot be before the patient's date of birth."]
    open_journey_message = "This patient already has an open journey; close it first."
    if patient.journeys.exclude(stage__in=[Stage.COMPLETED, Stage.WITHDRAWN]).exists():
        errors["__all__"] = [open_journey_message]
    opened = _moment(occurred_at, timezone.now())
    if occurred_at is not None and local_datetime(opened, center.time_zone).date() < referred_on:
        errors["occurred_at"] = [
            f"The journey cannot be opened before the referral ({referred_on})."
        ]
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        # Checked again under the patient's row lock: two submissions at the same moment (a
        # double click) must not give one patient two journeys and two COI numbers.
        Patient.objects.select_for_update().get(pk=patient.pk)
        if patient.journeys.exclude(stage__in=[Stage.COMPLETED, Stage.WITHDRAWN]).exists():
            raise InvalidInput({"__all__": [open_journey_message]})
        din, check = _next_coi(center, opened)
        journey = Journey.objects.create(
            patient=patient,
            center=center,
            protocol=protocol,
            coi_din=din,
            coi_check=check,
            stage=Stage.REFERRAL,
            stage_entered_at=opened,
            referred_on=referred_on,
            referring_physician=referring_physician.strip(),
        )
        JourneyTransition.objects.create(
            journey=journey,
            from_stage="",
            to_stage=Stage.REFERRAL,
            kind=TransitionKind.CREATE,
            actor=actor,
            occurred_at=opened,
            recorded_at=timezone.now(),
        )
        _create_tasks(journey, Stage.REFERRAL, local_datetime(opened, center.time_zone).date())
        record_written(
            Action.JOURNEY_OPEN,
            journey,
            actor=actor,
            subject_id=_subject(journey),
            occurred_at=occurred_at,
        )
    return journey


def _validate_move(
    journey: Journey, target: Stage, kind: TransitionKind, reason: str, withdrawal_reason: str
) -> None:
    errors: dict[str, list[str]] = {}
    if kind == TransitionKind.WITHDRAW:
        if withdrawal_reason not in WithdrawalReason.values:
            errors["withdrawal_reason"] = [
                f"Choose a withdrawal reason: {', '.join(WithdrawalReason.labels)}."
            ]
        elif withdrawal_reason == WithdrawalReason.OTHER and not reason.strip():
            errors["reason"] = ["Describe the reason when “Other” is chosen."]
    elif kind == TransitionKind.REMANUFACTURE and not reason.strip():
        errors["reason"] = ["Say why the product must be manufactured again."]
    if errors:
        raise InvalidInput(errors)


def advance(
    journey: Journey,
    target: Stage | str,
    *,
    actor: User,
    reason: str = "",
    withdrawal_reason: str = "",
    occurred_at: dt.datetime | None = None,
) -> Journey:
    """Move `journey` to `target`, or say why it cannot move.

    `occurred_at`: when the move happened, if earlier than now; not before the journey entered
    its current stage. The stage, the timeline row, the next tasks' due dates and the audit
    event are dated then; the audit event also keeps when it was recorded.
    """
    try:
        target = Stage(target)
    except ValueError:
        raise InvalidInput({"to_stage": [f"“{target}” is not a journey stage."]}) from None
    with transaction.atomic():
        journey = (
            Journey.objects.select_for_update()
            .select_related("patient", "center")
            .get(pk=journey.pk)
        )
        require(policies.can_view_journey(actor, journey), "You may not see this journey.")
        source = Stage(journey.stage)
        JOURNEY_WORKFLOW.check(source, target)
        require(
            policies.can_advance_journey(actor, journey, target),
            f"Your role may not move a journey to “{target.label}”.",
        )
        kind = transition_kind(source, target)
        _validate_move(journey, target, kind, reason, withdrawal_reason)
        # A move recorded after the fact is judged when it happened (the infusion window).
        blocked = [
            r.reason for r in guards.evaluate_move(journey, target, occurred_at) if not r.met
        ]
        if blocked:
            raise TransitionBlocked(blocked)
        recorded = timezone.now()
        now = _moment(occurred_at, recorded)
        if occurred_at is not None and now < journey.stage_entered_at:
            entered = _when(journey.stage_entered_at, journey.center.time_zone)
            raise InvalidInput(
                {
                    "occurred_at": [
                        f"The move cannot be dated before the journey entered "
                        f"“{source.label}” ({entered})."
                    ]
                }
            )
        before = snapshot(journey)
        if kind == TransitionKind.REMANUFACTURE:
            journey.manufacture_attempt += 1
        journey.stage = target
        journey.stage_entered_at = now
        if kind == TransitionKind.WITHDRAW:
            journey.withdrawal_reason = withdrawal_reason
            journey.withdrawal_note = reason.strip()
            _clear_plans_not_carried_out(journey)
        journey.save()
        JourneyTransition.objects.create(
            journey=journey,
            from_stage=source,
            to_stage=target,
            kind=kind,
            actor=actor,
            occurred_at=now,
            recorded_at=recorded,
            reason=reason.strip(),
            withdrawal_reason=withdrawal_reason if kind == TransitionKind.WITHDRAW else "",
        )
        if journey.is_closed:
            # Each saved, so the event below vouches for every cancelled task.
            for task in journey.tasks.filter(status=TaskStatus.OPEN):
                task.status = TaskStatus.CANCELLED
                task.save(update_fields=["status", "updated_at"])
        else:
            _create_tasks(journey, target, local_datetime(now, journey.center.time_zone).date())
        record_written(
            journey_move(kind),
            journey,
            actor=actor,
            before=before,
            reason=reason.strip(),
            subject_id=_subject(journey),
            occurred_at=occurred_at,
        )
    return journey


# Each planned date and the milestone that shows it was carried out.
_PLANS = (
    ("planned_resection_on", MilestoneKind.RESECTION_PERFORMED),
    ("planned_infusion_on", MilestoneKind.INFUSION_DONE),
)


def _clear_plans_not_carried_out(journey: Journey) -> None:
    """A withdrawn patient will have no more resection or infusion: a planned date not yet
    carried out is no plan any more, and no page, portal or board should count days to it.
    A plan that was carried out is what happened and stays; the audit event keeps the cleared
    dates (its "before")."""
    for field, done in _PLANS:
        if getattr(journey, field) is not None and guards.current_milestone(journey, done) is None:
            setattr(journey, field, None)


@dataclass(frozen=True)
class MoveOn:
    """What `advance_where_allowed` did: the stage it moved the journey into ("" when it did not)
    and a note for the person at the screen. `permitted` is False when this person's role may not
    make the move: the caller says who does (or asks them with a task)."""

    stage: str = ""
    note: str = ""
    permitted: bool = True


def advance_where_allowed(journey: Journey, *, source: Stage, target: Stage, actor: User) -> MoveOn:
    """Move `journey` from `source` into `target` if this person may, as a step recorded elsewhere
    (a receipt scan, QA's release) allows; otherwise say why it stays.

    The step that called this stands either way: not moving is an answer, not an error. The move
    itself is `advance()`, which checks the policy, the table and the guards once; only the
    journey's stage is read first, because a journey already past `source` is told apart from one
    that has not reached it.
    """
    if journey.stage != source:
        if journey.stage == target:
            return MoveOn()
        return MoveOn(
            note=f"The journey is in “{journey.stage_label()}”; it moves to “{target.label}” "
            f"from “{source.label}”."
        )
    if not policies.can_advance_journey(actor, journey, target):
        return MoveOn(permitted=False)
    try:
        advance(journey, target, actor=actor)
    except TransitionBlocked as blocked:
        return MoveOn(note=f"Not yet moved to “{target.label}”: {' '.join(blocked.reasons)}")
    return MoveOn(stage=target.value, note=f"Journey moved to “{target.label}”.")
