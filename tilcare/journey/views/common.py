"""Helpers shared by the journey views: who is asking, which journey, which clock."""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from django.db.models import QuerySet
from django.http import HttpRequest
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from tilcare.accounts.models import User
from tilcare.core.http import get_visible_or_404
from tilcare.journey import selectors
from tilcare.journey.models import Journey, Task


def user_of(request: HttpRequest) -> User:
    # LoginRequiredMiddleware has already sent anonymous visitors to the login page.
    return cast(User, request.user)


def journey_of(request: HttpRequest, public_id: Any) -> Journey:
    """The journey if this user may see it; 404 otherwise (its existence must not leak).

    The patient row is deliberately not joined: a facility user's request never reads it.
    """
    queryset = selectors.visible_to(request.user).select_related("center", "manufacturing_facility")
    return get_visible_or_404(queryset, public_id)


def task_of(request: HttpRequest, public_id: Any) -> Task:
    tasks: QuerySet[Task] = Task.objects.filter(
        journey__in=selectors.visible_to(request.user)
    ).select_related("journey", "journey__center")
    return get_visible_or_404(tasks, public_id)


def htmx_target(request: HttpRequest) -> str | None:
    """The element id htmx will swap (None for a plain browser request)."""
    details = getattr(request, "htmx", None)  # set by django_htmx's middleware
    return details.target if details else None


@contextmanager
def local_time(time_zone: str) -> Iterator[None]:
    """Show and read date-times in `time_zone` (the center's), not the server's UTC."""
    with timezone.override(zoneinfo.ZoneInfo(time_zone)):
        yield


def user_time_zone(user: User) -> str:
    return user.organization.time_zone if user.organization else "UTC"


def journey_url(journey: Journey, anchor: str = "") -> str:
    url = reverse("journey:journey-detail", kwargs={"public_id": journey.public_id})
    return f"{url}#{anchor}" if anchor else url


def back_to_journey(journey: Journey, anchor: str = "") -> Any:
    return redirect(journey_url(journey, anchor))


def safe_next(request: HttpRequest, default: str) -> str:
    """A `next` URL from the form if it points back into this site; the default otherwise."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default
