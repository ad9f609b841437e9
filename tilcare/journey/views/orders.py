"""The journey page's orders card and its two actions: a treating physician orders lymphodepletion
(with a serum creatinine and the date it was drawn) or IL-2 for the journey's current course.

The doses are computed by the treatment domain from the center's signed settings in force and the
patient's latest height and weight; this page only names the course (`selectors.course_of`), shows
what was ordered, and calls the treatment services. The card is the center staff's only: a
manufacturing facility, which sees the journey by its COI identifier, never gets it, and its POST
answers 404.

The actions answer htmx with the card itself (refused input on its field, a refusal in words at
the top of the card); a plain browser POST goes back to the card with the same words as messages
(post/redirect/get, so a reload never orders twice).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import groupby, pairwise
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from tilcare.accounts.models import User
from tilcare.clinical.dosing.schedule import InfusionWindowStatus, ScheduleStatus
from tilcare.core.errors import InvalidInput
from tilcare.core.forms import DateInput, apply_service_errors
from tilcare.core.policy import require
from tilcare.core.timeutil import local_datetime, local_today, span_words
from tilcare.journey import guards, policies, selectors
from tilcare.journey.choices import Stage
from tilcare.journey.models import Journey
from tilcare.journey.views.common import (
    back_to_journey,
    htmx_target,
    journey_of,
    local_time,
    user_of,
)
from tilcare.patients.forms import NamedErrorsForm
from tilcare.protocols.loader import load_protocol
from tilcare.treatment import policies as treatment_policies
from tilcare.treatment.choices import OrderKind, OrderStatus
from tilcare.treatment.models import Order, OrderDose
from tilcare.treatment.selectors import (
    infusion_of_course,
    newer_inputs,
    open_order,
    orders_of_course,
)
from tilcare.treatment.services import orders as order_services
from tilcare.treatment.services.filgrastim import order_filgrastim as order_filgrastim_service
from tilcare.treatment.services.infusion import NOT_INFUSER
from tilcare.treatment.services.infusion import open_infusion as open_checklist

CARD_ID = "orders"
FORM_PREFIX = "lymphodepletion"
# A run of at least this many consecutive days is written "Day −5 … −1".
RUN_MIN = 3
AGENT_WORDS = {
    "cyclophosphamide": "Cyclophosphamide",
    "fludarabine": "Fludarabine",
    "aldesleukin": "IL-2",
    "filgrastim": "Filgrastim",
}
STATUS_BADGES = {
    OrderStatus.AWAITING_VERIFICATION: "badge-warning",
    OrderStatus.VERIFIED: "badge-success",
    OrderStatus.CANCELLED: "badge-muted",
    OrderStatus.STOPPED: "badge-danger",
}
IU_PER_MIU = Decimal(1_000_000)


class LymphodepletionOrderForm(NamedErrorsForm):
    """The creatinine the fludarabine dose's renal function is estimated from, and the date it
    was drawn. Its value is checked by the order service (range and decimals, with the limits in
    the message); the form only reads the text and the date."""

    serum_creatinine_mg_per_dl = forms.CharField(
        label="Serum creatinine (mg/dL)",
        max_length=12,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    creatinine_drawn_on = forms.DateField(label="Date drawn", widget=DateInput)


# ---------- The card ----------


@dataclass(frozen=True)
class StudyDate:
    on: dt.date
    today: bool


@dataclass(frozen=True)
class DoseLine:
    """Consecutive doses of one agent at one dose: "Fludarabine 50 mg IV", "Day −5 … −1" and the
    calendar dates of those days when Day 0 is planned."""

    dose: str
    days: str
    dates: list[StudyDate]


@dataclass(frozen=True)
class OrderRow:
    order: Order
    status_badge: str
    lines: list[DoseLine]
    newer_inputs: str | None
    url: str
    il2_url: str = ""  # the IL-2 decision screen, once the order is verified


@dataclass(frozen=True)
class WindowLine:
    """The infusion window counted down: its words and its status colour."""

    text: str
    tone: str  # "ok" (open), "warn" (not yet open), "danger" (closed)


@dataclass
class OrdersCard:
    rows: list[OrderRow]
    day0: dt.date | None
    lymphodepletion_form: LymphodepletionOrderForm | None
    can_order_il2: bool
    errors: list[str] = field(default_factory=list)
    message: str = ""
    window: WindowLine | None = None
    infusion_url: str = ""  # the course's infusion checklist, once opened
    can_open_infusion: bool = False
    can_order_filgrastim: bool = False  # a treating physician, a protocol that gives it


# The stages in which the infusion window is counted down: after the infusion it is history.
WINDOW_STAGES = frozenset({Stage.LYMPHODEPLETION, Stage.INFUSION})


def window_line(status: InfusionWindowStatus, time_zone: str) -> WindowLine:
    """“Infusion window: opens Tue 15 Dec 10:00, closes Sat 19 Dec 10:00 EST — open now, closes
    in 2 days 3 h”, on the center's clock (each bound with its zone when daylight saving changes
    between them)."""
    opens = local_datetime(status.allowed_from, time_zone)
    closes = local_datetime(status.allowed_until, time_zone)

    def shown(moment: dt.datetime) -> str:
        return f"{moment:%a} {moment.day} {moment:%b %H:%M}"

    if opens.tzname() == closes.tzname():
        bounds = f"opens {shown(opens)}, closes {shown(closes)} {closes.tzname()}"
    else:
        bounds = f"opens {shown(opens)} {opens.tzname()}, closes {shown(closes)} {closes.tzname()}"
    if status.status is ScheduleStatus.TOO_EARLY:
        state, tone = f"opens in {span_words(status.allowed_from - status.now)}", "warn"
    elif status.status is ScheduleStatus.TOO_LATE:
        state, tone = f"closed {span_words(status.now - status.allowed_until)} ago", "danger"
    else:
        state, tone = f"open now, closes in {span_words(status.allowed_until - status.now)}", "ok"
    return WindowLine(f"Infusion window: {bounds} — {state}", tone)


def journey_window(journey: Journey, now: dt.datetime) -> WindowLine | None:
    """The countdown once the last fludarabine dose is given, until the journey moves past
    the infusion."""
    if journey.stage not in WINDOW_STAGES:
        return None
    status = guards.infusion_window_for(journey, now)
    return None if status is None else window_line(status, journey.center.time_zone)


def _amount(dose: Decimal) -> str:
    text = f"{dose:,f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _dose_words(dose: OrderDose) -> str:
    agent = AGENT_WORDS.get(dose.agent, dose.agent.capitalize())
    text = f"{agent} {_amount(dose.dose)} {dose.dose_unit}"
    if dose.dose_unit == "IU" and dose.dose >= IU_PER_MIU:
        # Said in both units: IU and MIU are a classic thousand-fold confusion.
        text += f" ({_amount(dose.dose / IU_PER_MIU)} MIU)"
    return f"{text} {dose.route}"


def _signed(day: int) -> str:
    return "0" if day == 0 else (f"+{day}" if day > 0 else f"−{-day}")


def _days_words(days: list[int]) -> str:
    consecutive = all(b - a == 1 for a, b in pairwise(days))
    if len(days) >= RUN_MIN and consecutive:
        return f"Day {_signed(days[0])} … {_signed(days[-1])}"
    return "Day " + ", ".join(_signed(day) for day in days)


def _dates(days: list[int], day0: dt.date | None, today: dt.date) -> list[StudyDate]:
    if day0 is None:
        return []
    dates = [day0 + dt.timedelta(days=day) for day in days]
    return [StudyDate(on, on == today) for on in dates]


def dose_lines(order: Order, day0: dt.date | None, today: dt.date) -> list[DoseLine]:
    """The order's doses summarised: one line per run of the same agent, dose and route, with
    the dates of its study days counted from `day0`. IL-2 doses follow the schedule (they have
    no study day): one line with their number."""
    lines = []
    doses = sorted(order.doses.all(), key=lambda d: d.sequence)
    for _, group in groupby(doses, key=lambda d: (d.agent, d.route, d.dose, d.dose_unit)):
        run = list(group)
        days = [d.day for d in run if d.day is not None]
        if days:
            lines.append(
                DoseLine(_dose_words(run[0]), _days_words(days), _dates(days, day0, today))
            )
        else:
            count = len(run)
            lines.append(DoseLine(_dose_words(run[0]), f"× {count} dose{'s' * (count != 1)}", []))
    return lines


def _order_url(order: Order) -> str:
    return reverse("treatment:order", kwargs={"public_id": order.public_id})


def _il2_url(order: Order) -> str:
    if order.kind != OrderKind.IL2 or order.status not in (
        OrderStatus.VERIFIED,
        OrderStatus.STOPPED,
    ):
        return ""
    return reverse("treatment:il2", kwargs={"public_id": order.public_id})


def may_open_infusion(user: User, journey: Journey) -> bool:
    """A nurse or a treating physician of the center, once the journey is in lymphodepletion or
    at the infusion (the checklist is the infusion day's)."""
    return journey.stage in WINDOW_STAGES and treatment_policies.can_record_infusion(
        user, journey.center
    )


def may_see_orders(user: User, journey: Journey) -> bool:
    """The center's clinical staff, who see the patient; never a facility."""
    return policies.can_view_journey_identity(
        user, journey
    ) and treatment_policies.can_view_protocol_settings(user, journey.center)


def orders_card(
    user: User,
    journey: Journey,
    *,
    form: LymphodepletionOrderForm | None = None,
    errors: list[str] | None = None,
    message: str = "",
) -> OrdersCard | None:
    """The orders of the journey's current course, and what this user may order (None for a
    user who may not see them). The planned infusion date is Day 0 of the dates shown."""
    if not may_see_orders(user, journey):
        return None
    today = local_today(journey.center.time_zone)
    day0 = journey.planned_infusion_on
    orders = [
        o
        for o in orders_of_course(journey.coi_din, journey.manufacture_attempt)
        if treatment_policies.can_view_order(user, o)
    ]
    rows = [
        OrderRow(
            order=o,
            status_badge=STATUS_BADGES.get(OrderStatus(o.status), "badge-neutral"),
            lines=dose_lines(o, day0, today),
            newer_inputs=newer_inputs(o),
            url=_order_url(o),
            il2_url=_il2_url(o),
        )
        for o in orders
    ]
    may_order = (
        treatment_policies.can_write_order(user, journey.center)
        and selectors.order_refusal(journey) is None
    )

    def free(kind: OrderKind) -> bool:
        return may_order and open_order(journey.coi_din, journey.manufacture_attempt, kind) is None

    if free(OrderKind.LYMPHODEPLETION):
        form = form or LymphodepletionOrderForm(prefix=FORM_PREFIX)
    else:
        form = None
    infusion = infusion_of_course(journey.coi_din, journey.manufacture_attempt)
    # Once stopped on its rule (or the institution's standard), filgrastim is not ordered again.
    filgrastim_stopped = any(
        o.kind == OrderKind.FILGRASTIM and o.status == OrderStatus.STOPPED for o in orders
    )
    return OrdersCard(
        rows,
        day0,
        form,
        free(OrderKind.IL2),
        errors or [],
        message,
        window=journey_window(journey, timezone.now()),
        infusion_url=(
            reverse("treatment:infusion", kwargs={"public_id": infusion.public_id})
            if infusion is not None
            else ""
        ),
        can_open_infusion=infusion is None and may_open_infusion(user, journey),
        can_order_filgrastim=free(OrderKind.FILGRASTIM)
        and not filgrastim_stopped
        and load_protocol(journey.protocol_ref.protocol_id, journey.protocol_ref.version).filgrastim
        is not None,
    )


# ---------- The actions ----------


def _journey_to_order(request: HttpRequest, public_id: Any) -> tuple[User, Journey]:
    """The journey, if the user may see its patient (else 404: a facility does not learn of the
    orders), once the user may write orders at its center (else 403), and if it takes orders."""
    user = user_of(request)
    journey = journey_of(request, public_id)
    if not policies.can_view_journey_identity(user, journey):
        raise Http404("Not found")
    require(treatment_policies.can_write_order(user, journey.center), order_services.NOT_PRESCRIBER)
    return user, journey


def _card_response(request: HttpRequest, user: User, journey: Journey, **card: Any) -> HttpResponse:
    with local_time(journey.center.time_zone):
        return render(
            request,
            "journey/partials/_orders.html",
            {"journey": journey, "orders_card": orders_card(user, journey, **card)},
        )


def _ordered(request: HttpRequest, user: User, journey: Journey, order: Order) -> HttpResponse:
    said = (
        f"Ordered: {order.get_kind_display()}. It awaits a pharmacist's verification before "
        "any dose is given."
    )
    if htmx_target(request) == CARD_ID:
        return _card_response(request, user, journey, message=said)
    messages.success(request, said)
    return back_to_journey(journey, CARD_ID)


def _refused(
    request: HttpRequest,
    user: User,
    journey: Journey,
    problems: list[str],
    form: LymphodepletionOrderForm | None = None,
) -> HttpResponse:
    if htmx_target(request) == CARD_ID:
        return _card_response(request, user, journey, form=form, errors=problems)
    for problem in problems:
        messages.error(request, problem)
    return back_to_journey(journey, CARD_ID)


def _words(form: forms.Form) -> list[str]:
    """A refused form in sentences, each field's messages after its label when they do not name
    it (for the messages of a page without htmx)."""
    said = []
    for name, errors in form.errors.items():
        label = str(form.fields[name].label) if name in form.fields else ""
        for error in errors:
            said.append(error if not label or error.startswith(label) else f"{label}: {error}")
    return said


@require_POST
def order_lymphodepletion(request: HttpRequest, public_id: Any) -> HttpResponse:
    """POST lymphodepletion-serum_creatinine_mg_per_dl (mg/dL, decimal text) and
    lymphodepletion-creatinine_drawn_on (YYYY-MM-DD)."""
    user, journey = _journey_to_order(request, public_id)
    form = LymphodepletionOrderForm(request.POST, prefix=FORM_PREFIX)
    if form.is_valid():
        try:
            if refusal := selectors.order_refusal(journey):
                raise InvalidInput({"__all__": [refusal]})
            order = order_services.order_lymphodepletion(
                selectors.course_of(journey),
                serum_creatinine_mg_per_dl=form.cleaned_data["serum_creatinine_mg_per_dl"],
                creatinine_drawn_on=form.cleaned_data["creatinine_drawn_on"],
                actor=user,
            )
        except InvalidInput as exc:
            apply_service_errors(form, exc)
        else:
            return _ordered(request, user, journey, order)
    # The refusal of the whole order is said at the top of the card; a field's under the field.
    problems = list(form.non_field_errors())
    if htmx_target(request) != CARD_ID:
        problems = _words(form)
    return _refused(request, user, journey, problems, form)


@require_POST
def order_il2(request: HttpRequest, public_id: Any) -> HttpResponse:
    """POST (no fields): the course's IL-2 doses, computed from the latest weight."""
    user, journey = _journey_to_order(request, public_id)
    try:
        if refusal := selectors.order_refusal(journey):
            raise InvalidInput({"__all__": [refusal]})
        order = order_services.order_il2(selectors.course_of(journey), actor=user)
    except InvalidInput as exc:
        problems = [m for msgs in exc.errors.values() for m in msgs]
        return _refused(request, user, journey, problems)
    return _ordered(request, user, journey, order)


@require_POST
def order_filgrastim(request: HttpRequest, public_id: Any) -> HttpResponse:
    """POST days (1 to 30): filgrastim daily from Day +1 (or today, or the day after the last dose
    recorded), each dose computed from the latest weight."""
    user, journey = _journey_to_order(request, public_id)
    try:
        if refusal := selectors.order_refusal(journey):
            raise InvalidInput({"__all__": [refusal]})
        order = order_filgrastim_service(
            selectors.course_of(journey), days=request.POST.get("days", ""), actor=user
        )
    except InvalidInput as exc:
        problems = [m for msgs in exc.errors.values() for m in msgs]
        return _refused(request, user, journey, problems)
    return _ordered(request, user, journey, order)


@require_POST
def open_infusion(request: HttpRequest, public_id: Any) -> HttpResponse:
    """POST (no fields): open the course's infusion checklist (or find the one already open) and
    go to it."""
    user = user_of(request)
    journey = journey_of(request, public_id)
    if not policies.can_view_journey_identity(user, journey):
        raise Http404("Not found")
    require(treatment_policies.can_record_infusion(user, journey.center), NOT_INFUSER)
    try:
        if refusal := selectors.order_refusal(journey):
            raise InvalidInput({"__all__": [refusal]})
        infusion = open_checklist(selectors.course_of(journey), actor=user)
    except InvalidInput as exc:
        for problem in (m for msgs in exc.errors.values() for m in msgs):
            messages.error(request, problem)
        return back_to_journey(journey, CARD_ID)
    return redirect(reverse("treatment:infusion", kwargs={"public_id": infusion.public_id}))


urlpatterns = [
    path(
        "journeys/<uuid:public_id>/orders/lymphodepletion/",
        order_lymphodepletion,
        name="order-lymphodepletion",
    ),
    path("journeys/<uuid:public_id>/orders/il2/", order_il2, name="order-il2"),
    path(
        "journeys/<uuid:public_id>/orders/filgrastim/",
        order_filgrastim,
        name="order-filgrastim",
    ),
    path("journeys/<uuid:public_id>/infusion/", open_infusion, name="open_infusion"),
]
