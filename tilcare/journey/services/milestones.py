"""Facts recorded on a journey (cleared, resected, received, infused…) and their voiding."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from tilcare.accounts.models import User
from tilcare.audit.actions import Action
from tilcare.audit.hashing import snapshot
from tilcare.audit.services import record_written
from tilcare.core.errors import InvalidInput
from tilcare.core.policy import require
from tilcare.core.timeutil import local_datetime
from tilcare.core.validation import check_moment
from tilcare.journey import policies
from tilcare.journey.choices import (
    MilestoneKind,
)
from tilcare.journey.models import (
    Journey,
    Milestone,
)
from tilcare.journey.services.journeys import (
    _subject,
)


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
        moment = check_moment(errors, "occurred_at", occurred_at, now=now)
        if moment and local_datetime(moment, journey.center.time_zone).date() < journey.referred_on:
            errors["occurred_at"] = [f"Date cannot be before the referral ({journey.referred_on})."]
        if errors:
            raise InvalidInput(errors)
        return _write_milestone(
            journey, kind, occurred_at, reference.strip(), note.strip(), actor, now, now=now
        )


def record_milestone_where_allowed(
    journey: Journey,
    *,
    actor: User,
    kind: MilestoneKind,
    occurred_at: dt.datetime,
    reference: str,
    note: str,
    facility_may: bool,
    recorded_at: dt.datetime,
) -> Milestone | None:
    """The fact as whoever established it may record it: a center user holding the milestone
    permission through `record_milestone`; else the manufacturing facility, by its own record (its
    accepted receipt scans for tissue received, its QA's signed disposition for product released),
    when the caller has checked that right (`facility_may`); anyone else records nothing (None).

    Facility staff hold no milestone permission: their milestone is written in the caller's
    transaction, at `recorded_at`, and audited under the journey like every other.
    """
    if policies.can_record_milestone(actor, journey, kind):
        return record_milestone(
            journey,
            actor=actor,
            kind=kind,
            occurred_at=occurred_at,
            reference=reference,
            note=note,
        )
    if not facility_may:
        return None
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("A facility's milestone must be written in the caller's transaction.")
    return _write_milestone(
        journey, kind, occurred_at, reference, note, actor, recorded_at, now=timezone.now()
    )


def _write_milestone(
    journey: Journey,
    kind: MilestoneKind,
    occurred_at: dt.datetime,
    reference: str,
    note: str,
    actor: User,
    recorded_at: dt.datetime,
    *,
    now: dt.datetime,
) -> Milestone:
    """The checked milestone row of the current attempt, with its audit event."""
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
    record_written(
        Action.JOURNEY_MILESTONE_RECORD,
        milestone,
        actor=actor,
        subject_id=_subject(journey),
        # The trail reads the fact at the time it happened and keeps when it was entered; a
        # time within the clock allowance ahead of now is recorded as now.
        occurred_at=occurred_at if occurred_at <= now else None,
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
        record_written(
            Action.JOURNEY_MILESTONE_VOID,
            milestone,
            actor=actor,
            before=before,
            reason=reason.strip(),
            subject_id=_subject(milestone.journey),
        )
    return milestone
