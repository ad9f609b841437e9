"""Reads about shipments' state for pages elsewhere: late shipments, flags per COI, the log.

- A shipment is **late** when it is in transit and `now` is past its expected arrival
  (`expected_at` = dispatched_at + expected hold hours, set at dispatch).
- It shows an **excursion** when it was received with a reading outside its range.
- Its **log is missing** when it was received with no temperature reading at all
  (`minutes_outside_range` stays empty then).

`shipment_flags_by_coi()` gives each COI identifier its flags in one query, for a board that
already knows which journeys the user may see; pass `user=` as well to count only shipments the
user's organization is a party to.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db.models import Q, QuerySet

from tilcare.clinical.custody.temperature import (
    TemperatureLogAssessment,
    assess_temperature_log,
    whole_minutes_up,
)
from tilcare.clinical.units import Quantity, Unit
from tilcare.identity.choices import ShipmentStatus
from tilcare.identity.models import Shipment, TemperatureReading
from tilcare.identity.selectors import shipments_visible_to

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
