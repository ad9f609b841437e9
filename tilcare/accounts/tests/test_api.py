"""`/api/v1/me`: who is calling, their role, organization and permissions."""

from __future__ import annotations

import pytest
from django.test import Client

from tilcare.accounts.api_auth import NOT_FOR_THIS_ACCOUNT
from tilcare.patients.tests.factories import CenterFactory, FacilityFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_me_describes_a_center_navigator():
    # Given a navigator at a center
    center = CenterFactory(name="Riverside Cancer Center")
    user = UserFactory(
        role="navigator",
        organization=center,
        username="ana.nav",
        first_name="Ana",
        last_name="Ortiz",
        credentials="RN",
    )
    client = Client()
    client.force_login(user)

    # When /me is read
    response = client.get("/api/v1/me")

    # Then it names the user, role, organization and the role's permissions
    assert response.status_code == 200
    assert response.json() == {
        "public_id": str(user.public_id),
        "username": "ana.nav",
        "full_name": "Ana Ortiz",
        "printed_name": "Ana Ortiz, RN",
        "role": "navigator",
        "role_label": "Nurse navigator / coordinator",
        "organization": {
            "public_id": str(center.public_id),
            "name": "Riverside Cancer Center",
            "kind": "center",
            "time_zone": "America/New_York",
        },
        "permissions": [
            "audit.view",
            "calculators.use_clinical",
            "identity.acknowledge_alert",
            "identity.manage_shipment",
            "identity.print_label",
            "identity.record_custody",
            "identity.view_custody",
            "journey.advance",
            "journey.complete_task",
            "journey.create",
            "journey.edit_eligibility",
            "journey.plan",
            "journey.record_milestone",
            "journey.view",
            "journey.withdraw",
            "manufacturing.book_slot",
            "patients.change",
            "patients.create",
            "patients.record_consent",
            "patients.record_measurement",
            "patients.view_identity",
        ],
    }


def test_me_for_a_facility_technologist_lists_only_the_coi_view():
    # Given a manufacturing technologist
    facility = FacilityFactory(name="Northgate Cell Therapy")
    user = UserFactory(role="manufacturing_tech", organization=facility)
    client = Client()
    client.force_login(user)

    # When /me is read
    body = client.get("/api/v1/me").json()

    # Then the organization is the facility and the only permission is the COI-only view
    assert body["organization"]["kind"] == "facility"
    assert body["organization"]["name"] == "Northgate Cell Therapy"
    assert body["permissions"] == [
        "calculators.use_manufacturing",
        "identity.manage_shipment",
        "identity.print_label",
        "identity.record_custody",
        "identity.view_custody",
        "journey.view_coi_only",
        "manufacturing.end_batch",
        "manufacturing.manage_slots",
        "manufacturing.record_batch",
    ]


@pytest.mark.parametrize("path", ["/api/v1/me", "/api/v1/patients", "/api/v1/journeys"])
@pytest.mark.parametrize("role", ["patient", ""])
def test_a_patient_or_an_account_without_a_role_is_refused_at_the_api_door(path, role):
    # Given a patient's portal account, or a staff account not yet given a role, signed in
    user = UserFactory(role=role, organization=CenterFactory())
    client = Client()
    client.force_login(user)

    # When it calls the staff API
    response = client.get(path)

    # Then it is refused before anything is looked up, saying why
    assert response.status_code == 403
    assert response.json()["detail"] == NOT_FOR_THIS_ACCOUNT


def test_a_token_issued_for_a_patient_account_is_refused():
    # Given a token that was issued for a patient's account
    from tilcare.accounts.services import issue_api_token

    user = UserFactory(role="patient", organization=CenterFactory())
    _token, secret = issue_api_token(user, name="portal script")

    # When it calls the API
    response = Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}")

    # Then it is refused like the session
    assert response.status_code == 403
    assert response.json()["detail"] == NOT_FOR_THIS_ACCOUNT
