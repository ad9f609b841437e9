"""Writes to the audit trail and electronic signatures.

Every other domain's service calls `record_event()` inside its own transaction, so the change and
its audit event commit together or not at all. `sign_record()` re-asks the signer's password and
binds the signature to the hash of the signed content.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Protocol

from django.db import models, transaction
from django.utils import timezone

from tilcare.audit.hashing import canonical_json, content_hash, event_hash, snapshot, to_jsonable
from tilcare.audit.models import AuditChainHead, AuditEvent, Signature
from tilcare.core.errors import InvalidInput


class Actor(Protocol):
    pk: Any

    @property
    def printed_name(self) -> str: ...

    def check_password(self, raw_password: str) -> bool: ...


class Signable(Protocol):
    """A record that can be signed: it says which of its content a signature covers."""

    pk: Any
    public_id: Any

    def signed_content(self) -> dict[str, Any]: ...


def object_type_of(obj: models.Model) -> str:
    return f"{obj._meta.app_label}.{obj._meta.model_name}"


def _object_id_of(obj: models.Model) -> str:
    return str(getattr(obj, "public_id", None) or obj.pk)


def _utc_text(moment: dt.datetime) -> str:
    # The trail does not know whose clock the reader keeps: the time is named in UTC.
    return moment.astimezone(dt.UTC).strftime("%d %b %Y %H:%M %Z")


def check_occurred_at(
    occurred_at: dt.datetime, *, now: dt.datetime, field: str = "occurred_at"
) -> None:
    """Refuse a time an action cannot honestly have happened at: one without its time zone, or
    one after the moment it is recorded."""
    if not isinstance(occurred_at, dt.datetime) or timezone.is_naive(occurred_at):
        raise InvalidInput({field: ["Give the date and time with its time zone."]})
    if occurred_at > now:
        raise InvalidInput(
            {field: [f"The time it happened cannot be later than now ({_utc_text(now)})."]}
        )


def latest_occurred_at(obj: models.Model) -> dt.datetime | None:
    """When the trail's last event about `obj` happened (None: the trail holds nothing of it)."""
    return (
        AuditEvent.objects.filter(object_type=object_type_of(obj), object_id=_object_id_of(obj))
        .order_by("-seq")
        .values_list("occurred_at", flat=True)
        .first()
    )


def _check_after_object_history(obj: models.Model, occurred_at: dt.datetime) -> None:
    """A back-dated action cannot come before what the trail already holds about the object."""
    latest = latest_occurred_at(obj)
    if latest is not None and occurred_at < latest:
        raise InvalidInput(
            {
                "occurred_at": [
                    f"The time it happened cannot be before the last recorded change of this "
                    f"{obj._meta.verbose_name} ({_utc_text(latest)})."
                ]
            }
        )


def record_event(
    action: str,
    obj: models.Model,
    *,
    actor: Actor | None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    reason: str = "",
    subject_id: str = "",
    occurred_at: dt.datetime | None = None,
) -> AuditEvent:
    """Append one event to the chain. Must run inside the caller's transaction.

    The chain head row is locked for the rest of the transaction, so two writers never link to the
    same predecessor. `actor=None` is only for system actions (migrations, scheduled jobs); the
    label then says "system".

    `recorded_at` is always now. `occurred_at` is when the action happened: now, unless the
    caller says it happened earlier (see `check_occurred_at`).
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("record_event() must be called inside the service's transaction.")
    now = timezone.now()
    if occurred_at is None:
        occurred_at = now
    else:
        check_occurred_at(occurred_at, now=now)
        _check_after_object_history(obj, occurred_at)
    head, _ = AuditChainHead.objects.select_for_update().get_or_create(id=1)
    fields: dict[str, Any] = {
        "seq": head.last_seq + 1,
        "occurred_at": occurred_at,
        "recorded_at": now,
        "actor_id": actor.pk if actor is not None else None,
        "actor_label": actor.printed_name if actor is not None else "system",
        "action": action,
        "object_type": object_type_of(obj),
        "object_id": _object_id_of(obj),
        "object_repr": str(obj)[:200],
        "subject_id": subject_id,
        "before_json": canonical_json(to_jsonable(dict(before))) if before is not None else "",
        "after_json": canonical_json(to_jsonable(dict(after))) if after is not None else "",
        "reason": reason,
        "prev_hash": head.last_hash,
    }
    fields["hash"] = event_hash(**fields)
    event = AuditEvent.objects.create(**fields)
    head.last_seq = event.seq
    head.last_hash = event.hash
    head.save(update_fields=["last_seq", "last_hash"])
    return event


def sign_record(
    record: Signable,
    *,
    actor: Actor,
    password: str,
    meaning: str,
    subject_id: str = "",
) -> Signature:
    """Sign `record` as `actor` after re-checking the password (21 CFR 11.200(a)(1)(i)).

    A wrong password is refused as a field error and nothing is written.
    """
    if not password or not actor.check_password(password):
        raise InvalidInput(
            {"password": ["The password is not correct. Enter your own password to sign."]}
        )
    with transaction.atomic():
        content = record.signed_content()
        record_hash = content_hash(content)
        assert isinstance(record, models.Model)
        event = record_event(
            "signature.sign",
            record,
            actor=actor,
            after={"meaning": meaning, "record_hash": record_hash, "content": content},
            subject_id=subject_id,
        )
        return Signature.objects.create(
            signer_id=actor.pk,
            printed_name=actor.printed_name,
            meaning=meaning,
            # Dated when it is signed (21 CFR 11.50): a signature is never back-dated.
            signed_at=event.recorded_at,
            object_type=object_type_of(record),
            object_id=str(record.public_id),
            record_hash=record_hash,
            audit_event=event,
        )


def signature_is_valid(signature: Signature, record: Signable) -> bool:
    """True while the record's content is still what was signed."""
    return signature.record_hash == content_hash(record.signed_content())


def record_change(
    action: str,
    obj: models.Model,
    *,
    actor: Actor | None,
    before: Mapping[str, Any],
    reason: str = "",
    subject_id: str = "",
    occurred_at: dt.datetime | None = None,
) -> AuditEvent | None:
    """Record only the fields that changed since `before` (a snapshot); nothing if none did."""
    after = snapshot(obj)
    changed = [key for key in after if after[key] != before.get(key)]
    if not changed:
        return None
    return record_event(
        action,
        obj,
        actor=actor,
        before={key: before.get(key) for key in changed},
        after={key: after[key] for key in changed},
        reason=reason,
        subject_id=subject_id,
        occurred_at=occurred_at,
    )
