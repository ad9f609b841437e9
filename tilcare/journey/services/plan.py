"""The journey's plan: planned dates and the manufacturing facility.

A planned date carried out stays on record. The facility changes with the plan until the
resection; from then until a product exists only by `change_manufacturing_facility`, with a
reason; after that not at all (`guards.facility_change`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db import transaction

from tilcare.accounts.models import Organization, User
from tilcare.audit.actions import Action
from tilcare.audit.hashing import snapshot
from tilcare.audit.services import record_written
from tilcare.core.errors import InvalidInput
from tilcare.core.policy import require
from tilcare.journey import guards, policies
from tilcare.journey.choices import (
    STAGE_TASKS,
    FacilityChange,
    Stage,
    TaskStatus,
)
from tilcare.journey.models import (
    Journey,
)
from tilcare.journey.services.journeys import (
    _PLANS,
    _clean_reason,
    _locked,
    _subject,
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
        record_written(
            Action.JOURNEY_PLAN,
            journey,
            actor=actor,
            before=before,
            subject_id=_subject(journey),
            occurred_at=occurred_at,
        )
    return journey


_PLAN_LABELS = {
    "planned_resection_on": "Planned resection date",
    "planned_infusion_on": "Planned infusion date (Day 0)",
}


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
        record_written(
            Action.JOURNEY_FACILITY_CHANGE,
            journey,
            actor=actor,
            before=before,
            reason=text,
            subject_id=_subject(journey),
        )
    return journey
