"""Every regulated row is vouched for by its latest audit event: verification names a row that
was changed, written or removed behind the application's back.

Tampering is done the way someone with database access would do it: plain SQL (with the
append-only triggers dropped for the test, see conftest) or a queryset `update`, neither of which
goes through a service.
"""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import QuerySet

from tilcare.audit import services
from tilcare.audit.hashing import EVENT_HASH_FIELDS, canonical_json, event_hash
from tilcare.audit.models import AuditEvent, Signature
from tilcare.audit.regulated import regulated_models, row_key
from tilcare.audit.selectors import ChainReport, verify_chain
from tilcare.audit.services import sign_record
from tilcare.audit.tests.helpers import broken, sql
from tilcare.identity.models import CustodyEvent
from tilcare.identity.tests.factories import unreadable_scan_alert
from tilcare.journey.choices import Stage, TaskStatus
from tilcare.journey.models import EligibilityChecklist, JourneyTransition, Task
from tilcare.journey.tests.factories import make_team, open_journey_for, walk_to
from tilcare.patients import services as patient_services
from tilcare.patients.models import Patient
from tilcare.patients.tests.factories import TEST_PASSWORD, PatientFactory

pytestmark = pytest.mark.django_db


def _regulated_row_count() -> int:
    return sum(model._base_manager.count() for model in regulated_models())


def _vouching_events(key: str) -> list[AuditEvent]:
    """The events whose digests name this row, in order."""
    return [event for event in AuditEvent.objects.order_by("seq") if key in event.digests]


@pytest.fixture
def transition(trail_world) -> JourneyTransition:
    """The trail world's journey's latest transition."""
    return JourneyTransition.objects.filter(journey=trail_world.journey).latest("id")


@pytest.fixture
def registered():
    """A patient registered by a navigator, and nothing else: one event."""
    team = make_team()
    patient = patient_services.create_patient(
        actor=team.navigator,
        center=team.center,
        data={
            "mrn": "MRN100200",
            "given_name": "Ada",
            "family_name": "Okafor",
            "date_of_birth": dt.date(1971, 9, 30),
            "sex": "female",
        },
    )
    assert AuditEvent.objects.count() == 1
    return patient


# ---------- an untouched record ----------


def test_every_regulated_row_of_a_walked_journey_matches_its_latest_event(trail_world):
    # Given a journey walked to resection scheduling and a blocked scan, all through services
    # When the chain is verified
    report = verify_chain()

    # Then it is intact, and every regulated row was matched with the trail
    assert report == ChainReport(True, AuditEvent.objects.count())
    assert report.rows_checked == _regulated_row_count()
    assert report.rows_checked >= 10


def test_a_stage_change_event_vouches_for_the_transition_row_it_wrote(trail_world, transition):

    vouching = _vouching_events(row_key(JourneyTransition, transition.pk))

    assert [event.action for event in vouching] == ["journey.advance"]
    assert vouching[0].object_id == str(trail_world.journey.public_id)


def test_a_signature_is_vouched_for_by_the_event_that_recorded_it(trail_world):
    # (the event is about the signed checklist, so it vouches for the checklist too)
    signature = Signature.objects.get()
    checklist = trail_world.journey.eligibility

    assert sorted(signature.audit_event.digests) == [
        "audit.signature",
        row_key(EligibilityChecklist, checklist.pk),
    ]


def test_the_events_hash_covers_the_row_digests(trail_world, without_triggers):
    # Given the digests of the blocked scan's event replaced by someone rewriting both
    event = AuditEvent.objects.get(
        action="identity.custody.record", object_id=str(trail_world.scan.public_id)
    )
    sql(
        "UPDATE audit_auditevent SET row_digests = %s WHERE seq = %s",
        [canonical_json({row_key(CustodyEvent, trail_world.scan.pk): "0" * 64}), event.seq],
    )

    # When verified / Then that event is named as altered
    assert verify_chain() == ChainReport(
        False, event.seq - 1, f"event #{event.seq} was altered after it was written", event.seq
    )


def test_an_event_without_digests_hashes_as_events_did_before_digests_were_kept(registered):
    fields = AuditEvent.objects.values(*EVENT_HASH_FIELDS).get()
    fields["row_digests"] = ""

    without = dict(fields)
    del without["row_digests"]

    assert event_hash(**fields) == event_hash(**without)


def test_records_written_while_verification_runs_are_not_reported(trail_world, monkeypatch):
    # Given writers that change the patient, add a contact and sign the checklist again just
    # after verification has read the events (people keep working while it runs)
    team, journey = trail_world.team, trail_world.journey
    original_iterator = QuerySet.iterator

    def iterator_then_concurrent_writes(queryset, *args, **kwargs):
        yield from original_iterator(queryset, *args, **kwargs)
        if queryset.model is AuditEvent:
            patient_services.update_patient(
                journey.patient,
                actor=team.navigator,
                changes={"phone": "+1 555 0100"},
                reason="New number",
            )
            patient_services.add_contact(
                journey.patient,
                actor=team.navigator,
                data={"name": "Sam Okafor", "relationship": "spouse", "phone": "+1 555 0101"},
            )
            sign_record(
                journey.eligibility,
                actor=team.physician,
                password=TEST_PASSWORD,
                meaning="Eligibility reviewed again",
            )

    events = AuditEvent.objects.count()
    monkeypatch.setattr(QuerySet, "iterator", iterator_then_concurrent_writes)

    # When the chain is verified
    report = verify_chain()

    # Then the events it read are confirmed, and the newer records are not reported
    assert report == ChainReport(True, events)
    assert AuditEvent.objects.count() == events + 3


# ---------- rows changed behind the application's back ----------


def test_a_blocked_scan_rewritten_as_a_match_is_named(trail_world, without_triggers):
    # Given the blocked scan's result rewritten to a match with plain SQL
    scan = trail_world.scan
    recorded = AuditEvent.objects.get(
        action="identity.custody.record", object_id=str(scan.public_id)
    )
    sql("UPDATE identity_custodyevent SET result = %s WHERE id = %s", ["match", scan.pk])

    # When verified
    report = verify_chain()

    # Then the chain itself is intact, but the scan is named with the event it no longer matches
    assert report == broken(
        f"Custody event {scan.pk} was changed outside the audit trail after event #{recorded.seq}",
    )


def test_a_date_of_birth_changed_by_a_queryset_update_is_named(registered):
    # Given the patient's date of birth changed without a service (no event)
    Patient.objects.filter(pk=registered.pk).update(date_of_birth=dt.date(1981, 9, 30))

    # When verified / Then the patient is named, after its registration event #1
    assert verify_chain() == ChainReport(
        False, 1, f"Patient {registered.pk} was changed outside the audit trail after event #1"
    )


def test_a_changed_date_of_birth_fails_the_audit_verify_command(registered):
    Patient.objects.filter(pk=registered.pk).update(date_of_birth=dt.date(1981, 9, 30))

    with pytest.raises(CommandError) as broken:
        call_command("audit", "verify", stdout=StringIO(), stderr=StringIO())

    assert str(broken.value) == (
        f"Audit chain BROKEN after 1 good events: Patient {registered.pk} was changed outside "
        "the audit trail after event #1."
    )


def test_a_rewritten_signature_is_named(trail_world, without_triggers):
    signature = Signature.objects.get()
    sql("UPDATE audit_signature SET meaning = %s WHERE id = %s", ["QA release", signature.pk])

    assert verify_chain() == broken(
        f"Signature {signature.pk} was changed outside the audit trail after event "
        f"#{signature.audit_event.seq}",
    )


def test_a_rewritten_stage_change_is_named(transition, without_triggers):
    (advanced,) = _vouching_events(row_key(JourneyTransition, transition.pk))
    sql(
        "UPDATE journey_journeytransition SET to_stage = %s WHERE id = %s",
        [Stage.INFUSION.value, transition.pk],
    )

    assert verify_chain() == broken(
        f"Journey transition {transition.pk} was changed outside the audit trail after event "
        f"#{advanced.seq}",
    )


def test_a_deleted_stage_change_is_named(transition, without_triggers):
    (advanced,) = _vouching_events(row_key(JourneyTransition, transition.pk))
    sql("DELETE FROM journey_journeytransition WHERE id = %s", [transition.pk])

    assert verify_chain() == broken(
        f"Journey transition {transition.pk} was removed outside the audit trail after event "
        f"#{advanced.seq}",
    )


def test_a_patient_inserted_without_a_service_is_named(registered):
    # Given a patient row inserted directly (bulk_create writes without save())
    (inserted,) = Patient.objects.bulk_create(
        [Patient(center=registered.center, mrn="MRN9", given_name="No", family_name="Event",
                 date_of_birth=dt.date(1960, 1, 1), sex="male")]
    )  # fmt: skip

    assert verify_chain() == ChainReport(
        False,
        1,
        f"Patient {inserted.pk} was written outside the audit trail (no event records it)",
    )


# ---------- an emptied trail ----------


def test_records_without_a_single_event_are_broken_not_zero_events_verified(
    registered, without_triggers
):
    # Given every event and the chain's end removed, with the patient still there
    sql("DELETE FROM audit_auditevent", [])
    sql("DELETE FROM audit_auditchainhead", [])

    # When verified / Then it is broken, saying what the database still holds
    assert verify_chain() == ChainReport(
        False,
        0,
        "the audit trail holds no events, but the database holds 1 patient, 2 organizations, "
        "10 users",
    )


def test_the_audit_verify_command_fails_on_an_emptied_trail(registered, without_triggers):
    sql("DELETE FROM audit_auditevent", [])
    sql("DELETE FROM audit_auditchainhead", [])

    with pytest.raises(CommandError) as broken:
        call_command("audit", "verify", stdout=StringIO(), stderr=StringIO())

    assert str(broken.value) == (
        "Audit chain BROKEN after 0 good events: the audit trail holds no events, but the "
        "database holds 1 patient, 2 organizations, 10 users."
    )


# ---------- records kept before events vouched for rows (an upgraded install) ----------


@pytest.fixture
def kept_before(monkeypatch):
    """A journey and a blocked scan written the way events were written before they vouched
    for rows (no digests), as an install upgraded to this version holds them."""
    with monkeypatch.context() as before_upgrade:
        before_upgrade.setattr(services, "_row_digests", lambda obj, extra: "")
        team = make_team()
        journey = open_journey_for(PatientFactory(center=team.center), team.navigator)
        walk_to(journey, Stage.RESECTION_SCHEDULED, users=team)
        scan = unreadable_scan_alert(journey.coi_din, team).custody_event
    assert not AuditEvent.objects.exclude(row_digests="").exists()
    return scan


def test_records_kept_before_the_upgrade_are_named_until_the_baseline(kept_before):
    report = verify_chain()

    assert report.ok is False
    assert report.problem.endswith("was written outside the audit trail (no event records it)")


def test_the_baseline_vouches_for_every_record_kept_before(kept_before):
    # Given an upgraded install
    events_before = AuditEvent.objects.count()
    out = StringIO()

    # When the baseline is taken
    call_command("audit", "baseline", stdout=out)

    # Then system events vouch for every record, and the whole trail verifies
    written = AuditEvent.objects.filter(action=services.BASELINE_ACTION)
    assert out.getvalue() == (
        f"Baseline recorded: {written.count()} events vouch for the records kept before.\n"
    )
    assert {e.actor_label for e in written} == {"system"}
    assert AuditEvent.objects.count() == events_before + written.count()
    report = verify_chain()
    assert report == ChainReport(True, AuditEvent.objects.count())
    assert report.rows_checked == _regulated_row_count()


def test_a_record_changed_after_the_baseline_is_named(kept_before, without_triggers):
    call_command("audit", "baseline", stdout=StringIO())
    vouching = _vouching_events(row_key(CustodyEvent, kept_before.pk))
    sql("UPDATE identity_custodyevent SET result = %s WHERE id = %s", ["match", kept_before.pk])

    assert verify_chain() == broken(
        f"Custody event {kept_before.pk} was changed outside the audit trail after event "
        f"#{vouching[-1].seq}",
    )


def test_a_second_baseline_is_refused(kept_before):
    call_command("audit", "baseline", stdout=StringIO())
    events = AuditEvent.objects.count()

    with pytest.raises(CommandError) as refused:
        call_command("audit", "baseline", stdout=StringIO())

    assert str(refused.value) == (
        "The audit trail already vouches for records: a baseline is taken only once, at the "
        "upgrade that introduced it."
    )
    assert AuditEvent.objects.count() == events


def test_a_baseline_is_refused_on_an_emptied_trail(registered, without_triggers):
    sql("DELETE FROM audit_auditevent", [])
    sql("DELETE FROM audit_auditchainhead", [])

    with pytest.raises(CommandError) as refused:
        call_command("audit", "baseline", stdout=StringIO())

    assert str(refused.value) == "No baseline: the audit trail holds no events."
    assert AuditEvent.objects.count() == 0


# ---------- work for each role ----------


def test_a_task_marked_done_by_a_queryset_update_is_named(trail_world):
    # Given an open task of the journey closed without the service (no one completed it)
    task = Task.objects.filter(journey=trail_world.journey, status=TaskStatus.OPEN).first()
    assert task is not None
    vouching = _vouching_events(row_key(Task, task.pk))
    Task.objects.filter(pk=task.pk).update(status=TaskStatus.DONE)

    # When verified / Then the task is named with the stage change that created it
    assert [event.action for event in vouching] == ["journey.advance"]
    assert verify_chain() == broken(
        f"Task {task.pk} was changed outside the audit trail after event #{vouching[-1].seq}",
    )


def test_tasks_cancelled_when_a_journey_is_withdrawn_are_vouched_for(trail_world):
    # Given the journey withdrawn: its open tasks are cancelled in the same service
    team, journey = trail_world.team, trail_world.journey
    open_tasks = list(
        Task.objects.filter(journey=journey, status=TaskStatus.OPEN).values_list("pk", flat=True)
    )
    walk_to(journey, Stage.WITHDRAWN, users=team)

    # Then the withdrawal event vouches for each cancelled task, and the trail verifies
    (withdrawn,) = AuditEvent.objects.filter(action="journey.withdraw")
    assert Task.objects.filter(pk__in=open_tasks, status=TaskStatus.CANCELLED).count() == len(
        open_tasks
    )
    assert {row_key(Task, pk) for pk in open_tasks} <= set(withdrawn.digests)
    assert verify_chain() == ChainReport(True, AuditEvent.objects.count())
