"""The eligibility checklist: filling it in, signing it, and amending it once signed.

A signed checklist changes only by `amend_eligibility`, with a reason, which voids the signature
(the row stays) until a physician signs again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from tilcare.accounts.choices import Role
from tilcare.accounts.models import User
from tilcare.audit.actions import Action
from tilcare.audit.hashing import snapshot
from tilcare.audit.models import Signature
from tilcare.audit.services import record_written, sign_record
from tilcare.core.errors import InvalidInput
from tilcare.core.policy import require
from tilcare.core.timeutil import local_today
from tilcare.journey import guards, policies
from tilcare.journey.choices import (
    SIGN_AGAIN_DUE_IN_DAYS,
    SIGN_AGAIN_TASK,
    TaskStatus,
)
from tilcare.journey.models import (
    ELIGIBILITY_CRITERIA,
    EligibilityChecklist,
    Journey,
    Task,
)
from tilcare.journey.services.journeys import (
    _clean_reason,
    _locked,
    _subject,
)


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


ELIGIBILITY_EDIT_REFUSED = "You may not edit this journey's eligibility checklist."


def _locked_for_editing(journey: Journey, actor: User) -> Journey:
    """The journey's locked row, once the actor may edit its checklist: checked against that row,
    as the journey may have been closed since it was read."""
    journey = _locked(journey)
    require(policies.can_edit_eligibility(actor, journey), ELIGIBILITY_EDIT_REFUSED)
    return journey


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
        journey = _locked_for_editing(journey, actor)
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
        record_written(
            Action.JOURNEY_ELIGIBILITY_SAVE,
            checklist,
            actor=actor,
            before=before,
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
        journey = _locked_for_editing(journey, actor)
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
        record_written(
            Action.JOURNEY_ELIGIBILITY_AMEND,
            checklist,
            actor=actor,
            before=before,
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
