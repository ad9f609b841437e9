"""Writes to the audit trail and electronic signatures.

Every other domain's service calls `record_event()` inside its own transaction, so the change and
its audit event commit together or not at all. `sign_record()` re-asks the signer's password and
binds the signature to the hash of the signed content.
"""

from __future__ import annotations

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


def record_event(
    action: str,
    obj: models.Model,
    *,
    actor: Actor | None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    reason: str = "",
    subject_id: str = "",
) -> AuditEvent:
    """Append one event to the chain. Must run inside the caller's transaction.

    The chain head row is locked for the rest of the transaction, so two writers never link to the
    same predecessor. `actor=None` is only for system actions (migrations, scheduled jobs); the
    label then says "system".
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("record_event() must be called inside the service's transaction.")
    head, _ = AuditChainHead.objects.select_for_update().get_or_create(id=1)
    now = timezone.now()
    fields: dict[str, Any] = {
        "seq": head.last_seq + 1,
        "occurred_at": now,
        "actor_id": actor.pk if actor is not None else None,
        "actor_label": actor.printed_name if actor is not None else "system",
        "action": action,
        "object_type": object_type_of(obj),
        "object_id": str(getattr(obj, "public_id", None) or obj.pk),
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
            signed_at=event.occurred_at,
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
    )
