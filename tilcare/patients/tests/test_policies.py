"""Who may see and change a patient: role × organization, deny by default."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from tilcare.patients import policies, selectors
from tilcare.patients.tests.factories import (
    CenterFactory,
    FacilityFactory,
    PatientFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

CENTER_STAFF = [
    "navigator",
    "financial_coordinator",
    "social_worker",
    "surgeon",
    "physician",
    "nurse",
    "pharmacist",
    "center_admin",
]
FACILITY_STAFF = ["manufacturing_tech", "qa_reviewer"]


@pytest.fixture
def patient(center):
    return PatientFactory(center=center)


# ---------- viewing ----------


@pytest.mark.parametrize("role", CENTER_STAFF)
def test_staff_of_the_patients_center_may_view(role, center, patient):
    user = UserFactory(role=role, organization=center)

    assert policies.can_view_patient(user, patient) is True


@pytest.mark.parametrize("role", CENTER_STAFF)
def test_staff_of_another_center_may_not_view(role, patient):
    user = UserFactory(role=role, organization=CenterFactory())

    assert policies.can_view_patient(user, patient) is False


@pytest.mark.parametrize("role", FACILITY_STAFF)
def test_facility_staff_may_not_view_any_patient(role, patient):
    user = UserFactory(role=role, organization=FacilityFactory())

    assert policies.can_view_patient(user, patient) is False


def test_patient_role_may_not_view_another_patient(center, patient):
    # Given a patient account at the same center, linked to its own record
    portal_user = UserFactory(role="patient", organization=center)
    PatientFactory(center=center, portal_user=portal_user)

    assert policies.can_view_patient(portal_user, patient) is False
    assert policies.can_view_own_record(portal_user, patient) is False


def test_patient_role_may_view_own_record_through_the_portal_only(center):
    portal_user = UserFactory(role="patient", organization=center)
    own = PatientFactory(center=center, portal_user=portal_user)

    assert policies.can_view_own_record(portal_user, own) is True
    assert policies.can_view_patient(portal_user, own) is False


def test_unauthenticated_may_not_view(patient):
    assert policies.can_view_patient(AnonymousUser(), patient) is False


def test_deactivated_staff_may_not_view(center, patient):
    user = UserFactory(role="navigator", organization=center, is_active=False)

    assert policies.can_view_patient(user, patient) is False


def test_staff_without_a_role_may_not_view(center, patient):
    user = UserFactory(role="", organization=center)

    assert policies.can_view_patient(user, patient) is False


# ---------- writing: the role table at the patient's own center ----------

# (role, create, change identity/contacts/therapy, record consent, record measurement)
WRITE_TABLE = [
    ("navigator", True, True, True, True),
    ("physician", False, True, True, True),
    ("nurse", False, False, False, True),
    ("center_admin", True, True, False, False),
    ("surgeon", False, False, False, False),
    ("pharmacist", False, False, False, False),
    ("financial_coordinator", False, False, False, False),
    ("social_worker", False, False, False, False),
    ("patient", False, False, False, False),
]


@pytest.mark.parametrize(("role", "create", "change", "consent", "measure"), WRITE_TABLE)
def test_write_permissions_at_own_center(role, create, change, consent, measure, center, patient):
    user = UserFactory(role=role, organization=center)

    assert policies.can_create_patient(user, center) is create
    assert policies.can_change_patient(user, patient) is change
    assert policies.can_record_consent(user, patient) is consent
    assert policies.can_record_measurement(user, patient) is measure


@pytest.mark.parametrize("role", ["navigator", "physician", "nurse"])
def test_no_write_at_another_center(role, patient):
    other_center = CenterFactory()
    user = UserFactory(role=role, organization=other_center)

    assert policies.can_change_patient(user, patient) is False
    assert policies.can_record_consent(user, patient) is False
    assert policies.can_record_measurement(user, patient) is False
    assert policies.can_create_patient(user, patient.center) is False


@pytest.mark.parametrize("role", FACILITY_STAFF)
def test_facility_staff_may_write_nothing(role, patient):
    user = UserFactory(role=role, organization=FacilityFactory())

    assert policies.can_create_patient(user, user.organization) is False
    assert policies.can_change_patient(user, patient) is False
    assert policies.can_record_consent(user, patient) is False
    assert policies.can_record_measurement(user, patient) is False


def test_unauthenticated_may_write_nothing(center, patient):
    anonymous = AnonymousUser()

    assert policies.can_create_patient(anonymous, center) is False
    assert policies.can_change_patient(anonymous, patient) is False
    assert policies.can_record_consent(anonymous, patient) is False
    assert policies.can_record_measurement(anonymous, patient) is False


# ---------- visible_to: the list every page starts from ----------


def test_visible_to_is_the_users_own_center_only(center, patient):
    other_center_patient = PatientFactory(center=CenterFactory())
    navigator = UserFactory(role="navigator", organization=center)

    visible = list(selectors.visible_to(navigator))

    assert visible == [patient]
    assert other_center_patient not in visible


@pytest.mark.parametrize("role", [*FACILITY_STAFF, "patient"])
def test_visible_to_is_empty_for_facility_and_patient_accounts(role, center, patient):
    organization = FacilityFactory() if role in FACILITY_STAFF else center
    user = UserFactory(role=role, organization=organization)

    assert list(selectors.visible_to(user)) == []


def test_visible_to_is_empty_for_anonymous(patient):
    assert list(selectors.visible_to(AnonymousUser())) == []
