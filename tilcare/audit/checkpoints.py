"""Signed checkpoints of the audit chain, kept outside the database.

The chain proves that no event was changed by itself, but someone who can write to the database
can recompute every link from any event on and move the chain head to match, or cut the chain
short. A checkpoint anchors the chain's end outside the database: `tilcare audit checkpoint`
writes a small JSON file (the last event's number and hash, counts, the UTC time) signed with
HMAC-SHA256 under a key the database never holds, and `tilcare audit verify` checks that every
checkpoint's event is still in the chain with the same hash and that the chain reaches it.

Settings (from the environment, see docs/deployment.md): TILCARE_AUDIT_CHECKPOINT_DIR, and the
key as TILCARE_AUDIT_CHECKPOINT_KEY (text) or TILCARE_AUDIT_CHECKPOINT_KEY_FILE (a file).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings

from tilcare.audit.hashing import canonical_json
from tilcare.audit.models import GENESIS_HASH, AuditEvent
from tilcare.audit.selectors import ChainReport, Checkpoint, verify_chain

MIN_KEY_BYTES = 32
FORMAT = "tilcare-audit-checkpoint/1"
_PATTERN = "checkpoint-*.json"


class CheckpointRefused(Exception):
    """A checkpoint cannot be written or read; the message says what to set or what is wrong."""


def checkpoint_dir() -> Path | None:
    """The configured folder, or None when checkpoints are not configured."""
    directory = getattr(settings, "TILCARE_AUDIT_CHECKPOINT_DIR", "")
    return Path(directory) if directory else None


def checkpoint_key() -> bytes:
    """The HMAC key: at least 32 bytes, from the key file or the key variable (not both)."""
    text = getattr(settings, "TILCARE_AUDIT_CHECKPOINT_KEY", "")
    path = getattr(settings, "TILCARE_AUDIT_CHECKPOINT_KEY_FILE", "")
    if text and path:
        raise CheckpointRefused(
            "Both TILCARE_AUDIT_CHECKPOINT_KEY and TILCARE_AUDIT_CHECKPOINT_KEY_FILE are set; "
            "set only one."
        )
    if path:
        variable = "TILCARE_AUDIT_CHECKPOINT_KEY_FILE"
        try:
            key = Path(path).read_bytes().strip()
        except OSError as error:
            raise CheckpointRefused(
                f"The checkpoint key file in {variable} ({path}) cannot be read: {error.strerror}."
            ) from error
    elif text:
        variable = "TILCARE_AUDIT_CHECKPOINT_KEY"
        key = text.encode()
    else:
        raise CheckpointRefused(
            "No checkpoint key: set TILCARE_AUDIT_CHECKPOINT_KEY_FILE to a file holding at least "
            f"{MIN_KEY_BYTES} random bytes (or TILCARE_AUDIT_CHECKPOINT_KEY to the key itself)."
        )
    if len(key) < MIN_KEY_BYTES:
        raise CheckpointRefused(
            f"The checkpoint key in {variable} is {len(key)} bytes long; it must be at least "
            f"{MIN_KEY_BYTES} bytes."
        )
    return key


def _signature(key: bytes, body: dict[str, Any]) -> str:
    return hmac.new(key, canonical_json(body).encode(), hashlib.sha256).hexdigest()


def read_checkpoints(directory: Path, key: bytes) -> list[Checkpoint]:
    """Every checkpoint in `directory`, oldest event first. One that is not signed with `key`
    (altered, forged, or written under another key) is refused, never skipped."""
    found = []
    for path in sorted(directory.glob(_PATTERN)):
        try:
            body = json.loads(path.read_text())
            signature = body.pop("hmac")
            seq, link, written_at = int(body["seq"]), str(body["hash"]), str(body["written_at"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            raise CheckpointRefused(
                f"The checkpoint {path.name} is refused: it cannot be read ({error})."
            ) from error
        if not isinstance(signature, str) or not hmac.compare_digest(
            signature, _signature(key, body)
        ):
            raise CheckpointRefused(
                f"The checkpoint {path.name} is refused: its signature (HMAC) does not match, so "
                "it was altered or not written with this key."
            )
        found.append(Checkpoint(seq=seq, hash=link, written_at=written_at, name=path.name))
    return sorted(found, key=lambda checkpoint: (checkpoint.seq, checkpoint.name))


def configured_checkpoints() -> list[Checkpoint] | None:
    """The checkpoints to verify against; None when no checkpoint folder is configured."""
    directory = checkpoint_dir()
    if directory is None:
        return None
    key = checkpoint_key()
    if not directory.is_dir():
        return []
    return read_checkpoints(directory, key)


def write_checkpoint(now: dt.datetime) -> tuple[Path, ChainReport]:
    """Verify the chain (against the checkpoints already written), then sign and write its end.

    A broken chain is never anchored: the checkpoint would vouch for the damage.
    """
    directory = checkpoint_dir()
    if directory is None:
        raise CheckpointRefused(
            "No checkpoint folder: set TILCARE_AUDIT_CHECKPOINT_DIR to a folder outside the "
            "database server and its backups."
        )
    key = checkpoint_key()
    existing = read_checkpoints(directory, key) if directory.is_dir() else []
    report = verify_chain(checkpoints=existing)
    if not report.ok:
        raise CheckpointRefused(
            f"The audit chain does not verify ({report.problem}); no checkpoint was written."
        )
    seq = report.events_checked
    link = AuditEvent.objects.values_list("hash", flat=True).get(seq=seq) if seq else GENESIS_HASH
    moment = now.astimezone(dt.UTC)
    body: dict[str, Any] = {
        "format": FORMAT,
        "seq": seq,
        "hash": link,
        "counts": {"events": seq, "records": report.rows_checked},
        "written_at": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    body["hmac"] = _signature(key, body)
    directory.mkdir(mode=0o750, parents=True, exist_ok=True)
    path = directory / f"checkpoint-{seq:012d}-{moment:%Y%m%dT%H%M%S%fZ}.json"
    # Written whole or not at all: a half-written file would be refused at the next verify.
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".checkpoint-", suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as file:
            file.write(json.dumps(body, indent=2, sort_keys=True) + "\n")
        os.chmod(temporary, 0o640)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path, report
