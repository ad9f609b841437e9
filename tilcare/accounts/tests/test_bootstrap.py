"""Setting up a deployment: organizations and accounts, from the command line, audited."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from tilcare.accounts import services
from tilcare.accounts.models import Organization, User
from tilcare.audit.models import AuditEvent
from tilcare.core.errors import InvalidInput, PermissionDenied
from tilcare.patients import services as patient_services
from tilcare.patients.models import Patient
from tilcare.patients.tests.factories import CenterFactory, PatientFactory, UserFactory

pytestmark = pytest.mark.django_db
GOOD_PASSWORD = "river-stone-lantern-42"


def test_addorg_creates_a_center_and_records_it_as_system():
    call_command(
        "addorg", "Lakeside Oncology", kind="center", time_zone="America/Denver", fin="x1234"
    )

    center = Organization.objects.get(name="Lakeside Oncology")
    assert (center.kind, center.isbt_fin, center.time_zone) == ("center", "X1234", "America/Denver")
    event = AuditEvent.objects.get(action="organization.create")
    assert (event.actor_id, event.actor_label) == (None, "system")


def test_addorg_refuses_an_unknown_time_zone_and_writes_nothing():
    with pytest.raises(CommandError, match="time_zone"):
        call_command("addorg", "Lakeside", kind="center", time_zone="Mars/Base")

    assert Organization.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_adduser_creates_an_account_with_its_role(monkeypatch):
    center = CenterFactory(name="Lakeside Oncology")
    monkeypatch.setenv("TILCARE_NEW_PASSWORD", GOOD_PASSWORD)

    call_command(
        "adduser", "lchen", org="Lakeside Oncology", role="center_admin",
        first_name="Laura", last_name="Chen", credentials="MHA",
    )  # fmt: skip

    user = User.objects.get(username="lchen")
    assert (user.organization, user.role, user.printed_name) == (
        center,
        "center_admin",
        "Laura Chen, MHA",
    )
    assert user.check_password(GOOD_PASSWORD)
    assert GOOD_PASSWORD not in AuditEvent.objects.get(action="user.create").after_json


def test_adduser_refuses_a_short_password_and_writes_nothing(monkeypatch):
    CenterFactory(name="Lakeside Oncology")
    monkeypatch.setenv("TILCARE_NEW_PASSWORD", "short")

    with pytest.raises(CommandError, match="password"):
        call_command(
            "adduser", "x", org="Lakeside Oncology", role="nurse", first_name="A", last_name="B"
        )

    assert not User.objects.filter(username="x").exists()
    assert AuditEvent.objects.count() == 0


def test_create_user_refuses_a_facility_role_at_a_center():
    center = CenterFactory()

    with pytest.raises(InvalidInput) as refused:
        services.create_user(
            actor=None, organization=center, username="t", password=GOOD_PASSWORD,
            role="qa_reviewer", first_name="A", last_name="B",
        )  # fmt: skip

    assert "role" in refused.value.errors


def test_a_center_admin_creates_accounts_only_for_their_own_center():
    admin = UserFactory(role="center_admin")
    other_center = CenterFactory()

    with pytest.raises(PermissionDenied):
        services.create_user(
            actor=admin, organization=other_center, username="t", password=GOOD_PASSWORD,
            role="nurse", first_name="A", last_name="B",
        )  # fmt: skip

    assert not User.objects.filter(username="t").exists()


def test_link_portal_user_links_a_patient_account_of_the_same_center():
    admin = UserFactory(role="center_admin")
    patient = PatientFactory(center=admin.organization)
    login = UserFactory(role="patient", organization=admin.organization)

    patient_services.link_portal_user(patient, actor=admin, user=login)

    assert Patient.objects.get(pk=patient.pk).portal_user == login
    assert AuditEvent.objects.filter(action="patient.portal_user.link").count() == 1


def test_link_portal_user_refuses_a_staff_account():
    admin = UserFactory(role="center_admin")
    patient = PatientFactory(center=admin.organization)

    with pytest.raises(InvalidInput) as refused:
        patient_services.link_portal_user(patient, actor=admin, user=admin)

    assert refused.value.errors == {
        "portal_user": ["Choose a patient-role account of this center."]
    }
    assert Patient.objects.get(pk=patient.pk).portal_user is None
