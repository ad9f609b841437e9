"""Reads of the audit trail, and the chain verification behind `tilcare audit verify`."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from tilcare.audit.hashing import EVENT_HASH_FIELDS, event_hash_of_row
from tilcare.audit.models import GENESIS_HASH, AuditChainHead, AuditEvent, Signature


def list_events_for_subject(subject_id: str) -> QuerySet[AuditEvent]:
    """A record's trail as a history is read: latest first by when each action happened (an
    entry made after the fact takes its place there), then by sequence number."""
    return AuditEvent.objects.filter(subject_id=subject_id).order_by("-occurred_at", "-seq")


def list_signatures_for(object_type: str, object_id: str) -> QuerySet[Signature]:
    return Signature.objects.filter(object_type=object_type, object_id=object_id).select_related(
        "signer"
    )


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    events_checked: int
    problem: str = ""
    first_bad_seq: int | None = None


_FIELDS = (*EVENT_HASH_FIELDS, "hash")


def _head() -> AuditChainHead | None:
    return AuditChainHead.objects.filter(id=1).first()


def verify_chain(chunk_size: int = 5000) -> ChainReport:
    """Recompute every link. Names the first event that was altered, removed or inserted.

    The chain head is read before the events and again after them. Events are only ever added,
    and a writer moves the head in the same transaction as its event, so: every event up to the
    first reading must be there and end with its hash, and every event read must be covered by
    the second reading. Events committed while verification runs are thus neither reported
    missing nor mistaken for forgeries.
    """
    start = _head()
    start_seq, start_hash = (start.last_seq, start.last_hash) if start else (0, GENESIS_HASH)
    hash_at_start = GENESIS_HASH
    expected_prev = GENESIS_HASH
    expected_seq = 1
    rows = AuditEvent.objects.order_by("seq").values_list(*_FIELDS).iterator(chunk_size=chunk_size)
    for row in rows:
        seq = row[0]
        if seq != expected_seq:
            return ChainReport(
                False,
                expected_seq - 1,
                f"event #{expected_seq} is missing (next stored event is #{seq})",
                expected_seq,
            )
        if row[-2] != expected_prev:
            return ChainReport(
                False, expected_seq - 1, f"event #{seq} does not link to event #{seq - 1}", seq
            )
        if event_hash_of_row(row[:-1]) != row[-1]:
            return ChainReport(
                False, expected_seq - 1, f"event #{seq} was altered after it was written", seq
            )
        if seq == start_seq:
            hash_at_start = row[-1]
        expected_prev = row[-1]
        expected_seq += 1
    checked = expected_seq - 1
    if checked < start_seq:
        return ChainReport(
            False,
            checked,
            f"the chain ends at event #{checked} but event #{start_seq} was written: "
            f"events #{checked + 1} to #{start_seq} are missing",
            checked + 1,
        )
    if hash_at_start != start_hash:
        return ChainReport(
            False,
            checked,
            f"event #{start_seq} does not match the recorded end of the chain",
            start_seq,
        )
    end = _head()
    if end is None and checked:
        # Every write moves the head, so its absence means it was removed behind our back.
        return ChainReport(
            False,
            checked,
            f"the record of the chain's end is missing, so events removed after event "
            f"#{checked} would go unnoticed",
            None,
        )
    end_seq = end.last_seq if end else 0
    if end_seq < checked:
        # Linked events past the recorded end were inserted without going through record_event.
        return ChainReport(
            False,
            end_seq,
            f"event #{end_seq + 1} was added after the recorded end of the chain "
            f"(event #{end_seq})",
            end_seq + 1,
        )
    return ChainReport(True, checked)
