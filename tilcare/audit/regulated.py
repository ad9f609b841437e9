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

Rows written in bulk (`bulk_create`: a shipment's temperature log, a plate reader's readings)
never reach `post_save`, and are only ever added to: they are vouched for as a SET per parent
(`BULK_ROWS`: "the rows of model M grouped by field F"). Every event about the parent carries
one digest over all of its rows in a fixed order, under the key "<model>@<field>:<parent pk>".
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.apps import apps
from django.db import connections, models, transaction
from django.db.models.signals import post_save

from tilcare.audit.hashing import canonical_json, to_jsonable

# Every model whose rows the trail vouches for, by Django label. Rows written in bulk are in
# BULK_ROWS instead.
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
    "treatment.ProtocolActivation",
    "treatment.Order",
    "treatment.OrderDose",
    "treatment.Administration",
    "treatment.Infusion",
    "treatment.Premedication",
    "treatment.BagThaw",
    "treatment.BedsideScan",
    "treatment.Il2Decision",
    # Each vital sign, weight, fluid total and laboratory value, and each grade it set on arrival
    # (a correction is a new observation superseding the old, never an edit).
    "monitoring.Observation",
    "monitoring.Grade",
    "monitoring.CourseBaseline",
    "journey.Journey",
    "journey.JourneyTransition",
    "journey.Milestone",
    "journey.EligibilityChecklist",
    # Work for each role: created at a stage change, moved with the plan, completed, cancelled
    # when the journey closes, each inside the service that records the event.
    "journey.Task",
    # Who may do what: an organization (its FIN issues COI numbers) and each person's role,
    # organization and standing. Both are written only by accounts services (`tilcare addorg`,
    # `tilcare adduser`, the center settings page), each recording an event about the row.
    "accounts.Organization",
    "accounts.User",
)

# Rows written in bulk, vouched for as one set per parent: (model label, field naming the parent).
# Every event about the parent vouches for the whole set as it stands (services._row_digests).
BULK_ROWS: tuple[tuple[str, str], ...] = (
    ("identity.TemperatureReading", "shipment"),
    ("manufacturing.ReactivityReading", "source"),
)

# Models whose digest covers only the columns named here (any other model: all its columns but
# those in _LEFT_OUT). A person's account also keeps when they last signed in (`last_login`,
# written by Django at each sign-in without an event; it grants nothing) and the hash of their
# password (salted and re-hashed by Django on its own when the hasher's work factor rises, so
# it changes without anyone acting; sign-ins and signatures are checked against it, and
# each signature is itself in the trail): neither is in the digest.
DIGESTED_COLUMNS: dict[str, tuple[str, ...]] = {
    "accounts.User": (
        "username",
        "public_id",
        "role",
        "organization",
        "is_active",
        "is_staff",
        "is_superuser",
        "first_name",
        "last_name",
        "credentials",
    ),
}

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
    label = model._meta.label
    if label in DIGESTED_COLUMNS:
        named = [model._meta.get_field(name) for name in DIGESTED_COLUMNS[label]]
        return tuple(sorted(named, key=lambda f: f.attname))  # type: ignore[arg-type,union-attr]
    left_out = _SIGNATURE_LEFT_OUT if label == "audit.Signature" else _LEFT_OUT
    fields = [f for f in model._meta.concrete_fields if f.name not in left_out]
    return tuple(sorted(fields, key=lambda f: f.attname))


def row_key(model: type[models.Model], pk: Any) -> str:
    return f"{model._meta.label_lower}:{pk}"


def describe_row(key: str) -> str:
    """ "Patient 12" for "patients.patient:12" (the message names the row as the database does);
    "Temperature readings of shipment 7" for the set "identity.temperaturereading@shipment:7"."""
    label, _, pk = key.partition(":")
    if "@" in label:
        group = bulk_group_of(key)
        plural = str(group.model._meta.verbose_name_plural)
        parent = str(group.parent._meta.verbose_name)
        return f"{plural[:1].upper()}{plural[1:]} of {parent} {pk}"
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


# ---------- rows written in bulk, vouched for as one set per parent ----------


@dataclass(frozen=True)
class BulkGroup:
    """The rows of `model` that point at one `parent` row through `field`."""

    model: type[models.Model]
    field: str
    attname: str
    parent: type[models.Model]

    @property
    def prefix(self) -> str:
        return f"{self.model._meta.label_lower}@{self.field}:"

    def key(self, parent_pk: Any) -> str:
        return f"{self.prefix}{parent_pk}"


@cache
def bulk_groups() -> tuple[BulkGroup, ...]:
    groups = []
    for label, name in BULK_ROWS:
        model = apps.get_model(label)
        field = model._meta.get_field(name)
        related: Any = field.related_model
        parent = related._meta.concrete_model or related
        groups.append(BulkGroup(model, name, field.attname, parent))  # type: ignore[union-attr]
    return tuple(groups)


def bulk_group_of(key: str) -> BulkGroup:
    return next(group for group in bulk_groups() if key.startswith(group.prefix))


def groups_under(model: type[models.Model]) -> tuple[BulkGroup, ...]:
    """The bulk sets whose parent is a row of `model`."""
    concrete = model._meta.concrete_model or model
    return tuple(group for group in bulk_groups() if group.parent is concrete)


def _sets(group: BulkGroup, rows: Iterable[tuple[Any, ...]]) -> Iterator[tuple[Any, str, int]]:
    """(parent pk, set digest, row count) from rows (parent pk, *digest columns) ordered by
    parent then primary key: the set's digest chains its key and each row's digest in order."""
    parent_pk: Any = None
    running: Any = None
    count = 0
    for row in rows:
        if running is None or row[0] != parent_pk:
            if running is not None:
                yield parent_pk, running.hexdigest(), count
            parent_pk, count = row[0], 0
            running = hashlib.sha256(group.key(parent_pk).encode())
        running.update(digest_of_values(group.model, row[1:]).encode())
        count += 1
    if running is not None:
        yield parent_pk, running.hexdigest(), count


def _set_rows(group: BulkGroup) -> Any:
    names = [f.attname for f in digest_fields(group.model)]
    rows = group.model._base_manager.order_by(group.attname, "pk")
    return rows.values_list(group.attname, *names)


def current_set_digests(group: BulkGroup, parent_pks: Iterable[Any]) -> dict[Any, str]:
    """The set digest of each parent's rows as the database holds them now, in one query (a
    parent without rows is absent)."""
    rows = _set_rows(group).filter(**{f"{group.attname}__in": list(parent_pks)})
    return {parent_pk: digest for parent_pk, digest, _ in _sets(group, rows)}


def stream_set_digests(group: BulkGroup, chunk_size: int = 5000) -> Iterator[tuple[Any, str, int]]:
    """Every parent's set digest and how many rows it holds, read in chunks."""
    return _sets(group, _set_rows(group).iterator(chunk_size=chunk_size))


def current_digest_of(key: str) -> str | None:
    """The digest the database holds now for a row key or a set key (None: nothing there)."""
    label, _, pk_text = key.partition(":")
    if "@" in label:
        group = bulk_group_of(key)
        parent_pk = group.parent._meta.pk.to_python(pk_text)  # type: ignore[union-attr]
        return current_set_digests(group, [parent_pk]).get(parent_pk)
    model = apps.get_model(label)
    pk = model._meta.pk.to_python(pk_text)  # type: ignore[union-attr]
    return current_digests(model, [pk]).get(pk)


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
