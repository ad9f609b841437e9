"""The slots page: a facility keeps its calendar of slots, a center books places in them.

One URL, two faces: a facility's staff see their upcoming slots with the bookings in each (by COI
identifier) and, with Perm.MANAGE_SLOTS, open slots and change places; a center's staff see every
facility's dates with free places and their own center's bookings and, with Perm.BOOK_SLOT, book
and cancel. Each POST calls one service; success redirects back with a message (a reload never
repeats it); a refusal re-renders the page with the form and its messages (status 200).
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from itertools import groupby
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from tilcare.accounts.models import Organization, User
from tilcare.core.errors import InvalidInput
from tilcare.core.forms import apply_service_errors
from tilcare.core.http import get_visible_or_404
from tilcare.core.policy import require
from tilcare.core.timeutil import local_today
from tilcare.manufacturing import policies
from tilcare.manufacturing.forms import (
    BookingForm,
    CancelBookingForm,
    CapacityForm,
    SlotCreateForm,
)
from tilcare.manufacturing.models import ManufacturingSlot, SlotBooking
from tilcare.manufacturing.selectors import slots as slot_selectors
from tilcare.manufacturing.services import slots as slot_services
from tilcare.manufacturing.services.slots import SlotFull, day_text

NOT_A_VIEWER = "Manufacturing slots are for a center's care team and a facility's staff."


@dataclass(frozen=True)
class BookingRow:
    booking: SlotBooking
    cancel_form: CancelBookingForm | None


@dataclass(frozen=True)
class SlotRow:
    slot: ManufacturingSlot
    bookings: list[BookingRow]
    capacity_form: CapacityForm | None


@dataclass
class Bound:
    """Forms that come back bound (with their messages) after a refused POST."""

    create: SlotCreateForm | None = None
    book: BookingForm | None = None
    capacity: tuple[int, CapacityForm] | None = None
    cancel: tuple[int, CancelBookingForm] | None = None


def _user(request: HttpRequest) -> User:
    # LoginRequiredMiddleware has already sent anonymous visitors to the login page.
    return cast(User, request.user)


def _org(user: User) -> Organization:
    return cast(Organization, user.organization)


def _page() -> str:
    return reverse("manufacturing:slots")


def _booking_rows(user: User, bookings: list[SlotBooking], bound: Bound) -> list[BookingRow]:
    rows = []
    for booking in bookings:
        form = None
        if policies.can_cancel_booking(user, booking):
            form = CancelBookingForm(auto_id=f"id_cancel_{booking.pk}_%s")
            if bound.cancel and bound.cancel[0] == booking.pk:
                form = bound.cancel[1]
        rows.append(BookingRow(booking, form))
    return rows


def _facility_context(user: User, bound: Bound) -> dict[str, Any]:
    org = _org(user)
    today = local_today(org.time_zone)
    may_manage = policies.can_manage_slots(user, org)
    rows = []
    for slot in slot_selectors.facility_schedule(user, start=today):
        form = None
        if may_manage:
            form = CapacityForm(
                initial={"capacity": slot.capacity}, auto_id=f"id_capacity_{slot.pk}_%s"
            )
            if bound.capacity and bound.capacity[0] == slot.pk:
                form = bound.capacity[1]
        bookings = _booking_rows(user, slot.active_bookings, bound)  # type: ignore[attr-defined]
        rows.append(SlotRow(slot, bookings, form))
    annotated: list[Any] = [row.slot for row in rows]  # with `booked` and `free`
    return {
        "rows": rows,
        "may_manage": may_manage,
        "create_form": (bound.create or SlotCreateForm()) if may_manage else None,
        "places": sum(slot.capacity for slot in annotated),
        "booked": sum(slot.booked for slot in annotated),
        "full_days": sum(1 for slot in annotated if slot.free <= 0),
    }


def _center_context(request: HttpRequest, user: User, bound: Bound) -> dict[str, Any]:
    org = _org(user)
    today = local_today(org.time_zone)
    open_slots = slot_selectors.open_slots(user, start=today)
    may_book = policies.can_book_slot(user, org)
    book_form = None
    if may_book:
        book_form = bound.book or BookingForm(
            slots=slot_selectors.slots_visible_to(user),
            open_slots=open_slots,
            initial={"slot": request.GET.get("slot", ""), "manufacture_attempt": 1},
        )
    by_facility = [
        (facility, list(slots)) for facility, slots in groupby(open_slots, key=lambda s: s.facility)
    ]
    by_facility.sort(key=lambda pair: pair[0].name)
    bookings = list(slot_selectors.active_bookings(user, start=today))
    return {
        "by_facility": by_facility,
        "may_book": may_book,
        "book_form": book_form,
        "bookings": _booking_rows(user, bookings, bound),
    }


def _render(request: HttpRequest, user: User, bound: Bound | None = None) -> HttpResponse:
    bound = bound or Bound()
    org = _org(user)
    facility = policies.is_facility_user(user)
    context: dict[str, Any] = {
        "page_title": "Manufacturing slots",
        "organization": org,
        "time_zone": org.time_zone,
    }
    if facility:
        context.update(_facility_context(user, bound))
        template = "manufacturing/slots_facility.html"
    else:
        context.update(_center_context(request, user, bound))
        template = "manufacturing/slots_center.html"
    context["page_errors"] = _stray_errors(context, bound)
    with timezone.override(zoneinfo.ZoneInfo(org.time_zone)):
        return render(request, template, context)


def _stray_errors(context: dict[str, Any], bound: Bound) -> list[str]:
    """Messages of a refused row form whose row is no longer on the page (a slot or booking
    that has just passed its date, or was cancelled by someone else): shown at the top instead."""
    shown: set[int] = set()
    for row in context.get("rows", []):
        shown.add(id(row.capacity_form))
        shown.update(id(b.cancel_form) for b in row.bookings)
    shown.update(id(b.cancel_form) for b in context.get("bookings", []))
    stray: list[str] = []
    for pair in (bound.capacity, bound.cancel):
        if pair is not None and id(pair[1]) not in shown:
            stray.extend(str(m) for errors in pair[1].errors.values() for m in errors)
    return stray


@require_GET
def slot_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    require(policies.can_view_slots(user), NOT_A_VIEWER)
    return _render(request, user)


def _done(
    form: forms.Form,
    write: Callable[[], Any],
    say: Callable[[Any], None],
    refusal: Callable[[forms.Form, InvalidInput], None] = apply_service_errors,
) -> HttpResponse | None:
    """Back to the slots page once `write` is done, with what `say` makes of its result; None,
    with the refusal shown on `form`, when the service refuses."""
    try:
        written = write()
    except InvalidInput as refused:
        refusal(form, refused)
        return None
    say(written)
    return redirect(_page())


# ---------- the facility ----------


@require_POST
def slot_create(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    require(
        policies.is_facility_user(user) and policies.can_manage_slots(user, _org(user)),
        "Only a facility's manufacturing staff may open slots.",
    )
    form = SlotCreateForm(request.POST)
    if form.is_valid():
        write = partial(
            slot_services.create_slot, facility=_org(user), actor=user, **form.cleaned_data
        )

        def opened(slot: ManufacturingSlot) -> None:
            messages.success(
                request,
                f"Slot opened: {day_text(slot.starts_on)}, "
                f"{slot.capacity} place{'s' if slot.capacity != 1 else ''}.",
            )

        if done := _done(form, write, opened):
            return done
    return _render(request, user, Bound(create=form))


@require_POST
def slot_capacity(request: HttpRequest, public_id: Any) -> HttpResponse:
    user = _user(request)
    slot = get_visible_or_404(slot_selectors.slots_visible_to(user), public_id)
    form = CapacityForm(request.POST, auto_id=f"id_capacity_{slot.pk}_%s")
    if form.is_valid():
        was = slot.capacity
        capacity = form.cleaned_data["capacity"]
        write = partial(slot_services.change_capacity, slot, capacity=capacity, actor=user)

        def changed(slot: ManufacturingSlot) -> None:
            day = day_text(slot.starts_on)
            if slot.capacity == was:
                messages.info(request, f"{day} already has {was} places; nothing changed.")
            else:
                messages.success(request, f"{day} now has {slot.capacity} places (was {was}).")

        if done := _done(form, write, changed):
            return done
    return _render(request, user, Bound(capacity=(slot.pk, form)))


# ---------- the center ----------


def _show_refusal(form: forms.Form, refused: InvalidInput) -> None:
    if isinstance(refused, SlotFull):
        # The one refusal a coordinator must not miss: at the top of the form, naming the date
        # (the list of dates no longer offers it).
        slot = form.cleaned_data["slot"]
        for message in refused.errors["slot"]:
            form.add_error(None, f"{day_text(slot.starts_on)} at {slot.facility.name}: {message}")
        return
    errors: dict[str, list[str]] = {}
    for field, field_messages in refused.errors.items():
        target = "coi" if field in ("coi_din", "coi_check") else field
        errors.setdefault(target, []).extend(field_messages)
    apply_service_errors(form, InvalidInput(errors))


@require_POST
def booking_create(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    require(
        policies.is_center_user(user) and policies.can_book_slot(user, _org(user)),
        "Only a center's navigators and physicians may book manufacturing slots.",
    )
    form = BookingForm(
        request.POST,
        slots=slot_selectors.slots_visible_to(user),
        open_slots=slot_selectors.open_slots(user, start=local_today(_org(user).time_zone)),
    )
    if form.is_valid():
        data = form.cleaned_data
        write = partial(
            slot_services.book_slot,
            data["slot"],
            coi_din=data["coi"],
            coi_check=data["coi_check"],
            manufacture_attempt=data["manufacture_attempt"],
            center=_org(user),
            actor=user,
        )

        def booked(booking: SlotBooking) -> None:
            slot = booking.slot
            messages.success(
                request,
                f"Place booked for {booking.coi_display} on {day_text(slot.starts_on)} "
                f"at {slot.facility.name}.",
            )

        if done := _done(form, write, booked, _show_refusal):
            return done
    return _render(request, user, Bound(book=form))


@require_POST
def booking_cancel(request: HttpRequest, public_id: Any) -> HttpResponse:
    user = _user(request)
    booking = get_visible_or_404(slot_selectors.bookings_visible_to(user), public_id)
    form = CancelBookingForm(request.POST, auto_id=f"id_cancel_{booking.pk}_%s")
    if form.is_valid():
        reason = form.cleaned_data["reason"]
        write = partial(slot_services.cancel_booking, booking, actor=user, reason=reason)

        def cancelled(_: object) -> None:
            messages.success(
                request,
                f"Booking for {booking.coi_display} on {day_text(booking.slot.starts_on)} "
                "cancelled; the place is free again.",
            )

        if done := _done(form, write, cancelled):
            return done
    return _render(request, user, Bound(cancel=(booking.pk, form)))
