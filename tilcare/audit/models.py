"""The append-only, hash-chained audit trail and electronic signatures (21 CFR Part 11)."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.db import models

GENESIS_HASH = "0" * 64


class AuditEvent(models.Model):
    """One create, change or delete of a regulated record, with who, when, what and why.

    Rows are never updated or deleted: database triggers refuse it (see triggers.py). Each row
    carries the hash of the row before it, so a row altered or removed behind the application's
    back breaks the chain and `tilcare audit verify` names it.
    """

    seq = models.BigIntegerField(unique=True)
    # When the action happened, and when this row was written. They are the same instant unless
    # the service was told the action happened earlier (an entry made after the fact, or a
    # history replayed in order): a history is read by `occurred_at`, and `recorded_at` says
    # when it entered the record. The hash covers both.
    occurred_at = models.DateTimeField()
    recorded_at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    # The actor's printed name at the time, kept even if the account is later renamed.
    actor_label = models.CharField(max_length=200)
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64, db_index=True)
    object_repr = models.CharField(max_length=200)
    # The journey (or patient) this event belongs to, so a record's trail is one indexed query.
    subject_id = models.CharField(max_length=64, blank=True, db_index=True)
    # Before/after snapshots as canonical JSON text (sorted keys, no spaces): the hash covers
    # these exact characters, so verification never re-encodes them and reads the same on SQLite
    # and PostgreSQL. Empty when there is no snapshot (a creation has no "before").
    before_json = models.TextField(blank=True)
    after_json = models.TextField(blank=True)
    reason = models.TextField(blank=True)
    # The digest of each regulated row the event vouches for, as it stood after the write:
    # canonical JSON {"<app>.<model>:<pk>": sha256} (see regulated.py). Covered by the hash, so
    # a row changed behind the application's back no longer matches its latest event.
    row_digests = models.TextField(blank=True, default="")
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type} by {self.actor_label}"

    @property
    def recorded_later(self) -> bool:
        """Was the event recorded at another minute than it happened (shown with both times)?"""
        return self.recorded_at.replace(second=0, microsecond=0) != self.occurred_at.replace(
            second=0, microsecond=0
        )

    @property
    def before(self) -> dict[str, Any] | None:
        return json.loads(self.before_json) if self.before_json else None

    @property
    def digests(self) -> dict[str, str]:
        return json.loads(self.row_digests) if self.row_digests else {}

    @property
    def after(self) -> dict[str, Any] | None:
        return json.loads(self.after_json) if self.after_json else None


class AuditChainHead(models.Model):
    """The last link of the chain: one row, locked by every writer so links are made one by one.

    It also lets verification notice rows removed from the end of the chain.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default=GENESIS_HASH)

    def __str__(self) -> str:
        return f"audit chain head at #{self.last_seq}"


class Signature(models.Model):
    """An electronic signature: printed name, date-time and meaning, bound to the record's hash.

    21 CFR 11.50 asks for the printed name, the date and time and the meaning; 11.70 asks that the
    signature cannot be moved to another record: `record_hash` is the hash of the signed content,
    so any later change to the record shows the signature as no longer valid.
    """

    signer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    printed_name = models.CharField(max_length=200)
    meaning = models.CharField(max_length=200)
    signed_at = models.DateTimeField()
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64, db_index=True)
    record_hash = models.CharField(max_length=64)
    audit_event = models.OneToOneField(AuditEvent, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["signed_at"]

    def __str__(self) -> str:
        return f"{self.meaning} — {self.printed_name}"
