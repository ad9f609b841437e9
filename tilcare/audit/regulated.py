"""The regulated records the audit trail vouches for, and each row's digest.

A regulated row is one a regulator would ask about: the patient, the journey and its stage
changes, eligibility, milestones, every physical item, label, handoff and shipment, the batch
record and its QA disposition, and every signature. Each audit event about such rows carries
the SHA-256 digest of each row as it stood after the write (`AuditEvent.row_digests`, covered by
the event's hash), so `tilcare audit verify` can tell a row changed or removed behind the
application's back from one changed through it.

The models are named by their Django labels and resolved through `django.apps`, so the audit
trail imports no other domain. Rows are watched with `post_save`: a row saved inside a
transaction is vouched for by the next audit event of that transaction (a journey's stage change
records one event about the journey that also covers the new transition row). This is the
trail's own bookkeeping, not business logic. Rows written without `save()` (a `QuerySet.update`,
raw SQL) are not watched: that is exactly what verification exists to notice.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
from collections.abc import Iterable, Iterator, Mapping
from functools import cache
from typing import Any

from django.apps import apps
from django.db import connections, models, transaction
from django.db.models.signals import post_save

from tilcare.audit.hashing import canonical_json, to_jsonable

# Every model whose rows the trail vouches for, by Django label. Rows written in bulk
# (`bulk_create`: a shipment's temperature readings, a plate reader's readings) are not listed:
# their event records what was added, and the append-only triggers keep them.
REGULATED_MODELS: tuple[str, ...] = (
    "audit.Signature",
    "patients.Patient",
    "patients.Contact",
    "patients.PriorTherapy",
    "patients.Consent",
    "patients.BodyMeasurement",
    "identity.Item",
    "identity.Label",
    "identity.CustodyEvent",
    "identity.IdentityAlert",
    "identity.Shipment",
    "identity.ShipmentTransition",
    "manufacturing.ManufacturingSlot",
    "manufacturing.SlotBooking",
    "manufacturing.Batch",
    "manufacturing.BatchTransition",
    "manufacturing.TissueReceipt",
    "manufacturing.Culture",
    "manufacturing.ReactivityImport",
    "manufacturing.CultureSelection",
    "manufacturing.RepCount",
    "manufacturing.ProductBag",
    "manufacturing.ReleaseSpecification",
    "manufacturing.ReleaseTest",
    "manufacturing.QaDisposition",
    "manufacturing.FacilityThresholds",
    "journey.Journey",
    "journey.JourneyTransition",
    "journey.Milestone",
    "journey.EligibilityChecklist",
)

# A signature is written just after the event that records it (the row points at its event), so
# its digest is stored in that event under this key instead of under its own primary key.
SIGNATURE_KEY = "audit.signature"

# Columns left out of a row's digest: the key names the row, and `updated_at` moves on every save
# without saying anything about the content. A signature's link to its event is the key itself.
_LEFT_OUT = frozenset({"id", "updated_at"})
_SIGNATURE_LEFT_OUT = _LEFT_OUT | {"audit_event"}


@cache
def regulated_models() -> tuple[type[models.Model], ...]:
    return tuple(apps.get_model(label) for label in REGULATED_MODELS)


def is_regulated(model: type[models.Model]) -> bool:
    concrete = model._meta.concrete_model
    return concrete is not None and concrete in regulated_models()


def digest_fields(model: type[models.Model]) -> tuple[models.Field[Any, Any], ...]:
    """The columns a row's digest covers, in a fixed order (by column name)."""
    left_out = _SIGNATURE_LEFT_OUT if model._meta.label == "audit.Signature" else _LEFT_OUT
    fields = [f for f in model._meta.concrete_fields if f.name not in left_out]
    return tuple(sorted(fields, key=lambda f: f.attname))


def row_key(model: type[models.Model], pk: Any) -> str:
    return f"{model._meta.label_lower}:{pk}"


def describe_row(key: str) -> str:
    """ "Patient 12" for "patients.patient:12" (the message names the row as the database does)."""
    label, _, pk = key.partition(":")
    try:
        name = str(apps.get_model(label)._meta.verbose_name)
    except LookupError:
        name = label
    return f"{name[:1].upper()}{name[1:]} {pk}".strip()


def _column_text(field: models.Field[Any, Any], value: Any) -> Any:
    """A column's value as text that reads the same from SQLite and PostgreSQL."""
    if value is None:
        return None
    if isinstance(field, models.DecimalField) and isinstance(value, decimal.Decimal):
        places = field.decimal_places or 0
        return format(value.quantize(decimal.Decimal(1).scaleb(-places)), "f")
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat() if value.tzinfo else value.isoformat()
    return to_jsonable(value)


def digest_of_values(model: type[models.Model], values: Iterable[Any]) -> str:
    """The row's digest from its column values, given in `digest_fields(model)` order."""
    fields = digest_fields(model)
    content = {f.attname: _column_text(f, v) for f, v in zip(fields, values, strict=True)}
    payload = canonical_json([model._meta.label_lower, content])
    return hashlib.sha256(payload.encode()).hexdigest()


def digest_of_mapping(model: type[models.Model], values: Mapping[str, Any]) -> str:
    """The digest of a row not yet written, from its column values by attribute name."""
    return digest_of_values(model, (values[f.attname] for f in digest_fields(model)))


def current_digests(model: type[models.Model], pks: Iterable[Any]) -> dict[Any, str]:
    """The digests of these rows as the database holds them now (a row not found is absent)."""
    names = [f.attname for f in digest_fields(model)]
    rows = model._base_manager.filter(pk__in=list(pks)).values_list("pk", *names)
    return {row[0]: digest_of_values(model, row[1:]) for row in rows}


def stream_digests(
    model: type[models.Model], chunk_size: int = 5000, also: tuple[str, ...] = ()
) -> Iterator[tuple[Any, ...]]:
    """Every row's primary key and digest (then the `also` columns), read in chunks."""
    names = [f.attname for f in digest_fields(model)]
    rows = model._base_manager.order_by("pk").values_list("pk", *names, *also)
    extra = len(also)
    for row in rows.iterator(chunk_size=chunk_size):
        values = row[1 : len(row) - extra]
        yield (row[0], digest_of_values(model, values), *row[len(row) - extra :])


# ---------- rows written in the current transaction, not yet covered by an event ----------

_PENDING = "_tilcare_audit_pending"


def pending_rows(using: str) -> dict[str, tuple[type[models.Model], Any]]:
    connection = connections[using]
    pending = getattr(connection, _PENDING, None)
    if pending is None:
        pending = {}
        setattr(connection, _PENDING, pending)
    return pending


def _row_saved(sender: type[models.Model], instance: models.Model, using: str, **_: Any) -> None:
    # Only a write inside a transaction can be covered by an event of the same transaction.
    if not connections[using].in_atomic_block or instance.pk is None:
        return
    model = sender._meta.concrete_model or sender
    pending = pending_rows(using)
    pending[row_key(model, instance.pk)] = (model, instance.pk)
    # A row still pending when its transaction commits was written after the transaction's last
    # event: no event vouches for it, and verification will say so. It must not be vouched for
    # by an unrelated event of a later transaction.
    transaction.on_commit(pending.clear, using=using)


def watch_regulated_rows() -> None:
    """Connect the bookkeeping of saved rows (called once at start-up)."""
    for model in regulated_models():
        if model._meta.label == "audit.Signature":
            continue  # its digest goes into its own event (sign_record)
        post_save.connect(_row_saved, sender=model, dispatch_uid=f"audit-row-{model._meta.label}")
