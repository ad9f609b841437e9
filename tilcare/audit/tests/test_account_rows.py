"""Who may do what is vouched for like any regulated record: an organization (its FIN issues COI
numbers) and each person's username, role, organization, standing and printed name. A change
behind the application's back (a queryset `update`, plain SQL, an account made outside the
accounts services) is named; signing in and the password hash are not part of the digest.
"""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.db import connection
from django.test import Client

from tilcare.accounts import services as account_services
from tilcare.accounts.choices import OrganizationKind, Role
from tilcare.accounts.models import Organization, User
from tilcare.audit import regulated, services
from tilcare.audit.models import AuditEvent
from tilcare.audit.regulated import row_key
from tilcare.audit.selectors import ChainReport, verify_chain
from tilcare.audit.tests.helpers import broken, sql
from tilcare.identity.models import TemperatureReading
from tilcare.identity.services.shipments import add_temperature_readings
from tilcare.identity.tests.helpers import dispatched, every_ten_minutes, make_world
from tilcare.patients.tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def _latest_vouching(key: str) -> AuditEvent:
    return [event for event in AuditEvent.objects.order_by("seq") if key in event.digests][-1]


@pytest.fixture
def staffed() -> tuple[Organization, User]:
    """A center and its navigator, set up the way a deployment does (`tilcare addorg`,
    `tilcare adduser`): two events, nothing else."""
    center = account_services.create_organization(
        actor=None,
        kind=OrganizationKind.CENTER,
        name="Riverside Cancer Center",
        time_zone="America/New_York",
        isbt_fin="W1234",
    )
    navigator = account_services.create_user(
        actor=None,
        organization=center,
        username="rnavarro",
        password=TEST_PASSWORD,
        role=Role.NAVIGATOR,
        first_name="Rosa",
        last_name="Navarro",
        credentials="RN",
    )
    assert AuditEvent.objects.count() == 2
    return center, navigator


def test_accounts_set_up_through_the_services_verify(staffed):
    center, navigator = staffed

    report = verify_chain()

    assert report == ChainReport(True, 2)
    assert report.rows_checked == 2
    assert _latest_vouching(row_key(User, navigator.pk)).action == "user.create"
    assert _latest_vouching(row_key(Organization, center.pk)).action == "organization.create"


def test_a_role_changed_by_a_queryset_update_is_named(staffed):
    # Given the navigator made a center administrator without a service (no event)
    _, navigator = staffed
    User.objects.filter(pk=navigator.pk).update(role=Role.CENTER_ADMIN)

    # When verified / Then the account is named with its creation event
    assert verify_chain() == broken(
        f"User {navigator.pk} was changed outside the audit trail after event #2"
    )


@pytest.mark.parametrize(
    ("column", "value"),
    [("is_superuser", True), ("is_staff", True), ("is_active", False), ("last_name", "Smith")],
)
def test_standing_and_name_changed_by_sql_are_named(staffed, column, value):
    _, navigator = staffed
    sql(f"UPDATE accounts_user SET {column} = %s WHERE id = %s", [value, navigator.pk])

    assert verify_chain() == broken(
        f"User {navigator.pk} was changed outside the audit trail after event #2"
    )


def test_an_account_moved_to_another_organization_is_named(staffed):
    _, navigator = staffed
    other = account_services.create_organization(
        actor=None,
        kind=OrganizationKind.CENTER,
        name="Lakeside Oncology",
        time_zone="America/Chicago",
        isbt_fin="W4321",
    )
    User.objects.filter(pk=navigator.pk).update(organization=other)

    assert verify_chain() == broken(
        f"User {navigator.pk} was changed outside the audit trail after event #2"
    )


def test_an_account_made_outside_the_services_is_named(staffed):
    # Given a superuser created directly (Django's own command does this, without an event)
    intruder = User.objects.create_superuser("root", password=TEST_PASSWORD)

    assert verify_chain() == broken(
        f"User {intruder.pk} was written outside the audit trail (no event records it)"
    )


def test_an_organizations_fin_changed_by_sql_is_named(staffed):
    center, _ = staffed
    sql("UPDATE accounts_organization SET isbt_fin = %s WHERE id = %s", ["W9999", center.pk])

    assert verify_chain() == broken(
        f"Organization {center.pk} was changed outside the audit trail after event #1"
    )


def test_a_fin_changed_through_the_center_settings_verifies(staffed):
    center, _ = staffed
    admin = account_services.create_user(
        actor=None,
        organization=center,
        username="aadmin",
        password=TEST_PASSWORD,
        role=Role.CENTER_ADMIN,
        first_name="Ada",
        last_name="Admin",
    )

    account_services.update_center_settings(
        center, actor=admin, changes={"isbt_fin": "W2345"}, reason="FIN reassigned by ICCBBA"
    )

    assert verify_chain() == ChainReport(True, 4)
    assert (
        _latest_vouching(row_key(Organization, center.pk)).action == "organization.settings.update"
    )


def test_signing_in_and_a_new_password_hash_do_not_break_the_trail(staffed, settings):
    # Given the navigator signs in through the page (Django records when), and the password
    # hash is rewritten (as Django does when its hasher's work factor rises)
    settings.TILCARE_REQUIRE_SECOND_FACTOR = False
    _, navigator = staffed
    response = Client().post(
        "/accounts/login/", {"username": "rnavarro", "password": TEST_PASSWORD}
    )
    assert response.status_code == 302
    User.objects.filter(pk=navigator.pk).update(password=make_password(TEST_PASSWORD))

    # Then neither is part of what the trail vouches for
    navigator.refresh_from_db()
    assert navigator.last_login is not None
    assert verify_chain() == ChainReport(True, 2)


# ---------- an install that took the earlier baseline, upgraded to this version ----------

# What the earlier version vouched for: neither accounts nor tasks (nor logs written in bulk).
_LATER = ("accounts.Organization", "accounts.User", "journey.Task")


def test_the_baseline_vouches_for_the_kinds_an_earlier_baseline_did_not_know(monkeypatch):
    # Given records kept before digests, and the baseline of the earlier version taken (it
    # knew neither accounts nor logs written in bulk)
    with monkeypatch.context() as before_upgrade:
        before_upgrade.setattr(services, "_row_digests", lambda obj, extra: "")
        world = make_world()
        shipment, start = dispatched(world)
        add_temperature_readings(
            shipment,
            readings=every_ten_minutes(start, "5.0", "5.5"),
            source="logger-17.csv",
            actor=world.team.navigator,
        )
    # (each of those transactions committed: no row saved in them waits for a later event)
    regulated.pending_rows(connection.alias).clear()
    with monkeypatch.context() as earlier_version:
        earlier = tuple(m for m in regulated.regulated_models() if m._meta.label not in _LATER)
        assert len(earlier) == len(regulated.REGULATED_MODELS) - len(_LATER)
        earlier_version.setattr(regulated, "regulated_models", lambda: earlier)
        earlier_version.setattr(regulated, "bulk_groups", lambda: ())
        call_command("audit", "baseline", stdout=StringIO())
    report = verify_chain()
    assert report.ok is False
    events = AuditEvent.objects.count()

    # When this version's baseline is taken
    out = StringIO()
    call_command("audit", "baseline", stdout=out)

    # Then it vouches for the organizations, the people, the tasks and the log only, and all
    # verifies
    written = AuditEvent.objects.filter(seq__gt=events)
    assert out.getvalue() == (
        f"Baseline recorded: {written.count()} events vouch for the records kept before.\n"
    )
    assert {e.object_type for e in written} == {
        "accounts.organization",
        "accounts.user",
        "journey.task",
        "identity.shipment",
    }
    assert f"identity.temperaturereading@shipment:{shipment.pk}" in written.last().digests
    assert TemperatureReading.objects.count() == 2
    assert verify_chain() == ChainReport(True, AuditEvent.objects.count())
