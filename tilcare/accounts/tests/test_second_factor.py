"""The staff second factor: who needs it, setting it up, the check after the password, recovery
codes, throttled wrong codes, and the center administrator's reset."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import Client
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from tilcare.accounts import policies, services
from tilcare.accounts.choices import Role
from tilcare.accounts.services import issue_api_token
from tilcare.accounts.tests.conftest import (
    SETUP_URL,
    VERIFY_URL,
    code_for,
    confirmed_device,
    password_sign_in,
)
from tilcare.audit.models import AuditEvent
from tilcare.core.errors import InvalidInput, PermissionDenied
from tilcare.patients.models import Patient
from tilcare.patients.tests.factories import CenterFactory, UserFactory

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC)


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


# --- who needs it ----------------------------------------------------------------------------


def test_every_staff_role_needs_a_second_factor_and_the_patient_does_not():
    # Given every role in the table
    # When each is asked whether its permissions need a second factor
    needing = {role for role in Role if policies.role_needs_second_factor(role)}

    # Then every staff role does (each sees identity, signs or attests custody), the patient not
    assert needing == set(Role) - {Role.PATIENT}


def test_a_patient_signs_in_with_the_password_alone():
    # Given a patient's portal account
    patient = UserFactory(role="patient")

    # When they sign in with their password
    client = password_sign_in(patient)

    # Then the home page sends them to their portal, not to a second factor
    response = client.get("/")
    assert (response.status_code, response["Location"]) == (302, "/portal/")
    assert not TOTPDevice.objects.filter(user=patient).exists()


def test_the_demo_setting_turns_the_second_factor_off(settings):
    # Given a deployment that switched the second factor off (the local demo)
    settings.TILCARE_REQUIRE_SECOND_FACTOR = False
    nurse = UserFactory(role="nurse")

    # When a nurse signs in with the password
    client = password_sign_in(nurse)

    # Then the board opens, and the sign-in page says the second factor is off
    assert client.get("/board/").status_code == 200
    assert "switched off for this demonstration" in Client().get("/accounts/login/").text


def test_the_sign_in_page_says_nothing_of_a_demo_when_the_second_factor_is_on():
    assert "demonstration" not in Client().get("/accounts/login/").text


# --- setting it up ---------------------------------------------------------------------------


def test_a_first_sign_in_goes_to_set_up_the_authenticator_app():
    # Given a nurse who has never set up a second factor
    nurse = UserFactory(role="nurse")

    # When she signs in with her password and opens the board
    client = password_sign_in(nurse)
    response = client.get("/board/")

    # Then she is sent to set up her authenticator app, which shows a QR code and the key as text
    assert response.status_code == 302
    assert response["Location"] == SETUP_URL + "?next=%2Fboard%2F"
    page = client.get(response["Location"])
    device = TOTPDevice.objects.get(user=nurse)
    assert device.confirmed is False
    assert 'src="data:image/svg+xml' in page.text
    assert "otpauth" not in page.text  # the QR code is drawn here, not fetched from anywhere
    assert page.context["secret_groups"][0] in page.text


def test_confirming_the_app_with_its_code_shows_ten_recovery_codes_once_and_is_audited():
    # Given a nurse on the set-up page
    nurse = UserFactory(role="nurse")
    client = password_sign_in(nurse)
    client.get(SETUP_URL)
    device = TOTPDevice.objects.get(user=nurse)

    # When she enters the code her app shows
    response = client.post(SETUP_URL + "?next=/board/", {"code": code_for(device)})

    # Then the app is confirmed, ten recovery codes are shown once, and the board opens
    device.refresh_from_db()
    assert device.confirmed is True
    assert response["Location"] == "/accounts/second-factor/recovery-codes/?next=%2Fboard%2F"
    page = client.get(response["Location"])
    codes = page.context["codes"]
    assert len(codes) == 10
    assert sorted(codes) == sorted(
        StaticToken.objects.filter(device__user=nurse).values_list("token", flat=True)
    )
    assert all(code in page.text for code in codes)
    assert client.get("/accounts/second-factor/recovery-codes/").status_code == 302
    assert client.get("/board/").status_code == 200
    [event] = events("accounts.second_factor.enrol")
    assert (event.actor_id, event.object_id) == (nurse.pk, str(nurse.public_id))
    assert event.after == {"device": "Authenticator app", "recovery_codes": 10}


def test_a_wrong_code_at_set_up_is_refused_counted_and_audited():
    # Given a nurse on the set-up page
    nurse = UserFactory(role="nurse")
    client = password_sign_in(nurse)
    client.get(SETUP_URL)
    device = TOTPDevice.objects.get(user=nurse)
    wrong = f"{(int(code_for(device)) + 1) % 1_000_000:06d}"

    # When she enters a wrong code
    response = client.post(SETUP_URL, {"code": wrong})

    # Then the form says so, the app stays unconfirmed, the failure is counted and audited
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "code": ["That code is not right. Check the time on your phone and try the newest code."]
    }
    device.refresh_from_db()
    assert (device.confirmed, device.throttling_failure_count) == (False, 1)
    assert StaticDevice.objects.filter(user=nurse).count() == 0
    [event] = events("accounts.second_factor.verify_failure")
    assert event.after == {"during": "enrolment", "failures": 1}
    assert client.get("/board/")["Location"].startswith(SETUP_URL)


# --- the check after the password ---------------------------------------------------------------


def test_with_an_app_set_up_every_page_waits_for_the_code():
    # Given a physician with a confirmed app who has entered only the password
    physician = UserFactory(role="physician")
    confirmed_device(physician)
    client = password_sign_in(physician)

    # When she opens a page, and the same page through htmx
    page = client.get("/patients/")
    fragment = client.get("/patients/", headers={"HX-Request": "true"})

    # Then the page redirects to the code, and htmx is told to go there
    assert page.status_code == 302
    assert page["Location"] == VERIFY_URL + "?next=%2Fpatients%2F"
    assert fragment["HX-Redirect"] == VERIFY_URL + "?next=%2Fpatients%2F"


def test_the_session_api_answers_401_until_the_code_and_bearer_tokens_are_not_asked():
    # Given a navigator who entered only the password, and a token of hers for a lab system
    navigator = UserFactory(role="navigator")
    confirmed_device(navigator)
    client = password_sign_in(navigator)
    _token, secret = issue_api_token(navigator, name="lab instrument")
    patients_before = Patient.objects.count()

    # When the API is called with the session, and with the token
    with_session = client.get("/api/v1/me")
    posted = client.post("/api/v1/patients", data={}, content_type="application/json")
    with_token = Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}")

    # Then the session is refused 401 and nothing is written; the token is answered
    assert with_session.status_code == 401
    assert with_session.json() == {
        "detail": "Finish signing in: enter the code from your authenticator app on the "
        "sign-in page."
    }
    assert posted.status_code == 401
    assert Patient.objects.count() == patients_before
    assert with_token.status_code == 200


def test_the_right_code_opens_the_page_asked_for():
    # Given a physician with a confirmed app, past the password
    physician = UserFactory(role="physician")
    device = confirmed_device(physician)
    client = password_sign_in(physician)

    # When she enters the app's code
    response = client.post(VERIFY_URL + "?next=/patients/", {"code": code_for(device)})

    # Then she goes where she was going, and pages and the API open
    assert response["Location"] == "/patients/"
    assert client.get("/patients/").status_code == 200
    assert client.get("/api/v1/me").status_code == 200


def test_wrong_codes_make_the_next_try_wait_and_are_audited():
    # Given a physician with a confirmed app, past the password
    physician = UserFactory(role="physician")
    device = confirmed_device(physician)
    client = password_sign_in(physician)

    with time_machine.travel(T0, tick=False):
        right = code_for(device)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    # When she enters a wrong code, another 2 seconds later, then at once the right one
    with time_machine.travel(T0, tick=False):
        client.post(VERIFY_URL, {"code": wrong})
    with time_machine.travel(T0 + dt.timedelta(seconds=2), tick=False):
        client.post(VERIFY_URL, {"code": wrong})
        at_once = client.post(VERIFY_URL, {"code": right})

        # Then the right code is not even checked yet: she is told to wait
        assert at_once.status_code == 200
        assert at_once.context["form"].errors == {
            "code": ["Too many wrong codes. Wait 2 seconds before the next try."]
        }
        assert client.get("/patients/").status_code == 302
    device.refresh_from_db()
    assert device.throttling_failure_count == 2
    assert [e.after for e in events("accounts.second_factor.verify_failure")] == [
        {"method": "authenticator app", "failures": 1},
        {"method": "authenticator app", "failures": 2},
    ]

    # And after the wait the right code is accepted
    with time_machine.travel(T0 + dt.timedelta(seconds=4), tick=False):
        later = client.post(VERIFY_URL, {"code": code_for(device)})
    assert later.status_code == 302
    device.refresh_from_db()
    assert device.throttling_failure_count == 0


def test_a_recovery_code_works_once_and_its_use_is_audited():
    # Given a surgeon with an app and ten recovery codes, past the password
    surgeon = UserFactory(role="surgeon")
    device = services.begin_enrolment(actor=surgeon)
    codes = services.confirm_enrolment(device, code_for(device), actor=surgeon)
    client = password_sign_in(surgeon)

    # When he enters a recovery code (as printed, upper case)
    response = client.post(VERIFY_URL, {"code": codes[0].upper()})

    # Then he is in, told how many are left, the code is used up and its use audited
    assert response.status_code == 302
    assert client.get("/patients/").status_code == 200
    assert StaticToken.objects.filter(device__user=surgeon).count() == 9
    [event] = events("accounts.second_factor.recovery_code_use")
    assert event.after == {"recovery_codes_left": 9}

    # And the same code does not work a second time
    again = password_sign_in(surgeon, Client())
    refused = again.post(VERIFY_URL, {"code": codes[0]})
    assert refused.context["form"].errors == {
        "code": ["That recovery code is not right or has been used already."]
    }
    assert StaticToken.objects.filter(device__user=surgeon).count() == 9


# --- reset by the center administrator -------------------------------------------------------


def test_the_center_administrator_resets_a_colleagues_second_factor_with_a_reason():
    # Given a nurse with an app and recovery codes, and her center's administrator
    center = CenterFactory()
    nurse = UserFactory(role="nurse", organization=center)
    device = services.begin_enrolment(actor=nurse)
    services.confirm_enrolment(device, code_for(device), actor=nurse)
    admin = UserFactory(role="center_admin", organization=center)
    client = Client()
    client.force_login(admin)

    # When the administrator confirms the reset on the staff page
    url = f"/accounts/center/staff/{nurse.public_id}/reset-second-factor/"
    assert client.get(url).status_code == 200
    response = client.post(url, {"reason": "Phone lost; identity checked in person"})

    # Then the app and codes are gone, the reset is audited, and the nurse sets up a new app
    assert response["Location"] == "/accounts/center/staff/"
    assert not TOTPDevice.objects.filter(user=nurse).exists()
    assert not StaticDevice.objects.filter(user=nurse).exists()
    [event] = events("accounts.second_factor.reset")
    assert (event.actor_id, event.object_id) == (admin.pk, str(nurse.public_id))
    assert event.reason == "Phone lost; identity checked in person"
    assert event.before == {"authenticator_app": True}
    assert password_sign_in(nurse).get("/board/")["Location"].startswith(SETUP_URL)


def test_a_reset_needs_a_reason_and_then_changes_nothing():
    center = CenterFactory()
    nurse = UserFactory(role="nurse", organization=center)
    confirmed_device(nurse)
    admin = UserFactory(role="center_admin", organization=center)

    with pytest.raises(InvalidInput) as refused:
        services.reset_second_factor(nurse, actor=admin, reason="  ")

    assert refused.value.errors == {
        "reason": ["Say why the second factor is reset (kept in the trail)."]
    }
    assert TOTPDevice.objects.filter(user=nurse).count() == 1
    assert events("accounts.second_factor.reset") == []


@pytest.mark.parametrize("who", ["themselves", "another center's administrator", "a physician"])
def test_only_the_own_centers_administrator_resets_a_colleague(who):
    # Given a center administrator with an app, and someone else who tries to reset it
    center = CenterFactory()
    admin = UserFactory(role="center_admin", organization=center)
    confirmed_device(admin)
    actor = {
        "themselves": admin,
        "another center's administrator": UserFactory(role="center_admin"),
        "a physician": UserFactory(role="physician", organization=center),
    }[who]

    # When they try
    with pytest.raises(PermissionDenied):
        services.reset_second_factor(admin, actor=actor, reason="Phone lost")

    # Then nothing changed
    assert TOTPDevice.objects.filter(user=admin).count() == 1
    assert events("accounts.second_factor.reset") == []


def test_the_staff_page_is_the_center_administrators_and_shows_only_their_center():
    # Given two centers' people
    center = CenterFactory()
    admin = UserFactory(role="center_admin", organization=center)
    nurse = UserFactory(role="nurse", organization=center, username="nurse.here")
    confirmed_device(nurse)
    UserFactory(role="nurse", username="nurse.elsewhere")
    admin_client, nurse_client = Client(), Client()
    admin_client.force_login(admin)
    nurse_client.force_login(nurse)

    # When the administrator and the nurse open the staff page
    page = admin_client.get("/accounts/center/staff/")
    denied = nurse_client.get("/accounts/center/staff/")

    # Then the administrator sees her center's people only; the nurse is refused
    assert page.status_code == 200
    assert "nurse.here" in page.text
    assert "nurse.elsewhere" not in page.text
    assert denied.status_code == 403
