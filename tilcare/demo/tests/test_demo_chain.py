"""The demo's chain of identity and custody: journeys followed by scans, shipments and the batch
record, from the operating room to a released product at the center.

Thomas Nguyen's journey is the one to follow: specimen labelled and scanned out of the operating
room, shipped with its temperature log, scanned in at the facility (which opened the batch
record), the batch record complete and its release signed by QA today, the product on its way
back. The test then does what the center's pharmacist does when the shipper arrives.
"""

from __future__ import annotations

import json
import zoneinfo
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from tilcare.audit.selectors import verify_chain
from tilcare.demo.tests.helpers import journey_of, user
from tilcare.identity.choices import HandoffStep, ItemKind, ScanResult, ShipmentStatus
from tilcare.identity.models import CustodyEvent, IdentityAlert, Item, Shipment
from tilcare.identity.selectors import late_shipments
from tilcare.identity.services import shipments as shipment_services
from tilcare.journey import services as journey_services
from tilcare.journey.choices import MilestoneKind, Stage
from tilcare.journey.models import Journey, Milestone
from tilcare.manufacturing.choices import BatchStatus, Disposition
from tilcare.manufacturing.models import (
    Batch,
    BatchTransition,
    CultureSelection,
    ManufacturingSlot,
    QaDisposition,
    ReleaseTest,
    RepCount,
    SlotBooking,
)
from tilcare.manufacturing.selectors.forecast import batch_forecast, stored_thresholds
from tilcare.manufacturing.services.release import signature_valid

pytestmark = pytest.mark.django_db


def steps(journey: Journey) -> list[tuple[str, str, str]]:
    events = CustodyEvent.objects.filter(coi_din=journey.coi_din).order_by("occurred_at", "id")
    return [(e.step, e.result, e.actor.username) for e in events]


def test_the_released_journey_was_recorded_by_scans_and_signatures(demo):
    # Given the demo's journey whose product was released today
    journey = journey_of("Nguyen")

    # Then every handoff is on its custody timeline, each scan made by the one who handled it
    assert journey.stage == Stage.PRODUCT_RELEASED
    assert steps(journey) == [
        (HandoffStep.SPECIMEN_COLLECTED, ScanResult.MATCH, "surgeon"),
        (HandoffStep.SPECIMEN_DISPATCHED, ScanResult.MATCH, "nurse"),
        (HandoffStep.TISSUE_RECEIVED, ScanResult.MATCH, "labtech"),
        (HandoffStep.PRODUCT_DISPATCHED, ScanResult.MATCH, "labtech"),
        (HandoffStep.PRODUCT_DISPATCHED, ScanResult.MATCH, "labtech"),
    ]
    # And the two facility milestones come from the facility's scan and QA's signature
    recorded_by = dict(
        Milestone.objects.filter(
            journey=journey,
            kind__in=[MilestoneKind.TISSUE_RECEIVED, MilestoneKind.PRODUCT_RELEASED],
        ).values_list("kind", "recorded_by__username")
    )
    assert recorded_by == {
        MilestoneKind.TISSUE_RECEIVED: "labtech",
        MilestoneKind.PRODUCT_RELEASED: "qa",
    }


def test_the_released_batch_record_is_complete_and_signed(demo):
    journey = journey_of("Nguyen")
    batch = Batch.objects.get(coi_din=journey.coi_din)

    # The bench steps are all there, in the workflow's order
    assert list(
        BatchTransition.objects.filter(batch=batch)
        .order_by("id")
        .values_list("to_status", flat=True)
    ) == [
        BatchStatus.TISSUE_RECEIVED,
        BatchStatus.PRE_REP,
        BatchStatus.SCREENING,
        BatchStatus.REP,
        BatchStatus.HARVESTED,
        BatchStatus.RELEASE_TESTING,
        BatchStatus.RELEASED,
    ]
    selection = CultureSelection.objects.get(batch=batch)
    assert sorted(selection.cultures.values_list("culture_id", flat=True)) == ["F01", "F03"]
    assert RepCount.objects.filter(batch=batch).count() == 6
    assert ReleaseTest.objects.filter(batch=batch).count() == 7
    # And QA's release is signed, and the signature still matches what was signed
    disposition = QaDisposition.objects.get(batch=batch)
    assert (disposition.decision, disposition.decided_by.username) == (Disposition.RELEASE, "qa")
    assert signature_valid(disposition, disposition.qa_signature)
    # And the two bags are labelled, released and in date
    bags = Item.objects.filter(coi_din=journey.coi_din, kind=ItemKind.PRODUCT_BAG)
    assert bags.count() == 2
    assert all(b.released_at is not None and b.expires_at > timezone.now() for b in bags)


def test_the_pharmacist_receives_the_product_by_scanning_it_in(demo):
    # Given the product's shipper in transit to the center
    journey = journey_of("Nguyen")
    pharmacist = user("pharmacist")
    shipment = Shipment.objects.get(coi_din=journey.coi_din, status=ShipmentStatus.IN_TRANSIT)
    assert shipment.dispatched_at is not None

    # When the pharmacist enters the logger's readings and receives the shipper
    now = timezone.now()
    shipment_services.add_temperature_readings(
        shipment,
        readings=[(shipment.dispatched_at, "-183.2"), (now, "-181.9")],
        source="Shipper logger CSV",
        actor=pharmacist,
    )
    shipment_services.receive_shipment(shipment, actor=pharmacist, at=now)
    # And scans each bag in, as a wedge scanner posts them
    client = Client()
    client.force_login(pharmacist)
    answers = []
    for bag in Item.objects.filter(coi_din=journey.coi_din, kind=ItemKind.PRODUCT_BAG).order_by(
        "number"
    ):
        response = client.post(
            "/api/v1/journeys/scans",
            data=json.dumps(
                {
                    "coi": f"{journey.coi_din}{journey.coi_check}",
                    "step": HandoffStep.PRODUCT_RECEIVED,
                    "scanned_text": bag.item_id,
                    "location": "Cell-therapy pharmacy",
                }
            ),
            content_type="application/json",
        )
        answers.append((response.status_code, response.json()["milestone"]))

    # Then the second bag completes the receipt and records it
    assert answers == [(201, None), (201, MilestoneKind.PRODUCT_RECEIVED)]
    # And the navigator moves the journey on: the product is at the center
    journey = journey_services.advance(
        Journey.objects.get(pk=journey.pk), Stage.PRODUCT_AT_CENTER, actor=user("navigator")
    )
    assert journey.stage == Stage.PRODUCT_AT_CENTER
    assert verify_chain().ok


def test_a_mix_up_at_the_facility_was_blocked_alerted_and_acknowledged(demo):
    # Given the re-manufactured journey: at the second receipt the technologist first scanned the
    # container of the stopped first attempt
    journey = journey_of("Delgado")
    receipts = [
        (step, result) for step, result, _ in steps(journey) if step == HandoffStep.TISSUE_RECEIVED
    ]

    # Then that scan was blocked and the right one accepted
    assert receipts == [
        (HandoffStep.TISSUE_RECEIVED, ScanResult.MATCH),
        (HandoffStep.TISSUE_RECEIVED, ScanResult.WRONG_ITEM),
        (HandoffStep.TISSUE_RECEIVED, ScanResult.MATCH),
    ]
    # And its alert was acknowledged by QA with a note
    alert = IdentityAlert.objects.get(coi_din=journey.coi_din)
    assert (alert.acknowledged_by.username, bool(alert.acknowledgement_note)) == ("qa", True)


def test_the_stopped_first_attempt_and_the_second_are_both_on_record(demo):
    journey = journey_of("Delgado")
    batches = dict(
        Batch.objects.filter(coi_din=journey.coi_din).values_list("manufacture_attempt", "status")
    )

    assert batches == {1: BatchStatus.REJECTED, 2: BatchStatus.PRE_REP}
    stopped = BatchTransition.objects.get(
        batch__coi_din=journey.coi_din, to_status=BatchStatus.REJECTED
    )
    assert stopped.reason.startswith("Growth stalled in the REP")


def test_the_batch_in_expansion_has_its_counts_and_planned_harvest(demo):
    journey = journey_of("Whitaker")
    batch = Batch.objects.get(coi_din=journey.coi_din)

    assert batch.status == BatchStatus.REP
    assert list(
        RepCount.objects.filter(batch=batch).order_by("day").values_list("day", flat=True)
    ) == [
        0,
        3,
        5,
        7,
    ]
    assert (batch.planned_harvest_on - batch.rep_started_on).days == 11
    # And the forecast, at the facility's stored early-warning threshold, sees it on course
    stored = stored_thresholds(batch.facility_id)
    forecast = batch_forecast(batch, warn_below_probability=stored.warn)
    assert (forecast.state, stored.warn, forecast.warning) == ("forecast", Decimal("0.80"), False)


def test_the_specimen_still_in_transit_is_late_on_the_board(demo):
    journey = journey_of("Rahman")

    late = late_shipments(user("navigator"), timezone.now())

    assert [s.coi_din for s in late] == [journey.coi_din]


def test_a_product_at_the_center_was_received_by_the_pharmacist_s_scans(demo):
    # Every journey whose tissue was procured is followed by the chain, the product's arrival too
    journey = journey_of("Brooks")

    assert steps(journey)[-2:] == [
        (HandoffStep.PRODUCT_RECEIVED, ScanResult.MATCH, "pharmacist"),
        (HandoffStep.PRODUCT_RECEIVED, ScanResult.MATCH, "pharmacist"),
    ]
    received = Milestone.objects.get(journey=journey, kind=MilestoneKind.PRODUCT_RECEIVED)
    assert received.recorded_by.username == "pharmacist"


def test_the_facility_opened_its_calendar_and_the_next_resection_has_a_start_booked(demo):
    # Given the journey whose resection is scheduled
    journey = journey_of("Kowalski")

    # Then the facility has weekly starts open, and this journey holds one after its resection
    slots = ManufacturingSlot.objects.order_by("starts_on")
    assert slots.count() == 8
    assert {s.starts_on.weekday() for s in slots} == {0}
    booking = SlotBooking.objects.get(coi_din=journey.coi_din)
    assert booking.slot.starts_on > journey.planned_resection_on
    assert booking.booked_by.username == "navigator"


def test_the_board_counts_a_batch_s_days_from_when_its_status_began_on_the_bench(demo):
    # The REP of James Whitaker's batch started 7 days ago, its pre-REP culture 18 days ago
    batch = Batch.objects.select_related("facility").get(coi_din=journey_of("Whitaker").coi_din)
    tz = zoneinfo.ZoneInfo(batch.facility.time_zone)

    assert batch.status_changed_at.astimezone(tz).date() == batch.rep_started_on
