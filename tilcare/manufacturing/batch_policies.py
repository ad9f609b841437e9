"""Who may see and write a batch record. Deny by default.

- The batch record belongs to the manufacturing facility that makes the product. Its staff who
  may see journeys by COI identifier or custody (manufacturing technologist, QA reviewer) see the
  whole record: it holds the COI identifier and what the process needs, never patient identity.
- The treating center sees the batch's **status only** (COI, attempt, status, planned harvest
  date) through the API, so its coordinators know where the product is; the record itself
  (cultures, screen, counts, forecast) and the facility's pages stay with the facility. Another
  center or another facility sees nothing.
- Batch steps (tissue receipt, cultures, the screen import, the culture selection, REP counts,
  the planned harvest, the moves of the workflow up to release testing) are recorded by the
  facility's manufacturing technologists. QA reviewers hold custody permissions too, but QA does
  not perform the process it reviews, so the role decides here.
- Rejecting a batch: a technologist (the process failed) or QA. Releasing it (with or without
  exception): QA only, and only with its disposition on file (a guard of the workflow).
- Opening a batch (tissue received) is part of receiving the tissue: any of the facility's staff
  who may record custody.
"""

from __future__ import annotations

from typing import Any

from tilcare.accounts.choices import OrganizationKind, Role
from tilcare.accounts.models import Organization
from tilcare.accounts.policies import is_active_member
from tilcare.accounts.roles import Perm
from tilcare.manufacturing.choices import BatchStatus
from tilcare.manufacturing.models import Batch

_VIEW_RECORD_PERMS = (Perm.VIEW_JOURNEY_COI_ONLY, Perm.VIEW_CUSTODY)
_QA_ONLY = frozenset({BatchStatus.RELEASED, BatchStatus.RELEASED_EXCEPTION})


def _facility_member(user: Any, facility_id: int | None) -> bool:
    org = user.organization
    return (
        facility_id is not None
        and user.organization_id == facility_id
        and org is not None
        and org.kind == OrganizationKind.FACILITY
    )


def can_view_batch_board(user: Any) -> bool:
    """The batch board and the batch list: a facility's staff who see COI-only records."""
    if not is_active_member(user) or user.organization.kind != OrganizationKind.FACILITY:
        return False
    return any(user.has_perm_code(perm) for perm in _VIEW_RECORD_PERMS)


def can_view_batch(user: Any, batch: Batch) -> bool:
    """The whole batch record: the batch's facility only."""
    return (
        is_active_member(user)
        and _facility_member(user, batch.facility_id)
        and any(user.has_perm_code(perm) for perm in _VIEW_RECORD_PERMS)
    )


def can_view_batch_status(user: Any, batch: Batch) -> bool:
    """The status only (COI, attempt, status, dates): the record's viewers, and the treating
    center's care team."""
    if can_view_batch(user, batch):
        return True
    return (
        is_active_member(user)
        and user.organization_id == batch.center_id
        and user.organization.kind == OrganizationKind.CENTER
        and user.has_perm_code(Perm.VIEW_JOURNEY)
    )


def can_open_batch(user: Any, facility: Organization) -> bool:
    return (
        is_active_member(user)
        and _facility_member(user, facility.pk)
        and user.has_perm_code(Perm.RECORD_CUSTODY)
    )


def can_record_batch_step(user: Any, batch: Batch) -> bool:
    """Tissue receipt, cultures and counts, the screen import, REP counts, the harvest plan."""
    return (
        is_active_member(user)
        and _facility_member(user, batch.facility_id)
        and user.role == Role.MANUFACTURING_TECH
        and user.has_perm_code(Perm.RECORD_CUSTODY)
    )


def can_select_cultures(user: Any, batch: Batch) -> bool:
    """The person who chooses the cultures for the REP: the facility's technologist."""
    return can_record_batch_step(user, batch)


def can_advance_batch(user: Any, batch: Batch, to_status: str) -> bool:
    if not is_active_member(user) or not _facility_member(user, batch.facility_id):
        return False
    if to_status in _QA_ONLY:
        return bool(user.role == Role.QA_REVIEWER)
    if to_status in (BatchStatus.REJECTED, BatchStatus.STOPPED):
        return bool(user.role in (Role.MANUFACTURING_TECH, Role.QA_REVIEWER))
    return can_record_batch_step(user, batch)
