"""Writes to the audit trail and electronic signatures.

Every other domain's service calls `record_event()` inside its own transaction, so the change and
its audit event commit together or not at all. `sign_record()` re-asks the signer's password and
binds the signature to the hash of the signed content.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from django.db import DEFAULT_DB_ALIAS, models, transaction
from django.utils import timezone

from tilcare.audit import regulated
from tilcare.audit.actions import Action
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


def _row_digests(obj: models.Model, extra: Mapping[str, str] | None) -> str:
    """The digests of the rows this event vouches for: `obj` when it is regulated, every
    regulated row saved in this transaction since its last event, and each set of rows written
    in bulk under `obj` (regulated.py), as canonical JSON; empty when there are none."""
    using = obj._state.db or DEFAULT_DB_ALIAS
    pending = regulated.pending_rows(using)
    rows = dict(pending)
    pending.clear()
    if obj.pk is not None and regulated.is_regulated(type(obj)):
        model = obj._meta.concrete_model or type(obj)
        rows[regulated.row_key(model, obj.pk)] = (model, obj.pk)
    by_model: dict[type[models.Model], list[Any]] = {}
    for model, pk in rows.values():
        by_model.setdefault(model, []).append(pk)
    digests: dict[str, str] = {}
    for model, pks in by_model.items():
        # Read back from the database: the digest is of the row as stored, exactly as
        # verification will read it.
        for pk, digest in regulated.current_digests(model, pks).items():
            digests[regulated.row_key(model, pk)] = digest
    # Rows written in bulk under `obj` (a shipment's temperature log): one digest over the set
    # as it stands, one query per kind of set.
    if obj.pk is not None:
        for group in regulated.groups_under(type(obj)):
            for parent_pk, digest in regulated.current_set_digests(group, [obj.pk]).items():
                digests[group.key(parent_pk)] = digest
    digests.update(extra or {})
    return canonical_json(digests) if digests else ""


def record_event(
    action: Action,
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

    The event also vouches for the regulated rows written: `obj` and any other regulated row
    saved in this transaction since its last event (a journey's new transition row), each by
    the digest of the row as stored (`row_digests`). Call it after the rows are saved.
    """
    return _append_event(
        action,
        obj,
        actor=actor,
        before=before,
        after=after,
        reason=reason,
        subject_id=subject_id,
        occurred_at=occurred_at,
        now=timezone.now(),
    )


def _append_event(
    action: Action,
    obj: models.Model,
    *,
    actor: Actor | None,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    reason: str,
    subject_id: str,
    occurred_at: dt.datetime | None,
    now: dt.datetime,
    extra_digests: Mapping[str, str] | None = None,
) -> AuditEvent:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("record_event() must be called inside the service's transaction.")
    if action not in Action.values:
        raise ValueError(f"“{action}” is not an audit action: name it in tilcare.audit.actions.")
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
        "action": str(Action(action).value),
        "object_type": object_type_of(obj),
        "object_id": _object_id_of(obj),
        "object_repr": str(obj)[:200],
        "subject_id": subject_id,
        "before_json": canonical_json(to_jsonable(dict(before))) if before is not None else "",
        "after_json": canonical_json(to_jsonable(dict(after))) if after is not None else "",
        "reason": reason,
        "row_digests": _row_digests(obj, extra_digests),
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
        now = timezone.now()
        values: dict[str, Any] = {
            "signer_id": actor.pk,
            "printed_name": actor.printed_name,
            "meaning": meaning,
            # Dated when it is signed (21 CFR 11.50): a signature is never back-dated.
            "signed_at": now,
            "object_type": object_type_of(record),
            "object_id": str(record.public_id),
            "record_hash": record_hash,
        }
        # The signature row points at its event, so the event vouches for it in advance: the
        # digest of the row about to be written (regulated.SIGNATURE_KEY).
        event = _append_event(
            Action.SIGNATURE_SIGN,
            record,
            actor=actor,
            before=None,
            after={"meaning": meaning, "record_hash": record_hash, "content": content},
            reason="",
            subject_id=subject_id,
            occurred_at=None,
            now=now,
            extra_digests={regulated.SIGNATURE_KEY: regulated.digest_of_mapping(Signature, values)},
        )
        return Signature.objects.create(**values, audit_event=event)


def signature_is_valid(signature: Signature, record: Signable) -> bool:
    """True while the record's content is still what was signed."""
    return signature.record_hash == content_hash(record.signed_content())


def record_written(
    action: Action,
    obj: models.Model,
    *,
    actor: Actor | None,
    before: Mapping[str, Any] | None = None,
    reason: str = "",
    subject_id: str = "",
    occurred_at: dt.datetime | None = None,
) -> AuditEvent:
    """Record a row just written: the event carries the row as saved (its snapshot) as `after`,
    and `before` (its snapshot before) when it was changed rather than created. Call it after the
    save, inside the service's transaction."""
    return record_event(
        action,
        obj,
        actor=actor,
        before=before,
        after=snapshot(obj),
        reason=reason,
        subject_id=subject_id,
        occurred_at=occurred_at,
    )


def record_change(
    action: Action,
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


BASELINE_ACTION = Action.RECORDS_BASELINE
BASELINE_REASON = (
    "Content of the records kept before each audit event vouched for the records it wrote, as "
    "found when the trail began to vouch for them."
)


def record_baseline(*, chunk_size: int = 500) -> int:
    """At the upgrade that brings a kind of record under the trail's digests: append system
    events vouching for every such record as it is now, so that verification can hold each one
    to it from then on. Each kind (a regulated model, or a set of bulk rows per parent) is
    vouched for once: a kind any event already vouches for is left alone, since a baseline taken
    later would vouch for whatever was changed behind the application's back since.

    Refused when no kind is left that holds records no event vouches for (a new install, or a
    baseline already taken). Returns how many events were written.
    """
    written = 0
    with transaction.atomic():
        AuditChainHead.objects.select_for_update().get_or_create(id=1)
        due_models = [
            model
            for model in regulated.regulated_models()
            if model._base_manager.exists() and not _kind_vouched_for(_key_prefixes(model))
        ]
        due_groups = [
            group
            for group in regulated.bulk_groups()
            if group.model._base_manager.exists() and not _kind_vouched_for((group.prefix,))
        ]
        if not due_models and not due_groups:
            raise InvalidInput(
                {
                    "baseline": [
                        "The audit trail already vouches for records: a baseline is taken only "
                        "once, at the upgrade that introduced it."
                    ]
                }
            )
        for model in due_models:
            written += _baseline_in_chunks(
                model,
                (
                    (regulated.row_key(model, pk), pk, digest)
                    for pk, digest in regulated.stream_digests(model, chunk_size)
                ),
                chunk_size,
            )
        for group in due_groups:
            written += _baseline_in_chunks(
                group.parent,
                (
                    (group.key(parent_pk), parent_pk, digest)
                    for parent_pk, digest, _ in regulated.stream_set_digests(group, chunk_size)
                ),
                chunk_size,
            )
    return written


def _key_prefixes(model: type[models.Model]) -> tuple[str, ...]:
    prefix = regulated.row_key(model, "")
    if model is Signature:
        return (prefix, regulated.SIGNATURE_KEY + '"')
    return (prefix,)


def _kind_vouched_for(prefixes: tuple[str, ...]) -> bool:
    """Does any event vouch for a key starting with one of these (one scan of the trail)?"""
    named = models.Q()
    for prefix in prefixes:
        named |= models.Q(row_digests__contains=f'"{prefix}')
    return AuditEvent.objects.filter(named).exists()


def _baseline_in_chunks(
    model: type[models.Model], keyed: Iterator[tuple[str, Any, str]], chunk_size: int
) -> int:
    """Baseline events for (key, pk of a `model` row, digest), `chunk_size` keys each; each
    event is about the first row of its chunk."""
    written = 0
    chunk: dict[str, str] = {}
    first_pk: Any = None
    for key, pk, digest in keyed:
        first_pk = pk if not chunk else first_pk
        chunk[key] = digest
        if len(chunk) == chunk_size:
            _baseline_event(model, first_pk, chunk)
            written, chunk = written + 1, {}
    if chunk:
        _baseline_event(model, first_pk, chunk)
        written += 1
    return written


def _baseline_event(model: type[models.Model], first_pk: Any, digests: dict[str, str]) -> None:
    _append_event(
        BASELINE_ACTION,
        model._base_manager.get(pk=first_pk),
        actor=None,
        before=None,
        after={"records": len(digests)},
        reason=BASELINE_REASON,
        subject_id="",
        occurred_at=None,
        now=timezone.now(),
        extra_digests=digests,
    )
