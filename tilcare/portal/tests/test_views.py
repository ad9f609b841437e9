"""The patient portal shows a patient their own journey and nothing of anyone else's."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from tilcare.journey import services as journeys
from tilcare.patients.tests.factories import CenterFactory, PatientFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def center():
    return CenterFactory(name="Riverside", after_hours_phone="+1 555 0199")


@pytest.fixture
def patient_user(center):
    return UserFactory(role="patient", organization=center, first_name="Maria")


def _patient_with_journey(center, portal_user=None, given_name="Maria"):
    patient = PatientFactory(center=center, portal_user=portal_user, given_name=given_name)
    navigator = UserFactory(role="navigator", organization=center)
    journeys.open_journey(
        patient, actor=navigator, protocol="lifileucel-us-2024", referred_on=dt.date(2026, 10, 1)
    )
    return patient


def test_patient_sees_own_stage_in_plain_language_and_the_24_hour_number(
    client, center, patient_user
):
    # Given a patient with a journey at referral
    _patient_with_journey(center, portal_user=patient_user)
    client.force_login(patient_user)

    # When they open their portal
    response = client.get(reverse("portal:home"))

    # Then they see where they are, in plain words, and the number to call
    body = response.content.decode()
    assert response.status_code == 200
    assert "Getting to know you" in body
    assert "+1 555 0199" in body
    assert "You are here" in body


def test_patient_never_sees_another_patients_name(client, center, patient_user):
    # Given another patient at the same center
    _patient_with_journey(center, portal_user=patient_user, given_name="Maria")
    other = _patient_with_journey(center, given_name="Theodora")
    client.force_login(patient_user)

    # When the patient opens their portal and tries the other patient's staff page
    portal = client.get(reverse("portal:home"))
    staff_page = client.get(f"/patients/{other.public_id}/")

    # Then the other patient's name appears nowhere and the staff page is not found
    assert "Theodora" not in portal.content.decode()
    assert other.family_name not in portal.content.decode()
    assert staff_page.status_code == 404


def test_patient_user_without_linked_record_is_refused(client, center, patient_user):
    client.force_login(patient_user)

    response = client.get(reverse("portal:home"))

    assert response.status_code == 403


@pytest.mark.parametrize("role", ["navigator", "physician", "manufacturing_tech"])
def test_staff_cannot_open_the_patient_portal(client, role):
    client.force_login(UserFactory(role=role))

    response = client.get(reverse("portal:home"))

    assert response.status_code == 403


def test_patient_is_sent_to_portal_from_home_and_refused_the_board(client, center, patient_user):
    _patient_with_journey(center, portal_user=patient_user)
    client.force_login(patient_user)

    home = client.get("/")
    board = client.get("/board/")

    assert home.status_code == 302
    assert home["Location"] == reverse("portal:home")
    assert board.status_code in (403, 404)
