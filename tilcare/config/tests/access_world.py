"""Two organizations' worth of real records, for the access matrix test.

`make_access_world()` builds an "own" side and an "other" side. Each side is a center with its
manufacturing facility, one user per role (the center's roles at the center, the facility's at
the facility), two patients of the center (the first with a portal account and a journey that
reached manufacturing), and one real record of every kind a page or API operation names in its
path: journey, task, milestone, consent, items (tumor specimen, shipper), labels (one printed,
one voided), shipment, identity alerts (one open, one acknowledged), slot, booking, batch (in the
REP, with cultures), a culture id, and an API token of each staff role. Made through the
services or the domains' own factories.

Every free-text field center staff can type holds the patient's name and record number (item
descriptions, milestone references and notes, the eligibility notes and the reason for their
amendment, a label's void reason, an alert's acknowledgement note), so a page that shows such
text to a facility shows the leak.

`Side.identity_strings()` is everything that identifies a side's patients: names, record numbers,
dates of birth in the forms the pages print, phone numbers, e-mail, address, and the contact's
name and phone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from tilcare.accounts.choices import Role
from tilcare.accounts.models import ApiToken, Organization, User
from tilcare.accounts.services import issue_api_token
from tilcare.identity.choices import ItemKind
from tilcare.identity.models import IdentityAlert, Item, Label, Shipment
from tilcare.identity.services.alerts import acknowledge_alert
from tilcare.identity.services.items import print_label, void_label
from tilcare.identity.services.shipments import create_shipment
from tilcare.identity.tests.factories import ItemFactory, unreadable_scan_alert
from tilcare.journey import services as journey_services
from tilcare.journey.choices import MilestoneKind
from tilcare.journey.models import Journey, Milestone, Task
from tilcare.journey.tests.factories import (
    CareTeam,
    eligible_checklist_data,
    make_team,
    riverside_team,
)
from tilcare.manufacturing.choices import BatchStatus
from tilcare.manufacturing.models import Batch, ManufacturingSlot, SlotBooking
from tilcare.manufacturing.tests.batch_factories import batch_of_patient, walk_batch
from tilcare.manufacturing.tests.factories import BookingFactory, SlotFactory
from tilcare.patients.models import Consent, Patient
from tilcare.patients.tests.factories import (
    TEST_PASSWORD,
    CenterFactory,
    ContactFactory,
    FacilityFactory,
    PatientFactory,
    UserFactory,
)

# The release test a page route names (any kind the batch's specification lists).
RELEASE_TEST = "sterility"


@dataclass(frozen=True)
class Person:
    given_name: str
    family_name: str
    mrn: str
    date_of_birth: dt.date
    phone: str
    email: str
    address: str
    contact_name: str
    contact_phone: str

    def strings(self) -> tuple[str, ...]:
        born = self.date_of_birth
        return (
            self.given_name,
            self.family_name,
            self.mrn,
            born.isoformat(),
            f"{born.day} {born:%b %Y}",  # "j M Y", as the pages print it
            f"{born.day} {born:%B %Y}",
            f"{born:%b}. {born.day}, {born.year}",  # Django's default DATE_FORMAT
            f"{born:%B} {born.day}, {born.year}",
            f"{born:%m/%d/%Y}",
            f"{born:%d/%m/%Y}",
            self.phone,
            self.email,
            self.address,
            self.contact_name,
            self.contact_phone,
        )


OWN_PEOPLE = (
    Person(
        "Theodora",
        "Quennell",
        "MRN771204",
        dt.date(1957, 11, 23),
        "+1 617 555 3371",
        "theodora.quennell@example.org",
        "14 Larkspur Lane, Brookline",
        "Bartholomew Quennell",
        "+1 617 555 3372",
    ),
    Person(
        "Perpetua",
        "Stanhope",
        "MRN771988",
        dt.date(1949, 6, 17),
        "+1 617 555 8810",
        "perpetua.stanhope@example.org",
        "2 Wrenfield Court, Newton",
        "Cornelius Stanhope",
        "+1 617 555 8811",
    ),
)
OTHER_PEOPLE = (
    Person(
        "Ottoline",
        "Faraday",
        "MRN559031",
        dt.date(1963, 3, 9),
        "+1 312 555 4402",
        "ottoline.faraday@example.org",
        "88 Juniper Row, Evanston",
        "Ignatius Faraday",
        "+1 312 555 4403",
    ),
    Person(
        "Wilhelmina",
        "Ashcombe",
        "MRN559377",
        dt.date(1971, 8, 28),
        "+1 312 555 9120",
        "wilhelmina.ashcombe@example.org",
        "5 Cobbler Mews, Skokie",
        "Leopold Ashcombe",
        "+1 312 555 9121",
    ),
)


@dataclass(frozen=True)
class Side:
    """One center, its facility, their people and records."""

    team: CareTeam
    people: tuple[Person, ...]
    patient: Patient
    second_patient: Patient
    portal_user: User
    journey: Journey
    task: Task
    milestone: Milestone
    consent: Consent
    specimen: Item
    shipper: Item
    label: Label
    voided_label: Label
    shipment: Shipment
    alert: IdentityAlert
    acknowledged_alert: IdentityAlert
    slot: ManufacturingSlot
    booking: SlotBooking
    batch: Batch
    culture_id: str
    tokens: dict[str, ApiToken]
    secrets: dict[str, str]

    @property
    def center(self) -> Organization:
        return self.team.center

    @property
    def facility(self) -> Organization:
        return self.team.facility

    def user(self, role: Role | str) -> User:
        if Role(role) == Role.PATIENT:
            return self.portal_user
        return self.team.by_role(role)

    def record(self, kind: str) -> Any:
        """The record of `kind` (as the access table names it) on this side."""
        records: dict[str, Any] = {
            "patient": self.patient,
            "journey": self.journey,
            "task": self.task,
            "item": self.specimen,
            "label": self.label,
            "shipment": self.shipment,
            "alert": self.alert,
            "slot": self.slot,
            "booking": self.booking,
            "batch": self.batch,
            "staff": self.team.nurse,
            "token": self.tokens[Role.NURSE.value],
        }
        return records[kind]

    def identity_strings(self) -> tuple[str, ...]:
        return tuple(text for person in self.people for text in person.strings())


def _patient(center: Organization, person: Person) -> Patient:
    patient: Patient = PatientFactory(
        center=center,
        given_name=person.given_name,
        family_name=person.family_name,
        mrn=person.mrn,
        date_of_birth=person.date_of_birth,
        phone=person.phone,
        email=person.email,
        address=person.address,
    )
    ContactFactory(patient=patient, name=person.contact_name, phone=person.contact_phone)
    return patient


def _side(team: CareTeam, people: tuple[Person, ...]) -> Side:
    person = people[0]
    typed = f"{person.given_name} {person.family_name} ({person.mrn})"
    patient = _patient(team.center, person)
    second_patient = _patient(team.center, people[1])
    portal_user: User = UserFactory(role=Role.PATIENT, organization=team.center)
    Patient.objects.filter(pk=patient.pk).update(portal_user=portal_user)

    batch = walk_batch(batch_of_patient(team, patient), team, BatchStatus.REP)
    journey = Journey.objects.get(patient=patient)
    milestone = journey_services.record_milestone(
        journey,
        actor=team.navigator,
        kind=MilestoneKind.TISSUE_RECEIVED,
        occurred_at=timezone.now() - dt.timedelta(minutes=2),
        reference=f"Courier slip for {typed}",
        note=f"Called {person.given_name} {person.family_name} at {person.phone} about it.",
    )
    journey_services.amend_eligibility(
        journey,
        actor=team.physician,
        data={**eligible_checklist_data(), "notes": f"Reviewed with {typed} and family."},
        reason=f"{person.given_name} {person.family_name} brought outside scans.",
    )
    journey_services.sign_eligibility(journey, actor=team.physician, password=TEST_PASSWORD)
    specimen = Item.objects.get(coi_din=journey.coi_din, kind=ItemKind.TUMOR_SPECIMEN)
    Item.objects.filter(pk=specimen.pk).update(description=f"Tumor specimen 1 of {typed}")
    specimen.refresh_from_db()
    shipper: Item = ItemFactory(
        coi_din=journey.coi_din,
        coi_check=journey.coi_check,
        kind=ItemKind.SHIPPER,
        number=1,
        center=team.center,
        facility=team.facility,
        description=f"Dry shipper for {typed}",
        created_by=team.navigator,
    )
    label = print_label(specimen, actor=team.navigator)
    voided_label = void_label(
        print_label(specimen, actor=team.navigator),
        actor=team.navigator,
        reason=f"Smudged; reprinted for {typed}",
    )
    shipment = create_shipment(
        coi_din=journey.coi_din,
        shipper_item=shipper,
        items=[specimen],
        origin=team.center,
        destination=team.facility,
        shipper_type="controlled_2_8",
        expected_hold_hours="48.0",
        range_min_c="2.0",
        range_max_c="8.0",
        actor=team.navigator,
    )
    alert = unreadable_scan_alert(journey.coi_din, team)
    acknowledged_alert = acknowledge_alert(
        unreadable_scan_alert(journey.coi_din, team),
        actor=team.navigator,
        note=f"Rescanned the wristband of {typed}; it matched.",
    )
    slot = SlotFactory(facility=team.facility, created_by=team.manufacturing_tech)
    booking = BookingFactory(
        slot=slot,
        center=team.center,
        booked_by=team.navigator,
        coi=(journey.coi_din, journey.coi_check),
    )
    issued = {
        role.value: issue_api_token(team.by_role(role), name="Access matrix")
        for role in Role
        if role != Role.PATIENT
    }
    batch = Batch.objects.select_related("center", "facility").get(pk=batch.pk)
    return Side(
        team=team,
        people=people,
        patient=patient,
        second_patient=second_patient,
        portal_user=portal_user,
        journey=journey,
        task=journey.tasks.order_by("id").first(),  # type: ignore[arg-type]
        milestone=milestone,
        consent=patient.consents.order_by("id").first(),  # type: ignore[arg-type]
        specimen=specimen,
        shipper=shipper,
        label=label,
        voided_label=voided_label,
        shipment=shipment,
        alert=alert,
        acknowledged_alert=acknowledged_alert,
        slot=slot,
        booking=booking,
        batch=batch,
        culture_id=batch.cultures.order_by("culture_id").first().culture_id,  # type: ignore[union-attr]
        tokens={role: token for role, (token, _secret) in issued.items()},
        secrets={role: secret for role, (_token, secret) in issued.items()},
    )


@dataclass(frozen=True)
class AccessWorld:
    own: Side
    other: Side

    def side(self, org: str) -> Side:
        return self.own if org == "own" else self.other


def make_access_world() -> AccessWorld:
    own = riverside_team(isbt_fin="W1234")
    other = make_team(
        CenterFactory(name="Lakeshore Oncology Institute", isbt_fin="W5678"),
        FacilityFactory(name="Eastbrook Biologics", isbt_fin="W5678"),
    )
    return AccessWorld(own=_side(own, OWN_PEOPLE), other=_side(other, OTHER_PEOPLE))
