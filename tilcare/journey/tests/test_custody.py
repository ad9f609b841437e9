"""Custody scans that settle a journey stage: tissue at the facility, product at the center.

A matching scan records the receipt (once every item of the attempt is in) and moves the journey
when the scanning user's role may; a mismatch is recorded and alerted, and nothing else happens.
"""

from __future__ import annotations

import datetime as dt
from functools import partial

import pytest
from django.utils import timezone

from tilcare.audit.models import AuditEvent
from tilcare.core.errors import InvalidInput
from tilcare.identity.choices import AlertSeverity, HandoffStep, ItemKind, ScanResult
from tilcare.identity.models import CustodyEvent, IdentityAlert
from tilcare.journey import selectors, services
from tilcare.journey.choices import MilestoneKind, Stage
from tilcare.journey.guards import current_milestone
from tilcare.journey.models import Journey, Milestone
from tilcare.journey.services import custody
from tilcare.journey.tests import factories
from tilcare.journey.tests.factories import make_team, open_journey_for, prepare_for, walk_to
from tilcare.patients.tests.factories import PatientFactory

# Scans are dated NOW, read at import: each test's clock starts there (root conftest).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock_at_module_now")]

NOW = timezone.now()


def _open(team):
    return open_journey_for(PatientFactory(center=team.center), team.navigator)


@pytest.fixture
def tissue_procured(team):
    """A journey whose tissue is on its way to the facility: everything else for
    "At manufacturing" is in place."""
    journey = walk_to(_open(team), Stage.TISSUE_PROCURED, users=team)
    return prepare_for(
        journey, Stage.AT_MANUFACTURING, users=team, skip=frozenset({"tissue_received"})
    )


make_item = partial(factories.make_item, now=NOW)


def _fresh(journey):
    return Journey.objects.select_related("center", "manufacturing_facility").get(pk=journey.pk)


def _handoff(journey, step, text, actor, **fields):
    """A scan at `step` through the journey's one door, as the scan page and the API make it."""
    journey = _fresh(journey)
    return custody.record_handoff(
        journey, custody.scan_request(journey, step, text, **fields), actor=actor
    )


def _state(journey):
    journey = _fresh(journey)
    return (
        journey.stage,
        Milestone.objects.filter(journey=journey).count(),
        CustodyEvent.objects.count(),
        IdentityAlert.objects.count(),
        AuditEvent.objects.count(),
    )


# ---------- Tissue received at the facility ----------


def test_facility_scan_of_the_specimen_records_tissue_received_but_does_not_move(
    team, tissue_procured
):
    # Given the tumor specimen container of the journey
    specimen = make_item(tissue_procured, team, ItemKind.TUMOR_SPECIMEN)

    # When the facility's technologist scans it on arrival
    result = custody.receive_tissue(
        _fresh(tissue_procured), scanned_text=specimen.item_id, actor=team.manufacturing_tech
    )

    # Then the scan matches and the receipt is recorded as the technologist's
    assert result.accepted
    assert result.event.step == HandoffStep.TISSUE_RECEIVED
    assert result.event.to_party == team.facility.name
    milestone = current_milestone(_fresh(tissue_procured), MilestoneKind.TISSUE_RECEIVED)
    assert milestone == result.milestone
    assert milestone.recorded_by == team.manufacturing_tech
    assert milestone.reference == specimen.item_id
    # And the journey stays where it is: only the center's navigator moves it
    assert _fresh(tissue_procured).stage == Stage.TISSUE_PROCURED
    assert result.advanced_to == ""
    assert result.notes == (
        "Recorded: Tissue received at the manufacturing facility.",
        "The journey stays in “Tissue procured” until the center's nurse navigator / "
        "coordinator moves it to “At manufacturing”.",
    )
    # And both the scan and the milestone are audited
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"identity.custody.record", "journey.milestone.record"} <= actions


def test_after_the_facility_receipt_the_navigator_can_move_to_manufacturing(team, tissue_procured):
    specimen = make_item(tissue_procured, team, ItemKind.TUMOR_SPECIMEN)
    custody.receive_tissue(
        _fresh(tissue_procured), scanned_text=specimen.item_id, actor=team.manufacturing_tech
    )

    journey = services.advance(
        _fresh(tissue_procured), Stage.AT_MANUFACTURING, actor=team.navigator
    )

    assert journey.stage == Stage.AT_MANUFACTURING


def test_tissue_received_waits_for_every_container_of_the_attempt(team, tissue_procured):
    # Given two specimen containers
    first = make_item(tissue_procured, team, ItemKind.TUMOR_SPECIMEN, 1)
    second = make_item(tissue_procured, team, ItemKind.TUMOR_SPECIMEN, 2)

    # When only the first is scanned
    result = custody.receive_tissue(
        _fresh(tissue_procured), scanned_text=first.item_id, actor=team.manufacturing_tech
    )

    # Then nothing is recorded yet, and the second is named
    assert result.accepted
    assert result.milestone is None
    assert result.outstanding == (second.item_id,)
    assert current_milestone(_fresh(tissue_procured), MilestoneKind.TISSUE_RECEIVED) is None

    # When the second is scanned too, the receipt is recorded
    result = custody.receive_tissue(
        _fresh(tissue_procured), scanned_text=second.item_id, actor=team.manufacturing_tech
    )
    assert result.milestone is not None


def test_a_center_user_cannot_record_the_facility_receipt(team, tissue_procured):
    specimen = make_item(tissue_procured, team, ItemKind.TUMOR_SPECIMEN)
    before = _state(tissue_procured)

    with pytest.raises(InvalidInput) as refused:
        custody.receive_tissue(
            _fresh(tissue_procured), scanned_text=specimen.item_id, actor=team.nurse
        )

    assert list(refused.value.errors) == ["step"]
    assert _state(tissue_procured) == before


# ---------- Product received at the center ----------


def test_navigator_receipt_of_the_released_product_moves_the_journey(team, product_released):
    # Given the released bag
    bag = make_item(product_released, team)

    # When the navigator scans it on arrival
    result = custody.receive_product(
        _fresh(product_released), scanned_text=bag.item_id, actor=team.navigator
    )

    # Then the receipt is recorded and the journey moves to "Product at center"
    assert result.accepted
    assert result.milestone.kind == MilestoneKind.PRODUCT_RECEIVED
    assert result.advanced_to == Stage.PRODUCT_AT_CENTER
    assert _fresh(product_released).stage == Stage.PRODUCT_AT_CENTER
    assert result.notes[-1] == "Journey moved to “Product at center”."


def test_pharmacist_receipt_records_the_milestone_and_says_who_moves_the_journey(
    team, product_released
):
    bag = make_item(product_released, team)

    result = custody.receive_product(
        _fresh(product_released), scanned_text=bag.item_id, actor=team.pharmacist
    )

    assert result.milestone.recorded_by == team.pharmacist
    assert _fresh(product_released).stage == Stage.PRODUCT_RELEASED
    assert "until the center's nurse navigator / coordinator moves it" in result.notes[-1]


def test_product_received_waits_for_every_released_bag(team, product_released):
    first = make_item(product_released, team, number=1)
    second = make_item(product_released, team, number=2)

    result = custody.receive_product(
        _fresh(product_released), scanned_text=first.item_id, actor=team.navigator
    )

    assert result.outstanding == (second.item_id,)
    assert result.milestone is None
    assert _fresh(product_released).stage == Stage.PRODUCT_RELEASED


def test_bag_of_another_journey_is_blocked_alerted_and_nothing_moves(team, product_released):
    # Given this journey's bag, and a bag of another patient's journey
    make_item(product_released, team)
    other = _open(team)
    stray = make_item(other, team)
    before = _state(product_released)

    # When the nurse scans the other journey's bag as this journey's product
    result = custody.receive_product(
        _fresh(product_released), scanned_text=stray.item_id, actor=team.nurse
    )

    # Then the step is blocked: no milestone, no move
    assert not result.accepted
    assert result.event.result == ScanResult.OTHER_JOURNEY
    assert result.milestone is None
    assert "Set the item aside" in result.next_step
    stage, milestones, events, alerts, audit = _state(product_released)
    assert (stage, milestones) == before[:2]
    # And the scan and a critical alert on each journey are recorded, each with its audit event
    assert events == before[2] + 1
    assert alerts == before[3] + 2
    assert audit == before[4] + 3
    alert = IdentityAlert.objects.get(coi_din=product_released.coi_din)
    assert alert.severity == AlertSeverity.CRITICAL
    assert alert.custody_event == result.event


def test_wrong_check_character_blocks_the_receipt(team, product_released):
    bag = make_item(product_released, team)
    wrong = "Z" if product_released.coi_check != "Z" else "Y"

    result = custody.receive_product(
        _fresh(product_released),
        scanned_text=f"{bag.item_id}|{product_released.coi_din}{wrong}",
        actor=team.navigator,
    )

    assert result.event.result == ScanResult.WRONG_CHECK_CHARACTER
    assert result.milestone is None
    assert _fresh(product_released).stage == Stage.PRODUCT_RELEASED
    assert IdentityAlert.objects.get().severity == AlertSeverity.HIGH


def test_unreleased_product_blocks_the_receipt(team, product_released):
    bag = make_item(product_released, team, released_at=None)

    result = custody.receive_product(
        _fresh(product_released), scanned_text=bag.item_id, actor=team.navigator
    )

    assert result.event.result == ScanResult.NOT_RELEASED
    assert _fresh(product_released).stage == Stage.PRODUCT_RELEASED
    assert IdentityAlert.objects.get().severity == AlertSeverity.CRITICAL


def test_expired_product_blocks_the_receipt(team, product_released):
    bag = make_item(product_released, team, expires_at=NOW - dt.timedelta(hours=1))

    result = custody.receive_product(
        _fresh(product_released), scanned_text=bag.item_id, actor=team.navigator
    )

    assert result.event.result == ScanResult.EXPIRED
    assert not Milestone.objects.filter(
        journey=product_released, kind=MilestoneKind.PRODUCT_RECEIVED
    ).exists()
    assert IdentityAlert.objects.get().severity == AlertSeverity.CRITICAL


def test_a_bag_of_an_earlier_attempt_is_the_wrong_item(team, product_released):
    old = make_item(product_released, team, manufacture_attempt=0)

    result = custody.receive_product(
        _fresh(product_released), scanned_text=old.item_id, actor=team.navigator
    )

    assert result.event.result == ScanResult.WRONG_ITEM


def test_nothing_is_received_for_a_closed_journey(team, product_released):
    bag = make_item(product_released, team)
    closed = walk_to(product_released, Stage.WITHDRAWN, users=team)
    before = _state(closed)

    with pytest.raises(InvalidInput):
        custody.receive_product(_fresh(closed), scanned_text=bag.item_id, actor=team.navigator)

    assert _state(closed) == before


# ---------- Other handoffs and the timeline ----------


def test_other_handoffs_record_the_event_only(team, product_released):
    bag = make_item(product_released, team)

    result = _handoff(
        product_released,
        HandoffStep.PRODUCT_TO_STORAGE,
        bag.item_id,
        team.pharmacist,
        to_party="Cryostorage freezer 2",
    )

    assert result.accepted
    assert result.milestone is None
    assert result.event.to_party == "Cryostorage freezer 2"
    assert _fresh(product_released).stage == Stage.PRODUCT_RELEASED


def test_the_generic_handoff_dispatches_receipts(team, product_released):
    bag = make_item(product_released, team)

    result = _handoff(product_released, HandoffStep.PRODUCT_RECEIVED, bag.item_id, team.navigator)

    assert result.advanced_to == Stage.PRODUCT_AT_CENTER


def test_the_custody_view_shows_events_and_open_alerts_to_both_parties(team, product_released):
    _handoff(product_released, HandoffStep.HANDOFF, "not a label", team.nurse)

    for user in (team.navigator, team.manufacturing_tech, team.qa_reviewer):
        view = selectors.custody_of(_fresh(product_released), user)
        assert view.visible
        assert [e.result for e in view.events] == [ScanResult.UNKNOWN_ITEM]
        assert len(view.open_alerts) == 1
    assert (
        selectors.custody_of(_fresh(product_released), team.navigator)
        .open_alerts[0]
        .can_acknowledge
    )
    assert (
        not selectors.custody_of(_fresh(product_released), team.nurse)
        .open_alerts[0]
        .can_acknowledge
    )
    stranger = make_team().navigator
    assert selectors.custody_of(_fresh(product_released), stranger).visible is False
