"""Center settings: only the center's administrator changes them, with a reason, audited."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tilcare.accounts import services
from tilcare.accounts.models import Organization
from tilcare.audit.models import AuditEvent
from tilcare.core.errors import InvalidInput, PermissionDenied
from tilcare.patients.tests.factories import CenterFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_admin_sets_fin_and_the_change_is_audited_with_reason():
    # Given a center without a FIN and its administrator
    center = CenterFactory(isbt_fin="")
    admin = UserFactory(role="center_admin", organization=center)

    # When the administrator sets the FIN
    services.update_center_settings(
        center, actor=admin, changes={"isbt_fin": "w1234"}, reason="FIN assigned by ICCBBA"
    )

    # Then it is stored upper-case and one audit event records before, after and reason
    center.refresh_from_db()
    assert center.isbt_fin == "W1234"
    event = AuditEvent.objects.get(action="organization.settings.update")
    assert event.before == {"isbt_fin": ""}
    assert event.after == {"isbt_fin": "W1234"}
    assert event.reason == "FIN assigned by ICCBBA"


@pytest.mark.parametrize(
    ("fin", "case"),
    [
        ("O1234", "first character O is not allowed"),
        ("W12", "too short"),
        ("W12AB", "last two not digits"),
    ],
)
def test_malformed_fin_is_refused_and_nothing_changes(fin, case):
    center = CenterFactory(isbt_fin="")
    admin = UserFactory(role="center_admin", organization=center)

    with pytest.raises(InvalidInput) as refused:
        services.update_center_settings(center, actor=admin, changes={"isbt_fin": fin}, reason="x")

    assert "isbt_fin" in refused.value.errors, case
    assert Organization.objects.get(pk=center.pk).isbt_fin == ""
    assert AuditEvent.objects.count() == 0


def test_unknown_time_zone_is_refused():
    center = CenterFactory()
    admin = UserFactory(role="center_admin", organization=center)

    with pytest.raises(InvalidInput) as refused:
        services.update_center_settings(
            center, actor=admin, changes={"time_zone": "Mars/Olympus"}, reason="x"
        )

    assert refused.value.errors["time_zone"] == [
        "“Mars/Olympus” is not a known IANA time zone, e.g. America/New_York."
    ]


def test_change_without_reason_is_refused():
    center = CenterFactory()
    admin = UserFactory(role="center_admin", organization=center)

    with pytest.raises(InvalidInput) as refused:
        services.update_center_settings(center, actor=admin, changes={"phone": "1"}, reason=" ")

    assert "reason" in refused.value.errors


@pytest.mark.parametrize("role", ["navigator", "physician", "financial_coordinator", "patient"])
def test_other_roles_may_not_change_settings(role):
    center = CenterFactory(isbt_fin="W1234")
    user = UserFactory(role=role, organization=center)

    with pytest.raises(PermissionDenied):
        services.update_center_settings(
            center, actor=user, changes={"isbt_fin": "W9999"}, reason="x"
        )

    assert Organization.objects.get(pk=center.pk).isbt_fin == "W1234"


def test_admin_of_another_center_may_not_change_settings():
    center = CenterFactory(isbt_fin="W1234")
    outsider = UserFactory(role="center_admin")

    with pytest.raises(PermissionDenied):
        services.update_center_settings(center, actor=outsider, changes={"phone": "1"}, reason="x")


def test_settings_page_saves_through_the_form(client):
    center = CenterFactory(isbt_fin="")
    admin = UserFactory(role="center_admin", organization=center)
    client.force_login(admin)

    response = client.post(
        reverse("accounts:center-settings"),
        {
            "name": center.name,
            "isbt_fin": "W4321",
            "time_zone": "America/New_York",
            "phone": "",
            "after_hours_phone": "",
            "address": "",
            "reason": "FIN assigned",
        },
    )

    assert response.status_code == 302
    assert Organization.objects.get(pk=center.pk).isbt_fin == "W4321"


def test_settings_page_is_refused_to_a_navigator(client):
    client.force_login(UserFactory(role="navigator"))

    response = client.get(reverse("accounts:center-settings"))

    assert response.status_code == 403
