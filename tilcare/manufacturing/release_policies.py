"""Who may see and act on a batch's release. Deny by default.

- The facility that makes the batch: its manufacturing technologists record the formulation;
  technologists and QA reviewers (and the instruments acting under their API tokens) record
  release test results; only a QA reviewer sets the facility's release specifications and its
  thresholds (the reactivity screen's and the early warning's), and signs the disposition
  (release, reject, or release under exception). The facility's staff read both.
- The center that treats the patient: its care team sees the release checklist and the
  certificate of analysis (both carry the COI identifier only); a treating physician of that
  center, and no one else, signs the acknowledgement a release under exception needs.

Nothing here reads the patient: a batch carries its COI identifier, never who the patient is.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from tilcare.accounts.choices import Role
from tilcare.accounts.models import Organization
from tilcare.accounts.policies import is_active_member
from tilcare.accounts.roles import Perm
from tilcare.manufacturing.batch_selectors import batches_visible_to
from tilcare.manufacturing.choices import BatchStatus, Disposition
from tilcare.manufacturing.models import Batch

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


def _staff_of(user: Any, organization_id: int, roles: frozenset[str]) -> bool:
    return is_active_member(user) and user.organization_id == organization_id and user.role in roles


_FACILITY_ROLES = frozenset({Role.MANUFACTURING_TECH, Role.QA_REVIEWER})


def is_facility_staff(user: Any, facility: Organization) -> bool:
    return (
        facility.is_facility
        and _staff_of(user, facility.pk, _FACILITY_ROLES)
        and user.has_perm_code(Perm.VIEW_JOURNEY_COI_ONLY)
    )


def is_center_staff(user: Any, batch: Batch) -> bool:
    return (
        is_active_member(user)
        and user.organization_id == batch.center_id
        and user.has_perm_code(Perm.VIEW_JOURNEY)
    )


def visible_batches(user: Any) -> QuerySet[Batch]:
    """The batches this user may look up: the facility's own, the center's own."""
    return batches_visible_to(user)


def can_view_release(user: Any, batch: Batch) -> bool:
    return is_facility_staff(user, batch.facility) or is_center_staff(user, batch)


def can_view_specifications(user: Any, facility: Organization) -> bool:
    return is_facility_staff(user, facility)


def can_set_release_specification(user: Any, facility: Organization) -> bool:
    return is_facility_staff(user, facility) and user.role == Role.QA_REVIEWER


def can_view_facility_thresholds(user: Any, facility: Organization) -> bool:
    """The facility's screen and early-warning thresholds: its staff, like its specifications."""
    return can_view_specifications(user, facility)


def can_set_facility_thresholds(user: Any, facility: Organization) -> bool:
    """Who sets the release specifications sets the thresholds: a QA reviewer of the facility."""
    return can_set_release_specification(user, facility)


def can_record_formulation(user: Any, batch: Batch) -> bool:
    return (
        is_facility_staff(user, batch.facility)
        and user.role == Role.MANUFACTURING_TECH
        and user.has_perm_code(Perm.PRINT_LABEL)
        and batch.status in FORMULATION_STATUSES
    )


def can_record_release_test(user: Any, batch: Batch) -> bool:
    return is_facility_staff(user, batch.facility) and batch.status in TESTING_STATUSES


def can_decide_disposition(user: Any, batch: Batch) -> bool:
    """A QA reviewer of the batch's facility, while the batch has no disposition yet."""
    return (
        is_facility_staff(user, batch.facility)
        and user.role == Role.QA_REVIEWER
        and batch.status not in FINAL_STATUSES
        and not _has_disposition(batch)
    )


def can_acknowledge_exception(user: Any, batch: Batch) -> bool:
    """A treating physician of the batch's center, while a release under exception waits."""
    disposition = getattr(batch, "disposition", None) if _has_disposition(batch) else None
    return (
        _staff_of(user, batch.center_id, frozenset({Role.PHYSICIAN}))
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
