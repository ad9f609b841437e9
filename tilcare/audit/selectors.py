"""Reads of the audit trail, and the chain verification behind `tilcare audit verify`."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from django.db.models import Model, QuerySet

from tilcare.audit import regulated
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
class Checkpoint:
    """The chain's end as an outside checkpoint recorded it (see checkpoints.py)."""

    seq: int
    hash: str
    written_at: str
    name: str


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    events_checked: int
    problem: str = ""
    first_bad_seq: int | None = None
    # How many regulated rows were matched with their latest event, and against how many
    # outside checkpoints the chain was checked.
    rows_checked: int = field(default=0, compare=False)
    checkpoints_checked: int = field(default=0, compare=False)


_FIELDS = (*EVENT_HASH_FIELDS, "hash")
_DIGESTS = _FIELDS.index("row_digests")


def _head() -> AuditChainHead | None:
    return AuditChainHead.objects.filter(id=1).first()


class _Vouched:
    """What the trail vouches for: each row's digest in its latest event, and each signature's
    digest in the event that recorded it."""

    def __init__(self) -> None:
        self.latest: dict[str, tuple[str, int]] = {}
        self.signatures: dict[int, str] = {}

    def add(self, seq: int, row_digests: str) -> None:
        if not row_digests:
            return
        for key, digest in json.loads(row_digests).items():
            if key == regulated.SIGNATURE_KEY:
                self.signatures[seq] = digest
            else:
                self.latest[key] = (digest, seq)


def verify_chain(
    chunk_size: int = 5000, checkpoints: Sequence[Checkpoint] = (), *, records: bool = True
) -> ChainReport:
    """Recompute every link. Names the first event that was altered, removed or inserted.

    The chain head is read before the events and again after them. Events are only ever added,
    and a writer moves the head in the same transaction as its event, so: every event up to the
    first reading must be there and end with its hash, and every event read must be covered by
    the second reading. Events committed while verification runs are thus neither reported
    missing nor mistaken for forgeries.

    Each outside checkpoint (seq, hash) must still be in the chain, and the chain must reach
    it: a chain recomputed from an earlier event, or cut short, is caught even when its head
    was moved to match. Then every regulated row must match the digest its latest event vouches
    for (regulated.py): a row changed, written or removed behind the application's back is
    named with the event after which it happened (`records=False` checks the chain alone).
    """
    start = _head()
    start_seq, start_hash = (start.last_seq, start.last_hash) if start else (0, GENESIS_HASH)
    anchors = {checkpoint.seq: checkpoint for checkpoint in checkpoints}
    vouched = _Vouched()
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
        anchor = anchors.get(seq)
        if anchor is not None and anchor.hash != row[-1]:
            return ChainReport(
                False,
                expected_seq - 1,
                f"event #{seq} is not the one the checkpoint {anchor.name} (written "
                f"{anchor.written_at}) recorded: the chain was rewritten up to it",
                seq,
            )
        vouched.add(seq, row[_DIGESTS])
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
    beyond = [checkpoint for checkpoint in checkpoints if checkpoint.seq > checked]
    if beyond:
        last = max(beyond, key=lambda checkpoint: checkpoint.seq)
        return ChainReport(
            False,
            checked,
            f"the chain ends at event #{checked} but the checkpoint {last.name} (written "
            f"{last.written_at}) recorded event #{last.seq}: events #{checked + 1} to "
            f"#{last.seq} were removed",
            checked + 1,
        )
    if not records:
        return ChainReport(True, checked, checkpoints_checked=len(checkpoints))
    return _verify_rows(checked, vouched, len(checkpoints), chunk_size)


def _held(counts: dict[type[Model], int]) -> str:
    return ", ".join(
        f"{n} {model._meta.verbose_name if n == 1 else model._meta.verbose_name_plural}"
        for model, n in counts.items()
    )


def _verify_rows(
    checked: int, vouched: _Vouched, checkpoints_checked: int, chunk_size: int
) -> ChainReport:
    """Match every regulated row with the digest its latest event vouches for."""
    if checked == 0:
        kinds = [*regulated.regulated_models(), *(g.model for g in regulated.bulk_groups())]
        counts = {m: m._base_manager.count() for m in kinds}
        held = {model: n for model, n in counts.items() if n}
        if held:
            # Records without a single event: the trail was emptied (or never kept).
            return ChainReport(
                False,
                0,
                f"the audit trail holds no events, but the database holds {_held(held)}",
                None,
            )
        return ChainReport(True, 0, checkpoints_checked=checkpoints_checked)
    suspects: dict[str, tuple[type[Model] | None, tuple[str, int] | None]] = {}
    rows_checked = 0
    for model in regulated.regulated_models():
        for key, digest, stored in _rows_and_vouched(model, vouched, chunk_size):
            rows_checked += 1
            if stored is None or stored[0] != digest:
                suspects[key] = (model, stored)
    # Rows written in bulk: each parent's set against the latest event about the parent.
    for group in regulated.bulk_groups():
        for parent_pk, digest, count in regulated.stream_set_digests(group, chunk_size):
            rows_checked += count
            key = group.key(parent_pk)
            stored = vouched.latest.pop(key, None)
            if stored is None or stored[0] != digest:
                suspects[key] = (group.model, stored)
    # What the trail vouches for that is no longer in the database.
    for key, stored in vouched.latest.items():
        suspects[key] = (None, stored)
    if suspects:
        problem = _confirmed_problem(checked, vouched, suspects)
        if problem:
            return ChainReport(False, checked, problem, None, rows_checked, checkpoints_checked)
    return ChainReport(True, checked, "", None, rows_checked, checkpoints_checked)


def _rows_and_vouched(
    model: type[Model], vouched: _Vouched, chunk_size: int
) -> Iterator[tuple[str, str, tuple[str, int] | None]]:
    """Each row's key, its digest now, and what the trail vouches for it (digest, event)."""
    if model._meta.label != "audit.Signature":
        for pk, digest in regulated.stream_digests(model, chunk_size):
            key = regulated.row_key(model, pk)
            yield key, digest, vouched.latest.pop(key, None)
        return
    for pk, digest, seq in regulated.stream_digests(model, chunk_size, ("audit_event__seq",)):
        key = regulated.row_key(model, pk)
        stored = vouched.signatures.get(seq)
        # A signature made before events vouched for rows is vouched for by the baseline.
        baseline = vouched.latest.pop(key, None)
        yield key, digest, (stored, seq) if stored else baseline


def _confirmed_problem(
    checked: int,
    vouched: _Vouched,
    suspects: dict[str, tuple[type[Model] | None, tuple[str, int] | None]],
) -> str:
    """The first suspect row still wrong once the events committed during verification are
    taken into account (a row changed meanwhile is vouched for by an event read after)."""
    newer = AuditEvent.objects.filter(seq__gt=checked).order_by("seq")
    for seq, row_digests in newer.values_list("seq", "row_digests"):
        vouched.add(seq, row_digests)
    for key, (model, stored) in suspects.items():
        name = regulated.describe_row(key)
        # A set of rows written in bulk (a shipment's temperature log) is named in the plural.
        was, it = ("were", "them") if "@" in key.partition(":")[0] else ("was", "it")
        if model is None:
            assert stored is not None
            return f"{name} {was} removed outside the audit trail after event #{stored[1]}"
        digest = regulated.current_digest_of(key)
        stored = vouched.latest.get(key, stored)
        if model is Signature:
            pk = model._meta.pk.to_python(key.partition(":")[2])
            seq = Signature.objects.filter(pk=pk).values_list("audit_event__seq", flat=True).first()
            if seq in vouched.signatures:
                stored = (vouched.signatures[seq], seq)
        if stored is not None and stored[0] == digest:
            continue
        if stored is None:
            return f"{name} {was} written outside the audit trail (no event records {it})"
        return f"{name} {was} changed outside the audit trail after event #{stored[1]}"
    return ""
