"""The audit trail is a hash chain: verification recomputes it and names the first broken link.

Tampering is simulated the way an intruder with database access would do it: the append-only
triggers are dropped (inside the test's transaction, so they come back when it rolls back, and the
fixture reinstalls them anyway), then rows are changed with plain SQL.
"""

from __future__ import annotations

import itertools
import os
import threading
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connections, transaction
from django.db.models import QuerySet

from tilcare.audit.actions import Action
from tilcare.audit.hashing import EVENT_HASH_FIELDS, event_hash
from tilcare.audit.models import GENESIS_HASH, AuditChainHead, AuditEvent
from tilcare.audit.selectors import ChainReport, verify_chain
from tilcare.audit.services import record_event
from tilcare.audit.tests.helpers import sql
from tilcare.journey.choices import Stage
from tilcare.journey.tests.factories import make_team, open_journey_for, walk_to
from tilcare.patients.tests.factories import CenterFactory, PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def events() -> int:
    """Several real service writes (open, consents, milestones, eligibility, signature, moves)."""
    team = make_team()
    journey = open_journey_for(PatientFactory(center=team.center), team.navigator)
    walk_to(journey, Stage.RESECTION_SCHEDULED, users=team)
    count = AuditEvent.objects.count()
    assert count >= 10
    return count


def fields_of(seq: int) -> dict[str, object]:
    return AuditEvent.objects.filter(seq=seq).values(*EVENT_HASH_FIELDS).get()


# ---------- an intact chain ----------


def test_an_empty_trail_verifies():
    assert verify_chain() == ChainReport(ok=True, events_checked=0)


def test_the_trail_after_service_writes_verifies(events):
    assert verify_chain() == ChainReport(ok=True, events_checked=events)


def test_verification_reads_in_chunks_with_the_same_result(events):
    assert verify_chain(chunk_size=3) == ChainReport(ok=True, events_checked=events)


def test_sequence_numbers_are_consecutive_from_one(events):
    seqs = list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))

    assert seqs == list(range(1, events + 1))


def test_each_event_links_to_the_hash_of_the_one_before(events):
    rows = list(AuditEvent.objects.order_by("seq").values_list("prev_hash", "hash"))

    assert rows[0][0] == GENESIS_HASH
    for (_, previous_hash), (prev_hash, _) in itertools.pairwise(rows):
        assert prev_hash == previous_hash


def test_each_stored_hash_is_the_hash_of_the_events_fields(events):
    for event in AuditEvent.objects.order_by("seq"):
        assert event.hash == event_hash(**fields_of(event.seq)), event.seq


def test_the_chain_head_records_the_last_event(events):
    last = AuditEvent.objects.latest("seq")

    head = AuditChainHead.objects.get()

    assert (head.last_seq, head.last_hash) == (last.seq, last.hash)


def test_the_audit_verify_command_reports_an_intact_chain(events):
    out = StringIO()

    call_command("audit", "verify", stdout=out)

    assert out.getvalue() == f"Audit chain intact: {events} events verified.\n"


def test_an_event_committed_while_verification_runs_is_not_reported_missing(events, monkeypatch):
    # Given a writer that commits one more event just after verification has read the events
    # (on a live system `tilcare audit verify` runs while people keep working)
    subject = CenterFactory()
    original_iterator = QuerySet.iterator

    def iterator_then_concurrent_write(queryset, *args, **kwargs):
        yield from original_iterator(queryset, *args, **kwargs)
        if queryset.model is AuditEvent:
            with transaction.atomic():
                record_event(Action.PATIENT_UPDATE, subject, actor=None, reason="written meanwhile")

    monkeypatch.setattr(QuerySet, "iterator", iterator_then_concurrent_write)

    # When the chain is verified
    report = verify_chain()

    # Then the events it read are confirmed, and the newer one is not called missing
    assert report == ChainReport(ok=True, events_checked=events)
    assert AuditEvent.objects.count() == events + 1


# ---------- tampering ----------


def test_a_changed_reason_is_named_as_altered(events, without_triggers):
    # Given event #4's reason changed behind the application's back
    sql("UPDATE audit_auditevent SET reason = %s WHERE seq = %s", ["nothing happened", 4])

    # When the chain is verified / Then #4 is named as altered, after 3 good events
    assert verify_chain() == ChainReport(False, 3, "event #4 was altered after it was written", 4)


def test_a_changed_snapshot_is_named_as_altered(events, without_triggers):
    sql(
        "UPDATE audit_auditevent SET after_json = REPLACE(after_json, 'referral', 'infusion') "
        "WHERE seq = %s",
        [1],
    )

    assert verify_chain() == ChainReport(False, 0, "event #1 was altered after it was written", 1)


def test_a_deleted_middle_event_is_named_as_missing(events, without_triggers):
    sql("DELETE FROM audit_auditevent WHERE seq = %s", [5])

    assert verify_chain() == ChainReport(
        False, 4, "event #5 is missing (next stored event is #6)", 5
    )


def test_a_deleted_first_event_is_named_as_missing(events, without_triggers):
    sql("DELETE FROM audit_auditevent WHERE seq = %s", [1])

    assert verify_chain() == ChainReport(
        False, 0, "event #1 is missing (next stored event is #2)", 1
    )


def test_a_deleted_last_event_is_caught_by_the_recorded_end_of_the_chain(events, without_triggers):
    # Given the last event deleted (nothing after it could notice)
    sql("DELETE FROM audit_auditevent WHERE seq = %s", [events])

    # When verified / Then the chain head names it missing
    assert verify_chain() == ChainReport(
        False,
        events - 1,
        f"the chain ends at event #{events - 1} but event #{events} was written: "
        f"events #{events} to #{events} are missing",
        events,
    )


def test_a_rehashed_middle_event_no_longer_links_to_the_next(events, without_triggers):
    # Given event #4 changed and its hash recomputed so that it verifies on its own
    fields = fields_of(4)
    fields["reason"] = "nothing happened"
    sql(
        "UPDATE audit_auditevent SET reason = %s, hash = %s WHERE seq = %s",
        [fields["reason"], event_hash(**fields), 4],
    )

    # When verified / Then event #5 no longer links to it
    assert verify_chain() == ChainReport(False, 4, "event #5 does not link to event #4", 5)


def test_a_rehashed_and_relinked_event_breaks_the_next_events_hash(events, without_triggers):
    # Given event #4 changed and rehashed, and event #5's prev_hash pointed at the new hash
    fields = fields_of(4)
    fields["reason"] = "nothing happened"
    new_hash = event_hash(**fields)
    sql(
        "UPDATE audit_auditevent SET reason = %s, hash = %s WHERE seq = %s",
        [fields["reason"], new_hash, 4],
    )
    sql("UPDATE audit_auditevent SET prev_hash = %s WHERE seq = %s", [new_hash, 5])

    # When verified / Then event #5's own hash no longer matches its content
    assert verify_chain() == ChainReport(False, 4, "event #5 was altered after it was written", 5)


def test_an_event_with_a_rewritten_prev_hash_and_hash_does_not_link(events, without_triggers):
    # Given event #4 pointed at a made-up predecessor, its hash recomputed to match
    fields = fields_of(4)
    fields["prev_hash"] = "f" * 64
    sql(
        "UPDATE audit_auditevent SET prev_hash = %s, hash = %s WHERE seq = %s",
        [fields["prev_hash"], event_hash(**fields), 4],
    )

    assert verify_chain() == ChainReport(False, 3, "event #4 does not link to event #3", 4)


def test_a_rehashed_last_event_does_not_match_the_recorded_end(events, without_triggers):
    fields = fields_of(events)
    fields["reason"] = "nothing happened"
    sql(
        "UPDATE audit_auditevent SET reason = %s, hash = %s WHERE seq = %s",
        [fields["reason"], event_hash(**fields), events],
    )

    assert verify_chain() == ChainReport(
        False, events, f"event #{events} does not match the recorded end of the chain", events
    )


def test_an_event_appended_behind_the_applications_back_is_named(events):
    # Given a forged event inserted after the last one, correctly linked and hashed, without
    # going through record_event (so the chain head was not moved)
    last = AuditEvent.objects.latest("seq")
    fields = fields_of(last.seq)
    fields.update({"seq": last.seq + 1, "reason": "forged", "prev_hash": last.hash})
    AuditEvent.objects.create(**fields, hash=event_hash(**fields))

    # When verified / Then the forged event is named as added after the recorded end
    assert verify_chain() == ChainReport(
        False,
        events,
        f"event #{events + 1} was added after the recorded end of the chain (event #{events})",
        events + 1,
    )


def test_a_removed_chain_head_is_reported(events):
    # Given the record of the chain's end deleted (it is not append-only: every write moves it)
    AuditChainHead.objects.all().delete()

    # When verified / Then the chain is not confirmed
    assert verify_chain() == ChainReport(
        False,
        events,
        f"the record of the chain's end is missing, so events removed after event #{events} "
        "would go unnoticed",
        None,
    )


def test_the_audit_verify_command_names_the_altered_event(events, without_triggers):
    sql("UPDATE audit_auditevent SET reason = %s WHERE seq = %s", ["nothing happened", 4])

    with pytest.raises(CommandError) as broken:
        call_command("audit", "verify", stdout=StringIO())

    assert str(broken.value) == (
        "Audit chain BROKEN after 3 good events: event #4 was altered after it was written."
    )


# ---------- concurrent writers (PostgreSQL only) ----------


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="SQLite serialises writers on one database lock; two in-process connections to the "
    "in-memory test database cannot race, so concurrency is tested on PostgreSQL only.",
)
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_writers_keep_one_unbroken_chain():
    # Given a committed record to write events about, and two threads with their own connections
    subject = CenterFactory()
    start = threading.Barrier(2)
    failures: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            start.wait()
            for i in range(50):
                with transaction.atomic():
                    record_event(Action.PATIENT_UPDATE, subject, actor=None, reason=f"{name}-{i}")
        except BaseException as error:  # surfaced in the main thread below
            failures.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(name,)) for name in ("a", "b")]

    # When both write 50 events at the same time
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    # Then all 100 are chained with consecutive sequence numbers and the chain verifies
    assert failures == []
    assert list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True)) == list(
        range(1, 101)
    )
    assert verify_chain() == ChainReport(ok=True, events_checked=100)
    reasons = set(AuditEvent.objects.values_list("reason", flat=True))
    assert reasons == {f"{name}-{i}" for name in ("a", "b") for i in range(50)}
