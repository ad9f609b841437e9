"""A request body over its limit is refused with 413 before it is read, never answered with 500.

JSON bodies and forms may be DATA_UPLOAD_MAX_MEMORY_SIZE (1 MiB) long; an upload route declares
its own limit (`tilcare.core.http.accepts_upload`; tested with the reactivity CSV in
manufacturing/tests/test_upload_limits.py).
"""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from tilcare.config.api import api
from tilcare.patients.models import Patient
from tilcare.patients.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

OVER_THE_LIMIT = "The request body is larger than 1,048,576 bytes, the most this server accepts."


@pytest.mark.parametrize("length", [1024 * 1024 + 1, 3_000_000])
def test_a_json_body_over_the_limit_is_refused_with_413(length):
    # Given a new patient's JSON body padded past 1 MiB (and past Django's own 2.5 MB default)
    client = Client()
    client.force_login(UserFactory(role="navigator"))
    body = json.dumps({"mrn": "MRN900001", "given_name": "Ingrid", "family_name": ""})
    body = body[:-3] + " " * (length - len(body)) + body[-3:]
    assert len(body) == length

    # When it is posted to the API
    response = client.post("/api/v1/patients", data=body, content_type="application/json")

    # Then it is refused with 413 naming the limit, and nothing is written
    assert response.status_code == 413
    assert response.json() == {"detail": OVER_THE_LIMIT}
    assert Patient.objects.count() == 0


def test_a_form_over_the_limit_is_refused_with_413_not_400():
    # Given a sign-in form with a field of 3 MB
    client = Client(enforce_csrf_checks=True)

    # When it is posted
    response = client.post(
        reverse("accounts:login"), {"username": "x" * 3_000_000, "password": "irrelevant"}
    )

    # Then the page answers 413 naming the limit
    assert response.status_code == 413
    assert OVER_THE_LIMIT in response.content.decode()


def test_every_operation_that_takes_a_body_documents_the_413():
    # Given the OpenAPI document
    document = api.get_openapi_schema()

    # When the operations that take a request body are read
    undocumented = [
        f"{method.upper()} {path}"
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if "requestBody" in operation and "413" not in map(str, operation["responses"])
    ]

    # Then each declares the 413
    assert undocumented == []
