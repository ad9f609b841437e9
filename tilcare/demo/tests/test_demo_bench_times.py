"""The demo's chain of identity and batch records are dated in the audit trail as they happened:
every audit event of a record that carries its own time (a scan, a label's print and application,
an alert and its acknowledgement, a tissue receipt, a culture or REP count, the screen's import,
the selection, a bag, a release test) is dated with that time, and a batch's trail lists its
counts on their bench days. What follows a signature made today is dated today (21 CFR 11.50)."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import models

from tilcare.audit.models import AuditEvent
from tilcare.audit.selectors import list_events_for_subject
from tilcare.core.timeutil import local_datetime
from tilcare.identity.models import CustodyEvent, IdentityAlert, Label
from tilcare.journey.choices import BOOK_SLOT_TASK, Stage
from tilcare.journey.models import Journey
from tilcare.manufacturing.choices import BatchStatus
from tilcare.manufacturing.models import (
    Batch,
    Culture,
    CultureSelection,
    ProductBag,
    ReactivityImport,
    ReleaseTest,
    RepCount,
    SlotBooking,
    TissueReceipt,
)

pytestmark = pytest.mark.django_db

# Each audited action on a record with its own time, and the field that holds that time.
OWN_TIME: dict[str, tuple[type[models.Model], str]] = {
    "identity.custody.record": (CustodyEvent, "occurred_at"),
    "identity.label.print": (Label, "printed_at"),
    "identity.label.apply": (Label, "applied_at"),
    "identity.alert.raise": (IdentityAlert, "raised_at"),
    "identity.alert.acknowledge": (IdentityAlert, "acknowledged_at"),
    "manufacturing.tissue_receipt.record": (TissueReceipt, "received_at"),
    "manufacturing.culture.record": (Culture, "counted_at"),
    "manufacturing.reactivity.import": (ReactivityImport, "imported_at"),
    "manufacturing.culture_selection.record": (CultureSelection, "selected_at"),
    "manufacturing.rep_count.record": (RepCount, "counted_at"),
    "manufacturing.bag.record": (ProductBag, "formulated_at"),
    "manufacturing.release_test.record": (ReleaseTest, "tested_at"),
}


@pytest.fixture
def started(demo_built, db):
    """When the demo's build started."""
    return demo_built[0]


def row_of(model: type[models.Model], object_id: str) -> models.Model:
    """The record an audit event names (by its public id where it has one, as the trail does)."""
    names = {f.name for f in model._meta.get_fields()}
    key = "public_id" if "public_id" in names else "pk"
    return model._default_manager.get(**{key: object_id})


def test_every_event_of_a_record_with_its_own_time_is_dated_with_that_time(started):
    # Given every audit event of a demo record that keeps when it happened
    events = list(AuditEvent.objects.filter(action__in=OWN_TIME).order_by("seq"))

    # When each is compared with its record's own time
    wrong = []
    for event in events:
        model, field = OWN_TIME[event.action]
        own = getattr(row_of(model, event.object_id), field)
        if event.occurred_at != own:
            wrong.append((event.seq, event.action, own, event.occurred_at))

    # Then each is dated then, for every kind of step of the chain and the batch record
    assert wrong == []
    assert {e.action for e in events} == set(OWN_TIME)


def test_the_chain_and_bench_steps_happened_before_the_build(started):
    # A long past: only what follows today's release signature is dated at the build
    events = AuditEvent.objects.filter(action__in=OWN_TIME)

    past = [e for e in events if e.occurred_at < started]

    assert len(past) > 100
    assert {e.action for e in past} == set(OWN_TIME)


def test_the_trail_of_the_batch_in_expansion_lists_its_counts_on_their_bench_days(started):
    # Given the batch in the REP, on the facility's calendar
    batch = Batch.objects.select_related("facility").get(status=BatchStatus.REP)
    zone = batch.facility.time_zone
    assert batch.rep_started_on is not None

    # When its COI's audit trail is read, as a history is read
    trail = list_events_for_subject(f"coi:{batch.coi_din}").filter(
        action="manufacturing.rep_count.record"
    )

    # Then each count is on its REP day, earliest last, each recorded at the build
    days = [local_datetime(e.occurred_at, zone).date() for e in trail]
    counts = RepCount.objects.filter(batch=batch).order_by("-day")
    assert days == [batch.rep_started_on + dt.timedelta(days=c.day) for c in counts]
    assert len(days) >= 3
    assert all(e.recorded_at >= started for e in trail)


def test_the_mix_up_alert_and_its_acknowledgement_are_dated_at_the_second_receipt(started):
    # Given the re-manufacture's receipt, where the first attempt's container was scanned first
    alert = IdentityAlert.objects.select_related("custody_event").get(custody_event__isnull=False)
    raised = AuditEvent.objects.get(action="identity.alert.raise", object_id=alert.public_id)
    acknowledged = AuditEvent.objects.get(
        action="identity.alert.acknowledge", object_id=alert.public_id
    )

    # Then the alert is raised at the blocked scan and acknowledged minutes later, days ago
    assert alert.custody_event is not None
    assert raised.occurred_at == alert.custody_event.occurred_at
    assert alert.acknowledged_at is not None
    assert dt.timedelta(0) < acknowledged.occurred_at - raised.occurred_at < dt.timedelta(hours=1)
    assert acknowledged.occurred_at < started - dt.timedelta(days=1)


def test_the_rejected_attempt_s_decision_task_is_opened_and_done_in_the_past(started):
    # Given Carmen Delgado's first attempt, rejected when its growth stalled
    journey = Journey.objects.get(patient__family_name="Delgado")
    task = journey.tasks.get(title__startswith="Product of attempt 1 rejected")
    opened = AuditEvent.objects.get(action="journey.task.create", object_id=task.public_id)
    done = AuditEvent.objects.get(action="journey.task.complete", object_id=task.public_id)
    rejected = Batch.objects.get(coi_din=journey.coi_din, manufacture_attempt=1)

    # Then it was opened at the rejection and done the next day, when the physician decided
    assert opened.occurred_at == rejected.status_changed_at
    assert done.occurred_at == task.completed_at
    assert opened.occurred_at < done.occurred_at < started


def test_each_waiting_journey_s_slot_was_booked_and_ticked_after_its_resection_was_set(started):
    # Given the journeys waiting for their resection, scheduled days ago
    waiting = list(Journey.objects.filter(stage=Stage.RESECTION_SCHEDULED))
    opened = AuditEvent.objects.filter(action="manufacturing.slot.create")

    assert len(waiting) > 0
    for journey in waiting:
        booking = SlotBooking.objects.get(coi_din=journey.coi_din)
        task = journey.tasks.get(title=BOOK_SLOT_TASK)
        ticked = AuditEvent.objects.get(action="journey.task.complete", object_id=task.public_id)
        booked = AuditEvent.objects.get(
            action="manufacturing.booking.create", object_id=booking.public_id
        )
        # Then the navigator booked half an hour after scheduling, and ticked the task then,
        # in a calendar the facility had opened before
        assert booking.booked_at == journey.stage_entered_at + dt.timedelta(minutes=30)
        assert booked.occurred_at == ticked.occurred_at == booking.booked_at < started
        assert all(slot.occurred_at < booking.booked_at for slot in opened)


def test_the_facility_s_thresholds_and_specifications_were_set_before_the_first_referral(
    started,
):
    first_referral = AuditEvent.objects.filter(action="journey.open").earliest("occurred_at")
    set_by_qa = AuditEvent.objects.filter(
        action__in=["manufacturing.facility_thresholds.set", "manufacturing.release_spec.set"]
    )

    assert set_by_qa.count() == 13  # the thresholds, and 6 specifications for 2 protocols
    assert all(e.occurred_at < first_referral.occurred_at for e in set_by_qa)


def test_the_audit_verify_command_passes_on_the_demo(started):
    out = StringIO()

    call_command("audit", "verify", stdout=out)

    assert out.getvalue() == f"Audit chain intact: {AuditEvent.objects.count()} events verified.\n"
