"""Signing in from a browser test: the password, then the authenticator code when asked.

Every browser test signs in through `sign_in`, so the second factor (on in the test settings) is
entered the way a person does: the user gets a confirmed authenticator device if they have none,
and the code is computed from it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from tilcare.accounts.models import User
from tilcare.patients.tests.factories import TEST_PASSWORD

if TYPE_CHECKING:
    from playwright.sync_api import Page

SECOND_FACTOR_PATH = "/accounts/second-factor/"


def current_code(device: TOTPDevice) -> str:
    """The code the device's authenticator app shows now."""
    token = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token()
    return f"{token:0{device.digits}d}"


def sign_in(page: Page, live_server_url: str, user: Any, password: str = TEST_PASSWORD) -> None:
    """Sign `user` (a User or a username) in on the sign-in page, with the code if asked."""
    if isinstance(user, str):
        user = User.objects.get(username=user)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    # A code is accepted once: a second sign-in within the same 30 seconds needs the step free.
    TOTPDevice.objects.filter(pk=device.pk).update(last_t=-1)
    device.refresh_from_db()
    page.goto(live_server_url + "/accounts/login/")
    page.fill("input[name='username']", user.username)
    page.fill("input[name='password']", password)
    page.click("button[type='submit']")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    if SECOND_FACTOR_PATH in page.url:
        page.fill("input[name='code']", current_code(device))
        page.click("form.form button[type='submit']")
        page.wait_for_url(lambda url: SECOND_FACTOR_PATH not in url)
