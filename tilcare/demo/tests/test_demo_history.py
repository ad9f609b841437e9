"""The demo's history is dated as it happened: the referral on the day of the referral, each stage
on the day it was entered, in the center's time zone; each audit event also keeps when it was
recorded (the build, or the moment it happened for what the build replayed: signatures, doses,
the infusion day), and `tilcare audit verify` passes on the whole."""

from __future__ import annotations

import datetime as dt
import itertools
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from tilcare.accounts.models import User
from tilcare.audit.models import AuditEvent, Signature
from tilcare.core.timeutil import local_datetime, local_today
from tilcare.identity.models import CustodyEvent, Shipment
from tilcare.journey.choices import MilestoneKind, Stage
from tilcare.journey.models import Journey, Milestone
from tilcare.manufacturing.choices import BatchStatus
from tilcare.manufacturing.models import Batch
from tilcare.patients.models import Patient

pytestmark = pytest.mark.django_db

CENTER_ZONE = "America/New_York"  # the demo center's


def local_day(moment: dt.datetime) -> dt.date:
    return local_datetime(moment, CENTER_ZONE).date()


def test_each_journey_s_opening_event_is_dated_on_its_referral_day(demo):
    # Given the demo's journeys, referred from a day to more than a year ago
    # When each journey's opening event is read
    opened = {
        e.object_id: local_day(e.occurred_at)
        for e in AuditEvent.objects.filter(action="journey.open")
    }

    # Then it happened on the referral day, in the center's zone
    assert opened == {str(j.public_id): j.referred_on for j in Journey.objects.all()}
    assert len({day for day in opened.values()}) > 10


def test_each_patient_was_registered_on_the_referral_day(demo):
    registered = {
        e.object_id: local_day(e.occurred_at)
        for e in AuditEvent.objects.filter(action="patient.create")
    }

    assert registered == {
        str(p.public_id): p.journeys.get().referred_on for p in Patient.objects.all()
    }


def test_every_event_was_recorded_during_the_build_or_replayed_and_none_happened_after_it(demo):
    started, finished = demo
    times = AuditEvent.objects.values_list("occurred_at", "recorded_at")

    # Recorded during the build, or replayed: recorded when it happened, before the build
    assert all(
        started <= recorded <= finished or occurred == recorded < started
        for occurred, recorded in times
    )
    assert any(occurred == recorded < started for occurred, recorded in times)
    assert all(occurred <= recorded <= finished for occurred, recorded in times)
    # A long past: the earliest journey was referred more than a year before the build
    earliest = min(occurred for occurred, _ in times)
    assert (started - earliest).days > 365


def test_signatures_are_dated_when_they_were_signed(demo):
    # A signature is never back-dated (21 CFR 11.50): the eligibility signatures are the build's;
    # the replayed ones (settings, verifications, releases) were signed and recorded at their time
    started, finished = demo
    signatures = list(Signature.objects.select_related("audit_event"))

    assert len(signatures) > 0
    for signature in signatures:
        assert signature.signed_at <= finished
        assert signature.audit_event.occurred_at == signature.signed_at
        assert signature.audit_event.recorded_at == signature.signed_at or (
            started <= signature.signed_at
        )
    assert any(s.signed_at >= started for s in signatures)
    assert any(s.signed_at < started for s in signatures)


def test_each_timeline_runs_forward_and_ends_when_the_journey_entered_its_stage(demo):
    for journey in Journey.objects.all():
        times = list(journey.transitions.order_by("id").values_list("occurred_at", flat=True))
        assert all(a <= b for a, b in itertools.pairwise(times)), journey
        assert (
            times[0]
            == AuditEvent.objects.get(
                action="journey.open", object_id=str(journey.public_id)
            ).occurred_at
        )
        assert times[-1] == journey.stage_entered_at, journey


def test_the_referral_stage_journey_entered_it_on_its_referral_day(demo):
    journey = Journey.objects.get(stage=Stage.REFERRAL)
    today = local_today(CENTER_ZONE)

    assert local_day(journey.stage_entered_at) == journey.referred_on
    assert journey.referred_on == today - dt.timedelta(days=1)


def test_the_audit_verify_command_passes_on_the_demo(demo):
    out = StringIO()

    call_command("audit", "verify", stdout=out)

    count = AuditEvent.objects.count()
    assert out.getvalue() == f"Audit chain intact: {count} events verified.\n"


def test_the_journey_page_shows_the_referral_on_its_day_and_when_it_was_recorded(demo, client):
    # Given the journey still in referral, and the navigator
    journey = Journey.objects.select_related("patient").get(stage=Stage.REFERRAL)
    client.force_login(User.objects.get(username="navigator"))
    started, _ = demo

    # When they open its page
    page = client.get(reverse("journey:journey-detail", kwargs={"public_id": journey.public_id}))
    body = page.content.decode()

    # Then the timeline and the audit trail show the opening on the referral day, at 09:30 in
    # the center's zone, with the day it was recorded beside it
    referral = f"{journey.referred_on.day} {journey.referred_on:%b %Y}, 09:30"
    recorded = local_datetime(started, CENTER_ZONE)
    assert page.status_code == 200
    timeline = body[body.index('id="timeline"') : body.index('id="audit"')]
    assert referral in timeline
    assert f"recorded {recorded.day} {recorded:%b %Y}" in timeline
    audit = body[body.index('id="audit"') :]
    assert f"{referral}:00" in audit
    assert f"recorded {recorded.day} {recorded:%b %Y}" in audit


def tissue_received_at() -> dict[tuple[str, int], dt.datetime]:
    """When each journey's tissue was received, by its COI and manufacture attempt."""
    return {
        (m.journey.coi_din, m.attempt): m.occurred_at
        for m in Milestone.objects.filter(kind=MilestoneKind.TISSUE_RECEIVED).select_related(
            "journey"
        )
    }


def test_each_batch_was_opened_when_its_tissue_was_received(demo):
    batches = list(Batch.objects.all())
    received = tissue_received_at()

    assert len(batches) > 0
    for batch in batches:
        opening = batch.transitions.order_by("id").first()
        assert opening.occurred_at == received[(batch.coi_din, batch.manufacture_attempt)]
        assert opening.recorded_at > opening.occurred_at


def test_each_batch_s_status_history_runs_forward_and_ends_when_it_entered_its_status(demo):
    for batch in Batch.objects.all():
        times = list(batch.transitions.order_by("id").values_list("occurred_at", flat=True))
        assert all(a <= b for a, b in itertools.pairwise(times)), batch
        assert times[-1] == batch.status_changed_at, batch


def test_the_batch_in_expansion_entered_it_on_its_rep_start_day(demo):
    batch = Batch.objects.select_related("facility").get(status=BatchStatus.REP)

    entered = local_datetime(batch.status_changed_at, batch.facility.time_zone)

    assert entered.date() == batch.rep_started_on
    assert entered.date() < local_today(batch.facility.time_zone)


def test_each_batch_is_opened_on_its_tissue_receipt_and_its_row_was_written_in_the_build(demo):
    started, finished = demo
    batches = list(Batch.objects.all())
    received = tissue_received_at()

    assert len(batches) > 0
    for batch in batches:
        assert batch.opened_at == received[(batch.coi_din, batch.manufacture_attempt)], batch
        assert started <= batch.created_at <= finished, batch


def test_each_tissue_shipment_s_trail_is_dated_with_its_dispatch_and_receipt(demo):
    shipments = list(Shipment.objects.filter(received_at__isnull=False))
    events = {
        (e.object_id, e.action): e.occurred_at
        for e in AuditEvent.objects.filter(
            action__in=["identity.shipment.dispatch", "identity.shipment.receive"]
        )
    }

    assert len(shipments) > 0
    for shipment in shipments:
        key = str(shipment.public_id)
        assert events[(key, "identity.shipment.dispatch")] == shipment.dispatched_at, shipment
        assert events[(key, "identity.shipment.receive")] == shipment.received_at, shipment


def test_each_custody_scan_s_audit_event_is_dated_with_the_scan(demo):
    scans = {str(c.public_id): c.occurred_at for c in CustodyEvent.objects.all()}
    dated = {
        e.object_id: e.occurred_at
        for e in AuditEvent.objects.filter(action="identity.custody.record")
    }

    assert len(scans) > 10
    assert dated == scans


def test_each_coi_carries_the_year_its_journey_was_opened_in_at_the_center(demo):
    # ISBT 128 (ICCBBA ST-001, Data Structure 001 "Donation Identification Number"): the DIN's
    # year is the year the identifier is assigned; here when the journey was opened
    opened = {
        e.object_id: local_datetime(e.occurred_at, CENTER_ZONE).year % 100
        for e in AuditEvent.objects.filter(action="journey.open")
    }
    journeys = list(Journey.objects.all())

    assert {int(j.coi_din[5:7]) for j in journeys} == set(opened.values())
    assert len(set(opened.values())) >= 2  # the long past reaches into the year before
    for journey in journeys:
        assert int(journey.coi_din[5:7]) == opened[str(journey.public_id)], journey
