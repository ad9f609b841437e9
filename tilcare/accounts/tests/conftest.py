"""Shared fixtures for the accounts tests: sign-in through the real pages, codes from a device."""

from __future__ import annotations

import pytest
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from tilcare.accounts.models import User
from tilcare.patients.tests.factories import TEST_PASSWORD

LOGIN_URL = "/accounts/login/"
VERIFY_URL = "/accounts/second-factor/"
SETUP_URL = "/accounts/second-factor/setup/"


def code_for(device: TOTPDevice) -> str:
    """The code the person's authenticator app shows now."""
    device.refresh_from_db()
    token = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token()
    return f"{token:0{device.digits}d}"


def confirmed_device(user: User) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)


def password_sign_in(user: User, client: Client | None = None) -> Client:
    """A client that has passed the password step only, through the sign-in page."""
    client = client or Client()
    response = client.post(LOGIN_URL, {"username": user.username, "password": TEST_PASSWORD})
    assert response.status_code == 302, response.content
    return client


@pytest.fixture
def password_only():
    return password_sign_in
