"""The journey page starts the chain of identity: the first item (the specimen container) is
made from the journey's own COI, center, facility and attempt, once, and only while the journey
is open."""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from tilcare.audit.models import AuditEvent
from tilcare.core.tests.clients import client_for
from tilcare.identity.models import Item
from tilcare.journey import services
from tilcare.journey.choices import Stage
from tilcare.journey.tests.factories import POSTGRES_ONLY, journey_at, make_team, open_journey_for
from tilcare.patients.tests.factories import CenterFactory, PatientFactory

pytestmark = pytest.mark.django_db


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


def test_a_second_post_creates_nothing_and_opens_the_existing_container(team, journey):
    # Given the specimen container was created
    client = client_for(team.nurse)
    client.post(url(journey))
    events_before = AuditEvent.objects.count()

    # When the request is sent again (a double click, a reload)
    response = client.post(url(journey))

    # Then no second container exists, nothing is audited, and the items page opens
    assert [item.item_id for item in Item.objects.all()] == [f"{journey.coi_din}-TS01"]
    assert AuditEvent.objects.count() == events_before
    assert response.status_code == 302
    assert response["Location"] == f"/identity/coi/{journey.coi_din}/items/"
    page = client.get(response["Location"]).content.decode()
    assert (
        f"This journey&#x27;s chain of identity has already started with "
        f"{journey.coi_din}-TS01; nothing new was created."
    ) in page


def test_the_service_answers_a_repeat_with_the_existing_container(team, journey):
    first, created = services.create_first_item(journey, actor=team.nurse)

    again, created_again = services.create_first_item(journey, actor=team.navigator)

    assert (created, created_again) == (True, False)
    assert again == first
    assert Item.objects.count() == 1


@pytest.mark.parametrize("stage", [Stage.WITHDRAWN, Stage.COMPLETED])
def test_a_closed_journey_gets_no_specimen_container(team, stage):
    # Given a closed journey without items
    closed = journey_at(team, stage)
    before = AuditEvent.objects.count()

    # When a nurse asks for its specimen container
    client = client_for(team.nurse)
    response = client.post(url(closed))

    # Then it is refused with the reason and nothing is written
    assert response.status_code == 302
    assert response["Location"] == f"/journeys/{closed.public_id}/#custody"
    label = "withdrawn" if stage == Stage.WITHDRAWN else "completed"
    page = client.get(response["Location"]).content.decode()
    assert f"This journey is {label}: no specimen container is created for it." in page
    assert Item.objects.count() == 0
    assert AuditEvent.objects.count() == before


def test_a_role_without_specimen_rights_is_denied_on_a_closed_journey_too(team):
    closed = journey_at(team, Stage.WITHDRAWN)
    before = AuditEvent.objects.count()

    response = client_for(team.financial_coordinator).post(url(closed))

    assert response.status_code == 403
    assert Item.objects.count() == 0
    assert AuditEvent.objects.count() == before


@POSTGRES_ONLY
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_requests_create_one_specimen_container():
    # Given an open journey and two handlers asking for its container at the same moment
    team = make_team(CenterFactory(isbt_fin="W1234"))
    journey = open_journey_for(PatientFactory(center=team.center), team.navigator)
    start = threading.Barrier(2)
    outcomes: list[bool] = []

    def submit(actor) -> None:
        try:
            start.wait()
            outcomes.append(services.create_first_item(journey, actor=actor)[1])
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit, args=(u,)) for u in (team.nurse, team.navigator)]

    # When both run
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # Then one created the container and the other was answered with it
    assert sorted(outcomes) == [False, True]
    assert [item.item_id for item in Item.objects.all()] == [f"{journey.coi_din}-TS01"]
    assert AuditEvent.objects.filter(action="identity.item.create").count() == 1
