"""Signing in through a reverse proxy on another host (docs/deployment.md, section 3).

The settings are overridden as `tilcare.core.proxy.proxy_settings` sets them from the
environment: the proxy at 10.0.0.5, the browser at https://tilcare.example.org.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.conf import settings
from django.test import Client, override_settings
from django.urls import reverse

from tilcare.accounts.choices import Role
from tilcare.core.proxy import proxy_settings
from tilcare.patients.tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

HOST = "tilcare.example.org"
ORIGIN = f"https://{HOST}"
PROXY = "10.0.0.5"
CLIENT_A = "198.51.100.7"  # someone guessing the nurse's password
CLIENT_B = "198.51.100.20"  # the night nurse's workstation
BEHIND_PROXY = {
    **proxy_settings(
        {
            "TILCARE_TRUSTED_PROXIES": PROXY,
            "TILCARE_CSRF_TRUSTED_ORIGINS": ORIGIN,
            "TILCARE_PROXY_SSL_HEADER": "X-Forwarded-Proto",
        }
    ),
    "ALLOWED_HOSTS": [HOST],
}
START = dt.datetime(2026, 3, 2, 3, 0, tzinfo=dt.UTC)
LOCKED_OUT = 429  # django-axes' answer to a locked-out sign-in


def _through_proxy(client_address: str) -> dict[str, str]:
    """A browser request from `client_address` as the proxy forwards it, with its Origin."""
    return {
        "REMOTE_ADDR": PROXY,
        "HTTP_X_FORWARDED_FOR": client_address,
        "HTTP_X_FORWARDED_PROTO": "https",
        "HTTP_HOST": HOST,
        "HTTP_ORIGIN": ORIGIN,
    }


def _csrf_token(client: Client, headers: dict[str, str]) -> str:
    page = client.get(reverse("accounts:login"), **headers)
    assert page.status_code == 200
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert match is not None
    return match.group(1)


def _sign_in(username: str, password: str, headers: dict[str, str]) -> tuple[Client, int]:
    """A browser's sign-in: the page (for its CSRF token), then the form posted back."""
    client = Client(enforce_csrf_checks=True)
    token = _csrf_token(client, headers)
    response = client.post(
        reverse("accounts:login"),
        {"username": username, "password": password, "csrfmiddlewaretoken": token},
        **headers,
    )
    return client, response.status_code


def _signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


@pytest.fixture
def nurse():
    return UserFactory(username="night.nurse", role=Role.NURSE)


@override_settings(**BEHIND_PROXY)
def test_sign_in_through_the_proxy_passes_the_csrf_check(nurse):
    # Given the proxy forwards a browser's HTTPS sign-in, Origin https://tilcare.example.org
    # When the nurse posts the sign-in form with the token the page gave
    client, status = _sign_in("night.nurse", TEST_PASSWORD, _through_proxy(CLIENT_B))

    # Then the sign-in is accepted (not refused by the CSRF check)
    assert status == 302
    assert _signed_in(client)


def _fail_five_times(headers: dict[str, str]) -> list[int]:
    return [_sign_in("night.nurse", "wrong-password-1", headers)[1] for _ in range(5)]


@override_settings(**BEHIND_PROXY)
def test_failed_sign_ins_lock_the_guessing_client_not_the_nurse(nurse):
    with time_machine.travel(START, tick=False):
        # Given five failed sign-ins as the nurse from client A, through the proxy
        failures = _fail_five_times(_through_proxy(CLIENT_A))

        # When client A tries again with the right password, and the nurse signs in from B
        _, from_a = _sign_in("night.nurse", TEST_PASSWORD, _through_proxy(CLIENT_A))
        nurse_client, from_b = _sign_in("night.nurse", TEST_PASSWORD, _through_proxy(CLIENT_B))
        nurse_signed_in = _signed_in(nurse_client)

    # Then A is locked out (the fifth failure locks it) and the nurse is signed in
    assert failures == [200, 200, 200, 200, LOCKED_OUT]
    assert from_a == LOCKED_OUT
    assert from_b == 302
    assert nurse_signed_in


@override_settings(**BEHIND_PROXY)
def test_a_forwarded_address_sent_by_a_client_cannot_lock_another_client(nurse):
    with time_machine.travel(START, tick=False):
        # Given five failed sign-ins from a client reaching the application directly, each
        # claiming in X-Forwarded-For to be the nurse's workstation B
        direct = {**_through_proxy(CLIENT_B), "REMOTE_ADDR": CLIENT_A}
        direct.pop("HTTP_X_FORWARDED_PROTO")
        direct.pop("HTTP_ORIGIN")
        failures = _fail_five_times(direct)

        # When the nurse signs in from B through the proxy, and the direct client tries again
        nurse_client, from_b = _sign_in("night.nurse", TEST_PASSWORD, _through_proxy(CLIENT_B))
        nurse_signed_in = _signed_in(nurse_client)
        _, direct_again = _sign_in("night.nurse", TEST_PASSWORD, direct)

    # Then the claim was ignored: the direct client locked itself, not B
    assert failures == [200, 200, 200, 200, LOCKED_OUT]
    assert from_b == 302
    assert nurse_signed_in
    assert direct_again == LOCKED_OUT


@override_settings(**BEHIND_PROXY)
def test_the_lock_ends_after_the_cool_off(nurse):
    cool_off = dt.timedelta(hours=settings.AXES_COOLOFF_TIME)
    with time_machine.travel(START, tick=False) as clock:
        # Given client A locked by five failed sign-ins
        assert _fail_five_times(_through_proxy(CLIENT_A))[-1] == LOCKED_OUT

        # When A signs in a second before the cool-off ends (a try while locked starts it
        # again), and then once the cool-off has passed since that try
        retried_at = START + cool_off - dt.timedelta(seconds=1)
        clock.move_to(retried_at)
        _, before = _sign_in("night.nurse", TEST_PASSWORD, _through_proxy(CLIENT_A))
        clock.move_to(retried_at + cool_off + dt.timedelta(seconds=1))
        client, after = _sign_in("night.nurse", TEST_PASSWORD, _through_proxy(CLIENT_A))
        signed_in = _signed_in(client)

    # Then A is refused while locked and let in once the cool-off has passed
    assert before == LOCKED_OUT
    assert after == 302
    assert signed_in
