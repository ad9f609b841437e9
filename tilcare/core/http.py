"""View helpers: look an object up through `visible_to`, answer denied actions plainly, and
refuse a request body too large for its route before it is read."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from tilcare.core.errors import InvalidInput, NotVisible, PermissionDenied

M = TypeVar("M", bound=Model)
F = TypeVar("F", bound=Callable[..., Any])

# Room around an uploaded file for the form's other fields and the multipart part headers.
UPLOAD_FORM_ALLOWANCE = 64 * 1024


def accepts_upload(max_file_bytes: int) -> Callable[[F], F]:
    """Marks a page view or an API operation that takes a file of at most `max_file_bytes`.

    Its request body may be that long plus `UPLOAD_FORM_ALLOWANCE`; every other route's at most
    DATA_UPLOAD_MAX_MEMORY_SIZE. A longer body is refused with 413 before any of it is read
    (`body_too_large`, checked by `core.middleware.RequestBodyLimitMiddleware` for pages and by
    the API for its operations). The view still checks the file's own size before reading it.
    """

    def mark(view: F) -> F:
        view.max_upload_bytes = max_file_bytes  # type: ignore[attr-defined]
        return view

    return mark


def upload_too_large(max_file_bytes: int) -> str:
    return f"The file is larger than {max_file_bytes:,} bytes, the most this upload accepts."


# The OpenAPI request body of an API operation that takes a CSV file (`csv_sent`).
CSV_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
    }
}


def csv_sent(request: HttpRequest, max_bytes: int) -> tuple[bytes, str | None]:
    """The CSV file an API operation was sent (CSV_UPLOAD_BODY), of at most `max_bytes`, and the
    uploaded file's name (None when it came as the text/csv body). Refused on the field `file`."""
    too_large = InvalidInput({"file": [f"The file is larger than {max_bytes:,} bytes."]})
    if request.content_type == "multipart/form-data":
        upload = request.FILES.get("file")
        if upload is None:
            raise InvalidInput({"file": ["Send the CSV in a form field named “file”."]})
        if upload.size is not None and upload.size > max_bytes:
            raise too_large
        return upload.read(), upload.name or "upload.csv"
    if request.content_type != "text/csv":
        raise InvalidInput(
            {"file": ["Send the CSV as a text/csv body or as a multipart field named “file”."]}
        )
    # Read from the stream: a long file may exceed the limit Django puts on `request.body`.
    data = request.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise too_large
    return data, None


def body_too_large(request: HttpRequest, view: Callable[..., Any]) -> str | None:
    """Why the request's body is refused unread (its declared length is over the limit of
    `view`, see `accepts_upload`), naming the limit; None if it may be read."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0  # Django reads no body then
    upload: int | None = getattr(view, "max_upload_bytes", None)
    if upload is not None:
        return upload_too_large(upload) if length > upload + UPLOAD_FORM_ALLOWANCE else None
    limit: int | None = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit is not None and length > limit:
        return body_limit_exceeded(limit)
    return None


def body_limit_exceeded(limit: int | None = None) -> str:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE if limit is None else limit
    return f"The request body is larger than {limit:,} bytes, the most this server accepts."


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
