"""One small program for tests that call every API operation: a center and a facility with one
user (and one bearer token) per role, and one record of every kind an operation can name in its
path, each made through the services or the domains' own test factories.

`ApiWorld.path_parameters(path)` gives the ids that make an operation reach its record instead of
answering 404; `ApiWorld.role_for(method, path)` the role that may perform it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import time_machine
from django.utils import timezone

from tilcare.accounts.choices import Role
from tilcare.accounts.models import User
from tilcare.accounts.services import issue_api_token
from tilcare.clinical.dosing.regimens import ProtocolRef
from tilcare.identity.choices import ItemKind
from tilcare.identity.models import IdentityAlert, Item, Label, Shipment
from tilcare.identity.services.items import print_label
from tilcare.identity.tests.factories import journey_item, unreadable_scan_alert
from tilcare.identity.tests.helpers import World, new_shipment
from tilcare.journey import services as journey_services
from tilcare.journey.choices import Protocol
from tilcare.journey.models import Journey, Task
from tilcare.journey.tests.factories import CareTeam, open_journey_for
from tilcare.manufacturing.models import Batch, ManufacturingSlot, SlotBooking
from tilcare.manufacturing.tests.batch_factories import batch_team, in_rep_with_counts
from tilcare.manufacturing.tests.factories import BookingFactory, SlotFactory
from tilcare.monitoring.models import Observation
from tilcare.monitoring.services.observations import record_observations
from tilcare.patients.models import Patient
from tilcare.patients.services import record_measurement
from tilcare.patients.tests.factories import PatientFactory
from tilcare.treatment.choices import OrderKind
from tilcare.treatment.models import Il2Decision, Infusion, Order, ProtocolActivation
from tilcare.treatment.selectors import open_order
from tilcare.treatment.services.activation import enter_protocol_settings
from tilcare.treatment.services.infusion import open_infusion
from tilcare.treatment.services.orders import Course, order_il2
from tilcare.treatment.tests.factories import (
    DAY,
    LIFILEUCEL,
    LIFILEUCEL_VALUES,
    NKI,
    activate,
    awaiting_decision,
)

# Operations a role other than the default of their part of the API performs.
_ROLE_BY_OPERATION: dict[tuple[str, str], Role] = {
    ("post", "/manufacturing/batches/{public_id}/disposition"): Role.QA_REVIEWER,
    ("post", "/manufacturing/batches/{public_id}/acknowledgement"): Role.PHYSICIAN,
    ("post", "/manufacturing/slots/{public_id}/bookings"): Role.NAVIGATOR,
    ("post", "/manufacturing/bookings/{public_id}/cancel"): Role.NAVIGATOR,
    ("get", "/manufacturing/bookings"): Role.NAVIGATOR,
    ("post", "/journeys/scans"): Role.NURSE,
    # The world's shipment goes from the center to the facility, which receives it.
    ("post", "/identity/shipments/{public_id}/receive"): Role.MANUFACTURING_TECH,
    ("post", "/treatment/orders/{public_id}/reorder"): Role.PHYSICIAN,
    ("post", "/treatment/orders/{public_id}/cancel"): Role.PHYSICIAN,
    ("post", "/treatment/orders/{public_id}/filgrastim-stop"): Role.PHYSICIAN,
    ("post", "/treatment/orders/{public_id}/doses/{sequence}/administration"): Role.NURSE,
    ("post", "/journeys/{public_id}/orders"): Role.PHYSICIAN,
    ("post", "/journeys/{public_id}/infusion"): Role.NURSE,
    ("post", "/treatment/infusions/{public_id}/premedications"): Role.NURSE,
    ("post", "/treatment/infusions/{public_id}/thaws"): Role.NURSE,
    ("post", "/treatment/infusions/{public_id}/scans"): Role.NURSE,
    ("post", "/treatment/infusions/{public_id}/start"): Role.NURSE,
    ("post", "/treatment/infusions/{public_id}/end"): Role.NURSE,
    ("post", "/treatment/orders/{public_id}/il2/assessments"): Role.NURSE,
    ("post", "/treatment/il2-decisions/{public_id}/decision"): Role.PHYSICIAN,
}
# The default role of each part of the API, by the start of its paths (first match wins).
_ROLE_BY_PREFIX: tuple[tuple[str, Role], ...] = (
    ("/manufacturing/", Role.MANUFACTURING_TECH),
    ("/monitoring/", Role.NURSE),
    ("/calc/", Role.PHYSICIAN),
    ("/treatment/", Role.PHARMACIST),
    ("/journeys/{public_id}/transitions", Role.PHYSICIAN),
    ("", Role.NAVIGATOR),
)


@dataclass(frozen=True)
class ApiWorld:
    team: CareTeam
    patient: Patient
    journey: Journey
    task: Task
    specimen: Item
    label: Label
    shipment: Shipment
    alert: IdentityAlert
    slot: ManufacturingSlot
    booking: SlotBooking
    batch: Batch
    activation: ProtocolActivation
    order: Order
    infusion: Infusion
    il2_decision: Il2Decision
    observation: Observation
    culture_id: str
    secrets: dict[str, str]

    def user(self, role: Role) -> User:
        return self.team.by_role(role)

    def bearer(self, role: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secrets[Role(role).value]}"}

    @staticmethod
    def role_for(method: str, path: str) -> Role:
        if (method, path) in _ROLE_BY_OPERATION:
            return _ROLE_BY_OPERATION[(method, path)]
        return next(role for prefix, role in _ROLE_BY_PREFIX if path.startswith(prefix))

    def path_parameters(self, path: str) -> dict[str, str]:
        """The ids an operation's path names, by the record its path is about."""
        records = (
            ("/patients/", self.patient.public_id),
            ("/journeys/", self.journey.public_id),
            ("/tasks/", self.task.public_id),
            ("/identity/items/", self.specimen.public_id),
            ("/identity/labels/", self.label.public_id),
            ("/identity/shipments/", self.shipment.public_id),
            ("/identity/alerts/", self.alert.public_id),
            ("/manufacturing/slots/", self.slot.public_id),
            ("/manufacturing/bookings/", self.booking.public_id),
            ("/manufacturing/batches/", self.batch.public_id),
            ("/treatment/protocol-settings/", self.activation.public_id),
            ("/treatment/orders/", self.open_order().public_id),
            ("/treatment/infusions/", self.infusion.public_id),
            ("/treatment/il2-decisions/", self.il2_decision.public_id),
            ("/monitoring/patients/", self.patient.public_id),
            ("/monitoring/observations/", self.observation.public_id),
        )
        parameters: dict[str, str] = {}
        if "{public_id}" in path:
            parameters["public_id"] = str(
                next(public_id for prefix, public_id in records if path.startswith(prefix))
            )
        if "{culture_id}" in path:
            parameters["culture_id"] = self.culture_id
        if "{sequence}" in path:
            parameters["sequence"] = "1"
        return parameters

    def open_order(self) -> Order:
        """The course's IL-2 order still open: once an operation writes it again, the new one
        (so the cancel that follows reaches an open order), else the world's own."""
        return open_order(self.order.coi_din, 1, OrderKind.IL2) or self.order


def _open_infusion(team: CareTeam, order: Order) -> Infusion:
    """The infusion checklist of the IL-2 order's course, opened on the center's NKI settings
    (no bag registered for it: the bedside steps reach the services and are refused there)."""
    course = Course(
        team.center, order.patient, order.coi_din, order.coi_check, 1, ProtocolRef(*NKI)
    )
    return open_infusion(course, actor=team.nurse)


def _il2_decision(team: CareTeam) -> Il2Decision:
    """A third patient's NKI course walked through lymphodepletion, the infusion day and the
    verified IL-2 order, three days ago, to its first dose assessed and awaiting the physician's
    decision."""
    last = timezone.now().replace(second=0, microsecond=0) - 3 * DAY
    with time_machine.travel(last, tick=False) as traveller:
        return awaiting_decision(team, traveller, last, Protocol.NKI_TIL_2022)


def _il2_order(team: CareTeam) -> Order:
    """An IL-2 order for a second patient's course (the first has no measurement), on the
    center's NKI settings signed for it (the lifileucel settings stay awaiting signatures, for
    the operations that sign them)."""
    activate(team.center, pharmacist=team.pharmacist, physician=team.physician, protocol=NKI)
    patient = PatientFactory(center=team.center)
    journey = open_journey_for(patient, team.navigator)
    record_measurement(
        patient,
        actor=team.nurse,
        measured_on=journey.referred_on,
        weight_kg="80",
        height_cm="180",
    )
    course = Course(team.center, patient, journey.coi_din, journey.coi_check, 1, ProtocolRef(*NKI))
    return order_il2(course, actor=team.physician)


def _observation(team: CareTeam, patient: Patient) -> Observation:
    """A heart rate of the world's patient, recorded a minute ago by its nurse (a correction
    supersedes it; the next one corrects the correction's, refused as already corrected)."""
    moment = timezone.now() - dt.timedelta(minutes=1)
    entry = {"kind": "heart_rate", "value": "72", "unit": "/min", "effective_at": moment}
    recorded = record_observations(patient, [entry], actor=team.nurse, source="api")
    return recorded.observations[0]


def make_api_world() -> ApiWorld:
    team = batch_team()
    patient = PatientFactory(center=team.center)
    journey = open_journey_for(patient, team.navigator)
    journey = journey_services.plan_journey(
        journey, actor=team.navigator, changes={"manufacturing_facility": team.facility}
    )
    shipper = journey_item(journey, ItemKind.SHIPPER, team)
    specimen = journey_item(journey, ItemKind.TUMOR_SPECIMEN, team)
    shipment = new_shipment(World(team, journey.coi_din, journey.coi_check, shipper, specimen))
    alert = unreadable_scan_alert(journey.coi_din, team)
    slot = SlotFactory(facility=team.facility, capacity=3)
    batch = in_rep_with_counts(team, sequence=17)
    order = _il2_order(team)
    secrets = {
        role.value: issue_api_token(team.by_role(role), name="API tests")[1]
        for role in Role
        if role != Role.PATIENT
    }
    return ApiWorld(
        team=team,
        patient=patient,
        journey=journey,
        task=journey.tasks.order_by("id").first(),  # type: ignore[arg-type]
        specimen=specimen,
        label=print_label(specimen, actor=team.navigator),
        shipment=shipment,
        alert=alert,
        slot=slot,
        booking=BookingFactory(slot=slot, center=team.center, booked_by=team.navigator),
        batch=batch,
        activation=enter_protocol_settings(
            team.center,
            protocol_id=LIFILEUCEL[0],
            protocol_version=LIFILEUCEL[1],
            values=LIFILEUCEL_VALUES,
            actor=team.pharmacist,
        ),
        order=order,
        infusion=_open_infusion(team, order),
        il2_decision=_il2_decision(team),
        observation=_observation(team, patient),
        culture_id=batch.cultures.order_by("culture_id").first().culture_id,  # type: ignore[union-attr]
        secrets=secrets,
    )
