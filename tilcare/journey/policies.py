"""Who may see and move a journey. Deny by default.

Center staff see their center's journeys with the patient's identity. A manufacturing facility's
staff see only the journeys assigned to their facility, by COI identifier, never the patient.
"""

from __future__ import annotations

from typing import Any

from tilcare.accounts.policies import is_active_member
from tilcare.accounts.roles import Perm
from tilcare.journey.choices import (
    ADVANCE_ROLES,
    FACILITY_CHANGE_ROLES,
    TASK_COORDINATOR_ROLES,
    MilestoneKind,
    Stage,
    transition_kind,
)
from tilcare.journey.choices import TransitionKind as Kind
from tilcare.journey.models import Journey, Task
from tilcare.manufacturing.models import Batch, QaDisposition
from tilcare.patients.models import Patient


def _center_staff(user: Any, journey: Journey, perm: Perm) -> bool:
    return (
        is_active_member(user)
        and user.organization_id == journey.center_id
        and user.has_perm_code(perm)
    )


def can_view_journey(user: Any, journey: Journey) -> bool:
    if not is_active_member(user):
        return False
    if user.has_perm_code(Perm.VIEW_JOURNEY):
        return user.organization_id == journey.center_id
    if user.has_perm_code(Perm.VIEW_JOURNEY_COI_ONLY):
        return (
            journey.manufacturing_facility_id is not None
            and user.organization_id == journey.manufacturing_facility_id
        )
    return False


def can_view_journey_identity(user: Any, journey: Journey) -> bool:
    """May this user see who the patient is? Never true for a facility."""
    return _center_staff(user, journey, Perm.VIEW_PATIENT_IDENTITY)


def can_view_audit(user: Any, journey: Journey) -> bool:
    # Audit events carry before/after values with identity, so only identity-holders see them.
    return _center_staff(user, journey, Perm.VIEW_AUDIT) and can_view_journey_identity(
        user, journey
    )


def can_create_journey(user: Any, patient: Patient) -> bool:
    return (
        is_active_member(user)
        and user.organization_id == patient.center_id
        and user.has_perm_code(Perm.CREATE_JOURNEY)
    )


def can_advance_journey(user: Any, journey: Journey, target: Stage) -> bool:
    """May this user make this move? Withdrawal and re-manufacture have their own rules."""
    if journey.is_closed or not is_active_member(user):
        return False
    kind = transition_kind(Stage(journey.stage), target)
    if kind == Kind.WITHDRAW:
        return _center_staff(user, journey, Perm.WITHDRAW_JOURNEY)
    allowed_roles = ADVANCE_ROLES.get(target, frozenset())
    return _center_staff(user, journey, Perm.ADVANCE_JOURNEY) and user.role in allowed_roles


def can_record_milestone(user: Any, journey: Journey, kind: MilestoneKind) -> bool:
    if journey.is_closed:
        return False
    if kind == MilestoneKind.FINANCIAL_CLEARANCE:
        return _center_staff(user, journey, Perm.RECORD_FINANCIAL_CLEARANCE)
    return _center_staff(user, journey, Perm.RECORD_MILESTONE)


def can_plan_journey(user: Any, journey: Journey) -> bool:
    return not journey.is_closed and _center_staff(user, journey, Perm.PLAN_JOURNEY)


def can_change_facility(user: Any, journey: Journey) -> bool:
    """May this user move the journey's manufacturing to another facility with a reason (the
    stage decides whether a change is possible at all: `guards.facility_change`)?"""
    return can_plan_journey(user, journey) and user.role in FACILITY_CHANGE_ROLES


def can_handle_specimens(user: Any, journey: Journey) -> bool:
    """Is this user one of the center's specimen handlers for this journey (any state)?"""
    return _center_staff(user, journey, Perm.PRINT_LABEL)


def can_create_first_item(user: Any, journey: Journey) -> bool:
    """May this user start the chain of identity with the specimen container? The center's
    specimen handlers, while the journey is open."""
    return not journey.is_closed and can_handle_specimens(user, journey)


def can_edit_eligibility(user: Any, journey: Journey) -> bool:
    return not journey.is_closed and _center_staff(user, journey, Perm.EDIT_ELIGIBILITY)


def can_sign_eligibility(user: Any, journey: Journey) -> bool:
    return not journey.is_closed and _center_staff(user, journey, Perm.SIGN_ELIGIBILITY)


def can_complete_task(user: Any, task: Task) -> bool:
    """The role the task is for, or the navigator who coordinates every task of the center."""
    if (
        task.status != "open"
        or not is_active_member(user)
        or not user.has_perm_code(Perm.COMPLETE_TASK)
    ):
        return False
    if user.organization_id != task.journey.center_id:
        return False
    return user.role == task.role or user.role in TASK_COORDINATOR_ROLES


def can_record_release(user: Any, journey: Journey, batch: Batch) -> bool:
    """Center staff who record milestones, or the QA reviewer who signed this batch's release
    for the journey's own manufacturing facility."""
    if can_record_milestone(user, journey, MilestoneKind.PRODUCT_RELEASED):
        return True
    disposition = QaDisposition.objects.filter(batch=batch).first()
    return (
        disposition is not None
        and disposition.decided_by_id == getattr(user, "pk", None)
        and journey.manufacturing_facility_id == batch.facility_id == user.organization_id
        and can_view_journey(user, journey)
    )
