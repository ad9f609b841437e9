"""The reactivity CSV's size limit holds before the upload is read.

A plate-reader export is at most `reactivity_csv.MAX_BYTES`. A request whose declared length is
past that (with room for the form around the file) is refused with 413 before one byte of it is
read, on the page and on the API; a file within that room but over the limit is refused by its
size before it is read. Nothing is written either way.
"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.test.client import encode_multipart
from django.urls import reverse

from tilcare.audit.models import AuditEvent
from tilcare.core.http import UPLOAD_FORM_ALLOWANCE
from tilcare.core.tests.clients import client_for as _client
from tilcare.manufacturing.models import ReactivityImport, ReactivityReading
from tilcare.manufacturing.reactivity_csv import HEADER_TEXT, MAX_BYTES

pytestmark = pytest.mark.django_db

DECLARED = 400_000_000  # the 400 MB upload of the review
TOO_LARGE = "The file is larger than 1,000,000 bytes, the most this upload accepts."
BOUNDARY = "tilcareboundary"


class CountingInput:
    """A request body of `length` bytes that counts how much of it the server reads."""

    def __init__(self, length: int) -> None:
        self.length = length
        self.read_bytes = 0

    def read(self, size: int = -1) -> bytes:
        remaining = self.length - self.read_bytes
        size = remaining if size is None or size < 0 else min(size, remaining)
        self.read_bytes += size
        return b"0" * size

    def readline(self, size: int = -1) -> bytes:
        return self.read(size if size is not None and size >= 0 else 64 * 1024)


def _written() -> tuple[int, ...]:
    return (
        ReactivityImport.objects.count(),
        ReactivityReading.objects.count(),
        AuditEvent.objects.count(),
    )


def _page_url(batch) -> str:
    return reverse("manufacturing:batch-screen-import", args=[batch.public_id])


def _api_url(batch) -> str:
    return f"/api/v1/manufacturing/batches/{batch.public_id}/reactivity.csv"


ROUTES = {
    "page": (_page_url, f"multipart/form-data; boundary={BOUNDARY}"),
    "api-multipart": (_api_url, f"multipart/form-data; boundary={BOUNDARY}"),
    "api-text-csv": (_api_url, "text/csv"),
}


@pytest.mark.parametrize("route", ROUTES)
def test_a_400_mb_upload_is_refused_before_it_is_read(team, screening, route):
    # Given a request declaring a 400 MB body
    url, content_type = ROUTES[route]
    body = CountingInput(DECLARED)
    before = _written()

    # When it is sent as the reactivity CSV
    response = _client(team.manufacturing_tech).post(
        url(screening),
        data=b"-",
        content_type=content_type,
        **{"wsgi.input": body, "CONTENT_LENGTH": str(DECLARED)},
    )

    # Then it is refused with 413 naming the limit, none of it read and nothing written
    assert response.status_code == 413
    if route == "page":
        assert TOO_LARGE in response.content.decode()
    else:
        assert response.json() == {"detail": TOO_LARGE}
    assert body.read_bytes == 0
    assert _written() == before


def _oversized_csv() -> SimpleUploadedFile:
    """A file just over the limit, within the room the route leaves for the form around it."""
    line = "\nF01,1850.0,120.0,14.20,1.10"
    text = HEADER_TEXT + line * ((MAX_BYTES - len(HEADER_TEXT)) // len(line) + 2)
    assert MAX_BYTES < len(text) < MAX_BYTES + UPLOAD_FORM_ALLOWANCE // 2
    return SimpleUploadedFile("plate.csv", text.encode())


def test_the_page_refuses_a_file_over_the_limit_by_its_size(team, screening, monkeypatch):
    # Given a file a few bytes over the limit, which the page must not read
    form = encode_multipart(BOUNDARY, {"file": _oversized_csv()})
    read = []
    monkeypatch.setattr(
        "django.core.files.uploadedfile.InMemoryUploadedFile.read",
        lambda self, *a: read.append(self.name) or b"",
    )
    before = _written()

    # When it is uploaded on the batch page
    response = _client(team.manufacturing_tech).post(
        _page_url(screening), form, content_type=f"multipart/form-data; boundary={BOUNDARY}"
    )

    # Then the form refuses it naming the limit, without reading it, and nothing is written
    assert response.status_code == 200
    assert TOO_LARGE in response.content.decode()
    assert read == []
    assert _written() == before


def test_the_api_refuses_a_file_over_the_limit_by_its_size(team, screening):
    # Given a file a few bytes over the limit, within the room for the form around it
    upload = _oversized_csv()
    before = _written()

    # When it is sent to the API
    response = _client(team.manufacturing_tech).post(_api_url(screening), {"file": upload})

    # Then it is refused naming the field and the limit, and nothing is written
    assert response.status_code == 422
    assert response.json()["errors"] == {"file": ["The file is larger than 1,000,000 bytes."]}
    assert _written() == before


@pytest.mark.parametrize("route", ["page", "api-multipart"])
def test_form_fields_over_the_limit_are_refused_with_413(team, screening, route):
    # Given a form within the upload's length whose CSV is sent as a text field, not a file:
    # Django refuses form fields past DATA_UPLOAD_MAX_MEMORY_SIZE (1 MiB) as it reads them
    url, content_type = ROUTES[route]
    form = encode_multipart(BOUNDARY, {"file": "F" * (1024 * 1024 + 1)})
    assert len(form) < MAX_BYTES + UPLOAD_FORM_ALLOWANCE
    # (pages as a browser posts them, CSRF checked: that check reads the form too)
    client = Client(enforce_csrf_checks=route == "page")
    client.force_login(team.manufacturing_tech)
    before = _written()

    # When it is posted
    response = client.post(url(screening), form, content_type=content_type)

    # Then it is refused with 413 naming that limit (not 400 or 500), and nothing is written
    assert response.status_code == 413
    message = "The request body is larger than 1,048,576 bytes, the most this server accepts."
    if route == "page":
        assert message in response.content.decode()
    else:
        assert response.json() == {"detail": message}
    assert _written() == before
