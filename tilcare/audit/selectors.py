"""Reads of the audit trail, and the chain verification behind `tilcare audit verify`."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from tilcare.audit.hashing import EVENT_HASH_FIELDS, event_hash_of_row
from tilcare.audit.models import GENESIS_HASH, AuditChainHead, AuditEvent, Signature


def list_events_for_subject(subject_id: str) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(subject_id=subject_id).order_by("-seq")


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


def verify_chain(chunk_size: int = 5000) -> ChainReport:
    """Recompute every link. Names the first event that was altered, removed or inserted."""
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
        expected_prev = row[-1]
        expected_seq += 1
    checked = expected_seq - 1
    head = AuditChainHead.objects.filter(id=1).first()
    last_seq, last_hash = (head.last_seq, head.last_hash) if head else (0, GENESIS_HASH)
    if last_seq == checked and last_hash != expected_prev:
        return ChainReport(
            False,
            checked,
            f"event #{checked} does not match the recorded end of the chain",
            checked,
        )
    if last_seq != checked:
        return ChainReport(
            False,
            checked,
            f"the chain ends at event #{checked} but event #{last_seq} was written: "
            f"events #{checked + 1} to #{last_seq} are missing",
            checked + 1,
        )
    return ChainReport(True, checked)
