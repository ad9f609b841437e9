"""View helpers: look an object up through `visible_to`, and answer denied actions plainly."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from tilcare.core.errors import NotVisible, PermissionDenied

M = TypeVar("M", bound=Model)


def get_visible_or_404(queryset: QuerySet[M], public_id: Any) -> M:
    """The object if it is in the user's visible set; 404 otherwise, so existence does not leak."""
    try:
        key = uuid.UUID(str(public_id))
    except ValueError:
        raise Http404("Not found") from None
    obj = queryset.filter(public_id=key).first()
    if obj is None:
        raise Http404("Not found")
    return obj


class DeniedActionMiddleware:
    """Turn a service's PermissionDenied into a 403 page and NotVisible into a 404."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if request.path_info.startswith("/api/"):
            return None  # the API answers in JSON through its own handlers
        if isinstance(exception, PermissionDenied):
            return render(request, "403.html", {"message": exception.message}, status=403)
        if isinstance(exception, NotVisible):
            return render(request, "404.html", status=404)
        return None
