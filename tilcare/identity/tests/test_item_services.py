"""Items and labels through their services: numbering, validation, reconciliation, who may act."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tilcare.accounts.choices import Role
from tilcare.audit.models import AuditEvent
from tilcare.core.errors import InvalidInput, PermissionDenied
from tilcare.identity.choices import ItemKind, LabelStatus
from tilcare.identity.services import items as services
from tilcare.identity.tests.factories import STORAGE, coi, coi_of, new_item
from tilcare.identity.tests.helpers import item_counts
from tilcare.journey.tests.factories import open_journey_for
from tilcare.patients.tests.factories import (
    CenterFactory,
    FacilityFactory,
    PatientFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

MAY_ACT = ["navigator", "nurse", "surgeon", "pharmacist", "manufacturing_tech", "qa_reviewer"]
MAY_NOT_ACT = ["financial_coordinator", "social_worker", "physician", "center_admin"]


@pytest.fixture
def journey(team):
    return open_journey_for(PatientFactory(center=team.center), team.navigator)


@pytest.fixture
def item(team, journey):
    return new_item(team, journey)


def outsider(role: str):
    if role in ("manufacturing_tech", "qa_reviewer"):
        return UserFactory(role=role, organization=FacilityFactory())
    return UserFactory(role=role, organization=CenterFactory())


# --- creating items ---------------------------------------------------------------------------


def test_first_item_is_numbered_one_and_audited_under_the_coi(team, journey):
    # Given a journey's COI identifier
    din, check = coi_of(journey)
    # When the navigator adds the tumor specimen container
    item = new_item(team, journey, kind=ItemKind.TUMOR_SPECIMEN, description="Specimen jar")
    # Then it is TS01 of that COI, and its creation is audited under the COI (not the patient)
    assert (item.coi_din, item.coi_check, item.number) == (din, check, 1)
    assert item.item_id == f"{din}-TS01"
    assert (item.center, item.facility, item.created_by) == (
        team.center,
        team.facility,
        team.navigator,
    )
    event = AuditEvent.objects.get(action="identity.item.create")
    assert event.subject_id == f"coi:{din}"
    assert event.object_id == str(item.public_id)


def test_items_are_numbered_per_coi_and_kind(team, journey):
    # When two bags and a cassette are added
    first = new_item(team, journey)
    second = new_item(team, journey)
    cassette = new_item(team, journey, kind=ItemKind.CASSETTE)
    # Then the bags count up and the cassette starts its own count
    din = journey.coi_din
    assert [first.item_id, second.item_id, cassette.item_id] == [
        f"{din}-BG01",
        f"{din}-BG02",
        f"{din}-CS01",
    ]


def test_expiry_storage_and_attempt_are_stored(team, journey):
    expires = timezone.now() + dt.timedelta(days=30)
    item = new_item(
        team,
        journey,
        expires_at=expires,
        storage_temperature=f"  {STORAGE} ",
        manufacture_attempt=2,
    )
    item.refresh_from_db()
    assert (item.expires_at, item.storage_temperature, item.manufacture_attempt) == (
        expires,
        STORAGE,
        2,
    )


def test_wrong_check_character_is_refused_on_its_field(team, journey):
    # Given the COI's check character with a typo
    din, check = coi_of(journey)
    wrong = "A" if check != "A" else "B"
    before = item_counts()
    # When an item is created with it
    with pytest.raises(InvalidInput) as refused:
        new_item(team, journey, coi_check=wrong)
    # Then the check character field says what it should be, and nothing was written
    assert refused.value.errors == {
        "coi_check": [
            f"Check character “{wrong}” does not match {din}: the ISO 7064 Mod 37-2 check "
            f"character is “{check}”. The identifier was mistyped or misread."
        ]
    }
    assert item_counts() == before


def test_malformed_coi_identifier_is_refused(team, journey):
    before = item_counts()
    with pytest.raises(InvalidInput) as refused:
        new_item(team, journey, coi_din="W12342600001")
    assert list(refused.value.errors) == ["coi_din"]
    assert item_counts() == before


def test_coi_of_another_fin_is_refused_for_the_first_item(team, journey):
    din, check = coi(17, fin="X9999")
    with pytest.raises(InvalidInput) as refused:
        new_item(team, journey, coi_din=din, coi_check=check)
    assert refused.value.errors == {
        "coi_din": [
            "This COI identifier was not issued by this center: its facility number is "
            "X9999, the center's is W1234."
        ]
    }


@pytest.mark.parametrize(
    "storage",
    [
        "≤ −150 °C (vapor phase of liquid nitrogen)",
        "2–8 °C",
        "15-25 °C",
        "<= -150 °C",
        "-90 to -60 °C",
    ],
)
def test_well_formed_storage_temperatures_are_accepted(team, journey, storage):
    assert new_item(team, journey, storage_temperature=storage).storage_temperature == storage


@pytest.mark.parametrize(
    "storage", ["cold", "-150", "≤ −150 °F", "8–2 °C", "≤ −400 °C", "2–8 °C " + "x" * 80]
)
def test_malformed_storage_temperature_is_refused(team, journey, storage):
    before = item_counts()
    with pytest.raises(InvalidInput) as refused:
        new_item(team, journey, storage_temperature=storage)
    assert list(refused.value.errors) == ["storage_temperature"]
    assert item_counts() == before


@pytest.mark.parametrize(
    ("expires_at", "message"),
    [
        (dt.datetime(2030, 1, 1, 12, 0), "Give the expiry as a date and time with its zone."),
        (timezone.now() - dt.timedelta(hours=1), "The expiry must be in the future."),
        (timezone.now() + dt.timedelta(days=3700), "The expiry must be within 10 years from now."),
    ],
)
def test_malformed_expiry_is_refused(team, journey, expires_at, message):
    before = item_counts()
    with pytest.raises(InvalidInput) as refused:
        new_item(team, journey, expires_at=expires_at)
    assert refused.value.errors == {"expires_at": [message]}
    assert item_counts() == before


def test_blank_description_is_refused(team, journey):
    with pytest.raises(InvalidInput) as refused:
        new_item(team, journey, description="   ")
    assert refused.value.errors == {"description": ["Describe the item (required)."]}


@pytest.mark.parametrize("role", MAY_ACT)
def test_roles_that_handle_items_may_create_one(team, journey, item, role):
    created = new_item(team, journey, actor=team.by_role(role))
    assert created.number == 2


@pytest.mark.parametrize("role", MAY_NOT_ACT)
def test_other_center_roles_may_not_create_items(team, journey, item, role):
    before = item_counts()
    with pytest.raises(PermissionDenied):
        new_item(team, journey, actor=team.by_role(role))
    assert item_counts() == before


@pytest.mark.parametrize("role", ["navigator", "manufacturing_tech"])
def test_another_organizations_staff_may_not_create_items(team, journey, item, role):
    before = item_counts()
    with pytest.raises(PermissionDenied):
        new_item(team, journey, actor=outsider(role))
    assert item_counts() == before


def test_patient_may_not_create_items(team, journey, item):
    before = item_counts()
    with pytest.raises(PermissionDenied):
        new_item(team, journey, actor=UserFactory(role=Role.PATIENT, organization=team.center))
    assert item_counts() == before


def test_facility_may_not_start_a_coi(team, journey):
    # Given a COI without items, when the facility's technologist tries to add its first item
    before = item_counts()
    with pytest.raises(PermissionDenied):
        new_item(team, journey, actor=team.manufacturing_tech)
    # Then nothing is created: the center starts the chain
    assert item_counts() == before


# --- labels -----------------------------------------------------------------------------------


def test_each_print_is_a_new_copy(team, item):
    first = services.print_label(item, actor=team.navigator)
    second = services.print_label(item, actor=team.manufacturing_tech)
    assert [(lbl.copy_number, lbl.status, lbl.printed_by) for lbl in (first, second)] == [
        (1, LabelStatus.PRINTED, team.navigator),
        (2, LabelStatus.PRINTED, team.manufacturing_tech),
    ]
    assert AuditEvent.objects.filter(action="identity.label.print").count() == 2


def test_applying_records_who_and_when(team, item):
    label = services.print_label(item, actor=team.nurse)
    applied = services.apply_label(label, actor=team.surgeon)
    applied.refresh_from_db()
    assert (applied.status, applied.applied_by) == (LabelStatus.APPLIED, team.surgeon)
    assert applied.applied_at is not None
    event = AuditEvent.objects.get(action="identity.label.apply")
    assert event.subject_id == f"coi:{item.coi_din}"


def test_void_without_reason_is_refused_and_changes_nothing(team, item):
    label = services.print_label(item, actor=team.nurse)
    before = item_counts()
    with pytest.raises(InvalidInput) as refused:
        services.void_label(label, actor=team.nurse, reason="  ")
    assert refused.value.errors == {"reason": ["Say why the label is voided (required)."]}
    label.refresh_from_db()
    assert label.status == LabelStatus.PRINTED
    assert item_counts() == before


def test_applied_label_can_be_voided_with_reason(team, item):
    label = services.apply_label(services.print_label(item, actor=team.nurse), actor=team.nurse)
    services.void_label(label, actor=team.qa_reviewer, reason="Smudged in the water bath")
    label.refresh_from_db()
    assert (label.status, label.voided_by, label.void_reason) == (
        LabelStatus.VOIDED,
        team.qa_reviewer,
        "Smudged in the water bath",
    )
    assert (
        AuditEvent.objects.get(action="identity.label.void").reason == "Smudged in the water bath"
    )


def test_voided_label_cannot_be_applied(team, item):
    label = services.print_label(item, actor=team.nurse)
    services.void_label(label, actor=team.nurse, reason="Misprint")
    before = item_counts()
    with pytest.raises(InvalidInput) as refused:
        services.apply_label(label, actor=team.nurse)
    assert refused.value.errors == {"__all__": ["Label copy 1 was voided: it cannot be applied."]}
    label.refresh_from_db()
    assert (label.status, label.applied_at) == (LabelStatus.VOIDED, None)
    assert item_counts() == before


def test_label_cannot_be_voided_twice(team, item):
    label = services.print_label(item, actor=team.nurse)
    services.void_label(label, actor=team.nurse, reason="Misprint")
    with pytest.raises(InvalidInput) as refused:
        services.void_label(label, actor=team.nurse, reason="Again")
    assert refused.value.errors == {"__all__": ["Label copy 1 is already voided."]}


@pytest.mark.parametrize("role", MAY_NOT_ACT)
def test_denied_roles_cannot_print_apply_or_void(team, item, role):
    label = services.print_label(item, actor=team.navigator)
    user = team.by_role(role)
    before = item_counts()
    with pytest.raises(PermissionDenied):
        services.print_label(item, actor=user)
    with pytest.raises(PermissionDenied):
        services.apply_label(label, actor=user)
    with pytest.raises(PermissionDenied):
        services.void_label(label, actor=user, reason="Not mine to void")
    label.refresh_from_db()
    assert label.status == LabelStatus.PRINTED
    assert item_counts() == before


@pytest.mark.parametrize("role", ["navigator", "qa_reviewer"])
def test_another_organizations_staff_cannot_print(team, item, role):
    before = item_counts()
    with pytest.raises(PermissionDenied):
        services.print_label(item, actor=outsider(role))
    assert item_counts() == before
