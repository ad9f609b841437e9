"""Security headers Django 5.2 does not set itself, deny by default, and request body limits."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tilcare.core.http import body_limit_exceeded, body_too_large

# Everything is served from this server: no CDN, no inline script, no framing.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; "
    "base-uri 'self'; object-src 'none'"
)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        return response


class LoginRequiredExceptApiMiddleware(LoginRequiredMiddleware):
    """Deny by default for pages; the JSON API authenticates itself and answers 401 in JSON."""

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        if request.path_info.startswith("/api/"):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)


class PageViewMiddleware(ABC):
    """A middleware that acts just before a page's view runs; the API (`/api/`) answers for
    itself in JSON. A subclass says what to answer instead of the page in `check_page`."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        if request.path_info.startswith("/api/"):
            return None
        return self.check_page(request, view_func)

    @abstractmethod
    def check_page(self, request: HttpRequest, view: Callable[..., Any]) -> HttpResponse | None:
        """The answer instead of the page, or None to let the view run."""


def _too_large(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "413.html", {"message": message}, status=413)


class RequestBodyLimitMiddleware(PageViewMiddleware):
    """Refuses a page's request body over its route's limit with 413 before it is read.

    The limit is the view's upload limit (`core.http.accepts_upload`) or
    DATA_UPLOAD_MAX_MEMORY_SIZE, checked against the declared Content-Length. A body Django
    still finds too large as it reads it (RequestDataTooBig) is a 413 too, not a 400. The API
    checks its own operations the same way (`tilcare.config.api`).
    """

    def check_page(self, request: HttpRequest, view: Callable[..., Any]) -> HttpResponse | None:
        message = body_too_large(request, view)
        if message is not None:
            return _too_large(request, message)
        if request.method == "POST":
            try:
                # Read here, within the limit just checked, rather than first by the CSRF check,
                # whose error would be a 400: a form's fields past DATA_UPLOAD_MAX_MEMORY_SIZE.
                request.POST  # noqa: B018
            except RequestDataTooBig:
                return _too_large(request, body_limit_exceeded())
            except OSError:
                return None  # the client went away mid-body: the CSRF check answers that
        return None

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, RequestDataTooBig) and not request.path_info.startswith("/api/"):
            return _too_large(request, body_limit_exceeded())
        return None
