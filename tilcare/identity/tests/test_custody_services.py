"""Recording custody scans: every scan is kept, a mismatch raises an alert in the same
transaction, and only the COI's own center and facility may record."""

from __future__ import annotations

import datetime as dt
from functools import partial

import pytest
from django.utils import timezone

from tilcare.audit.models import AuditEvent
from tilcare.clinical import identity_scan
from tilcare.core.errors import InvalidInput, NotVisible, PermissionDenied
from tilcare.identity.choices import (
    ITEM_CODES,
    AlertSeverity,
    HandoffStep,
    ItemKind,
    LabelStatus,
    ScanResult,
)
from tilcare.identity.models import CustodyEvent, IdentityAlert, Label
from tilcare.identity.services.custody import STEP_KINDS, ScanRequest, record_scan, steps_for

# Scans are dated NOW, read at import: each test's clock starts there (root conftest).
from tilcare.identity.tests.factories import planned_journey
from tilcare.identity.tests.helpers import custody_counts
from tilcare.journey.tests import factories as journey_factories
from tilcare.journey.tests.factories import make_team
from tilcare.patients.tests.factories import CenterFactory, FacilityFactory, PatientFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock_at_module_now")]

NOW = timezone.now()


@pytest.fixture
def journey(team):
    return planned_journey(PatientFactory(center=team.center), team)


@pytest.fixture
def other_journey(team):
    return planned_journey(PatientFactory(center=team.center), team)


make_item = partial(journey_factories.make_item, now=NOW)


def _receive(journey, actor, text, *, step=HandoffStep.PRODUCT_RECEIVED, now=None, **fields):
    request = ScanRequest(
        coi_din=journey.coi_din, step=step, scanned_text=text, occurred_at=now, **fields
    )
    return record_scan(request, actor=actor, organization=actor.organization)


# ---------- What is recorded ----------


def test_matching_bag_is_recorded_with_its_audit_event_and_no_alert(team, journey):
    # Given a released bag of the journey
    bag = make_item(journey, team)

    # When the pharmacist scans it on receipt
    event = _receive(journey, team.pharmacist, bag.item_id, location="Pharmacy cell-therapy bay")

    # Then the event is a match on that bag, audited under the COI, with no alert
    assert event.result == ScanResult.MATCH
    assert event.accepted
    assert event.item == bag
    assert event.message == f"Matches — {bag.item_id} (product bag 1)."
    assert event.location == "Pharmacy cell-therapy bay"
    assert event.organization == team.center
    audit = AuditEvent.objects.get(action="identity.custody.record")
    assert audit.subject_id == f"coi:{journey.coi_din}"
    assert audit.object_id == str(event.public_id)
    assert IdentityAlert.objects.count() == 0


def test_bag_of_another_journey_is_recorded_and_alerted_to_both_journeys(
    team, journey, other_journey
):
    # Given this journey's bag, and a bag of another patient's journey
    make_item(journey, team)
    stray = make_item(other_journey, team)

    # When it is scanned as this journey's product
    event = _receive(journey, team.nurse, stray.item_id)

    # Then the scan is kept as "another journey", not tied to this journey's items
    assert event.result == ScanResult.OTHER_JOURNEY
    assert event.item is None
    assert event.scanned_text == stray.item_id
    # And a critical alert is raised on this journey and on the bag's own journey
    mine = IdentityAlert.objects.get(coi_din=journey.coi_din)
    theirs = IdentityAlert.objects.get(coi_din=other_journey.coi_din)
    assert mine.severity == theirs.severity == AlertSeverity.CRITICAL
    assert mine.custody_event == theirs.custody_event == event
    assert mine.message == (
        "Product received at the center: This product bag belongs to another patient's journey "
        f"({identity_scan.spaced(other_journey.coi_din)}). Stop: do not proceed."
    )
    assert theirs.message.startswith(f"{stray.item_id} of this journey was scanned at ")
    assert AuditEvent.objects.filter(action="identity.alert.raise").count() == 2


def test_wrong_check_character_is_recorded_and_alerted_as_high(team, journey):
    # Given a bag, and its 2D content with a wrong check character
    bag = make_item(journey, team)
    wrong = "Z" if journey.coi_check != "Z" else "Y"

    # When it is scanned
    event = _receive(journey, team.pharmacist, f"{bag.item_id}|{journey.coi_din}{wrong}")

    # Then it is refused, recorded and alerted
    assert event.result == ScanResult.WRONG_CHECK_CHARACTER
    assert f"expected “{journey.coi_check}”" in event.message
    alert = IdentityAlert.objects.get()
    assert alert.severity == AlertSeverity.HIGH
    assert alert.center == team.center
    assert alert.facility == team.facility


def test_unknown_text_from_an_allowed_user_is_recorded_as_unknown_and_alerted(team, journey):
    # Given a journey with no item registered yet
    # When the nurse scans something that is not a label
    event = record_scan(
        ScanRequest(
            coi_din=journey.coi_din, step=HandoffStep.HANDOFF, scanned_text="4006381333931"
        ),
        actor=team.nurse,
        organization=team.center,
        center=journey.center,
        facility=team.facility,
    )

    # Then it is kept as an unknown item, with a high alert
    assert event.result == ScanResult.UNKNOWN_ITEM
    assert event.item is None
    assert IdentityAlert.objects.get().severity == AlertSeverity.HIGH


def test_unreleased_product_is_refused_at_the_center_with_a_critical_alert(team, journey):
    bag = make_item(journey, team, released_at=None)

    event = _receive(journey, team.pharmacist, bag.item_id)

    assert event.result == ScanResult.NOT_RELEASED
    assert event.item == bag
    assert IdentityAlert.objects.get().severity == AlertSeverity.CRITICAL


def test_expired_product_is_refused_at_the_center_with_a_critical_alert(team, journey):
    bag = make_item(journey, team, expires_at=NOW - dt.timedelta(minutes=1))

    event = _receive(journey, team.pharmacist, bag.item_id, now=NOW)

    assert event.result == ScanResult.EXPIRED
    assert event.occurred_at == NOW
    assert IdentityAlert.objects.get().severity == AlertSeverity.CRITICAL


def test_release_is_not_checked_when_the_facility_dispatches(team, journey):
    # Given a bag not yet released
    bag = make_item(journey, team, released_at=None)

    # When the facility scans it as it hands it to the courier
    event = _receive(journey, team.manufacturing_tech, bag.item_id, step="product_dispatched")

    # Then it matches (release is checked where the product is received and used)
    assert event.result == ScanResult.MATCH


def test_voided_label_is_refused(team, journey):
    bag = make_item(journey, team)
    Label.objects.create(
        item=bag,
        copy_number=1,
        status=LabelStatus.VOIDED,
        printed_at=NOW,
        printed_by=team.navigator,
        voided_at=NOW,
        voided_by=team.navigator,
        void_reason="Smudged",
    )

    event = _receive(journey, team.pharmacist, bag.item_id)

    assert event.result == ScanResult.LABEL_VOIDED


def test_an_applied_label_is_accepted(team, journey):
    bag = make_item(journey, team)
    for copy, status in ((1, LabelStatus.VOIDED), (2, LabelStatus.APPLIED)):
        Label.objects.create(
            item=bag, copy_number=copy, status=status, printed_at=NOW, printed_by=team.navigator
        )

    event = _receive(journey, team.pharmacist, bag.item_id)

    assert event.result == ScanResult.MATCH


def test_an_item_of_the_wrong_kind_for_the_step_is_refused(team, journey):
    specimen = make_item(journey, team, ItemKind.TUMOR_SPECIMEN)

    event = _receive(journey, team.pharmacist, specimen.item_id)

    assert event.result == ScanResult.WRONG_ITEM
    assert IdentityAlert.objects.get().severity == AlertSeverity.HIGH


def test_another_item_than_the_expected_one_is_refused(team, journey):
    first = make_item(journey, team, number=1)
    second = make_item(journey, team, number=2)

    event = _receive(journey, team.nurse, first.item_id, expected_item_id=second.item_id)

    assert event.result == ScanResult.WRONG_ITEM
    assert event.expected_item_id == second.item_id


# ---------- Who may record ----------


@pytest.mark.parametrize("role", ["physician", "social_worker", "financial_coordinator"])
def test_roles_without_the_custody_permission_are_refused_and_nothing_is_written(
    team, journey, role
):
    bag = make_item(journey, team)
    before = custody_counts()

    with pytest.raises(PermissionDenied):
        _receive(journey, team.by_role(role), bag.item_id)

    assert custody_counts() == before


@pytest.mark.parametrize(
    ("role", "step"),
    [
        pytest.param("nurse", HandoffStep.PRODUCT_RECEIVED, id="another center's nurse"),
        pytest.param("manufacturing_tech", "product_dispatched", id="another facility"),
    ],
)
def test_another_organizations_staff_are_refused_and_nothing_is_written(journey, team, role, step):
    # Given a bag of this journey and a nurse of another center (or a technologist of another
    # facility)
    bag = make_item(journey, team)
    stranger = make_team(CenterFactory(), FacilityFactory()).by_role(role)
    before = custody_counts()

    with pytest.raises(PermissionDenied):
        _receive(journey, stranger, bag.item_id, step=step)

    assert custody_counts() == before


def test_a_coi_without_any_item_is_not_visible_unless_its_parties_are_given(team, journey):
    with pytest.raises(NotVisible):
        _receive(journey, team.nurse, "anything")

    assert custody_counts()[0] == 0


# ---------- Bad input ----------


def test_an_empty_scan_is_refused_naming_the_field_and_nothing_is_written(team, journey):
    make_item(journey, team)
    before = custody_counts()

    with pytest.raises(InvalidInput) as refused:
        _receive(journey, team.nurse, " \r\n")

    assert refused.value.errors == {"scanned_text": ["Scan or type the label: nothing was read."]}
    assert custody_counts() == before


def test_a_step_of_the_other_organization_is_refused(team, journey):
    bag = make_item(journey, team, ItemKind.TUMOR_SPECIMEN)

    with pytest.raises(InvalidInput) as refused:
        _receive(journey, team.nurse, bag.item_id, step=HandoffStep.TISSUE_RECEIVED)

    assert refused.value.errors == {
        "step": [
            "“Tissue received at the manufacturing facility” is recorded by the manufacturing "
            "facility."
        ]
    }
    assert CustodyEvent.objects.count() == 0


def test_an_unknown_step_and_an_overlong_location_are_refused(team, journey):
    bag = make_item(journey, team)

    with pytest.raises(InvalidInput) as refused:
        _receive(journey, team.nurse, bag.item_id, step="teleported", location="x" * 201)

    assert set(refused.value.errors) == {"step", "location"}
    assert refused.value.errors["location"] == ["At most 200 characters (got 201)."]


def test_an_overlong_scan_is_refused(team, journey):
    make_item(journey, team)

    with pytest.raises(InvalidInput) as refused:
        _receive(journey, team.nurse, "W" * 81)

    assert refused.value.errors == {"scanned_text": ["At most 80 characters (got 81)."]}


# ---------- The vocabulary agrees with the pure reader ----------


def test_scan_results_and_item_kinds_agree_with_the_pure_reader():
    assert set(identity_scan.RESULTS) == set(ScanResult.values)
    assert {code: kind for kind, code in ITEM_CODES.items()} == identity_scan.KIND_BY_CODE
    assert set(identity_scan.KIND_NOUNS) == set(ItemKind.values)
    assert set(STEP_KINDS) == set(HandoffStep.values)


def test_each_organization_records_its_own_steps(team):
    assert HandoffStep.TISSUE_RECEIVED in steps_for(team.facility)
    assert HandoffStep.PRODUCT_RECEIVED not in steps_for(team.facility)
    assert HandoffStep.PRODUCT_RECEIVED in steps_for(team.center)
    assert steps_for(None) == ()
