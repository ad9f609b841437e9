"""Reads of orders: the course's open order, the pharmacist's queue, the dose calendar, and
the infusion window counted from the last fludarabine dose given."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from tilcare.accounts.models import Organization
from tilcare.clinical.dosing.lymphodepletion import day_label
from tilcare.clinical.dosing.regimens import ProtocolRef
from tilcare.clinical.dosing.schedule import InfusionWindowStatus, infusion_window
from tilcare.treatment import policies
from tilcare.treatment.choices import (
    OPEN_ORDER_STATUSES,
    ActivationStatus,
    AdministrationOutcome,
    OrderStatus,
)
from tilcare.treatment.models import Administration, Order, OrderDose, ProtocolActivation
from tilcare.treatment.selectors.activation import (
    active_activation,
    center_settings_of,
    protocol_of,
)

# Orders -----------------------------------------------------------------------------------------


def open_order(coi_din: str, manufacture_attempt: int, kind: str) -> Order | None:
    """The course's order of this kind awaiting verification or verified, if any."""
    return (
        Order.objects.filter(
            coi_din=coi_din,
            manufacture_attempt=manufacture_attempt,
            kind=kind,
            status__in=OPEN_ORDER_STATUSES,
        )
        .select_related("activation", "measurement", "verification_signature", "ordered_by")
        .first()
    )


def course_order(coi_din: str, manufacture_attempt: int, kind: str, *statuses: str) -> Order | None:
    """The course's latest order of `kind` in one of `statuses` (default: verified)."""
    return (
        Order.objects.filter(
            coi_din=coi_din,
            manufacture_attempt=manufacture_attempt,
            kind=kind,
            status__in=statuses or (OrderStatus.VERIFIED,),
        )
        .select_related("activation")
        .order_by("-created_at")
        .first()
    )


def _orders() -> QuerySet[Order]:
    """Orders with what every page and answer shows of them: each dose and what happened to it
    read in one query each, not one per dose."""
    return Order.objects.select_related(
        "center", "patient", "activation", "measurement", "verification_signature", "ordered_by"
    ).prefetch_related("doses__administration__recorded_by")


def orders_of_course(coi_din: str, manufacture_attempt: int) -> list[Order]:
    """Every order of the course, newest first, cancelled ones included."""
    return list(_orders().filter(coi_din=coi_din, manufacture_attempt=manufacture_attempt))


def order_by_public_id(public_id: object) -> Order | None:
    return _orders().filter(public_id=public_id).first()


def orders_visible_to(user: Any) -> QuerySet[Order]:
    """Every order of the user's own center, for its staff who follow its journeys; none for
    anyone else (another center's orders are not known to exist)."""
    center = getattr(user, "organization", None)
    if center is None or not policies.can_view_orders(user, center):
        return Order.objects.none()
    return _orders().filter(center=center)


def newer_inputs(order: Order) -> str | None:
    """Why an open order must be written and verified again, or None: the center's settings it
    was computed on were replaced by a newer signed version, or a newer height and weight were
    recorded after it was written (the doses were computed from the ones it keeps). An order
    whose every dose is recorded (given, held or not given) has nothing left to change."""
    if order.status in (OrderStatus.CANCELLED, OrderStatus.STOPPED):
        return None
    if not order.doses.filter(administration__isnull=True).exists():
        # Every dose is recorded: nothing is left to give from inputs that changed since.
        return None
    if order.activation.status != ActivationStatus.ACTIVE:
        in_force = active_activation(
            order.center,
            ProtocolRef(order.activation.protocol_id, order.activation.protocol_version),
        )
        now = f"version {in_force.number} is in force" if in_force else "no version is in force"
        return (
            f"This order was computed on the center's settings version {order.activation.number}, "
            f"which has been replaced ({now}): write it again so the doses follow the settings "
            "in force, and have it verified again."
        )
    latest = order.patient.measurements.order_by("-measured_on", "-id").first()
    if latest is None or latest.pk == order.measurement_id:
        return None
    return (
        f"A newer height and weight ({latest.weight_kg} kg, {latest.height_cm} cm, measured "
        f"{latest.measured_on.day} {latest.measured_on:%b %Y}) were recorded after this order "
        "was written from "
        f"{order.measurement.weight_kg} kg, {order.measurement.height_cm} cm: write it again "
        "so the doses follow the new measurement, and have it verified again."
    )


def orders_to_verify(center: Organization) -> list[Order]:
    """The pharmacist's queue: orders awaiting verification, oldest first, and verified open
    orders whose inputs changed since."""
    waiting = list(
        Order.objects.filter(center=center, status=OrderStatus.AWAITING_VERIFICATION)
        .select_related("patient", "activation", "measurement", "ordered_by")
        .order_by("created_at")
    )
    verified = Order.objects.filter(center=center, status=OrderStatus.VERIFIED).select_related(
        "patient", "activation", "measurement", "ordered_by"
    )
    return waiting + [order for order in verified if newer_inputs(order) is not None]


@dataclass(frozen=True)
class CalendarRow:
    """One ordered dose on the study-day calendar: planned (day, date) against what happened."""

    dose: OrderDose
    day_label: str  # "Day −7", or "Dose 2" for a dose timed by the schedule
    planned_on: dt.date | None  # the study day's date once Day 0 is planned
    administration: Administration | None


def dose_calendar(order: Order, day_zero: dt.date | None) -> list[CalendarRow]:
    """The order's doses in order, each with its planned date (Day 0 = `day_zero`, the planned
    infusion date, in the center's calendar) and its administration if recorded."""
    rows = []
    for dose in order.doses.select_related("administration").order_by("sequence"):
        if dose.day is None:
            label, planned = f"Dose {dose.sequence}", None
        else:
            label = day_label(dose.day)
            planned = day_zero + dt.timedelta(days=dose.day) if day_zero else None
        rows.append(
            CalendarRow(
                dose=dose,
                day_label=label,
                planned_on=planned,
                administration=getattr(dose, "administration", None),
            )
        )
    return rows


# Administrations and the infusion window ------------------------------------------------------

FLUDARABINE = "fludarabine"


def last_dose_given(order: Order, agent: str) -> dt.datetime | None:
    """When the order's last dose of `agent` (its highest sequence) was given, or None until it is
    recorded as given (a held or not-given last dose is not a last dose given)."""
    last = order.doses.filter(agent=agent).select_related("administration").order_by("-sequence")
    dose = last.first()
    administration = getattr(dose, "administration", None) if dose is not None else None
    if administration is None or administration.outcome != AdministrationOutcome.GIVEN:
        return None
    return administration.at


def last_fludarabine_given(order: Order) -> dt.datetime | None:
    return last_dose_given(order, FLUDARABINE)


def infusion_window_at(
    activation: ProtocolActivation, last_fludarabine: dt.datetime, now: dt.datetime
) -> InfusionWindowStatus:
    """The protocol's infusion window on `activation`'s settings, counted from `last_fludarabine`.

    Both instants are counted in UTC: the window is a number of hours, and aware arithmetic in a
    local zone would add wall-clock hours across a daylight-saving change."""
    return infusion_window(
        protocol_of(activation).infusion_window,
        center_settings_of(activation),
        last_fludarabine_end=last_fludarabine.astimezone(dt.UTC),
        now=now.astimezone(dt.UTC),
    )


def infusion_window_of(order: Order, now: dt.datetime) -> InfusionWindowStatus | None:
    """The infusion window of the order's course on the settings the order was computed on, or
    None before its last fludarabine dose is given."""
    given = last_fludarabine_given(order)
    return None if given is None else infusion_window_at(order.activation, given, now)
