"""Every write to a journey: opening it with its COI identifier, moving it, what is recorded on it.

`advance()` is the only function that changes a journey's stage. It checks the policy, the
transition table and the guards, appends a transition row, records the audit event and creates
the next stage's tasks, all in one transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from tilcare.accounts.choices import Role
from tilcare.accounts.models import Organization, User
from tilcare.audit.hashing import snapshot
from tilcare.audit.models import Signature
from tilcare.audit.services import check_occurred_at, record_event, sign_record
from tilcare.clinical.checkdigits import format_din, mod37_2
from tilcare.core.errors import InvalidInput, TransitionBlocked
from tilcare.core.policy import require
from tilcare.core.timeutil import local_datetime, local_today
from tilcare.core.workflow import check_transition
from tilcare.identity.choices import ItemKind
from tilcare.identity.models import Item
from tilcare.identity.services.items import create_item
from tilcare.journey import guards, policies
from tilcare.journey.choices import (
    SIGN_AGAIN_DUE_IN_DAYS,
    SIGN_AGAIN_TASK,
    STAGE_LABELS,
    STAGE_TASKS,
    TRANSITIONS,
    FacilityChange,
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
    ELIGIBILITY_CRITERIA,
    CoiSequence,
    EligibilityChecklist,
    Journey,
    JourneyTransition,
    Milestone,
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


def _due_on(template: TaskTemplate, journey: Journey, entered_on: dt.date) -> dt.date:
    """Tied to a planned date once it is planned (the plan says when), else counted from the
    day the stage was entered."""
    planned = getattr(journey, template.anchor) if template.anchor else None
    if planned is not None:
        return planned + dt.timedelta(days=template.anchor_offset_days)
    return entered_on + dt.timedelta(days=template.due_in_days)


def _create_tasks(journey: Journey, stage: Stage, today: dt.date) -> None:
    Task.objects.bulk_create(
        Task(
            journey=journey,
            stage=stage,
            title=template.title,
            role=template.role,
            due_on=_due_on(template, journey, today),
        )
        for template in STAGE_TASKS.get(stage, ())
    )


def _follow_the_plan(journey: Journey, changed: set[str]) -> None:
    """Open tasks tied to a planned date that changed move with it (a cleared date leaves them
    where they are)."""
    for task in journey.tasks.filter(status=TaskStatus.OPEN):
        for template in STAGE_TASKS.get(Stage(task.stage), ()):
            if template.title != task.title or template.anchor not in changed:
                continue
            planned = getattr(journey, template.anchor)
            if planned is not None:
                task.due_on = planned + dt.timedelta(days=template.anchor_offset_days)
                task.save(update_fields=["due_on", "updated_at"])


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
        record_event(
            "journey.open",
            journey,
            actor=actor,
            after=snapshot(journey),
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
        check_transition(TRANSITIONS, source, target, STAGE_LABELS)
        require(
            policies.can_advance_journey(actor, journey, target),
            f"Your role may not move a journey to “{target.label}”.",
        )
        kind = transition_kind(source, target)
        _validate_move(journey, target, kind, reason, withdrawal_reason)
        blocked = [r.reason for r in guards.evaluate_move(journey, target) if not r.met]
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
            journey.tasks.filter(status=TaskStatus.OPEN).update(status=TaskStatus.CANCELLED)
        else:
            _create_tasks(journey, target, local_datetime(now, journey.center.time_zone).date())
        record_event(
            f"journey.{kind.value}",
            journey,
            actor=actor,
            before=before,
            after=snapshot(journey),
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


def record_milestone(
    journey: Journey,
    *,
    actor: User,
    kind: MilestoneKind | str,
    occurred_at: dt.datetime,
    reference: str = "",
    note: str = "",
) -> Milestone:
    """Record a fact on the journey (cleared, resected, received, infused…)."""
    try:
        kind = MilestoneKind(kind)
    except ValueError:
        raise InvalidInput({"kind": [f"“{kind}” is not a milestone."]}) from None
    with transaction.atomic():
        # Checked against the locked row, not the caller's copy: the journey may have been
        # withdrawn or re-manufactured since it was read, and the attempt must be the current one.
        journey = Journey.objects.select_for_update().select_related("center").get(pk=journey.pk)
        require(
            policies.can_record_milestone(actor, journey, kind),
            f"Your role may not record “{kind.label}”.",
        )
        now = timezone.now()
        errors: dict[str, list[str]] = {}
        if timezone.is_naive(occurred_at):
            errors["occurred_at"] = ["Give the date and time with its time zone."]
        elif occurred_at > now + dt.timedelta(minutes=5):
            errors["occurred_at"] = ["Date and time cannot be in the future."]
        elif local_datetime(occurred_at, journey.center.time_zone).date() < journey.referred_on:
            errors["occurred_at"] = [f"Date cannot be before the referral ({journey.referred_on})."]
        if errors:
            raise InvalidInput(errors)
        milestone = Milestone.objects.create(
            journey=journey,
            kind=kind,
            attempt=journey.manufacture_attempt,
            occurred_at=occurred_at,
            reference=reference.strip(),
            note=note.strip(),
            recorded_by=actor,
            recorded_at=now,
        )
        record_event(
            "journey.milestone.record",
            milestone,
            actor=actor,
            after=snapshot(milestone),
            subject_id=_subject(journey),
            # The trail reads the fact at the time it happened and keeps when it was entered; a
            # time within the clock allowance ahead of now is recorded as now.
            occurred_at=occurred_at if occurred_at <= now else None,
        )
    return milestone


def record_facility_milestone(
    journey: Journey,
    *,
    kind: MilestoneKind,
    occurred_at: dt.datetime,
    reference: str,
    note: str,
    actor: User,
    recorded_at: dt.datetime,
) -> Milestone:
    """A fact the manufacturing facility establishes by its own record: its accepted receipt
    scans (tissue received) or its QA's signed disposition (product released).

    Facility staff hold no milestone permission: the caller has already checked the facility's
    own right (its scan, its signature) and runs this inside its transaction. The milestone is
    audited under the journey like every other.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("record_facility_milestone() must run inside the caller's transaction.")
    milestone = Milestone.objects.create(
        journey=journey,
        kind=kind,
        attempt=journey.manufacture_attempt,
        occurred_at=occurred_at,
        reference=reference,
        note=note,
        recorded_by=actor,
        recorded_at=recorded_at,
    )
    record_event(
        "journey.milestone.record",
        milestone,
        actor=actor,
        after=snapshot(milestone),
        subject_id=_subject(journey),
        occurred_at=occurred_at if occurred_at <= timezone.now() else None,
    )
    return milestone


def void_milestone(milestone: Milestone, *, actor: User, reason: str) -> Milestone:
    """Mark a mistaken milestone void, keeping it visible with who voided it and why."""
    kind = MilestoneKind(milestone.kind)
    require(
        policies.can_record_milestone(actor, milestone.journey, kind),
        f"Your role may not change “{kind.label}”.",
    )
    if milestone.voided_at is not None:
        raise InvalidInput({"__all__": ["This entry is already void."]})
    if not reason.strip():
        raise InvalidInput({"reason": ["Say why this entry is void."]})
    with transaction.atomic():
        before = snapshot(milestone)
        milestone.voided_at = timezone.now()
        milestone.voided_by = actor
        milestone.void_reason = reason.strip()
        milestone.save(update_fields=["voided_at", "voided_by", "void_reason"])
        record_event(
            "journey.milestone.void",
            milestone,
            actor=actor,
            before=before,
            after=snapshot(milestone),
            reason=reason.strip(),
            subject_id=_subject(milestone.journey),
        )
    return milestone


def plan_journey(
    journey: Journey,
    *,
    actor: User,
    changes: Mapping[str, Any],
    occurred_at: dt.datetime | None = None,
) -> Journey:
    """Set planned dates and the manufacturing facility (`occurred_at`: when, if earlier)."""
    with transaction.atomic():
        # Checked against the locked row: the caller's copy may predate a withdrawal or another
        # change to the plan, and infusion must follow the resection as it is now stored.
        journey = Journey.objects.select_for_update().get(pk=journey.pk)
        require(
            policies.can_plan_journey(actor, journey), "You may not change this journey's plan."
        )
        allowed = {"planned_resection_on", "planned_infusion_on", "manufacturing_facility"}
        errors: dict[str, list[str]] = {}
        unknown = set(changes) - allowed
        if unknown:
            errors["__all__"] = [f"Unknown field(s): {', '.join(sorted(unknown))}."]
        for field in ("planned_resection_on", "planned_infusion_on"):
            value = changes.get(field)
            if value is not None and value < journey.referred_on:
                errors[field] = [f"Date cannot be before the referral ({journey.referred_on})."]
        resection = changes.get("planned_resection_on", journey.planned_resection_on)
        infusion = changes.get("planned_infusion_on", journey.planned_infusion_on)
        if resection and infusion and infusion <= resection:
            errors.setdefault("planned_infusion_on", []).append(
                "Infusion must be planned after the resection (manufacturing takes weeks)."
            )
        facility = changes.get("manufacturing_facility")
        if facility is not None and not facility.is_facility:
            errors["manufacturing_facility"] = ["Choose a manufacturing facility."]
        elif "manufacturing_facility" in changes and (
            (facility.pk if facility is not None else None) != journey.manufacturing_facility_id
        ):
            refused = _facility_not_with_the_plan(journey)
            if refused:
                errors["manufacturing_facility"] = [refused]
        for field, done in _PLANS:
            if (
                field in changes
                and changes[field] is None
                and getattr(journey, field) is not None
                and guards.current_milestone(journey, done) is not None
            ):
                errors[field] = [
                    f"{_PLAN_LABELS[field]}: it was carried out, so its date stays on record "
                    "and cannot be cleared."
                ]
        if errors:
            raise InvalidInput(errors)
        before = snapshot(journey)
        for field, value in changes.items():
            setattr(journey, field, value)
        journey.save()
        _follow_the_plan(journey, set(changes))
        record_event(
            "journey.plan",
            journey,
            actor=actor,
            before=before,
            after=snapshot(journey),
            subject_id=_subject(journey),
            occurred_at=occurred_at,
        )
    return journey


_PLAN_LABELS = {
    "planned_resection_on": "Planned resection date",
    "planned_infusion_on": "Planned infusion date (Day 0)",
}
REASON_MAX = 2000


def _facility_not_with_the_plan(journey: Journey) -> str:
    """Why the facility cannot change with the plan now ("" when it can)."""
    rule = guards.facility_change(journey)
    current = journey.manufacturing_facility.name if journey.manufacturing_facility else ""
    if rule == FacilityChange.WITH_REASON:
        return (
            f"Manufacturing facility: the tissue is on its way to or in culture at {current}. "
            "Another facility is chosen with “Change the facility”, which asks for a reason."
        )
    if rule == FacilityChange.FIXED:
        return _FACILITY_FIXED_MESSAGE.format(facility=current or "the facility on record")
    return ""


_FACILITY_FIXED_MESSAGE = (
    "Manufacturing facility: the product of this attempt was made by {facility}, which stays on "
    "record. Another facility can be chosen only for a new manufacturing attempt."
)


def _clean_reason(reason: str, errors: dict[str, list[str]], missing: str) -> str:
    text = (reason or "").strip()
    if not text:
        errors["reason"] = [missing]
    elif len(text) > REASON_MAX:
        errors["reason"] = [f"Reason can be at most {REASON_MAX} characters (it has {len(text)})."]
    return text


def change_manufacturing_facility(
    journey: Journey, *, actor: User, facility: Organization | None, reason: str
) -> Journey:
    """Move a journey whose tissue is already on its way to or at a facility to another one.

    An explicit change with a reason (a transfer, or a facility chosen by mistake), audited with
    that reason; possible until the product of the current attempt exists
    (`guards.facility_change`). The previous facility no longer sees the journey; its batch and
    the items it labelled keep their own records.
    """
    errors: dict[str, list[str]] = {}
    text = _clean_reason(
        reason, errors, "Reason is required: say why the manufacturing facility changes."
    )
    with transaction.atomic():
        journey = _locked(journey)
        require(
            policies.can_change_facility(actor, journey),
            "Your role may not change the manufacturing facility of this journey.",
        )
        current = journey.manufacturing_facility
        if guards.facility_change(journey) == FacilityChange.FIXED:
            errors["manufacturing_facility"] = [
                _FACILITY_FIXED_MESSAGE.format(
                    facility=current.name if current else "the facility on record"
                )
            ]
        elif facility is None or not facility.is_facility:
            errors["manufacturing_facility"] = [
                "Manufacturing facility: choose the facility that now manufactures this journey."
            ]
        elif facility.pk == journey.manufacturing_facility_id:
            errors["manufacturing_facility"] = [
                f"Manufacturing facility: {facility.name} is already this journey's facility."
            ]
        if errors:
            raise InvalidInput(errors)
        before = snapshot(journey)
        journey.manufacturing_facility = facility
        journey.save()
        record_event(
            "journey.facility.change",
            journey,
            actor=actor,
            before=before,
            after=snapshot(journey),
            reason=text,
            subject_id=_subject(journey),
        )
    return journey


def _eligibility_errors(data: Mapping[str, Any]) -> dict[str, list[str]]:
    allowed = {field for field, _ in ELIGIBILITY_CRITERIA} | {"ecog", "notes"}
    unknown = set(data) - allowed
    errors: dict[str, list[str]] = {}
    if unknown:
        errors["__all__"] = [f"Unknown field(s): {', '.join(sorted(unknown))}."]
    ecog = data.get("ecog")
    if ecog is not None and not (isinstance(ecog, int) and 0 <= ecog <= 5):
        errors["ecog"] = ["ECOG performance status must be a whole number from 0 to 5."]
    return errors


def _changes_checklist(checklist: EligibilityChecklist, data: Mapping[str, Any]) -> bool:
    return any(getattr(checklist, field) != value for field, value in data.items())


SIGNED_CHECKLIST_MESSAGE = (
    "This checklist is signed. To change it, amend it and give a reason: the signature is then "
    "voided and a physician must sign the checklist again."
)


def save_eligibility(
    journey: Journey,
    *,
    actor: User,
    data: Mapping[str, Any],
    occurred_at: dt.datetime | None = None,
) -> EligibilityChecklist:
    """Create or change the eligibility checklist while it is not validly signed.

    A signed checklist is changed only by `amend_eligibility`, with a reason; here a change to it
    is refused and nothing is written."""
    errors = _eligibility_errors(data)
    with transaction.atomic():
        # Checked against the locked row: the journey may have been closed since it was read.
        journey = _locked(journey)
        require(
            policies.can_edit_eligibility(actor, journey),
            "You may not edit this journey's eligibility checklist.",
        )
        if errors:
            raise InvalidInput(errors)
        checklist, created = EligibilityChecklist.objects.select_for_update().get_or_create(
            journey=journey
        )
        if (
            not created
            and _changes_checklist(checklist, data)
            and guards.valid_eligibility_signature(journey)[0]
        ):
            raise InvalidInput({"__all__": [SIGNED_CHECKLIST_MESSAGE]})
        before = None if created else snapshot(checklist)
        for field, value in data.items():
            setattr(checklist, field, value)
        checklist.save()
        record_event(
            "journey.eligibility.save",
            checklist,
            actor=actor,
            before=before,
            after=snapshot(checklist),
            subject_id=_subject(journey),
            occurred_at=occurred_at,
        )
    return checklist


def amend_eligibility(
    journey: Journey, *, actor: User, data: Mapping[str, Any], reason: str
) -> EligibilityChecklist:
    """Amend a signed eligibility checklist: an explicit change with a reason.

    The signature is voided: its row stays (signatures are append-only) and the checklist records
    which signature was voided, by whom, when and why. Nothing that needs the signed checklist
    proceeds until a physician signs again; the physicians get a task to do so. The audit event
    carries the reason and the before and after values.
    """
    errors = _eligibility_errors(data)
    text = _clean_reason(
        reason, errors, "Reason is required: say why the signed checklist changes."
    )
    with transaction.atomic():
        journey = _locked(journey)
        require(
            policies.can_edit_eligibility(actor, journey),
            "You may not edit this journey's eligibility checklist.",
        )
        checklist = EligibilityChecklist.objects.select_for_update().filter(journey=journey).first()
        signature = guards.latest_eligibility_signature(checklist) if checklist else None
        if (
            checklist is None
            or signature is None
            or not guards.valid_eligibility_signature(journey)[0]
        ):
            raise InvalidInput(
                {
                    "__all__": [
                        "This checklist has no valid signature to amend: save the changes with "
                        "“Save checklist”."
                    ]
                }
            )
        if errors:
            raise InvalidInput(errors)
        if not _changes_checklist(checklist, data):
            raise InvalidInput(
                {
                    "__all__": [
                        "Nothing differs from the signed checklist: change a criterion, ECOG or "
                        "the notes, or leave the checklist as it was signed."
                    ]
                }
            )
        before = snapshot(checklist)
        for field, value in data.items():
            setattr(checklist, field, value)
        checklist.voided_signature = signature
        checklist.signature_voided_at = timezone.now()
        checklist.signature_voided_by = actor
        checklist.signature_void_reason = text
        checklist.save()
        _ask_to_sign_again(journey)
        record_event(
            "journey.eligibility.amend",
            checklist,
            actor=actor,
            before=before,
            after=snapshot(checklist),
            reason=text,
            subject_id=_subject(journey),
        )
    return checklist


def _ask_to_sign_again(journey: Journey) -> None:
    """A physician's task to review and sign the amended checklist (one open task at a time)."""
    if journey.tasks.filter(title=SIGN_AGAIN_TASK, status=TaskStatus.OPEN).exists():
        return
    Task.objects.create(
        journey=journey,
        stage=journey.stage,
        title=SIGN_AGAIN_TASK,
        role=Role.PHYSICIAN,
        due_on=local_today(journey.center.time_zone) + dt.timedelta(days=SIGN_AGAIN_DUE_IN_DAYS),
    )


def sign_eligibility(journey: Journey, *, actor: User, password: str) -> Signature:
    """A physician signs the eligibility checklist (re-entering their password)."""
    with transaction.atomic():
        journey = _locked(journey)
        require(
            policies.can_sign_eligibility(actor, journey),
            "Only a treating physician of this center may sign eligibility.",
        )
        checklist = EligibilityChecklist.objects.select_for_update().filter(journey=journey).first()
        if checklist is None:
            raise InvalidInput(
                {"__all__": ["Fill in the eligibility checklist before signing it."]}
            )
        if checklist.unmet:
            raise InvalidInput(
                {"__all__": ["These criteria are not met: " + "; ".join(checklist.unmet) + "."]}
            )
        return sign_record(
            checklist,
            actor=actor,
            password=password,
            meaning=guards.ELIGIBILITY_MEANING,
            subject_id=_subject(journey),
        )


SPECIMEN_DESCRIPTION = "Tumor specimen container"


def create_first_item(journey: Journey, *, actor: User) -> tuple[Item, bool]:
    """Start the journey's chain of identity with its tumor specimen container, once.

    Returns the item and whether it was created now. The item is made from the journey itself:
    its COI identifier, center, manufacturing facility and attempt. A journey whose COI already
    has an item has started its chain, so a repeated request (a double click, a reload, a second
    tab) creates nothing and answers with the specimen container that exists. The journey's row
    lock makes two requests at the same moment wait for each other, and identity's unique item
    number refuses the second where the database has no row locks. Later items (a
    re-manufacture's new container among them) are added on the items page.
    """
    with transaction.atomic():
        journey = _locked(journey)
        require(
            policies.can_handle_specimens(actor, journey),
            "You may not create specimen containers for this journey.",
        )
        if not policies.can_create_first_item(actor, journey):
            # A handler is told why, not refused as if they had no right: the journey is closed.
            raise InvalidInput(
                {
                    "__all__": [
                        f"This journey is {journey.stage_label().lower()}: no specimen "
                        "container is created for it."
                    ]
                }
            )
        items = Item.objects.filter(coi_din=journey.coi_din).order_by("created_at", "id")
        existing = items.filter(kind=ItemKind.TUMOR_SPECIMEN).first() or items.first()
        if existing is not None:
            return existing, False
        item = create_item(
            coi_din=journey.coi_din,
            coi_check=journey.coi_check,
            kind=ItemKind.TUMOR_SPECIMEN,
            center=journey.center,
            facility=journey.manufacturing_facility,
            description=SPECIMEN_DESCRIPTION,
            actor=actor,
            manufacture_attempt=journey.manufacture_attempt,
        )
    return item, True


def complete_task(task: Task, *, actor: User, occurred_at: dt.datetime | None = None) -> Task:
    """Mark a task done. `occurred_at`: when it was done, if earlier than now; not before the
    journey entered the task's stage when that is the current one."""
    require(policies.can_complete_task(actor, task), "You may not complete this task.")
    with transaction.atomic():
        task = Task.objects.select_for_update().select_related("journey__center").get(pk=task.pk)
        if task.status != TaskStatus.OPEN:
            raise InvalidInput({"__all__": ["This task is no longer open."]})
        done = _moment(occurred_at, timezone.now())
        journey = task.journey
        if (
            occurred_at is not None
            and task.stage == journey.stage
            and done < journey.stage_entered_at
        ):
            entered = _when(journey.stage_entered_at, journey.center.time_zone)
            raise InvalidInput(
                {
                    "occurred_at": [
                        f"The task cannot be done before the journey entered "
                        f"“{journey.stage_label()}” ({entered})."
                    ]
                }
            )
        before = snapshot(task)
        task.status = TaskStatus.DONE
        task.completed_by = actor
        task.completed_at = done
        task.save()
        record_event(
            "journey.task.complete",
            task,
            actor=actor,
            before=before,
            after=snapshot(task),
            subject_id=_subject(task.journey),
            occurred_at=occurred_at,
        )
    return task
