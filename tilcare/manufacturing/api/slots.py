"""Manufacturing capacity over the API: the same selectors, policies and services as the page.

    GET  /manufacturing/slots?facility=&from=&to=     slots with booked/free counts
    GET  /manufacturing/slots/{id}
    POST /manufacturing/slots                          a facility opens a slot (201)
    POST /manufacturing/slots/{id}/capacity            a facility changes its places
    POST /manufacturing/slots/{id}/bookings            a center books a place (201)
    GET  /manufacturing/bookings?coi=&include_cancelled=
    POST /manufacturing/bookings/{id}/cancel           the center, or the slot's facility

A full slot answers **409 Conflict** `{"detail": "This slot is full.", "errors": {"slot":
["This slot is full: 3 of 3 places are booked. Choose another date."]}}`: the request was valid
but the slot's state refuses it (another coordinator may have taken the last place a moment
earlier), so retrying the same request cannot succeed; choose another date. Every other refusal
is 422 with the field and its message (a past date, a COI already booked, a wrong check
character), 403 for a role or organization that may not act, 404 for a slot or booking the
caller cannot see.

(No `from __future__ import annotations` in this module: ninja reads the operations' parameter
annotations as objects when the routes are built.)
"""

from typing import Any
from uuid import UUID

from django.http import HttpRequest
from ninja import Query, Router, Status
from ninja.pagination import paginate

from tilcare.core.api_support import ApiPagination, IsoDate, MappedQuerySet, caller
from tilcare.core.errors import InvalidInput
from tilcare.core.http import get_visible_or_404
from tilcare.core.policy import require
from tilcare.core.timeutil import local_today
from tilcare.manufacturing import policies
from tilcare.manufacturing.models import ManufacturingSlot, SlotBooking
from tilcare.manufacturing.schemas.slots import (
    BookingIn,
    BookingOut,
    CancelIn,
    CapacityIn,
    SlotFullOut,
    SlotIn,
    SlotOut,
    booking_out,
    slot_out,
)
from tilcare.manufacturing.selectors import slots as slot_selectors
from tilcare.manufacturing.services import slots as slot_services
from tilcare.manufacturing.services.slots import SlotFull

router = Router(tags=["manufacturing"])

NOT_A_VIEWER = "Manufacturing slots are for a center's care team and a facility's staff."
SLOT_FULL = "This slot is full."


def _viewer(request: HttpRequest) -> Any:
    user = caller(request)
    require(policies.can_view_slots(user), NOT_A_VIEWER)
    return user


def _slot_for(user: Any, public_id: Any) -> ManufacturingSlot:
    slot: ManufacturingSlot = get_visible_or_404(
        slot_selectors.slots_with_bookings(user), public_id
    )
    return slot


def _slot_answer(user: Any, slot: ManufacturingSlot) -> SlotOut:
    """The slot as the caller sees it, read again with its counts and visible bookings."""
    return slot_out(_slot_for(user, slot.public_id), viewer_org_id=user.organization_id)


@router.get("/manufacturing/slots", response=list[SlotOut], summary="List manufacturing slots")
@paginate(ApiPagination)
def list_slots(
    request: HttpRequest,
    facility: UUID | None = None,
    from_: IsoDate | None = Query(None, alias="from"),  # type: ignore[type-arg]  # noqa: B008
    to: IsoDate | None = None,
) -> MappedQuerySet[ManufacturingSlot, SlotOut]:
    """Slots from `from` (default: today where the caller works) to `to`, soonest first.

    A facility sees its own slots with every booking in them; a center sees every facility's
    slots with how many places are booked and free, and only its own bookings."""
    user = _viewer(request)
    start = from_ or local_today(user.organization.time_zone)
    if to is not None and to < start:
        raise InvalidInput({"to": [f"“to” ({to}) must not be before “from” ({start})."]})
    slots = slot_selectors.slots_with_bookings(
        user, start=start, end=to, facility_public_id=facility
    )
    org_id = user.organization_id
    return MappedQuerySet(slots, lambda slot: slot_out(slot, viewer_org_id=org_id))


@router.get("/manufacturing/slots/{public_id}", response=SlotOut, summary="One slot")
def get_slot(request: HttpRequest, public_id: str) -> SlotOut:
    user = _viewer(request)
    return slot_out(_slot_for(user, public_id), viewer_org_id=user.organization_id)


@router.post("/manufacturing/slots", response={201: SlotOut}, summary="Open a slot (the facility)")
def create_slot(request: HttpRequest, payload: SlotIn) -> Status[SlotOut]:
    user = caller(request)
    require(policies.is_facility_user(user), "Only a facility's manufacturing staff open slots.")
    slot = slot_services.create_slot(
        facility=user.organization,
        starts_on=payload.starts_on,
        capacity=payload.capacity,
        note=payload.note,
        actor=user,
    )
    return Status(201, _slot_answer(user, slot))


@router.post(
    "/manufacturing/slots/{public_id}/capacity",
    response=SlotOut,
    summary="Change a slot's places (the facility; not below the places booked)",
)
def change_capacity(request: HttpRequest, public_id: str, payload: CapacityIn) -> SlotOut:
    user = _viewer(request)
    slot = slot_services.change_capacity(
        _slot_for(user, public_id), capacity=payload.capacity, actor=user
    )
    return _slot_answer(user, slot)


@router.post(
    "/manufacturing/slots/{public_id}/bookings",
    response={201: BookingOut, 409: SlotFullOut},
    summary="Book a place for a journey's COI identifier (409 when the slot is full or the COI "
    "identifier was not issued by your center)",
)
def book_slot(request: HttpRequest, public_id: str, payload: BookingIn) -> Status[Any]:
    user = _viewer(request)
    require(policies.is_center_user(user), "Only a center's navigators and physicians book places.")
    slot = _slot_for(user, public_id)
    try:
        booking = slot_services.book_slot(
            slot,
            coi_din=payload.coi_din,
            coi_check=payload.coi_check,
            manufacture_attempt=payload.manufacture_attempt,
            center=user.organization,
            actor=user,
        )
    except SlotFull as full:
        return Status(409, SlotFullOut(detail=SLOT_FULL, errors=full.errors))
    booking = slot_selectors.bookings_visible_to(user).get(pk=booking.pk)
    return Status(201, booking_out(booking, viewer_org_id=user.organization_id))


@router.get("/manufacturing/bookings", response=list[BookingOut], summary="List bookings")
@paginate(ApiPagination)
def list_bookings(
    request: HttpRequest, coi: str = "", include_cancelled: bool = False
) -> MappedQuerySet[SlotBooking, BookingOut]:
    """The caller's center's bookings, or the bookings in the caller facility's slots, soonest
    slot first; `coi` narrows to one COI identifier (13 characters, spaces ignored)."""
    user = _viewer(request)
    bookings = slot_selectors.bookings_visible_to(user)
    if not include_cancelled:
        bookings = bookings.filter(slot_selectors.ACTIVE)
    if coi:
        bookings = bookings.filter(coi_din=coi.replace(" ", "").upper()[:13])
    org_id = user.organization_id
    return MappedQuerySet(
        bookings.order_by("slot__starts_on", "booked_at", "id"),
        lambda booking: booking_out(booking, viewer_org_id=org_id),
    )


@router.post(
    "/manufacturing/bookings/{public_id}/cancel",
    response=BookingOut,
    summary="Cancel a booking, with a reason (its center, or the slot's facility)",
)
def cancel_booking(request: HttpRequest, public_id: str, payload: CancelIn) -> BookingOut:
    user = _viewer(request)
    booking: SlotBooking = get_visible_or_404(slot_selectors.bookings_visible_to(user), public_id)
    slot_services.cancel_booking(booking, actor=user, reason=payload.reason)
    booking = slot_selectors.bookings_visible_to(user).get(pk=booking.pk)
    return booking_out(booking, viewer_org_id=user.organization_id)
