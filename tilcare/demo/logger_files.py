"""The data logger's file of each product shipper still in transit, for the demo's walkthrough.

When the pharmacist receives the product (README, "Follow a product through the chain of
identity"), they upload the shipper's logger file before the receipt. The demo writes that file
into its data folder, in the one format the shipment page reads (`recorded_at,temperature_c`).

A liquid-nitrogen dry shipper keeps the product in the vapour phase: its logger reads about
−190 °C when freshly charged and warms slowly as the nitrogen boils off, far inside the product's
−196 to −150 °C range. The logger is started when the shipper is charged and packed, before the
dispatch, and the file ends when the demo was built: no reading lies in the future.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from tilcare.identity.choices import ShipmentStatus, ShipperType
from tilcare.identity.models import Shipment
from tilcare.identity.temperature_csv import HEADER_TEXT

LOGGER_STARTED_BEFORE_DISPATCH = dt.timedelta(hours=3)
READING_EVERY = dt.timedelta(minutes=15)
CHARGED_C = Decimal("-189.6")
# Warming of a charged dry shipper as the nitrogen boils off, and the logger's small wobble.
WARMING_C_PER_HOUR = Decimal("0.1")
WOBBLE_C = (Decimal("0.0"), Decimal("0.2"), Decimal("0.3"), Decimal("0.1"), Decimal("-0.2"))


def vapour_phase_readings(
    start: dt.datetime, until: dt.datetime
) -> list[tuple[dt.datetime, Decimal]]:
    """Readings every 15 minutes from `start` to `until` (both aware), one decimal, in °C."""
    readings = []
    moment, n = start, 0
    while moment <= until:
        hours = Decimal((moment - start).total_seconds()) / 3600
        value = CHARGED_C + WARMING_C_PER_HOUR * hours + WOBBLE_C[n % len(WOBBLE_C)]
        readings.append((moment, value.quantize(Decimal("0.1"))))
        moment += READING_EVERY
        n += 1
    return readings


def logger_csv(readings: list[tuple[dt.datetime, Decimal]]) -> str:
    lines = [HEADER_TEXT]
    lines += [f"{moment.astimezone(dt.UTC).isoformat()},{value}" for moment, value in readings]
    return "\n".join(lines) + "\n"


def write_product_logger_files(folder: Path, now: dt.datetime) -> list[Path]:
    """Write `logger-<COI>.csv` for each product shipper in transit; return the files' paths."""
    written = []
    shippers = Shipment.objects.filter(
        status=ShipmentStatus.IN_TRANSIT, shipper_type=ShipperType.LN2_DRY_SHIPPER
    ).order_by("coi_din")
    for shipment in shippers:
        assert shipment.dispatched_at is not None
        start = shipment.dispatched_at - LOGGER_STARTED_BEFORE_DISPATCH
        path = folder / f"logger-{shipment.coi_din}.csv"
        path.write_text(logger_csv(vapour_phase_readings(start, now)), encoding="utf-8")
        written.append(path)
    return written
