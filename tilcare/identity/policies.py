"""Who may see and handle identity and custody records. Deny by default.

Every record here carries the center that treats the patient and, once assigned, the facility
that manufactures the product. A user of either organization may act on it with the matching
permission; nobody else may. None of these records holds patient identity, so a facility user
sees them whole, except text a person typed, which may name the patient by mistake: what the
center's staff typed (an item's description, the note after its storage temperature) is not
shown to the facility (`can_view_item_text`); what is typed on a custody scan or an alert's
acknowledgement is shown to the organization that typed it and to the center's staff who may see
patient identity (`can_view_scan_text`, `can_view_alert_note`).
"""

from __future__ import annotations

from typing import Any

from tilcare.accounts.policies import is_active_member
from tilcare.accounts.roles import Perm
from tilcare.patients.policies import can_view_typed_text


def _party(user: Any, center_id: int | None, facility_id: int | None) -> bool:
    org = getattr(user, "organization_id", None)
    return org is not None and org in (center_id, facility_id)


def can_view_custody(user: Any, record: Any) -> bool:
    """`record`: anything with `center_id` and `facility_id` (an item, shipment or alert)."""
    return (
        is_active_member(user)
        and user.has_perm_code(Perm.VIEW_CUSTODY)
        and _party(user, record.center_id, getattr(record, "facility_id", None))
    )


def can_view_item_text(user: Any, item: Any) -> bool:
    """The description and the storage note are typed by whoever made the item: shown to that
    person's organization and to the center's staff who may see patient identity, never to the
    facility for an item the center made. Pages, the API and the label printed for `user` all
    ask this."""
    return can_view_typed_text(
        user,
        author_organization_id=item.created_by.organization_id,
        center_id=item.center_id,
    )


def can_view_scan_text(user: Any, event: Any, *, center_id: int | None) -> bool:
    """What a person typed on a custody event (scanned text, parties, location, the reason it was
    entered late) may name the patient by mistake: shown to the organization that recorded it
    (a facility sees its own entries only) and to staff of the COI's center `center_id` who may
    see patient identity."""
    return can_view_typed_text(
        user, author_organization_id=event.organization_id, center_id=center_id
    )


def can_view_alert_note(user: Any, alert: Any) -> bool:
    """An alert's acknowledgement note is typed text too: shown to the organization of the person
    who wrote it and to the center's staff who may see patient identity."""
    by = alert.acknowledged_by
    if alert.acknowledged_at is None or by is None:
        return False
    return can_view_typed_text(
        user, author_organization_id=by.organization_id, center_id=alert.center_id
    )


def can_print_label(user: Any, item: Any) -> bool:
    return (
        is_active_member(user)
        and user.has_perm_code(Perm.PRINT_LABEL)
        and _party(user, item.center_id, item.facility_id)
    )


def can_create_item(user: Any, center_id: int, facility_id: int | None) -> bool:
    return (
        is_active_member(user)
        and user.has_perm_code(Perm.PRINT_LABEL)
        and _party(user, center_id, facility_id)
    )


def can_record_custody(user: Any, center_id: int, facility_id: int | None) -> bool:
    return (
        is_active_member(user)
        and user.has_perm_code(Perm.RECORD_CUSTODY)
        and _party(user, center_id, facility_id)
    )


def can_record_bedside_check(user: Any, center_id: int) -> bool:
    """The infusion day's identity check at the bedside: its scans are custody scans made by the
    nurses and physicians who record the infusion, at the treating center only."""
    return (
        is_active_member(user)
        and user.has_perm_code(Perm.RECORD_INFUSION)
        and user.organization_id == center_id
    )


def can_record_scans(user: Any) -> bool:
    """Staff who handle the specimen and the product, in an organization that records handoff
    steps (a center or a manufacturing facility): who may open the scan page or post a scan."""
    organization = getattr(user, "organization", None)
    return (
        user.has_perm_code(Perm.RECORD_CUSTODY)
        and organization is not None
        and (organization.is_center or organization.is_facility)
    )


def can_manage_shipment(user: Any, center_id: int, facility_id: int | None) -> bool:
    return (
        is_active_member(user)
        and user.has_perm_code(Perm.MANAGE_SHIPMENT)
        and _party(user, center_id, facility_id)
    )


def can_acknowledge_alert(user: Any, alert: Any) -> bool:
    return (
        is_active_member(user)
        and user.has_perm_code(Perm.ACKNOWLEDGE_IDENTITY_ALERT)
        and _party(user, alert.center_id, alert.facility_id)
        and alert.acknowledged_at is None
    )
