"""A signed-in session left idle longer than TILCARE_IDLE_TIMEOUT_MINUTES is ended."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import Client

from tilcare.patients.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC)


@pytest.fixture
def nurse_client():
    client = Client()
    with time_machine.travel(T0, tick=False):
        client.force_login(UserFactory(role="nurse"))
        assert client.get("/board/").status_code == 200
    return client


def test_a_session_used_within_the_idle_limit_stays_signed_in(nurse_client):
    # Given a nurse who last used tilcare at T0
    # When she comes back 14 minutes later, then again 14 minutes after that
    with time_machine.travel(T0 + dt.timedelta(minutes=14), tick=False):
        first = nurse_client.get("/board/")
    with time_machine.travel(T0 + dt.timedelta(minutes=28), tick=False):
        second = nurse_client.get("/board/")

    # Then both pages open: each request restarts the idle time
    assert (first.status_code, second.status_code) == (200, 200)


def test_an_idle_session_is_ended_and_the_next_page_goes_to_sign_in_with_a_message(nurse_client):
    # Given a nurse who last used tilcare at T0
    # When she comes back 16 minutes later
    with time_machine.travel(T0 + dt.timedelta(minutes=16), tick=False):
        response = nurse_client.get("/board/")
        login_page = nurse_client.get(response["Location"])
        again = nurse_client.get("/board/")

    # Then she is sent to sign in, told why, and the session no longer signs her in
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2Fboard%2F"
    assert [str(m) for m in login_page.context["messages"]] == [
        "You were signed out after 15 minutes without activity. Sign in again to continue."
    ]
    assert again["Location"].startswith("/accounts/login/")


def test_an_idle_htmx_request_is_told_to_load_the_sign_in_page(nurse_client):
    # When an htmx fragment is asked for 16 minutes after the last request
    with time_machine.travel(T0 + dt.timedelta(minutes=16), tick=False):
        response = nurse_client.get(
            "/board/",
            headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/board/?stage=x"},
        )

    # Then htmx is told to load the sign-in page, coming back to the page the nurse was on
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/accounts/login/?next=%2Fboard%2F%3Fstage%3Dx"


def test_an_idle_session_calling_the_api_is_answered_401(nurse_client):
    with time_machine.travel(T0 + dt.timedelta(minutes=16), tick=False):
        response = nurse_client.get("/api/v1/me")

    assert response.status_code == 401


def test_the_idle_limit_is_a_setting(settings, nurse_client):
    # Given a deployment that ends idle sessions after 30 minutes
    settings.TILCARE_IDLE_TIMEOUT_MINUTES = 30

    # When the nurse comes back after 29 minutes
    with time_machine.travel(T0 + dt.timedelta(minutes=29), tick=False):
        response = nurse_client.get("/board/")

    # Then she is still signed in
    assert response.status_code == 200
