"""The journey page starts the chain of identity: the first item (the specimen container) is
made from the journey's own COI, center, facility and attempt."""

from __future__ import annotations

import pytest
from django.test import Client

from tilcare.audit.models import AuditEvent
from tilcare.identity.models import Item
from tilcare.journey.tests.factories import make_team, open_journey_for
from tilcare.patients.tests.factories import CenterFactory, PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    return make_team(CenterFactory(isbt_fin="W1234"))


@pytest.fixture
def journey(team):
    return open_journey_for(PatientFactory(center=team.center), team.navigator)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def url(journey) -> str:
    return f"/journeys/{journey.public_id}/items/first/"


def test_the_journey_page_offers_to_start_the_chain(team, journey):
    html = client_for(team.nurse).get(f"/journeys/{journey.public_id}/").content.decode()

    assert "Create the specimen container label" in html
    assert "Items and labels" not in html


def test_a_nurse_creates_the_specimen_container_of_the_journey(team, journey):
    # When the nurse starts the chain from the journey page
    response = client_for(team.nurse).post(url(journey))

    # Then the item carries the journey's COI, center and attempt, and the items page opens
    item = Item.objects.get()
    assert (item.coi_din, item.coi_check) == (journey.coi_din, journey.coi_check)
    assert item.item_id == f"{journey.coi_din}-TS01"
    assert item.center == team.center
    assert item.manufacture_attempt == journey.manufacture_attempt
    assert response.status_code == 302
    assert response["Location"] == f"/identity/coi/{journey.coi_din}/items/"
    html = client_for(team.nurse).get(f"/journeys/{journey.public_id}/").content.decode()
    assert "Items and labels" in html
    assert "Create the specimen container label" not in html


@pytest.mark.parametrize("role", ["financial_coordinator", "social_worker", "center_admin"])
def test_roles_that_do_not_handle_specimens_change_nothing(team, journey, role):
    before = AuditEvent.objects.count()

    response = client_for(getattr(team, role)).post(url(journey))

    assert response.status_code == 403
    assert Item.objects.count() == 0
    assert AuditEvent.objects.count() == before


def test_a_facility_user_cannot_reach_a_journey_it_does_not_manufacture(team, journey):
    response = client_for(team.manufacturing_tech).post(url(journey))

    assert response.status_code == 404
    assert Item.objects.count() == 0
