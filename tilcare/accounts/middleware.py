"""Two session rules for pages: the second factor before anything else, and the idle timeout.

- A person whose role needs a second factor (policies.needs_second_factor) and who has signed in
  with the password only is sent to confirm it (or to set it up) before any other page opens.
  The JSON API applies the same rule itself (api_auth: 401); bearer tokens are for systems and
  are not asked.
- A signed-in session left idle longer than TILCARE_IDLE_TIMEOUT_MINUTES is ended; the next
  request goes to the sign-in page with a message (htmx requests get HX-Redirect).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django_htmx.http import HttpResponseClientRedirect
from django_otp import user_has_device

from tilcare.accounts.policies import second_factor_pending
from tilcare.core.middleware import PageViewMiddleware

LAST_SEEN_RESOLUTION_S = 60
LAST_SEEN_KEY = "tilcare_last_seen"
SECOND_FACTOR_EXEMPT = "second_factor_exempt"


def second_factor_exempt(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a page that opens between the password and the second factor (set-up, check,
    sign out)."""
    setattr(view, SECOND_FACTOR_EXEMPT, True)
    return view


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _go(request: HttpRequest, url_name: str) -> HttpResponse:
    target = reverse(url_name) + "?" + urlencode({"next": request.get_full_path()})
    if _is_htmx(request):
        return HttpResponseClientRedirect(target)
    return redirect(target)


class SecondFactorMiddleware(PageViewMiddleware):
    # The API answers 401 in JSON itself (api_auth).
    def check_page(self, request: HttpRequest, view: Callable[..., Any]) -> HttpResponse | None:
        if not getattr(view, "login_required", True) or getattr(view, SECOND_FACTOR_EXEMPT, False):
            return None
        if not second_factor_pending(request.user):
            return None
        if user_has_device(request.user, confirmed=True):
            return _go(request, "accounts:second-factor")
        return _go(request, "accounts:second-factor-setup")


class IdleTimeoutMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return self.get_response(request)
        now = timezone.now()
        limit = dt.timedelta(minutes=settings.TILCARE_IDLE_TIMEOUT_MINUTES)
        last_seen = request.session.get(LAST_SEEN_KEY)
        if last_seen is not None and now - dt.datetime.fromtimestamp(last_seen, dt.UTC) > limit:
            logout(request)
            minutes = settings.TILCARE_IDLE_TIMEOUT_MINUTES
            messages.info(
                request,
                f"You were signed out after {minutes} minutes without activity. "
                "Sign in again to continue.",
            )
            if request.path_info.startswith("/api/"):
                return self.get_response(request)  # now anonymous: the API answers 401
            login_url = reverse(settings.LOGIN_URL)
            if _is_htmx(request):
                # The page the person was on, not the fragment htmx asked for.
                current = urlsplit(request.headers.get("HX-Current-URL", ""))
                page = current.path + (f"?{current.query}" if current.query else "")
                return HttpResponseClientRedirect(
                    login_url + ("?" + urlencode({"next": page}) if current.path else "")
                )
            return redirect(login_url + "?" + urlencode({"next": request.get_full_path()}))
        # The session is written again only once a minute: an idle limit counted from up to a
        # minute before the last request is exact enough, and a busy page's every request (htmx
        # fragments, polling) no longer writes the session row.
        if last_seen is None or now.timestamp() - last_seen >= LAST_SEEN_RESOLUTION_S:
            request.session[LAST_SEEN_KEY] = now.timestamp()
        return self.get_response(request)
