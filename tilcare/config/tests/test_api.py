"""The API as a whole: authentication (session + CSRF, bearer tokens), error bodies, OpenAPI, docs.

Per-domain endpoints are tested in each domain's tests/test_api.py.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from tilcare.accounts.api_auth import CSRF_FAILED, INVALID_TOKEN, user_for_secret
from tilcare.accounts.models import ApiToken
from tilcare.accounts.services import issue_api_token
from tilcare.audit.models import AuditEvent
from tilcare.calculators.registry import all_calculators
from tilcare.config.api import NOT_AUTHENTICATED
from tilcare.core.api_support import field_errors
from tilcare.core.tests.clients import post_json
from tilcare.patients.models import Patient
from tilcare.patients.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NEW_PATIENT = {
    "mrn": "MRN900001",
    "given_name": "Ingrid",
    "family_name": "Solberg",
    "date_of_birth": "1971-09-30",
    "sex": "female",
}

API_PATHS = {
    "/api/v1/me",
    "/api/v1/patients",
    "/api/v1/patients/{public_id}",
    "/api/v1/patients/{public_id}/measurements",
    "/api/v1/patients/{public_id}/consents",
    "/api/v1/patients/{public_id}/journeys",
    "/api/v1/journeys",
    "/api/v1/journeys/{public_id}",
    "/api/v1/journeys/{public_id}/next-steps",
    "/api/v1/journeys/{public_id}/transitions",
    "/api/v1/journeys/{public_id}/milestones",
    "/api/v1/journeys/{public_id}/orders",
    "/api/v1/journeys/{public_id}/infusion",
    "/api/v1/journeys/scans",
    "/api/v1/tasks",
    "/api/v1/tasks/{public_id}/complete",
    "/api/v1/calc/",
    "/api/v1/identity/alerts",
    "/api/v1/identity/alerts/{public_id}/acknowledge",
    "/api/v1/identity/custody-events",
    "/api/v1/identity/items",
    "/api/v1/identity/items/{public_id}",
    "/api/v1/identity/items/{public_id}/labels",
    "/api/v1/identity/labels/{public_id}.pdf",
    "/api/v1/identity/labels/{public_id}.png",
    "/api/v1/identity/labels/{public_id}/apply",
    "/api/v1/identity/labels/{public_id}/void",
    "/api/v1/identity/shipments",
    "/api/v1/identity/shipments/{public_id}",
    "/api/v1/identity/shipments/{public_id}/dispatch",
    "/api/v1/identity/shipments/{public_id}/receive",
    "/api/v1/identity/shipments/{public_id}/temperatures",
    "/api/v1/identity/shipments/{public_id}/temperatures.csv",
    "/api/v1/manufacturing/slots",
    "/api/v1/manufacturing/slots/{public_id}",
    "/api/v1/manufacturing/slots/{public_id}/capacity",
    "/api/v1/manufacturing/slots/{public_id}/bookings",
    "/api/v1/manufacturing/batches",
    "/api/v1/manufacturing/batches/{public_id}",
    "/api/v1/manufacturing/batches/{public_id}/acknowledgement",
    "/api/v1/manufacturing/batches/{public_id}/advance",
    "/api/v1/manufacturing/batches/{public_id}/coa.pdf",
    "/api/v1/manufacturing/batches/{public_id}/cultures",
    "/api/v1/manufacturing/batches/{public_id}/cultures/{culture_id}/count",
    "/api/v1/manufacturing/batches/{public_id}/disposition",
    "/api/v1/manufacturing/batches/{public_id}/forecast",
    "/api/v1/manufacturing/batches/{public_id}/formulation",
    "/api/v1/manufacturing/batches/{public_id}/harvest-plan",
    "/api/v1/manufacturing/batches/{public_id}/ranking",
    "/api/v1/manufacturing/batches/{public_id}/reactivity.csv",
    "/api/v1/manufacturing/batches/{public_id}/release",
    "/api/v1/manufacturing/batches/{public_id}/release-tests",
    "/api/v1/manufacturing/batches/{public_id}/rep-counts",
    "/api/v1/manufacturing/batches/{public_id}/selection",
    "/api/v1/manufacturing/batches/{public_id}/tissue-receipt",
    "/api/v1/manufacturing/bookings",
    "/api/v1/manufacturing/bookings/{public_id}/cancel",
    "/api/v1/treatment/protocol-settings",
    "/api/v1/treatment/protocol-settings/{public_id}",
    "/api/v1/treatment/protocol-settings/{public_id}/signatures",
    "/api/v1/treatment/protocol-settings/{public_id}/discard",
    "/api/v1/treatment/orders",
    "/api/v1/treatment/orders/{public_id}",
    "/api/v1/treatment/orders/{public_id}/verification",
    "/api/v1/treatment/orders/{public_id}/reorder",
    "/api/v1/treatment/orders/{public_id}/cancel",
    "/api/v1/treatment/orders/{public_id}/filgrastim-stop",
    "/api/v1/treatment/orders/{public_id}/doses/{sequence}/administration",
    "/api/v1/treatment/orders/{public_id}/il2",
    "/api/v1/treatment/orders/{public_id}/il2/assessments",
    "/api/v1/treatment/il2-decisions/{public_id}/decision",
    "/api/v1/monitoring/patients/{public_id}/observations",
    "/api/v1/monitoring/observations/{public_id}/correction",
    "/api/v1/treatment/infusions/{public_id}",
    "/api/v1/treatment/infusions/{public_id}/premedications",
    "/api/v1/treatment/infusions/{public_id}/thaws",
    "/api/v1/treatment/infusions/{public_id}/scans",
    "/api/v1/treatment/infusions/{public_id}/start",
    "/api/v1/treatment/infusions/{public_id}/end",
} | {f"/api/v1/calc/{calc.slug}" for calc in all_calculators()}


def bearer(secret: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


@pytest.fixture
def navigator():
    return UserFactory(role="navigator", username="nav.api")


@pytest.fixture
def secret(navigator):
    _token, value = issue_api_token(navigator, name="lab instrument")
    return value


# --- not authenticated ----------------------------------------------------------------------


def test_a_request_without_credentials_is_answered_401_in_json():
    # Given no session and no token
    # When the patient list is requested
    response = Client().get("/api/v1/patients")

    # Then the answer is a JSON 401 that says how to authenticate
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response.json() == {"detail": NOT_AUTHENTICATED}
    assert response["WWW-Authenticate"] == 'Bearer realm="tilcare"'


def test_an_anonymous_post_is_401_and_writes_nothing():
    # Given no session and no token
    patients_before, events_before = Patient.objects.count(), AuditEvent.objects.count()

    # When a patient is posted
    response = post_json(Client(enforce_csrf_checks=True), "/api/v1/patients", NEW_PATIENT)

    # Then it is "not authenticated" (not a CSRF failure), and nothing is written
    assert response.status_code == 401
    assert response.json() == {"detail": NOT_AUTHENTICATED}
    assert Patient.objects.count() == patients_before
    assert AuditEvent.objects.count() == events_before


# --- bearer tokens --------------------------------------------------------------------------


def test_a_bearer_token_authenticates_as_its_user(secret):
    # Given a token issued for the navigator
    # When /me is called with it
    response = Client().get("/api/v1/me", **bearer(secret))

    # Then the caller is that navigator
    assert response.status_code == 200
    assert response.json()["username"] == "nav.api"


def test_only_the_hash_and_prefix_of_a_token_are_stored(navigator):
    # Given a newly issued token
    token, secret = issue_api_token(navigator, name="lab instrument")

    # Then the secret has the tc_ form, and only its SHA-256 and first 8 characters are kept
    assert re.fullmatch(r"tc_[A-Za-z0-9_-]{43}", secret)
    token.refresh_from_db()
    assert token.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert token.key_prefix == secret[:8]
    assert token.name == "lab instrument"
    assert secret not in (token.key_hash, token.key_prefix, token.name)


def test_issuing_a_token_is_audited_without_the_secret_or_its_hash(navigator):
    # Given no token yet
    events_before = AuditEvent.objects.count()

    # When one is issued
    token, secret = issue_api_token(navigator, name="lab instrument")

    # Then one audit event records who it is for, and neither the secret nor its hash
    assert AuditEvent.objects.count() == events_before + 1
    event = AuditEvent.objects.order_by("-seq").first()
    assert event.action == "accounts.api_token.issue"
    assert json.loads(event.after_json) == {
        "expires_at": token.expires_at.astimezone(dt.UTC).isoformat(),
        "key_prefix": secret[:8],
        "name": "lab instrument",
        "scope": "read_write",
        "user": str(navigator.public_id),
    }
    assert secret not in event.after_json
    assert token.key_hash not in event.after_json


def test_a_revoked_token_is_refused_with_401(navigator):
    # Given a token that has been revoked
    token, secret = issue_api_token(navigator, name="lab instrument")
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())

    # When it is used
    response = Client().get("/api/v1/me", **bearer(secret))

    # Then it is refused
    assert response.status_code == 401
    assert response.json() == {"detail": INVALID_TOKEN}


def test_the_token_of_an_inactive_user_is_refused_with_401(navigator, secret):
    # Given the token's user has been deactivated
    navigator.is_active = False
    navigator.save()

    # When the token is used
    response = Client().get("/api/v1/me", **bearer(secret))

    # Then it is refused
    assert response.status_code == 401
    assert response.json() == {"detail": INVALID_TOKEN}


def test_an_unknown_token_is_refused_even_with_a_signed_in_session(navigator):
    # Given a signed-in session
    client = Client()
    client.force_login(navigator)

    # When a request also carries a token that does not exist
    response = client.get("/api/v1/me", **bearer("tc_not-a-real-token"))

    # Then the bad token decides: 401, with no fall back to the session
    assert response.status_code == 401
    assert response.json() == {"detail": INVALID_TOKEN}


def test_last_used_at_is_written_on_first_use_then_at_most_once_a_minute(navigator):
    # Given a token never used
    token, secret = issue_api_token(navigator, name="lab instrument")
    first = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)

    # When it is used, then used again 59 seconds later, then 61 seconds after the first use
    user_for_secret(secret, now=first)
    token.refresh_from_db()
    after_first = token.last_used_at
    user_for_secret(secret, now=first + dt.timedelta(seconds=59))
    token.refresh_from_db()
    after_second = token.last_used_at
    user_for_secret(secret, now=first + dt.timedelta(seconds=61))
    token.refresh_from_db()

    # Then the second use within the minute did not write
    assert after_first == first
    assert after_second == first
    assert token.last_used_at == first + dt.timedelta(seconds=61)


def test_a_bearer_post_needs_no_csrf_token(secret):
    # Given a client that enforces CSRF, authenticating with a token only
    client = Client(enforce_csrf_checks=True)

    # When a patient is registered
    response = post_json(client, "/api/v1/patients", NEW_PATIENT, **bearer(secret))

    # Then it is created
    assert response.status_code == 201
    assert Patient.objects.filter(mrn="MRN900001").count() == 1


# --- session and CSRF -----------------------------------------------------------------------


def test_a_session_post_without_csrf_token_is_refused_and_writes_nothing(navigator):
    # Given a signed-in browser session that enforces CSRF
    client = Client(enforce_csrf_checks=True)
    client.force_login(navigator)
    patients_before, events_before = Patient.objects.count(), AuditEvent.objects.count()

    # When a patient is posted without the X-CSRFToken header
    response = post_json(client, "/api/v1/patients", NEW_PATIENT)

    # Then it is refused and nothing is written
    assert response.status_code == 403
    assert response.json() == {"detail": CSRF_FAILED}
    assert Patient.objects.count() == patients_before
    assert AuditEvent.objects.count() == events_before


def test_a_session_post_with_the_csrf_token_is_accepted(navigator):
    # Given a signed-in session that has loaded the docs page (which sets the CSRF cookie)
    client = Client(enforce_csrf_checks=True)
    client.force_login(navigator)
    client.get("/api/v1/docs")
    csrf_token = client.cookies["csrftoken"].value

    # When a patient is posted with the X-CSRFToken header
    response = post_json(client, "/api/v1/patients", NEW_PATIENT, HTTP_X_CSRFTOKEN=csrf_token)

    # Then it is created
    assert response.status_code == 201
    assert Patient.objects.filter(mrn="MRN900001").count() == 1


def test_a_session_get_needs_no_csrf_token(navigator):
    # Given a signed-in session that enforces CSRF
    client = Client(enforce_csrf_checks=True)
    client.force_login(navigator)

    # When a list is read
    response = client.get("/api/v1/patients")

    # Then it is answered
    assert response.status_code == 200
    assert response.json() == {"items": [], "count": 0}


# --- errors ---------------------------------------------------------------------------------


def test_an_unknown_api_path_is_a_json_404(secret):
    # When a path the API does not have is requested
    response = Client().get("/api/v1/no/such/thing", **bearer(secret))

    # Then the answer is JSON
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_a_body_that_is_not_json_is_a_json_400(secret):
    # When the body cannot be parsed
    response = Client().post(
        "/api/v1/patients", data="{not json", content_type="application/json", **bearer(secret)
    )

    # Then the answer is JSON
    assert response.status_code == 400
    assert response.json() == {"detail": "Cannot parse request body"}


def test_ninja_error_locations_become_field_names():
    # Given ninja's errors for a body field, a query parameter and a missing body
    errors = [
        {"loc": ("body", "payload", "weight_kg"), "msg": "Value error, Too heavy", "type": "x"},
        {"loc": ("query", "limit"), "msg": "Input should be less than 200", "type": "y"},
        {"loc": ("body", "payload", "sex"), "msg": "Field required", "type": "missing"},
        {"loc": ("body", "payload"), "msg": "Field required", "type": "missing"},
    ]

    # When they are reformatted
    # Then each is under its field, worded as a sentence
    assert field_errors(errors) == {
        "weight_kg": ["Too heavy."],
        "limit": ["Input should be less than 200."],
        "sex": ["This field is required."],
        "__all__": ["Send the request body as a JSON object."],
    }


# --- OpenAPI and docs -----------------------------------------------------------------------


def test_the_openapi_document_lists_every_path(secret):
    # When the OpenAPI document is fetched
    response = Client().get("/api/v1/openapi.json", **bearer(secret))

    # Then it lists exactly the API's paths
    assert response.status_code == 200
    assert set(response.json()["paths"]) == API_PATHS


def test_the_openapi_document_requires_authentication():
    response = Client().get("/api/v1/openapi.json")

    assert response.status_code == 401
    assert response.json() == {"detail": NOT_AUTHENTICATED}


def test_the_docs_page_loads_vendored_swagger_ui_with_no_inline_script(navigator):
    # Given a signed-in user
    client = Client()
    client.force_login(navigator)

    # When the docs page is opened
    response = client.get("/api/v1/docs")
    html = response.content.decode()

    # Then every script comes from this server's static files, none inline, no CDN
    assert response.status_code == 200
    assert re.findall(r"<script[^>]*>", html) == [
        '<script src="/static/vendor/swagger-ui/swagger-ui-bundle.js">',
        '<script src="/static/js/api-docs.js">',
    ]
    assert '<link rel="stylesheet" href="/static/vendor/swagger-ui/swagger-ui.css">' in html
    assert 'data-openapi-url="/api/v1/openapi.json"' in html
    assert "http" not in html
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_the_docs_page_sends_an_anonymous_visitor_to_sign_in():
    response = Client().get("/api/v1/docs")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/api/v1/docs"


def test_the_vendored_swagger_files_are_served():
    # Static files are served without sign-in (the login page needs its CSS too).
    client = Client()
    for path in (
        "/static/vendor/swagger-ui/swagger-ui-bundle.js",
        "/static/vendor/swagger-ui/swagger-ui.css",
        "/static/js/api-docs.js",
    ):
        assert client.get(path).status_code == 200, path


# --- createtoken ----------------------------------------------------------------------------


def test_createtoken_prints_the_secret_once_and_stores_its_hash(navigator):
    # When the command is run for the navigator
    out = io.StringIO()
    call_command("createtoken", "nav.api", "--name", "lab instrument", stdout=out)

    # Then it prints the secret on its last line, and the stored token matches it
    secret = out.getvalue().strip().splitlines()[-1]
    token = ApiToken.objects.get(user=navigator)
    assert token.name == "lab instrument"
    assert token.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert out.getvalue().count(secret) == 1
    assert Client().get("/api/v1/me", **bearer(secret)).json()["username"] == "nav.api"


def test_createtoken_for_an_unknown_user_fails_and_creates_nothing():
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        call_command("createtoken", "nobody", "--name", "lab instrument", stdout=io.StringIO())

    assert ApiToken.objects.count() == 0


def test_createtoken_refuses_an_inactive_user(navigator):
    navigator.is_active = False
    navigator.save()

    with pytest.raises(CommandError, match="is inactive"):
        call_command("createtoken", "nav.api", "--name", "lab instrument", stdout=io.StringIO())

    assert ApiToken.objects.count() == 0


def test_createtoken_refuses_a_blank_name(navigator):
    with pytest.raises(CommandError, match="Name the token"):
        call_command("createtoken", "nav.api", "--name", "  ", stdout=io.StringIO())

    assert ApiToken.objects.count() == 0
