"""An audit event keeps when the action happened (`occurred_at`) and when the row was written
(`recorded_at`); the hash covers both, and a chain written before the two were kept apart still
verifies."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest
import time_machine
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from tilcare.audit.actions import Action
from tilcare.audit.models import GENESIS_HASH, AuditChainHead, AuditEvent
from tilcare.audit.selectors import ChainReport, list_events_for_subject, verify_chain
from tilcare.audit.services import record_event
from tilcare.audit.tests.helpers import sql
from tilcare.core.errors import InvalidInput
from tilcare.patients.tests.factories import CenterFactory

pytestmark = pytest.mark.django_db

LAST_WEEK = dt.datetime(2026, 11, 30, 14, 5, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 12, 7, 9, 14, tzinfo=dt.UTC)


@pytest.fixture
def clock():
    """The clock stopped at 7 Dec 2026 09:14 UTC."""
    with time_machine.travel(NOW, tick=False):
        yield NOW


def write(subject, action: Action = Action.ORGANIZATION_SETTINGS_UPDATE, **kwargs) -> AuditEvent:
    with transaction.atomic():
        return record_event(action, subject, actor=None, **kwargs)


# ---------- the two times ----------


def test_an_event_recorded_as_it_happens_has_one_time(clock):
    # Given the clock at 9:14 UTC
    # When an event is written without a time
    event = write(CenterFactory())

    # Then it happened and was recorded at that instant
    assert (event.occurred_at, event.recorded_at) == (NOW, NOW)
    assert event.recorded_later is False


def test_an_event_told_it_happened_earlier_keeps_both_times(clock):

    event = write(CenterFactory(), occurred_at=LAST_WEEK)

    event.refresh_from_db()
    assert event.occurred_at == LAST_WEEK
    assert event.recorded_at == NOW
    assert event.recorded_later is True


def test_a_time_without_its_zone_is_refused_and_nothing_is_written():
    with pytest.raises(InvalidInput) as refused:
        write(CenterFactory(), occurred_at=dt.datetime(2026, 11, 30, 14, 5))

    assert refused.value.errors == {"occurred_at": ["Give the date and time with its time zone."]}
    assert AuditEvent.objects.count() == 0


def test_a_time_after_now_is_refused(clock):

    with pytest.raises(InvalidInput) as refused:
        write(CenterFactory(), occurred_at=dt.datetime(2026, 12, 7, 9, 15, tzinfo=dt.UTC))

    assert refused.value.errors == {
        "occurred_at": ["The time it happened cannot be later than now (07 Dec 2026 09:14 UTC)."]
    }
    assert AuditEvent.objects.count() == 0


def test_a_time_before_the_objects_last_recorded_change_is_refused(clock):
    # Given an organization whose last change was recorded as happening on 30 Nov 14:05
    center = CenterFactory()
    write(center, occurred_at=LAST_WEEK)

    # When a change is said to have happened a minute before that
    with pytest.raises(InvalidInput) as refused:
        write(center, occurred_at=LAST_WEEK - dt.timedelta(minutes=1))

    # Then it is refused: the object's history cannot run backwards
    assert refused.value.errors == {
        "occurred_at": [
            "The time it happened cannot be before the last recorded change of this "
            "organization (30 Nov 2026 14:05 UTC)."
        ]
    }
    assert AuditEvent.objects.count() == 1


def test_a_back_dated_event_at_the_same_time_as_the_last_change_is_accepted(clock):
    center = CenterFactory()
    write(center, occurred_at=LAST_WEEK)

    event = write(center, occurred_at=LAST_WEEK)

    assert event.occurred_at == LAST_WEEK


# ---------- the hash covers both ----------


@pytest.fixture
def dated_chain(clock) -> list[AuditEvent]:
    """Three events: recorded as it happened, back-dated, recorded as it happened."""
    center = CenterFactory()
    return [
        write(center, Action.ORGANIZATION_SETTINGS_UPDATE),
        write(CenterFactory(), Action.ORGANIZATION_CREATE, occurred_at=LAST_WEEK),
        write(center, Action.ORGANIZATION_SETTINGS_UPDATE),
    ]


def test_a_chain_with_back_dated_events_verifies(dated_chain):
    assert verify_chain() == ChainReport(ok=True, events_checked=3)


@pytest.mark.parametrize(
    ("column", "moved_to"),
    [
        ("occurred_at", LAST_WEEK - dt.timedelta(days=1)),
        ("recorded_at", dt.datetime(2026, 12, 8, 9, 14, tzinfo=dt.UTC)),
    ],
)
def test_a_changed_time_of_a_back_dated_event_is_named_as_altered(
    dated_chain, without_triggers, column, moved_to
):
    sql(f"UPDATE audit_auditevent SET {column} = %s WHERE seq = %s", [moved_to, 2])

    assert verify_chain() == ChainReport(False, 1, "event #2 was altered after it was written", 2)


def test_a_recorded_at_moved_away_from_occurred_at_is_named_as_altered(
    dated_chain, without_triggers
):
    # Given an event recorded as it happened, whose recording time is later moved
    sql(
        "UPDATE audit_auditevent SET recorded_at = %s WHERE seq = %s",
        [dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC), 3],
    )

    assert verify_chain() == ChainReport(False, 2, "event #3 was altered after it was written", 3)


def test_both_times_moved_together_are_named_as_altered(dated_chain, without_triggers):
    moved = dt.datetime(2026, 12, 6, 9, 14, tzinfo=dt.UTC)
    sql(
        "UPDATE audit_auditevent SET occurred_at = %s, recorded_at = %s WHERE seq = %s",
        [moved, moved, 1],
    )

    assert verify_chain() == ChainReport(False, 0, "event #1 was altered after it was written", 1)


def test_a_back_dated_event_made_to_look_recorded_as_it_happened_is_named_as_altered(
    dated_chain, without_triggers
):
    # Given the back-dated event's recording time set to its occurred time, hiding the late entry
    sql("UPDATE audit_auditevent SET recorded_at = occurred_at WHERE seq = %s", [2])

    assert verify_chain() == ChainReport(False, 1, "event #2 was altered after it was written", 2)


# ---------- a chain written before the two times were kept apart ----------


def _old_link(seq: int, occurred_at: dt.datetime, action: str, prev_hash: str) -> str:
    """The hash as audit events were linked before `recorded_at` existed (one time only)."""
    payload = [seq, occurred_at.isoformat(), None, "system", action, "test.old", str(seq), "old"]
    payload += ["", "", "", "", prev_hash]
    return hashlib.sha256(json.dumps(payload, separators=(",", ":")).encode()).hexdigest()


@pytest.mark.django_db(transaction=True)
def test_a_chain_written_before_the_migration_verifies_after_it_and_with_new_events():
    # Given the audit trail as it was before `recorded_at` (migration 0002), holding two events
    # linked the old way
    executor = MigrationExecutor(connection)
    executor.migrate([("audit", "0002_append_only_triggers")])
    moments = [dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC), LAST_WEEK]
    prev = GENESIS_HASH
    for seq, moment in enumerate(moments, start=1):
        link = _old_link(seq, moment, f"test.old{seq}", prev)
        sql(
            "INSERT INTO audit_auditevent (seq, occurred_at, actor_id, actor_label, action, "
            "object_type, object_id, object_repr, subject_id, before_json, after_json, reason, "
            "prev_hash, hash) VALUES (%s, %s, NULL, 'system', %s, 'test.old', %s, 'old', '', '', "
            "'', '', %s, %s)",
            [seq, moment, f"test.old{seq}", str(seq), prev, link],
        )
        prev = link
    sql("INSERT INTO audit_auditchainhead (id, last_seq, last_hash) VALUES (1, 2, %s)", [prev])

    # When the database is migrated, and events are written after it (one back-dated)
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    write(CenterFactory())
    write(CenterFactory(), occurred_at=timezone.now() - dt.timedelta(days=1))

    # Then the old events were recorded as they happened, and the whole chain verifies
    old = AuditEvent.objects.filter(seq__lte=2).order_by("seq")
    assert [(e.occurred_at, e.recorded_at) for e in old] == [(m, m) for m in moments]
    assert verify_chain() == ChainReport(ok=True, events_checked=4)
    assert AuditChainHead.objects.get().last_seq == 4


# ---------- a record's trail is read in the order things happened ----------


def test_a_subjects_trail_lists_events_latest_first_by_when_they_happened(clock):
    # Given a subject's events, the last one entered after the fact about an earlier day
    week_ago = write(CenterFactory(), subject_id="journey-1", occurred_at=LAST_WEEK)
    today = write(CenterFactory(), subject_id="journey-1")
    entered_late = write(
        CenterFactory(), subject_id="journey-1", occurred_at=LAST_WEEK - dt.timedelta(days=1)
    )
    write(CenterFactory(), subject_id="journey-2")

    # When the subject's trail is listed
    trail = list(list_events_for_subject("journey-1"))

    # Then it runs from the latest happening back, the late entry in its place
    assert [e.seq for e in trail] == [today.seq, week_ago.seq, entered_late.seq]
