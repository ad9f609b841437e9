"""Who may see and change manufacturing capacity. Deny by default.

A facility keeps its own slots (Perm.MANAGE_SLOTS) and sees the bookings in them by COI
identifier only. A center's staff see every facility's slots with the number of places booked,
never another center's COI identifiers; those with Perm.BOOK_SLOT book places for their own
center's journeys and cancel their center's bookings. A facility may also cancel a booking in
one of its slots (equipment down, slot withdrawn), with a reason.
"""

from __future__ import annotations

from typing import Any

from tilcare.accounts.choices import OrganizationKind
from tilcare.accounts.models import Organization, User
from tilcare.accounts.policies import is_active_member
from tilcare.accounts.roles import Perm
from tilcare.manufacturing.models import SlotBooking

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
