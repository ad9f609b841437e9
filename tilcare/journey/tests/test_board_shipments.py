"""The board shows shipment problems: a late shipment on its journey's card and in the summary."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from tilcare.identity.choices import ItemKind
from tilcare.identity.models import Shipment
from tilcare.journey.tests.factories import make_item, open_journey_for
from tilcare.patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def shipment_for(journey, team, *, dispatched_hours_ago: int, hold_hours: int) -> Shipment:
    # Rows written directly: this file tests what the board shows, not the shipment services.
    shipper = make_item(
        journey, team, ItemKind.SHIPPER, released_at=None, expires_at=None, description="Shipper"
    )
    dispatched = timezone.now() - dt.timedelta(hours=dispatched_hours_ago)
    return Shipment.objects.create(
        coi_din=journey.coi_din,
        shipper=shipper,
        origin=team.center,
        destination=team.facility,
        shipper_type="controlled_2_8",
        expected_hold_hours=Decimal(hold_hours),
        range_min_c=Decimal(2),
        range_max_c=Decimal(8),
        status="in_transit",
        dispatched_at=dispatched,
        expected_at=dispatched + dt.timedelta(hours=hold_hours),
        created_by=team.navigator,
    )


def board_html(user) -> str:
    client = Client()
    client.force_login(user)
    return client.get("/board/").content.decode()


def test_a_late_shipment_is_flagged_on_the_card_and_counted(team):
    # Given a journey whose shipment is 2 hours past its expected arrival
    journey = open_journey_for(PatientFactory(center=team.center), team.navigator)
    shipment_for(journey, team, dispatched_hours_ago=26, hold_hours=24)

    # When the navigator opens the board
    html = board_html(team.navigator)

    # Then the card carries the flag and the summary counts it
    assert '<span class="badge badge-danger">Shipment late</span>' in html
    assert 'class="summary-tile is-danger" href="/identity/shipments/?status=late"' in html


def test_a_shipment_on_time_raises_no_flag(team):
    journey = open_journey_for(PatientFactory(center=team.center), team.navigator)
    shipment_for(journey, team, dispatched_hours_ago=2, hold_hours=24)

    html = board_html(team.navigator)

    assert "Shipment late" not in html
    assert 'class="summary-tile" href="/identity/shipments/?status=late"' in html
