"""Reads of manufacturing capacity, always scoped to who is asking.

- A facility sees its own slots and every booking in them (by COI identifier; there is nothing
  else to see).
- A center sees every facility's slots with how many places are booked and free, and only its
  own bookings: another center's COI identifiers never reach it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, F, Prefetch, Q, QuerySet

from tilcare.manufacturing import policies
from tilcare.manufacturing.models import ManufacturingSlot, SlotBooking

ACTIVE = Q(cancelled_at__isnull=True)


def with_counts(slots: QuerySet[ManufacturingSlot]) -> QuerySet[ManufacturingSlot]:
    """Each slot with `booked` (active bookings) and `free` (capacity − booked) annotated."""
    return slots.annotate(
        booked=Count("bookings", filter=Q(bookings__cancelled_at__isnull=True))
    ).annotate(free=F("capacity") - F("booked"))


def slots_visible_to(user: Any) -> QuerySet[ManufacturingSlot]:
    if not policies.can_view_slots(user):
        return ManufacturingSlot.objects.none()
    slots = ManufacturingSlot.objects.select_related("facility")
    if policies.is_facility_user(user):
        slots = slots.filter(facility_id=user.organization_id)
    return with_counts(slots)


def bookings_visible_to(user: Any) -> QuerySet[SlotBooking]:
    if not policies.can_view_slots(user):
        return SlotBooking.objects.none()
    bookings = SlotBooking.objects.select_related(
        "slot", "slot__facility", "center", "booked_by", "cancelled_by"
    )
    if policies.is_facility_user(user):
        return bookings.filter(slot__facility_id=user.organization_id)
    return bookings.filter(center_id=user.organization_id)


def slots_between(
    user: Any,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    facility_public_id: Any = None,
) -> QuerySet[ManufacturingSlot]:
    """Visible slots from `start` to `end` (both included), optionally of one facility."""
    slots = slots_visible_to(user)
    if start is not None:
        slots = slots.filter(starts_on__gte=start)
    if end is not None:
        slots = slots.filter(starts_on__lte=end)
    if facility_public_id is not None:
        slots = slots.filter(facility__public_id=facility_public_id)
    return slots.order_by("starts_on", "facility__name", "id")


def facility_schedule(user: Any, *, start: dt.date) -> list[ManufacturingSlot]:
    """A facility's slots from `start`, each with its active bookings as `active_bookings`."""
    if not policies.is_facility_user(user):
        return []
    active = SlotBooking.objects.filter(ACTIVE).select_related("center").order_by("booked_at")
    return list(
        slots_between(user, start=start).prefetch_related(
            Prefetch("bookings", queryset=active, to_attr="active_bookings")
        )
    )


def open_slots(user: Any, *, start: dt.date) -> list[ManufacturingSlot]:
    """Slots from `start` that still have a free place, for a center to book (no COIs)."""
    if not policies.is_center_user(user):
        return []
    # `free` is the annotation of with_counts(), which the type checker cannot see.
    return list(slots_between(user, start=start).filter(free__gt=0))  # type: ignore[misc]


def active_bookings(user: Any, *, start: dt.date | None = None) -> QuerySet[SlotBooking]:
    """The user's organization's active bookings, soonest slot first."""
    bookings = bookings_visible_to(user).filter(ACTIVE)
    if start is not None:
        bookings = bookings.filter(slot__starts_on__gte=start)
    return bookings.order_by("slot__starts_on", "booked_at", "id")


def slots_with_bookings(
    user: Any,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    facility_public_id: Any = None,
) -> QuerySet[ManufacturingSlot]:
    """Visible slots, each with the active bookings this user may see as `visible_bookings`:
    every booking for the slot's facility, only its own center's for a center."""
    visible = bookings_visible_to(user).filter(ACTIVE).order_by("booked_at", "id")
    return slots_between(
        user, start=start, end=end, facility_public_id=facility_public_id
    ).prefetch_related(Prefetch("bookings", queryset=visible, to_attr="visible_bookings"))
