"""Reads of identity and custody records, always through `visible_to(user)`-style filters, and
which center issued a chain-of-identity (COI) identifier."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from django.db.models import Q, QuerySet

from tilcare.accounts.models import Organization
from tilcare.accounts.roles import Perm
from tilcare.audit.models import AuditEvent
from tilcare.audit.services import object_type_of
from tilcare.clinical.custody.temperature import (
    TemperatureLogAssessment,
    assess_temperature_log,
    whole_minutes_up,
)
from tilcare.clinical.units import Quantity, Unit
from tilcare.identity.choices import ShipmentStatus
from tilcare.identity.models import CustodyEvent, IdentityAlert, Item, Shipment, TemperatureReading


def _org_filter(user: Any) -> Q | None:
    if not (getattr(user, "is_authenticated", False) and getattr(user, "is_active", False)):
        return None
    if not hasattr(user, "has_perm_code") or not user.has_perm_code(Perm.VIEW_CUSTODY):
        return None
    org = getattr(user, "organization_id", None)
    if org is None:
        return None
    return Q(center_id=org) | Q(facility_id=org)


def items_visible_to(user: Any) -> QuerySet[Item]:
    condition = _org_filter(user)
    return Item.objects.filter(condition) if condition is not None else Item.objects.none()


def alerts_visible_to(user: Any) -> QuerySet[IdentityAlert]:
    condition = _org_filter(user)
    if condition is None:
        return IdentityAlert.objects.none()
    return IdentityAlert.objects.filter(condition)


def shipments_visible_to(user: Any) -> QuerySet[Shipment]:
    condition = _org_filter(user)
    if condition is None:
        return Shipment.objects.none()
    org = user.organization_id
    return Shipment.objects.filter(Q(origin_id=org) | Q(destination_id=org))


def custody_events_for(user: Any, coi_din: str) -> QuerySet[CustodyEvent]:
    """The custody timeline of one COI, if the user's organization is a party to its items."""
    visible = items_visible_to(user).filter(coi_din=coi_din)
    if not visible.exists():
        return CustodyEvent.objects.none()
    return CustodyEvent.objects.filter(coi_din=coi_din).select_related("item", "actor")


# --- who issued a COI identifier ---------------------------------------------------------------
#
# The journey issues COI identifiers (one per journey, from its center's sequence) and sits above
# this domain in the layers, so it registers its lookup here when the app starts
# (`JourneyConfig.ready`): given a DIN, the id of the center whose journey carries it, or None.

CoiIssuerLookup = Callable[[str], "int | None"]

_issuer_lookups: list[CoiIssuerLookup] = []


def on_coi_issuer_lookup(lookup: CoiIssuerLookup) -> CoiIssuerLookup:
    """Register `lookup(coi_din) -> center id | None`, once (registering twice is harmless)."""
    if lookup not in _issuer_lookups:
        _issuer_lookups.append(lookup)
    return lookup


def coi_issuer(coi_din: str) -> int | None:
    """The id of the center whose journey carries this COI identifier, or None if none does."""
    for lookup in _issuer_lookups:
        center_id = lookup(coi_din)
        if center_id is not None:
            return center_id
    return None


def coi_issued_by(coi_din: str, center: Organization) -> bool:
    """Did `center` issue this COI identifier?

    Yes when one of its journeys carries it. A COI no journey carries yet is the center's only if
    it is numbered under the center's own facility identification number (FIN): a center without a
    FIN has issued no identifier, so it can claim none but its own journeys'. Every door that takes
    a COI from a center's user (items, labels, slot bookings) asks this, always.
    """
    issuer = coi_issuer(coi_din)
    if issuer is not None:
        return issuer == center.pk
    fin = (center.isbt_fin or "").upper()
    return bool(fin) and coi_din[:5] == fin


def items_created_at(items: list[Item]) -> dict[int, dt.datetime]:
    """When each item was made, as its creation's audit event says (it may have been entered later
    than that, so the row's `created_at`, when it was written, is not it), in one query. An item
    registered without that event (not through `create_item`) is absent."""
    if not items:
        return {}
    by_public_id = {str(item.public_id): item.pk for item in items}
    events = (
        AuditEvent.objects.filter(
            object_type=object_type_of(items[0]),
            object_id__in=list(by_public_id),
            action="identity.item.create",
        )
        .order_by("seq")
        .values_list("object_id", "occurred_at")
    )
    made: dict[int, dt.datetime] = {}
    for public_id, occurred_at in events:
        made.setdefault(by_public_id[public_id], occurred_at)
    return made


def item_created_at(item: Item) -> dt.datetime | None:
    """When one item was made (`items_created_at`)."""
    return items_created_at([item]).get(item.pk)


# ---------- Shipments' state for pages elsewhere: late shipments, flags per COI, the log ----------
#
# Reads about shipments' state for pages elsewhere: late shipments, flags per COI, the log.
#
# - A shipment is **late** when it is in transit and `now` is past its expected arrival
#   (`expected_at` = dispatched_at + expected hold hours, set at dispatch).
# - It shows an **excursion** when it was received with a reading outside its range.
# - Its **log is missing** when it was received with no temperature reading at all
#   (`minutes_outside_range` stays empty then).
#
# `shipment_flags_by_coi()` gives each COI identifier its flags in one query, for a board that
# already knows which journeys the user may see; pass `user=` as well to count only shipments the
# user's organization is a party to.

LATE = "late"
EXCURSION = "excursion"
LOG_MISSING = "log_missing"
FLAG_ORDER = (LATE, EXCURSION, LOG_MISSING)
FLAG_LABELS = {
    LATE: "Shipment late",
    EXCURSION: "Temperature excursion",
    LOG_MISSING: "Temperature log missing",
}


def _late(now: dt.datetime) -> Q:
    return Q(status=ShipmentStatus.IN_TRANSIT, expected_at__lt=now)


def _excursion() -> Q:
    return Q(status=ShipmentStatus.RECEIVED, excursion=True)


def _log_missing() -> Q:
    return Q(status=ShipmentStatus.RECEIVED, minutes_outside_range__isnull=True)


def is_late(shipment: Shipment, now: dt.datetime) -> bool:
    return (
        shipment.status == ShipmentStatus.IN_TRANSIT
        and shipment.expected_at is not None
        and shipment.expected_at < now
    )


def flags_of(shipment: Shipment, now: dt.datetime) -> list[str]:
    """The flags of one shipment, in FLAG_ORDER."""
    flags: list[str] = []
    if is_late(shipment, now):
        flags.append(LATE)
    if shipment.status == ShipmentStatus.RECEIVED:
        if shipment.excursion:
            flags.append(EXCURSION)
        if shipment.minutes_outside_range is None:
            flags.append(LOG_MISSING)
    return flags


def late_shipments(user: Any, now: dt.datetime) -> QuerySet[Shipment]:
    """Shipments the user may see that are in transit past their expected arrival, most
    overdue first."""
    return (
        shipments_visible_to(user)
        .filter(_late(now))
        .select_related("shipper", "origin", "destination")
        .order_by("expected_at", "id")
    )


def shipment_flags_by_coi(
    coi_dins: Iterable[str], now: dt.datetime, *, user: Any | None = None
) -> dict[str, list[str]]:
    """{coi_din: ["late", "excursion", "log_missing"]} for the COIs that have any flag.

    COIs without a flagged shipment are left out. With `user`, only shipments the user's
    organization is a party to are counted.
    """
    dins = {d for d in coi_dins if d}
    if not dins:
        return {}
    base = shipments_visible_to(user) if user is not None else Shipment.objects.all()
    rows = (
        base.filter(coi_din__in=dins)
        .filter(_late(now) | _excursion() | _log_missing())
        .values_list("coi_din", "status", "expected_at", "excursion", "minutes_outside_range")
    )
    found: dict[str, set[str]] = {}
    for coi_din, status, expected_at, excursion, minutes in rows:
        flags = found.setdefault(coi_din, set())
        if status == ShipmentStatus.IN_TRANSIT and expected_at is not None and expected_at < now:
            flags.add(LATE)
        if status == ShipmentStatus.RECEIVED:
            if excursion:
                flags.add(EXCURSION)
            if minutes is None:
                flags.add(LOG_MISSING)
    return {
        din: [flag for flag in FLAG_ORDER if flag in flags] for din, flags in found.items() if flags
    }


def assess_readings(
    shipment: Shipment, *, max_logging_interval: dt.timedelta | None
) -> TemperatureLogAssessment | None:
    """The shipment's whole log against its range; None when it has no reading."""
    rows = TemperatureReading.objects.filter(shipment=shipment).values_list(
        "recorded_at", "temperature_c"
    )
    readings = [(at, Quantity.of(value, Unit.celsius)) for at, value in rows]
    if not readings:
        return None
    return assess_temperature_log(
        readings,
        range_min=Quantity.of(shipment.range_min_c, Unit.celsius),
        range_max=Quantity.of(shipment.range_max_c, Unit.celsius),
        max_logging_interval=max_logging_interval,
    )


def assessment_record(result: TemperatureLogAssessment | None) -> dict[str, Any]:
    """The assessment as the receipt's audit event stores it (the figures and how they were
    counted)."""
    if result is None:
        return {"readings": 0, "log_missing": True}
    longest = result.longest_excursion
    return {
        "readings": len(result.readings),
        "range_c": [result.range_min.magnitude, result.range_max.magnitude],
        "readings_outside": len(result.readings_outside),
        "minutes_outside": result.minutes_outside,
        "longest_excursion_minutes": whole_minutes_up(longest.duration) if longest else 0,
        "lowest_c": result.minimum.temperature.magnitude,
        "highest_c": result.maximum.temperature.magnitude,
        "gaps": [[g.after, g.before] for g in result.gaps],
        "gaps_assessed": result.gaps_assessed,
        "rule": result.rule,
        "source": result.source,
    }


def utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def alert_message(shipment: Shipment, result: TemperatureLogAssessment | None) -> str | None:
    """What QA is told on receipt: a missing log, an excursion, or gaps; None when clean."""
    name = f"Shipment in shipper {shipment.shipper.item_id}"
    band = f"{shipment.range_min_c}–{shipment.range_max_c} °C"
    if result is None:
        return (
            f"Temperature log missing: {name} was received with no temperature reading, so "
            f"nothing shows it stayed within {band}. QA must assess the items before use."
        )
    if result.is_excursion:
        extreme = max(
            (e.extreme for e in result.excursions),
            key=lambda r: max(
                r.temperature.magnitude - shipment.range_max_c,
                shipment.range_min_c - r.temperature.magnitude,
            ),
        )
        return (
            f"Temperature excursion: {name} was outside {band} for {result.minutes_outside} min "
            f"({len(result.readings_outside)} reading(s) outside; furthest "
            f"{extreme.temperature.magnitude} °C at {utc(extreme.recorded_at)}). "
            "Quarantine the items; QA must assess them before use."
        )
    if result.gaps:
        longest = max(result.gaps, key=lambda g: g.duration)
        return (
            f"Temperature log gaps: {name} has {len(result.gaps)} gap(s) longer than the logging "
            f"interval (longest {whole_minutes_up(longest.duration)} min from "
            f"{utc(longest.after)}). QA must assess the items before use."
        )
    return None
