"""The nurse's bedside page, for a tablet: the center's patients on their infusion day or in IL-2
(an infusion opened and not ended; a verified IL-2 order with a dose left), one card each, with
the doses recorded today, what is due next and its "allowed from … until …" on the center's
clock with a countdown, and the way to the infusion checklist and the IL-2 decision screen.

The center's clinical staff read it (the menu offers it to those who record the infusion or
assess IL-2 doses); anyone else is refused (403).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from tilcare.core.timeutil import local_datetime, local_today
from tilcare.patients.models import Patient
from tilcare.treatment import policies
from tilcare.treatment.choices import OrderKind, OrderStatus
from tilcare.treatment.models import Administration, Infusion, Order
from tilcare.treatment.views.il2 import answer, il2_url
from tilcare.treatment.views.infusion import (
    Window,
    at_words,
    infusion_url,
    infusion_window,
    staff,
)
from tilcare.treatment.views.order_parts import OUTCOME_BADGES, miu, number


@dataclass
class BedsideCard:
    patient: Patient
    course: Any  # the infusion or the order: its COI is shown
    phase: str  # "Infusion day" or "IL-2"
    tone: str
    next_title: str = ""
    next_detail: str = ""
    window: Window | None = None
    window_note: str = ""
    today: list[dict[str, str]] = field(default_factory=list)
    steps: list[tuple[str, bool]] = field(default_factory=list)
    infusion_url: str = ""
    il2_url: str = ""
    awaiting_physician: bool = False


def _infusion_card(infusion: Infusion, now: dt.datetime) -> BedsideCard:
    card = BedsideCard(
        patient=infusion.patient,
        course=infusion,
        phase="Infusion day",
        tone="warn",
        infusion_url=infusion_url(infusion),
    )
    if infusion.started_at is not None:
        card.tone = "ok"
        card.next_title = "Infusing"
        card.next_detail = (
            f"Started {at_words(infusion.started_at, infusion.center)}: record the end of the "
            "infusion."
        )
        return card
    window = infusion_window(infusion, now)
    if isinstance(window, Window):
        card.window, card.tone = window, window.tone
    else:
        card.window_note = window
    card.next_title = "Cell infusion"
    premedicated = {p.group for p in infusion.premedications.all()}
    scans = infusion.bedside_scans.values_list("checker", flat=True).distinct()
    card.steps = [
        ("Premedication", bool(premedicated)),
        ("Thaw recorded", infusion.thaws.exists()),
        ("Identity check begun by two people", len(set(scans)) >= 2),
    ]
    return card


def _il2_card(order: Order, now: dt.datetime, infusion: Infusion | None) -> BedsideCard:
    said = answer(order, now)
    card = BedsideCard(
        patient=order.patient,
        course=order,
        phase="IL-2",
        tone=said["tone"],
        next_title=said["headline"],
        next_detail=" ".join(
            part for part in (said.get("amount", ""), said.get("route", "")) if part
        ),
        window=said["window"],
        window_note="" if said["window"] else said["reason"],
        il2_url=il2_url(order),
        infusion_url=infusion_url(infusion) if infusion is not None else "",
    )
    slot = said["dose"]
    decision = getattr(slot, "il2_decision", None) if slot is not None else None
    card.awaiting_physician = decision is not None and decision.status == "awaiting_physician"
    today = local_today(order.center.time_zone, now)
    for done in (
        Administration.objects.filter(dose__order=order)
        .select_related("dose", "recorded_by")
        .order_by("at")
    ):
        if local_datetime(done.at, order.center.time_zone).date() != today:
            continue
        dose = done.dose
        card.today.append(
            {
                "label": f"Dose {dose.sequence}",
                "amount": f"{number(dose.dose)} {dose.dose_unit}"
                + (f" ({miu(dose.dose)})" if dose.dose_unit == "IU" else ""),
                "outcome": done.get_outcome_display(),
                "badge": OUTCOME_BADGES.get(done.outcome, "badge-neutral"),
                "at": at_words(done.at, order.center),
                "by": done.recorded_by.printed_name,
            }
        )
    return card


def bedside_cards(center: Any, now: dt.datetime) -> list[BedsideCard]:
    """The center's patients at the bedside: infusion day first, then IL-2, by name."""
    infusions = {
        (i.coi_din, i.manufacture_attempt): i
        for i in Infusion.objects.filter(center=center).select_related(
            "center", "patient", "activation", "started_by"
        )
    }
    cards = [
        _infusion_card(infusion, now)
        for infusion in infusions.values()
        if infusion.ended_at is None
    ]
    il2_orders = (
        Order.objects.filter(
            center=center,
            kind=OrderKind.IL2,
            status=OrderStatus.VERIFIED,
            doses__administration__isnull=True,
        )
        .select_related("center", "patient", "activation")
        .distinct()
    )
    cards += [
        _il2_card(order, now, infusions.get((order.coi_din, order.manufacture_attempt)))
        for order in il2_orders
        if infusions.get((order.coi_din, order.manufacture_attempt)) is not None
        and infusions[(order.coi_din, order.manufacture_attempt)].ended_at is not None
    ]
    phase_order = {"Infusion day": 0, "IL-2": 1}
    cards.sort(key=lambda c: (phase_order[c.phase], c.patient.family_name, c.patient.given_name))
    return cards


@require_GET
def bedside(request: HttpRequest) -> HttpResponse:
    user, center = staff(request)
    now = timezone.now()
    return render(
        request,
        "treatment/bedside.html",
        {
            "page_title": "Bedside",
            "center": center,
            "cards": bedside_cards(center, now),
            "now": at_words(now, center),
            "may_record": policies.can_record_infusion(user, center),
        },
    )
