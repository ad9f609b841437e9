"""Signed checkpoints kept outside the database anchor the chain's end: a chain recomputed from
an earlier event, or cut short, with its head moved to match, is caught against them.

The attacker here can write to the database (plain SQL, triggers dropped) but does not hold the
checkpoint key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tilcare.audit.checkpoints import CheckpointRefused, configured_checkpoints, write_checkpoint
from tilcare.audit.hashing import EVENT_HASH_FIELDS, canonical_json, event_hash
from tilcare.audit.management.commands.audit import NO_CHECKPOINT
from tilcare.audit.models import AuditChainHead, AuditEvent
from tilcare.audit.selectors import ChainReport, verify_chain
from tilcare.audit.tests.conftest import CHECKPOINT_KEY
from tilcare.audit.tests.helpers import sql

pytestmark = pytest.mark.django_db

WRITTEN = dt.datetime(2026, 3, 2, 9, 15, 0, tzinfo=dt.UTC)


def _verify_command() -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("audit", "verify", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _recompute_chain_from(seq: int) -> None:
    """Rewrite event `seq`'s reason, then relink every later event and move the chain's end:
    the chain verifies again on its own."""
    previous = AuditEvent.objects.get(seq=seq - 1).hash if seq > 1 else "0" * 64
    last = AuditEvent.objects.latest("seq").seq
    for current in range(seq, last + 1):
        fields = AuditEvent.objects.filter(seq=current).values(*EVENT_HASH_FIELDS).get()
        if current == seq:
            fields["reason"] = "nothing happened"
        fields["prev_hash"] = previous
        new_hash = event_hash(**fields)
        sql(
            "UPDATE audit_auditevent SET reason = %s, prev_hash = %s, hash = %s WHERE seq = %s",
            [fields["reason"], previous, new_hash, current],
        )
        previous = new_hash
    AuditChainHead.objects.filter(id=1).update(last_seq=last, last_hash=previous)


def _cut_chain_after(seq: int) -> None:
    """Remove every event after `seq` and move the chain's end back to it."""
    kept = AuditEvent.objects.get(seq=seq)
    sql("DELETE FROM audit_signature WHERE audit_event_id IN "
        "(SELECT id FROM audit_auditevent WHERE seq > %s)", [seq])  # fmt: skip
    sql("DELETE FROM audit_auditevent WHERE seq > %s", [seq])
    AuditChainHead.objects.filter(id=1).update(last_seq=seq, last_hash=kept.hash)


# ---------- writing a checkpoint ----------


def test_a_checkpoint_records_the_chains_end_signed_with_the_key(trail_world, checkpoint_folder):
    # Given an intact chain
    last = AuditEvent.objects.latest("seq")

    # When a checkpoint is written
    path, report = write_checkpoint(WRITTEN)

    # Then the file holds the last event's number and hash, the counts and the UTC time, and an
    # HMAC-SHA256 of the rest under the key
    assert path == checkpoint_folder / f"checkpoint-{last.seq:012d}-20260302T091500000000Z.json"
    body = json.loads(path.read_text())
    signature = body.pop("hmac")
    assert body == {
        "format": "tilcare-audit-checkpoint/1",
        "seq": last.seq,
        "hash": last.hash,
        "counts": {"events": last.seq, "records": report.rows_checked},
        "written_at": "2026-03-02T09:15:00Z",
    }
    expected = hmac.new(
        CHECKPOINT_KEY.encode(), canonical_json(body).encode(), hashlib.sha256
    ).hexdigest()
    assert signature == expected


def test_the_checkpoint_command_writes_one_file(trail_world, checkpoint_folder):
    out = StringIO()

    call_command("audit", "checkpoint", stdout=out)

    (path,) = checkpoint_folder.glob("checkpoint-*.json")
    counts = json.loads(path.read_text())["counts"]
    assert counts["events"] == AuditEvent.objects.count()
    assert out.getvalue() == (
        f"Checkpoint written: {path} (event #{counts['events']}, {counts['records']} records).\n"
    )


def test_a_broken_chain_is_not_checkpointed(trail_world, checkpoint_folder, without_triggers):
    # Given event #4 altered
    sql("UPDATE audit_auditevent SET reason = %s WHERE seq = %s", ["nothing happened", 4])

    # When a checkpoint is asked for / Then it is refused and nothing is written
    with pytest.raises(CommandError) as refused:
        call_command("audit", "checkpoint", stdout=StringIO())

    assert str(refused.value) == (
        "The audit chain does not verify (event #4 was altered after it was written); "
        "no checkpoint was written."
    )
    assert not checkpoint_folder.exists()


@pytest.mark.parametrize(
    ("key", "key_file", "message"),
    [
        (
            "",
            None,
            "No checkpoint key: set TILCARE_AUDIT_CHECKPOINT_KEY_FILE to a file holding at least "
            "32 random bytes (or TILCARE_AUDIT_CHECKPOINT_KEY to the key itself).",
        ),
        (
            "too-short-a-key",
            None,
            "The checkpoint key in TILCARE_AUDIT_CHECKPOINT_KEY is 15 bytes long; it must be at "
            "least 32 bytes.",
        ),
        (
            "",
            b"0123456789abcdef0123456789abcde\n",
            "The checkpoint key in TILCARE_AUDIT_CHECKPOINT_KEY_FILE is 31 bytes long; it must be "
            "at least 32 bytes.",
        ),
    ],
    ids=["no key", "short key", "short key file"],
)
def test_a_checkpoint_without_a_good_key_is_refused_naming_the_setting(
    trail_world, checkpoint_folder, settings, tmp_path, key, key_file, message
):
    settings.TILCARE_AUDIT_CHECKPOINT_KEY = key
    if key_file is not None:
        (tmp_path / "key").write_bytes(key_file)
        settings.TILCARE_AUDIT_CHECKPOINT_KEY_FILE = str(tmp_path / "key")

    with pytest.raises(CommandError) as refused:
        call_command("audit", "checkpoint", stdout=StringIO())

    assert str(refused.value) == message
    assert not checkpoint_folder.exists()


def test_a_key_file_of_32_bytes_or_more_is_used(trail_world, checkpoint_folder, settings, tmp_path):
    (tmp_path / "key").write_text(CHECKPOINT_KEY + "\n")
    settings.TILCARE_AUDIT_CHECKPOINT_KEY = ""
    settings.TILCARE_AUDIT_CHECKPOINT_KEY_FILE = str(tmp_path / "key")

    write_checkpoint(WRITTEN)

    # (the same key given as text reads the file written under it)
    settings.TILCARE_AUDIT_CHECKPOINT_KEY = CHECKPOINT_KEY
    settings.TILCARE_AUDIT_CHECKPOINT_KEY_FILE = ""
    assert [c.seq for c in configured_checkpoints() or []] == [AuditEvent.objects.count()]


# ---------- verifying against checkpoints ----------


def test_an_intact_chain_verifies_against_its_checkpoints(trail_world, checkpoint_folder):
    # Given a checkpoint, and more events written after it
    first, _ = write_checkpoint(WRITTEN)
    at_first = AuditEvent.objects.count()
    call_command("audit", "checkpoint", stdout=StringIO())
    second = max(checkpoint_folder.glob("checkpoint-*.json"))
    assert AuditEvent.objects.count() == at_first

    # When verified / Then it is intact and says which checkpoint it reached
    out, err = _verify_command()

    written_at = json.loads(second.read_text())["written_at"]
    assert out == (
        f"Audit chain intact: {at_first} events verified.\n"
        f"It matches 2 signed checkpoint(s); the latest, {second.name} (written {written_at}), "
        f"recorded event #{at_first}.\n"
    )
    assert err == ""
    assert first != second


def test_without_checkpoints_configured_verify_says_so(trail_world, no_checkpoint):
    out, err = _verify_command()

    assert out == f"Audit chain intact: {AuditEvent.objects.count()} events verified.\n"
    assert err == NO_CHECKPOINT
    assert "no checkpoint configured" in err


def test_a_recomputed_chain_with_its_head_moved_is_caught_by_a_checkpoint(
    trail_world, checkpoint_folder, without_triggers
):
    # Given a checkpoint of the chain's end, then event #4 rewritten and every later link
    # recomputed, the chain's end moved to match
    path, _ = write_checkpoint(WRITTEN)
    last = AuditEvent.objects.count()
    _recompute_chain_from(4)
    # (on its own the chain verifies again: only the checkpoint can tell)
    assert verify_chain() == ChainReport(True, last)

    # When verified against the checkpoints
    with pytest.raises(CommandError) as broken:
        _verify_command()

    # Then the event the checkpoint recorded is named
    assert str(broken.value) == (
        f"Audit chain BROKEN after {last - 1} good events: event #{last} is not the one the "
        f"checkpoint {path.name} (written 2026-03-02T09:15:00Z) recorded: the chain was "
        "rewritten up to it."
    )


def test_a_chain_cut_short_below_a_checkpoint_is_caught(
    trail_world, checkpoint_folder, without_triggers
):
    # Given a checkpoint, then the last three events removed and the chain's end moved back
    path, _ = write_checkpoint(WRITTEN)
    last = AuditEvent.objects.count()
    _cut_chain_after(last - 3)

    # When verified / Then the missing events are named against the checkpoint
    with pytest.raises(CommandError) as broken:
        _verify_command()

    assert str(broken.value) == (
        f"Audit chain BROKEN after {last - 3} good events: the chain ends at event #{last - 3} "
        f"but the checkpoint {path.name} (written 2026-03-02T09:15:00Z) recorded event "
        f"#{last}: events #{last - 2} to #{last} were removed."
    )


@pytest.mark.parametrize("change", ["seq", "hash", "written_at"])
def test_an_altered_checkpoint_is_refused(trail_world, checkpoint_folder, change):
    # Given a checkpoint whose content was changed (its HMAC kept)
    path, _ = write_checkpoint(WRITTEN)
    body = json.loads(path.read_text())
    body[change] = {"seq": 1, "hash": "0" * 64, "written_at": "2026-03-03T00:00:00Z"}[change]
    path.write_text(json.dumps(body))

    # When verified / Then the checkpoint is refused and verification fails
    with pytest.raises(CommandError) as refused:
        _verify_command()

    assert str(refused.value) == (
        f"Audit chain NOT VERIFIED: The checkpoint {path.name} is refused: its signature (HMAC) "
        "does not match, so it was altered or not written with this key."
    )


def test_a_checkpoint_signed_with_another_key_is_refused(trail_world, checkpoint_folder, settings):
    path, _ = write_checkpoint(WRITTEN)
    settings.TILCARE_AUDIT_CHECKPOINT_KEY = "another key of at least thirty-two bytes!"

    with pytest.raises(CheckpointRefused) as refused:
        configured_checkpoints()

    assert str(refused.value) == (
        f"The checkpoint {path.name} is refused: its signature (HMAC) does not match, so it "
        "was altered or not written with this key."
    )
