"""The infusion-day checklist: the steps a nurse follows top to bottom at the bedside.

1. the infusion window (counted down) and the product bags (released, in date);
2. the premedication given, each group timed against the protocol's minutes before the start;
3. each bag's thaw time, against the center's thaw-to-infusion limit;
4. the two-person identity check: each person scans the wristband and every bag, the last scan's
   answer shown big (green "Matches", or red with the engine's message and what to do next);
5. the start (refused, in words, while a check is missing or the product may not be given);
6. the end, with the bags and viable cells given, checked against the protocol's range.

The center's clinical staff read it; a nurse or a treating physician records (the others read
it without the forms). Each POST checks the policy before reading its form (403), calls one
service and goes back to the page with a message; a refusal is shown on its form with the page
(422 for input the service refuses, 409 for a conflict with what is recorded), nothing written.
Another center's infusion answers 404; a facility's staff and patients are refused (403).
Times are shown, and typed, on the center's clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from tilcare.accounts.models import Organization, User
from tilcare.clinical.dosing.schedule import ScheduleStatus
from tilcare.clinical.dosing.settings import CenterSettingError
from tilcare.clinical.dosing.thaw import thaw_check
from tilcare.clinical.identity_scan import next_step_for
from tilcare.core.errors import Conflict, InvalidInput
from tilcare.core.forms import apply_service_errors
from tilcare.core.http import get_visible_or_404
from tilcare.core.policy import require
from tilcare.core.timeutil import local_datetime, local_minute, span_words, zone_of
from tilcare.identity.choices import ScanResult
from tilcare.identity.models import Item
from tilcare.treatment import policies, selectors
from tilcare.treatment.choices import CHECKERS, BedsideTarget, OrderKind, OrderStatus
from tilcare.treatment.forms import (
    BedsideScanForm,
    EndInfusionForm,
    PremedicationForm,
    StartInfusionForm,
    ThawForm,
)
from tilcare.treatment.models import BedsideScan, Infusion, Order
from tilcare.treatment.services.bedside import (
    record_bedside_scan,
    record_premedication,
    record_thaw,
)
from tilcare.treatment.services.infusion import (
    NOT_INFUSER,
    end_infusion,
    start_blockers,
    start_infusion,
)
from tilcare.treatment.views.common import center_staff
from tilcare.treatment.views.order_parts import number

NOT_VIEWER = "The infusion day is followed by the clinical staff of the treatment center."
SHORT = "%a %-d %b %H:%M"

Written = TypeVar("Written")


# ---------- Words for times ----------


def at_words(moment: dt.datetime, center: Organization) -> str:
    """“Tue 15 Dec 10:00 EST” on the center's clock."""
    local = local_datetime(moment, center.time_zone)
    return f"{local.strftime(SHORT)} {local.tzname()}"


@dataclass(frozen=True)
class Window:
    """A window in words (“allowed from … until …”), its countdown and its status colour."""

    bounds: str
    countdown: str
    tone: str  # "ok" (open), "warn" (not yet open), "danger" (closed)
    label: str


def window_words(
    allowed_from: dt.datetime,
    allowed_until: dt.datetime | None,
    status: ScheduleStatus,
    now: dt.datetime,
    center: Organization,
) -> Window:
    bounds = f"allowed from {at_words(allowed_from, center)}"
    if allowed_until is not None:
        bounds += f" until {at_words(allowed_until, center)}"
    if status is ScheduleStatus.TOO_EARLY:
        return Window(bounds, f"opens in {span_words(allowed_from - now)}", "warn", "Not yet")
    if status is ScheduleStatus.TOO_LATE:
        ago = span_words(now - allowed_until) if allowed_until else ""
        return Window(bounds, f"closed {ago} ago", "danger", "Window closed")
    left = f"closes in {span_words(allowed_until - now)}" if allowed_until else "open"
    return Window(bounds, f"open now, {left}", "ok", "Open now")


# ---------- Access ----------


def staff(request: HttpRequest) -> tuple[User, Organization]:
    """The caller and their center once they are its clinical staff (else 403)."""
    return center_staff(request, policies.can_view_orders, NOT_VIEWER)


def infusion_of(request: HttpRequest, public_id: Any) -> tuple[User, Infusion]:
    user, _center = staff(request)
    return user, get_visible_or_404(selectors.infusions_visible_to(user), public_id)


def infusion_url(infusion: Infusion, anchor: str = "") -> str:
    url = reverse("treatment:infusion", kwargs={"public_id": infusion.public_id})
    return f"{url}#{anchor}" if anchor else url


def il2_order_of(infusion: Infusion) -> Order | None:
    """The course's IL-2 order a pharmacist verified (or that was stopped since), if any."""
    return selectors.course_order(
        infusion.coi_din,
        infusion.manufacture_attempt,
        OrderKind.IL2,
        OrderStatus.VERIFIED,
        OrderStatus.STOPPED,
    )


# ---------- Writing from a form ----------


def write(
    form: forms.Form,
    run: Callable[[dict[str, Any]], Written],
    renamed: dict[str, str] | None = None,
) -> tuple[Written | None, int]:
    """`run(cleaned_data)` once the form is valid: (its result, 200); else (None, status), the
    refusal shown on the form under the field it names (`renamed` maps the service's field names
    to the form's). 422 for refused input, 409 for a conflict with what is recorded."""
    if not form.is_valid():
        return None, 422
    try:
        return run(form.cleaned_data), 200
    except InvalidInput as error:
        names = renamed or {}
        apply_service_errors(
            form,
            InvalidInput({names.get(key, key): words for key, words in error.errors.items()}),
        )
        return None, 409 if isinstance(error, Conflict) else 422


def read_in_zone(form: forms.Form, center: Organization) -> None:
    """Clean the form on the center's clock: a typed "14:30" is 14:30 where the patient is."""
    with timezone.override(zone_of(center)):
        form.is_valid()


# ---------- What the page shows ----------


@dataclass(frozen=True)
class BagLine:
    item_id: str
    description: str
    released: str
    expires: str
    problem: str  # "" when the bag may be given


def bag_lines(bags: list[Item], now: dt.datetime, center: Organization) -> list[BagLine]:
    lines = []
    for bag in bags:
        problem = ""
        if bag.released_at is None or bag.released_at > now:
            problem = "Not released by the facility's QA"
        elif bag.expires_at is None:
            problem = "No expiry recorded"
        elif bag.expires_at <= now:
            problem = "Expired"
        lines.append(
            BagLine(
                item_id=bag.item_id,
                description=bag.description,
                released=at_words(bag.released_at, center) if bag.released_at else "Not released",
                expires=at_words(bag.expires_at, center) if bag.expires_at else "Not recorded",
                problem=problem,
            )
        )
    return lines


def infusion_window(infusion: Infusion, now: dt.datetime) -> Window | str:
    """The window counted down, or why it cannot be counted yet."""
    order = selectors.course_order(
        infusion.coi_din, infusion.manufacture_attempt, OrderKind.LYMPHODEPLETION
    )
    last = selectors.last_fludarabine_given(order) if order is not None else None
    if last is None:
        return (
            "The last fludarabine dose is not recorded as given on the verified lymphodepletion "
            "order: the infusion window is counted from it."
        )
    try:
        status = selectors.infusion_window_at(infusion.activation, last, now)
    except CenterSettingError as error:
        return str(error)
    return window_words(
        status.allowed_from, status.allowed_until, status.status, now, infusion.center
    )


def premedication_words(group: Any, window: str) -> str:
    """How one group's dose is timed against the start, on the center's clock (the clinical
    core's own words carry UTC times)."""
    status = group.status.value
    if group.minutes_before is not None:
        when = f"Given {group.minutes_before} min before the start"
        if status == "within":
            return f"{when}: within the protocol's {window}."
        return f"{when}: outside the protocol's {window} (a warning, not a stop)."
    if group.minutes_after is not None:
        return f"Given {group.minutes_after} min after the start: it is given before the start."
    return group.reason


def premedication_lines(infusion: Infusion, start: dt.datetime) -> dict[str, Any] | None:
    check = selectors.premedication_status(infusion, start)
    if check is None:
        return None
    center = infusion.center
    low, high = check.minutes_before_min.magnitude, check.minutes_before_max.magnitude
    window = (
        f"{'about ' if check.approximate else ''}{number(low)} to {number(high)} min before the "
        "start"
    )
    groups = []
    for group in check.groups:
        status = group.status.value
        tone = {"within": "ok", "missing": "muted"}.get(status, "warn")
        groups.append(
            {
                "group": group.group,
                "agents": group.agents,
                "given": [f"{g.agent} at {at_words(g.given_at, center)}" for g in group.given],
                "tone": tone,
                "reason": premedication_words(group, window),
            }
        )
    return {
        "window": window,
        "groups": groups,
        "source": check.source,
        "complete": check.complete,
    }


def thaw_lines(
    infusion: Infusion,
    bags: list[Item],
    now: dt.datetime,
    forms_by_bag: dict[str, ThawForm] | None,
) -> list[dict[str, Any]]:
    """Each bag: its thaw time and the minutes since against the center's limit, or its form."""
    thaws = {t.item_id: t for t in infusion.thaws.select_related("item")}
    protocol = selectors.protocol_of(infusion.activation)
    settings = selectors.center_settings_of(infusion.activation)
    lines = []
    for bag in bags:
        thaw = thaws.get(bag.pk)
        line: dict[str, Any] = {"bag": bag.item_id, "form": None}
        if thaw is not None:
            line["thawed"] = at_words(thaw.thawed_at, infusion.center)
            line["by"] = thaw.recorded_by.printed_name
            try:
                status = thaw_check(
                    protocol.thaw,
                    settings,
                    thaw.thawed_at,
                    selectors.thaw_read_at(infusion, thaw.thawed_at, now),
                )
            except (CenterSettingError, ValueError) as error:
                line.update(tone="warn", reason=str(error))
            else:
                infuse_by = at_words(status.infuse_by, infusion.center)
                line.update(
                    tone="ok" if status.is_within else "danger",
                    since=f"{status.minutes_since_thaw} min since the thaw",
                    limit=f"limit {number(status.limit_minutes)} min",
                    reason=(
                        f"Within the center's limit: infuse by {infuse_by}."
                        if status.is_within
                        else f"Over the center's limit of {number(status.limit_minutes)} min "
                        f"(infuse by {infuse_by}): do not infuse this bag; tell the treating "
                        "physician."
                    ),
                )
        elif forms_by_bag is not None:
            line["form"] = forms_by_bag.get(bag.item_id)
        lines.append(line)
    return lines


@dataclass(frozen=True)
class CheckColumn:
    title: str
    person: str
    wristband: bool
    bags: list[tuple[str, bool]]
    complete: bool


def check_columns(infusion: Infusion, bag_ids: list[str]) -> list[CheckColumn]:
    rounds = selectors.check_rounds(infusion)
    columns = []
    for number_ in CHECKERS:
        check = rounds.get(number_)
        title = "First person" if number_ == 1 else "Second person"
        if check is None:
            columns.append(
                CheckColumn(
                    title,
                    "Not begun",
                    False,
                    [(bag, False) for bag in bag_ids],
                    False,
                )
            )
            continue
        columns.append(
            CheckColumn(
                title,
                check.person.printed_name,
                check.wristband_matched,
                [(bag, bag in check.bags_matched) for bag in bag_ids],
                check.complete(bag_ids),
            )
        )
    return columns


def last_scan(infusion: Infusion) -> dict[str, Any] | None:
    scan = (
        BedsideScan.objects.filter(infusion=infusion)
        .select_related("custody_event__actor")
        .order_by("-id")
        .first()
    )
    if scan is None:
        return None
    event = scan.custody_event
    matched = event.result == ScanResult.MATCH
    return {
        "matched": matched,
        "title": "Matches" if matched else f"Stop: {event.get_result_display()}",
        "message": event.message,
        "next": "" if matched else next_step_for(event.result),
        "what": BedsideTarget(scan.target).label,
        "scanned": event.scanned_text,
        "who": event.actor.printed_name,
        "checker": "first" if scan.checker == 1 else "second",
        "at": at_words(event.occurred_at, infusion.center),
    }


def standing(infusion: Infusion) -> dict[str, str]:
    center = infusion.center
    if infusion.ended_at is not None:
        return {
            "badge": "badge-success",
            "label": "Infusion ended",
            "text": f"Ended {at_words(infusion.ended_at, center)}",
        }
    if infusion.started_at is not None:
        return {
            "badge": "badge-info",
            "label": "Infusing",
            "text": f"Started {at_words(infusion.started_at, center)} by "
            f"{infusion.started_by.printed_name if infusion.started_by else ''}",
        }
    return {"badge": "badge-warning", "label": "Before the start", "text": ""}


def cell_dose_lines(infusion: Infusion) -> dict[str, Any] | None:
    check = infusion.cell_dose_check or {}
    if not check:
        return None
    within = check.get("cells_status") == "within" and check.get("bags_status") in (
        "within",
        "not_specified",
    )
    return {
        "within": within,
        "cells": check.get("cells_message", ""),
        "bags": check.get("bags_message", ""),
        "source": check.get("source", ""),
    }


def cell_range_words(cell_dose: Any) -> str:
    """“7.5 to 72 ×10⁹ viable cells, in 1 to 4 bags”."""
    text = f"{number(cell_dose.minimum.magnitude)}"
    text += f" to {number(cell_dose.maximum.magnitude)}" if cell_dose.maximum else " or more"
    text += " ×10⁹ viable cells"
    if cell_dose.minimum_bags and cell_dose.maximum_bags:
        text += f", in {cell_dose.minimum_bags} to {cell_dose.maximum_bags} bags"
    return text


def render_infusion(
    request: HttpRequest,
    user: User,
    infusion: Infusion,
    *,
    bound: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    bound = bound or {}
    center = infusion.center
    now = timezone.now()
    bags = selectors.bags_of(infusion)
    bag_ids = [bag.item_id for bag in bags]
    may_record = policies.can_record_infusion(user, center)
    open_ = infusion.started_at is None
    start_at = infusion.started_at or now
    protocol = selectors.protocol_of(infusion.activation)
    premedication = premedication_lines(infusion, start_at)
    initial = {"at": local_minute(center)}
    context: dict[str, Any] = {
        "page_title": "Infusion checklist",
        "infusion": infusion,
        "patient": infusion.patient,
        "center": center,
        "zone": local_datetime(now, center.time_zone).tzname(),
        "standing": standing(infusion),
        "window": infusion_window(infusion, start_at) if open_ else None,
        "bags": bag_lines(bags, start_at, center),
        "premedication": premedication,
        "premedications": [
            {
                "group": p.group,
                "agent": p.agent,
                "dose": f"{number(p.dose)} {p.dose_unit}",
                "route": p.route,
                "at": at_words(p.at, center),
                "by": p.recorded_by.printed_name,
            }
            for p in infusion.premedications.select_related("recorded_by").order_by("at")
        ],
        "thaw_limit": protocol.thaw is not None,
        "columns": check_columns(infusion, bag_ids),
        "last_scan": last_scan(infusion) if open_ else None,
        "before_start": start_blockers(infusion, now) if open_ else [],
        "cell_dose": cell_dose_lines(infusion),
        "cell_range": cell_range_words(protocol.cell_dose),
        "started": at_words(infusion.started_at, center) if infusion.started_at else "",
        "ended": at_words(infusion.ended_at, center) if infusion.ended_at else "",
        "may_record": may_record,
        "il2_order": il2_order_of(infusion),
    }
    thaw_forms: dict[str, ThawForm] | None = None
    if may_record and infusion.ended_at is None:
        thaw_forms = {
            bag: ThawForm(bag=bag, initial={"thawed_at": local_minute(center)}) for bag in bag_ids
        }
        if "thaw" in bound:
            thaw_forms[bound["thaw"][0]] = bound["thaw"][1]
    context["thaws"] = thaw_lines(infusion, bags, now, thaw_forms)
    if may_record and open_:
        groups = [
            (g["group"], g["group"].capitalize()) for g in (premedication or {}).get("groups", [])
        ]
        if premedication is not None:
            context["premedication_form"] = bound.get("premedication") or PremedicationForm(
                groups=groups, initial=initial
            )
        context["scan_form"] = bound.get("scan") or BedsideScanForm(
            initial={"target": next_target(context["columns"])}
        )
        context["start_form"] = bound.get("start") or StartInfusionForm(initial=initial)
    if may_record and infusion.started_at is not None and infusion.ended_at is None:
        context["end_form"] = bound.get("end") or EndInfusionForm(
            initial={**initial, "bags_infused": len(bag_ids) or ""}
        )
    return render(request, "treatment/infusion.html", context, status=status)


def next_target(columns: list[CheckColumn]) -> str:
    """The wristband first; then the bags."""
    for column in columns:
        if not column.complete:
            return BedsideTarget.BAG if column.wristband else BedsideTarget.WRISTBAND
    return BedsideTarget.WRISTBAND


# ---------- The page and its POSTs ----------


@require_GET
def infusion(request: HttpRequest, public_id: Any) -> HttpResponse:
    user, found = infusion_of(request, public_id)
    return render_infusion(request, user, found)


def _recorder(request: HttpRequest, public_id: Any) -> tuple[User, Infusion]:
    user, found = infusion_of(request, public_id)
    require(policies.can_record_infusion(user, found.center), NOT_INFUSER)
    return user, found


@require_POST
def infusion_premedication(request: HttpRequest, public_id: Any) -> HttpResponse:
    """POST group, agent, dose (mg), route (PO or IV), at (center time)."""
    user, found = _recorder(request, public_id)
    regimen = selectors.protocol_of(found.activation).premedication
    groups = [(g.group, g.group.capitalize()) for g in regimen.groups] if regimen else []
    form = PremedicationForm(request.POST, groups=groups)
    read_in_zone(form, found.center)
    done, status = write(
        form,
        lambda data: record_premedication(
            found,
            group=data["group"],
            agent=data["agent"],
            dose=data["dose"],
            route=data["route"],
            at=data["at"],
            actor=user,
        ),
        {"dose_unit": "dose"},
    )
    if done is not None:
        messages.success(
            request,
            f"Recorded: {done.agent} {number(done.dose)} {done.dose_unit} {done.route} at "
            f"{at_words(done.at, found.center)}.",
        )
        return redirect(infusion_url(found, "premedication"))
    return render_infusion(request, user, found, bound={"premedication": form}, status=status)


@require_POST
def infusion_thaw(request: HttpRequest, public_id: Any) -> HttpResponse:
    """POST item_id (the bag) and thawed_at (center time)."""
    user, found = _recorder(request, public_id)
    bag = str(request.POST.get("item_id", "")).strip().upper()[:24]
    form = ThawForm(request.POST, bag=bag)
    read_in_zone(form, found.center)
    done, status = write(
        form,
        lambda data: record_thaw(
            found, item_id=data["item_id"], thawed_at=data["thawed_at"], actor=user
        ),
        {"item_id": "__all__"},
    )
    if done is not None:
        messages.success(
            request,
            f"Recorded: {done.item.item_id} thawed at {at_words(done.thawed_at, found.center)}.",
        )
        return redirect(infusion_url(found, "thaw"))
    if bag not in {b.item_id for b in selectors.bags_of(found)}:
        # Not one of the course's bags: its refusal is said at the top of the identity check.
        messages.error(request, " ".join(str(e) for e in form.non_field_errors()))
        return render_infusion(request, user, found, status=status)
    return render_infusion(request, user, found, bound={"thaw": (bag, form)}, status=status)


@require_POST
def infusion_scan(request: HttpRequest, public_id: Any) -> HttpResponse:
    """POST target (wristband or bag) and scanned_text (what the scanner typed)."""
    user, found = _recorder(request, public_id)
    form = BedsideScanForm(request.POST)
    done, status = write(
        form,
        lambda data: record_bedside_scan(
            found, target=data["target"], scanned_text=data["scanned_text"], actor=user
        ),
    )
    if done is not None:
        event = done.custody_event
        if event.result == ScanResult.MATCH:
            messages.success(request, f"{BedsideTarget(done.target).label}: matches.")
        else:
            messages.error(request, f"Does not match: {event.message}")
        return redirect(infusion_url(found, "identity"))
    return render_infusion(request, user, found, bound={"scan": form}, status=status)


@require_POST
def infusion_start(request: HttpRequest, public_id: Any) -> HttpResponse:
    """POST at (center time)."""
    user, found = _recorder(request, public_id)
    form = StartInfusionForm(request.POST)
    read_in_zone(form, found.center)
    done, status = write(
        form, lambda data: start_infusion(found, at=data["at"], actor=user), {"started_at": "at"}
    )
    if done is not None:
        messages.success(request, f"Infusion started at {at_words(done.started_at, found.center)}.")
        return redirect(infusion_url(found, "end"))
    return render_infusion(request, user, found, bound={"start": form}, status=status)


@require_POST
def infusion_end(request: HttpRequest, public_id: Any) -> HttpResponse:
    """POST at (center time), bags_infused, viable_cells_e9 (×10⁹) and note."""
    user, found = _recorder(request, public_id)
    form = EndInfusionForm(request.POST)
    read_in_zone(form, found.center)
    done, status = write(
        form,
        lambda data: end_infusion(
            found,
            at=data["at"],
            bags_infused=data["bags_infused"],
            viable_cells_e9=data["viable_cells_e9"],
            note=data["note"],
            actor=user,
        ),
        {"ended_at": "at"},
    )
    if done is not None:
        said = f"End of infusion recorded at {at_words(done.ended_at, found.center)}."
        dose = cell_dose_lines(done)
        if dose is not None and not dose["within"]:
            messages.warning(
                request,
                f"{said} The cell dose is outside the protocol's range: an alert has been "
                "raised for the treating physician.",
            )
        else:
            messages.success(request, said)
        return redirect(infusion_url(found, "end"))
    return render_infusion(request, user, found, bound={"end": form}, status=status)
