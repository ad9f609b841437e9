"""How an audit event and a signed record are reduced to a SHA-256 hash.

The canonical form is JSON with sorted keys and no spaces, so the same content always gives the
same hash whether it was read back from SQLite or PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import uuid
from collections.abc import Mapping
from typing import Any

from django.db import models

# Fields whose value says nothing about the record's content (or is a secret).
_NOT_SNAPSHOTTED = frozenset({"password", "created_at", "updated_at", "last_login"})


def to_jsonable(value: Any) -> Any:
    """Reduce a field value to JSON that reads back the same on every database."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, float):
        # Floats are not used for clinical values; stored as text so JSON cannot change them.
        return repr(value)
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    return str(value)


def snapshot(obj: models.Model, fields: tuple[str, ...] | None = None) -> dict[str, Any]:
    """The record's content as a JSON-ready dict: its own columns, foreign keys by public id."""
    data: dict[str, Any] = {}
    for field in obj._meta.concrete_fields:
        if field.name in _NOT_SNAPSHOTTED or field.name == "id":
            continue
        if fields is not None and field.name not in fields:
            continue
        if isinstance(field, models.ForeignKey):
            related = getattr(obj, field.name)
            value = getattr(related, "public_id", None) if related is not None else None
            data[field.name] = to_jsonable(
                value if value is not None else getattr(obj, field.attname)
            )
        else:
            data[field.name] = to_jsonable(getattr(obj, field.attname))
    return data


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(content: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(content).encode()).hexdigest()


# The order of an event's fields in its hash. Changing it breaks every existing chain.
EVENT_HASH_FIELDS = (
    "seq",
    "occurred_at",
    "recorded_at",
    "actor_id",
    "actor_label",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "subject_id",
    "before_json",
    "after_json",
    "reason",
    "row_digests",
    "prev_hash",
)


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat()


def event_hash_of_row(row: tuple[Any, ...]) -> str:
    """The link, from the event's values in EVENT_HASH_FIELDS order (the fast path for verify).

    Both times are covered. `recorded_at` enters the hashed content only when it differs from
    `occurred_at`: an event recorded as it happened hashes exactly as every event did before
    the two times were kept apart, so the links written then still verify, and changing either
    time of any event changes its hash.

    The digests of the rows the event vouches for (`row_digests`) enter it the same way: only
    when there are any, so the events written before rows were vouched for keep their links.
    """
    seq, occurred_at, recorded_at, *rest, row_digests, prev_hash = row
    times = [_utc(occurred_at)]
    if recorded_at != occurred_at:
        times.append(_utc(recorded_at))
    digests = [row_digests] if row_digests else []
    payload = [seq, *times, *rest, *digests, prev_hash]
    return hashlib.sha256(
        json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    ).hexdigest()


def event_hash(**fields: Any) -> str:
    """The link: every stored field of the event plus the previous event's hash."""
    fields = {"row_digests": "", **fields}
    return event_hash_of_row(tuple(fields[name] for name in EVENT_HASH_FIELDS))
