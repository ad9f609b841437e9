"""Who may see and change manufacturing capacity and the batch record. Deny by default.

The kinds of action a role may ever take are the role table's (`tilcare.accounts.roles.Perm`);
the rules here add the organization and the record's state.

Capacity:
- A facility keeps its own slots (MANAGE_SLOTS) and sees the bookings in them by COI identifier
  only. A center's staff see every facility's slots with the number of places booked, never
  another center's COI identifiers; those with BOOK_SLOT book places for their own center's
  journeys and cancel their center's bookings. A facility may also cancel a booking in one of its
  slots (equipment down, slot withdrawn), with a reason.

The batch record:
- It belongs to the manufacturing facility that makes the product. Its staff who may see
  journeys by COI identifier or custody (manufacturing technologist, QA reviewer) see the whole
  record: it holds the COI identifier and what the process needs, never patient identity.
- The treating center sees the batch's **status only** (COI, attempt, status, planned harvest
  date) through the API, so its coordinators know where the product is; the record itself
  (cultures, screen, counts, forecast) and the facility's pages stay with the facility. Another
  center or another facility sees nothing.
- Batch steps (tissue receipt, cultures, the screen import, the culture selection, REP counts,
  the planned harvest, the moves of the workflow up to release testing, the formulation) are
  recorded by those who perform the process (RECORD_BATCH: the facility's technologists). QA
  reviewers hold custody permissions too, but QA does not perform the process it reviews.
- Rejecting or stopping a batch (END_BATCH): a technologist (the process failed) or QA.
  Releasing it, with or without exception, and signing the disposition (RELEASE_BATCH): QA only,
  and only with its disposition on file (a guard of the workflow).
- Opening a batch (tissue received) is part of receiving the tissue: any of the facility's staff
  who may record custody.

The release:
- The facility's staff (technologists and QA reviewers, and the instruments acting under their
  API tokens) record release test results and read the specifications and thresholds; only those
  with MANAGE_RELEASE_SPECIFICATIONS (QA reviewers) set the release specifications and the
  thresholds (the reactivity screen's and the early warning's).
- The center that treats the patient: its care team sees the release checklist and the
  certificate of analysis (both carry the COI identifier only); a treating physician of that
  center (ACKNOWLEDGE_RELEASE_EXCEPTION), and no one else, signs the acknowledgement a release
  under exception needs.

Nothing here reads the patient: a batch carries its COI identifier, never who the patient is.
"""

from __future__ import annotations

from typing import Any

from tilcare.accounts.choices import OrganizationKind
from tilcare.accounts.models import Organization, User
from tilcare.accounts.policies import is_active_member
from tilcare.accounts.roles import Perm
from tilcare.manufacturing.choices import BatchStatus, Disposition
from tilcare.manufacturing.models import Batch, SlotBooking

# Center staff who may look at capacity without booking (nurses, pharmacists, admins).
_VIEW_PERMS = (Perm.MANAGE_SLOTS, Perm.BOOK_SLOT, Perm.VIEW_JOURNEY, Perm.VIEW_JOURNEY_COI_ONLY)


def _org_kind(user: User) -> str | None:
    org = user.organization
    return org.kind if org is not None else None


def is_facility_user(user: Any) -> bool:
    return is_active_member(user) and _org_kind(user) == OrganizationKind.FACILITY


def is_center_user(user: Any) -> bool:
    return is_active_member(user) and _org_kind(user) == OrganizationKind.CENTER


def can_view_slots(user: Any) -> bool:
    return (is_facility_user(user) or is_center_user(user)) and any(
        user.has_perm_code(perm) for perm in _VIEW_PERMS
    )


def can_manage_slots(user: Any, facility: Organization) -> bool:
    """Open slots and change their capacity: the facility's own staff with MANAGE_SLOTS."""
    return (
        is_facility_user(user)
        and user.has_perm_code(Perm.MANAGE_SLOTS)
        and facility.kind == OrganizationKind.FACILITY
        and user.organization_id == facility.pk
    )


def can_book_slot(user: Any, center: Organization) -> bool:
    """Book a place in any facility's slot for `center`: the center's own staff with BOOK_SLOT."""
    return (
        is_center_user(user)
        and user.has_perm_code(Perm.BOOK_SLOT)
        and center.kind == OrganizationKind.CENTER
        and user.organization_id == center.pk
    )


def can_cancel_booking(user: Any, booking: SlotBooking) -> bool:
    if not is_active_member(user) or booking.cancelled_at is not None:
        return False
    if user.has_perm_code(Perm.BOOK_SLOT) and is_center_user(user):
        return bool(user.organization_id == booking.center_id)
    if user.has_perm_code(Perm.MANAGE_SLOTS) and is_facility_user(user):
        return bool(user.organization_id == booking.slot.facility_id)
    return False


# --- the batch record ---------------------------------------------------------------------------

_VIEW_RECORD_PERMS = (Perm.VIEW_JOURNEY_COI_ONLY, Perm.VIEW_CUSTODY)
_RELEASES = frozenset({BatchStatus.RELEASED, BatchStatus.RELEASED_EXCEPTION})


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
        and user.has_perm_code(Perm.RECORD_BATCH)
        and user.has_perm_code(Perm.RECORD_CUSTODY)
    )


def can_select_cultures(user: Any, batch: Batch) -> bool:
    """The person who chooses the cultures for the REP: the facility's technologist."""
    return can_record_batch_step(user, batch)


def can_advance_batch(user: Any, batch: Batch, to_status: str) -> bool:
    if not is_active_member(user) or not _facility_member(user, batch.facility_id):
        return False
    if to_status in _RELEASES:
        return user.has_perm_code(Perm.RELEASE_BATCH)
    if to_status in (BatchStatus.REJECTED, BatchStatus.STOPPED):
        return user.has_perm_code(Perm.END_BATCH)
    return can_record_batch_step(user, batch)


# --- the release -------------------------------------------------------------------------------

# Statuses in which the product is still open to formulation, testing or a disposition.
FORMULATION_STATUSES = frozenset({BatchStatus.REP, BatchStatus.HARVESTED})
TESTING_STATUSES = frozenset({BatchStatus.HARVESTED, BatchStatus.RELEASE_TESTING})
FINAL_STATUSES = frozenset(
    {
        BatchStatus.RELEASED,
        BatchStatus.RELEASED_EXCEPTION,
        BatchStatus.REJECTED,
        BatchStatus.STOPPED,
    }
)


def _staff_of(user: Any, organization_id: int, perm: Perm) -> bool:
    return (
        is_active_member(user)
        and user.organization_id == organization_id
        and user.has_perm_code(perm)
    )


def is_facility_staff(user: Any, facility: Organization) -> bool:
    return facility.is_facility and _staff_of(user, facility.pk, Perm.VIEW_JOURNEY_COI_ONLY)


def is_center_staff(user: Any, batch: Batch) -> bool:
    return (
        is_active_member(user)
        and user.organization_id == batch.center_id
        and user.has_perm_code(Perm.VIEW_JOURNEY)
    )


def can_view_release(user: Any, batch: Batch) -> bool:
    return is_facility_staff(user, batch.facility) or is_center_staff(user, batch)


def can_view_specifications(user: Any, facility: Organization) -> bool:
    return is_facility_staff(user, facility)


def can_set_release_specification(user: Any, facility: Organization) -> bool:
    return is_facility_staff(user, facility) and user.has_perm_code(
        Perm.MANAGE_RELEASE_SPECIFICATIONS
    )


def can_view_facility_thresholds(user: Any, facility: Organization) -> bool:
    """The facility's screen and early-warning thresholds: its staff, like its specifications."""
    return can_view_specifications(user, facility)


def can_set_facility_thresholds(user: Any, facility: Organization) -> bool:
    """Who sets the release specifications sets the thresholds: a QA reviewer of the facility."""
    return can_set_release_specification(user, facility)


def can_record_formulation(user: Any, batch: Batch) -> bool:
    return (
        is_facility_staff(user, batch.facility)
        and user.has_perm_code(Perm.RECORD_BATCH)
        and user.has_perm_code(Perm.PRINT_LABEL)
        and batch.status in FORMULATION_STATUSES
    )


def can_record_release_test(user: Any, batch: Batch) -> bool:
    return is_facility_staff(user, batch.facility) and batch.status in TESTING_STATUSES


def can_decide_disposition(user: Any, batch: Batch) -> bool:
    """A QA reviewer of the batch's facility, while the batch has no disposition yet."""
    return (
        is_facility_staff(user, batch.facility)
        and user.has_perm_code(Perm.RELEASE_BATCH)
        and batch.status not in FINAL_STATUSES
        and not _has_disposition(batch)
    )


def can_acknowledge_exception(user: Any, batch: Batch) -> bool:
    """A treating physician of the batch's center, while a release under exception waits."""
    disposition = getattr(batch, "disposition", None) if _has_disposition(batch) else None
    return (
        _staff_of(user, batch.center_id, Perm.ACKNOWLEDGE_RELEASE_EXCEPTION)
        and disposition is not None
        and disposition.decision == Disposition.RELEASE_EXCEPTION
        and disposition.physician_ack_signature_id is None
    )


def can_download_coa(user: Any, batch: Batch) -> bool:
    return can_view_release(user, batch)


def _has_disposition(batch: Batch) -> bool:
    try:
        return batch.disposition is not None
    except Batch.disposition.RelatedObjectDoesNotExist:
        return False
