"""Two organizations never hold the same ISBT 128 facility identification number (FIN).

A COI identifier that no journey carries yet belongs to the center whose FIN it starts with, so a
center that copied another's FIN could claim the other's numbers before they are issued.
"""

from __future__ import annotations

import pytest

from tilcare.accounts import services
from tilcare.accounts.choices import OrganizationKind
from tilcare.accounts.models import Organization
from tilcare.audit.models import AuditEvent
from tilcare.core.errors import InvalidInput
from tilcare.patients.tests.factories import CenterFactory, UserFactory

pytestmark = pytest.mark.django_db

TAKEN = (
    "W1234 is already the facility identification number of another organization: ICCBBA "
    "assigns each facility its own. Check the number on the ICCBBA registration."
)


def test_a_center_cannot_take_a_fin_another_center_holds():
    # Given Riverside with FIN W1234, and Lakeside without a FIN
    CenterFactory(name="Riverside Cancer Center", isbt_fin="W1234")
    lakeside = CenterFactory(name="Lakeside Oncology", isbt_fin="")
    admin = UserFactory(role="center_admin", organization=lakeside)
    events = AuditEvent.objects.count()

    # When Lakeside's administrator sets W1234 (typed lower-case)
    with pytest.raises(InvalidInput) as refused:
        services.update_center_settings(
            lakeside, actor=admin, changes={"isbt_fin": "w1234"}, reason="FIN from ICCBBA"
        )

    # Then it is refused on the field, and nothing changed
    assert refused.value.errors == {"isbt_fin": [TAKEN]}
    assert Organization.objects.get(pk=lakeside.pk).isbt_fin == ""
    assert AuditEvent.objects.count() == events


def test_a_center_saves_its_other_settings_with_its_own_fin():
    center = CenterFactory(isbt_fin="W1234")
    admin = UserFactory(role="center_admin", organization=center)

    services.update_center_settings(
        center, actor=admin, changes={"isbt_fin": "W1234", "phone": "+1 555 0100"}, reason="x"
    )

    center.refresh_from_db()
    assert (center.isbt_fin, center.phone) == ("W1234", "+1 555 0100")


def test_a_new_organization_cannot_be_registered_with_a_fin_in_use():
    CenterFactory(isbt_fin="W1234")
    count = Organization.objects.count()

    with pytest.raises(InvalidInput) as refused:
        services.create_organization(
            actor=None,
            kind=OrganizationKind.CENTER,
            name="Hillcrest Clinic",
            time_zone="America/New_York",
            isbt_fin="W1234",
        )

    assert refused.value.errors == {"isbt_fin": [TAKEN]}
    assert Organization.objects.count() == count
