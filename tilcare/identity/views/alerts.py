"""Identity alerts: the page listing the organization's alerts, and acknowledging one.

Anyone with the custody permission at the center or facility of an alert sees it; those with the
acknowledge permission close it with a note saying what was checked or done. An alert names the
COI identifier, never the patient. With htmx the acknowledge form swaps only its alert (a
refused note comes back as 200 with its message); without it the browser goes back where it
came from with a message.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from typing import Any, cast

from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from tilcare.accounts.models import User
from tilcare.accounts.roles import Perm
from tilcare.core.errors import InvalidInput
from tilcare.core.http import get_visible_or_404
from tilcare.core.policy import require
from tilcare.identity import policies
from tilcare.identity.models import IdentityAlert
from tilcare.identity.selectors import alerts_visible_to
from tilcare.identity.services.alerts import acknowledge_alert

PAGE_LIMIT = 200
STATUSES = (("open", "Open"), ("acknowledged", "Acknowledged"), ("all", "All"))


@dataclass(frozen=True)
class AlertRow:
    alert: IdentityAlert
    can_acknowledge: bool
    note_visible: bool


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _alerts(user: User) -> QuerySet[IdentityAlert]:
    return alerts_visible_to(user).select_related(
        "acknowledged_by", "custody_event__actor", "custody_event__organization"
    )


def _row(user: User, alert: IdentityAlert) -> AlertRow:
    return AlertRow(
        alert,
        policies.can_acknowledge_alert(user, alert),
        policies.can_view_alert_note(user, alert),
    )


def _zone(user: User) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(user.organization.time_zone if user.organization else "UTC")


def _safe_next(request: HttpRequest) -> str:
    candidate = request.POST.get("next", "")
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("identity:alerts")


@require_GET
def alert_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    require(
        user.has_perm_code(Perm.VIEW_CUSTODY),
        "Only staff who handle specimens and products see identity alerts.",
    )
    status = request.GET.get("status", "open")
    if status not in dict(STATUSES):
        status = "open"
    visible = _alerts(user)
    counts = {
        "open": visible.filter(acknowledged_at__isnull=True).count(),
        "acknowledged": visible.filter(acknowledged_at__isnull=False).count(),
    }
    counts["all"] = counts["open"] + counts["acknowledged"]
    shown = visible
    if status == "open":
        shown = shown.filter(acknowledged_at__isnull=True)
    elif status == "acknowledged":
        shown = shown.filter(acknowledged_at__isnull=False)
    rows = [_row(user, a) for a in shown.order_by("-raised_at", "-id")[:PAGE_LIMIT]]
    with timezone.override(_zone(user)):
        return render(
            request,
            "identity/alerts.html",
            {
                "page_title": "Identity alerts",
                "rows": rows,
                "status": status,
                "tabs": [(code, label, counts[code]) for code, label in STATUSES],
                "limit": PAGE_LIMIT,
                "truncated": counts[status] > PAGE_LIMIT,
                "may_acknowledge": user.has_perm_code(Perm.ACKNOWLEDGE_IDENTITY_ALERT),
                "next": request.get_full_path(),
                "time_zone": str(_zone(user)),
            },
        )


@require_POST
def alert_acknowledge(request: HttpRequest, public_id: Any) -> HttpResponse:
    user = _user(request)
    alert = get_visible_or_404(_alerts(user), public_id)
    note = request.POST.get("note", "")
    error = ""
    try:
        alert = acknowledge_alert(alert, actor=user, note=note)
    except InvalidInput as refused:
        error = " ".join(m for found in refused.errors.values() for m in found)
    next_url = _safe_next(request)
    if getattr(request, "htmx", False):
        alert = _alerts(user).get(pk=alert.pk)
        with timezone.override(_zone(user)):
            return render(
                request,
                "identity/partials/_alert.html",
                {"row": _row(user, alert), "error": error, "note": note, "next": next_url},
            )
    if error:
        messages.error(request, f"The alert was not acknowledged: {error}")
    else:
        messages.success(request, "Alert acknowledged.")
    return redirect(next_url)


urlpatterns: list[URLPattern] = [
    path("alerts/", alert_list, name="alerts"),
    path("alerts/<uuid:public_id>/acknowledge/", alert_acknowledge, name="alert-acknowledge"),
]
