"""Shared by the identity tests (and the audit and API tests that need a shipment).

Rows counted for "nothing was written":
- `item_counts()`: items, labels and audit events.
- `custody_counts()`: custody events, identity alerts and audit events.

Shipment scenes:
- `make_world()`: a center and facility, a patient with a journey, and its shipper and tumor
  specimen.
- `new_shipment(world)`: a planned 2–8 °C shipment from the center to the facility.
- `dispatched(world, hours_ago)`: that shipment dispatched on the minute, and the moment.
- `logged(world, *temperatures)`: a dispatched shipment with an API log of those readings.
- `counts()`: the rows of the shipment tables and audit events.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils import timezone

from tilcare.accounts.models import Organization, User
from tilcare.audit.models import AuditEvent
from tilcare.core.tests.clients import row_counts
from tilcare.identity.choices import ItemKind, ScanResult
from tilcare.identity.models import (
    CustodyEvent,
    IdentityAlert,
    Item,
    Label,
    Shipment,
    ShipmentTransition,
    TemperatureReading,
)
from tilcare.identity.services.shipments import (
    add_temperature_readings,
    create_shipment,
    dispatch_shipment,
)
from tilcare.identity.tests.factories import journey_item
from tilcare.journey.tests.factories import CareTeam, make_team, open_journey_for
from tilcare.patients.tests.factories import CenterFactory, FacilityFactory, PatientFactory


def item_counts() -> tuple[int, ...]:
    return row_counts(Item, Label, AuditEvent)


def custody_counts() -> tuple[int, ...]:
    return row_counts(CustodyEvent, IdentityAlert, AuditEvent)


def refused_as_another_journeys_bag(response: Any) -> Any:
    """Check the API's 409 to a scan of another patient's bag (the recorded event, its result,
    message and next step) and give back the answer's body for what else the test checks."""
    assert response.status_code == 409
    body = response.json()
    event = CustodyEvent.objects.get()
    assert body["event_id"] == str(event.public_id)
    assert body["result"] == ScanResult.OTHER_JOURNEY
    assert body["message"] == event.message
    assert body["message"].startswith("This product bag belongs to another patient's journey")
    assert "Set the item aside" in body["next_step"]
    return body


IDENTITY = ("Theodora", "Lindqvist", "MRN004512", "1968-04-12")


@dataclass
class World:
    team: CareTeam
    coi_din: str
    coi_check: str
    shipper: Item
    specimen: Item

    @property
    def center(self) -> Organization:
        return self.team.center

    @property
    def facility(self) -> Organization:
        return self.team.facility


def make_world() -> World:
    """A center and facility, a patient with a journey, and its shipper and tumor specimen."""
    team = make_team(
        CenterFactory(name="Riverside Cancer Center"),
        FacilityFactory(name="Northgate Cell Therapy"),
    )
    patient = PatientFactory(
        center=team.center, given_name="Theodora", family_name="Lindqvist", mrn="MRN004512"
    )
    journey = open_journey_for(patient, team.navigator)
    return World(
        team,
        journey.coi_din,
        journey.coi_check,
        journey_item(journey, ItemKind.SHIPPER, team),
        journey_item(journey, ItemKind.TUMOR_SPECIMEN, team),
    )


def new_shipment(world: World, actor: User | None = None, **changes: object) -> Shipment:
    """A planned 2–8 °C shipment from the center to the facility, 48 hours' hold."""
    arguments: dict[str, object] = {
        "coi_din": world.coi_din,
        "shipper_item": world.shipper,
        "items": [world.specimen],
        "origin": world.center,
        "destination": world.facility,
        "shipper_type": "controlled_2_8",
        "expected_hold_hours": Decimal("48.0"),
        "range_min_c": Decimal("2.0"),
        "range_max_c": Decimal("8.0"),
        "actor": actor or world.team.navigator,
    }
    arguments.update(changes)
    return create_shipment(**arguments)  # type: ignore[arg-type]


def minute(moment: dt.datetime) -> dt.datetime:
    return moment.replace(second=0, microsecond=0)


def dispatched(world: World, hours_ago: int = 3) -> tuple[Shipment, dt.datetime]:
    """A shipment dispatched `hours_ago` hours ago (on the minute) and that moment."""
    start = minute(timezone.now()) - dt.timedelta(hours=hours_ago)
    shipment = dispatch_shipment(new_shipment(world), actor=world.team.navigator, at=start)
    return shipment, start


def every_ten_minutes(start: dt.datetime, *temperatures: str) -> list[tuple[dt.datetime, Decimal]]:
    return [(start + dt.timedelta(minutes=10 * i), Decimal(t)) for i, t in enumerate(temperatures)]


def logged(world: World, *temperatures: str) -> Shipment:
    """A shipment dispatched three hours ago whose log holds `temperatures`, ten minutes apart
    from the dispatch, posted through the API by the center's navigator."""
    shipment, start = dispatched(world)
    add_temperature_readings(
        shipment,
        readings=every_ten_minutes(start, *temperatures),
        source="api",
        actor=world.team.navigator,
    )
    return shipment


def counts() -> tuple[int, ...]:
    return row_counts(Shipment, ShipmentTransition, TemperatureReading, IdentityAlert, AuditEvent)
