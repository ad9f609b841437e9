"""Chain of identity and custody as data: item kinds, label states, handoff steps, scan results,
alert kinds, shipper types. Items are tied to a journey by its COI identifier (this domain sits
below the journey in the layers and never imports it)."""

from __future__ import annotations

from django.db import models

from tilcare.core.workflow import TransitionTable


class ItemKind(models.TextChoices):
    TUMOR_SPECIMEN = "tumor_specimen", "Tumor specimen container"
    CULTURE = "culture", "Culture"
    PRODUCT_BAG = "product_bag", "Product bag"
    CASSETTE = "cassette", "Cassette"
    SHIPPER = "shipper", "Shipper"


# A journey's manufacture attempt (1, then 2 and more after a re-manufacture), one limit for its
# items, its slot bookings and its batches: a journey is re-manufactured at most a few times, so
# a number above 9 is a typing slip. (It is only printed on labels, never part of an identifier.)
MANUFACTURE_ATTEMPT_MIN = 1
MANUFACTURE_ATTEMPT_MAX = 9

# The short code in an item's identifier: <COI DIN>-<code><2-digit number>, e.g. W123426000123-BG01
ITEM_CODES: dict[str, str] = {
    ItemKind.TUMOR_SPECIMEN: "TS",
    ItemKind.CULTURE: "CU",
    ItemKind.PRODUCT_BAG: "BG",
    ItemKind.CASSETTE: "CS",
    ItemKind.SHIPPER: "SH",
}


class LabelStatus(models.TextChoices):
    PRINTED = "printed", "Printed"
    APPLIED = "applied", "Applied"
    VOIDED = "voided", "Voided"


class HandoffStep(models.TextChoices):
    """The handoffs the custody timeline records; some settle a journey stage."""

    SPECIMEN_COLLECTED = "specimen_collected", "Tumor specimen collected in the operating room"
    SPECIMEN_DISPATCHED = "specimen_dispatched", "Specimen handed to the courier"
    TISSUE_RECEIVED = "tissue_received", "Tissue received at the manufacturing facility"
    PRODUCT_DISPATCHED = "product_dispatched", "Product handed to the courier"
    PRODUCT_RECEIVED = "product_received", "Product received at the center"
    PRODUCT_TO_STORAGE = "product_to_storage", "Product placed in storage"
    PRODUCT_TO_BEDSIDE = "product_to_bedside", "Product taken to the bedside"
    # Recorded only by the infusion day's two-person check (the wristband and every bag).
    BEDSIDE_CHECK = "bedside_check", "Bedside identity check before infusion"
    HANDOFF = "handoff", "Other handoff"


class ScanResult(models.TextChoices):
    MATCH = "match", "Matches"
    WRONG_CHECK_CHARACTER = "wrong_check_character", "Wrong check character"
    UNKNOWN_ITEM = "unknown_item", "Not a known item"
    OTHER_JOURNEY = "other_journey", "Belongs to another patient's journey"
    WRONG_ITEM = "wrong_item", "Not the item this step expects"
    NOT_RELEASED = "not_released", "Product not released"
    EXPIRED = "expired", "Product expired"
    LABEL_VOIDED = "label_voided", "Label was voided"


class AlertKind(models.TextChoices):
    SCAN_MISMATCH = "scan_mismatch", "Scan did not match"
    TEMPERATURE_EXCURSION = "temperature_excursion", "Temperature excursion in transit"
    SHIPMENT_LATE = "shipment_late", "Shipment late"
    BEDSIDE_CHECK = "bedside_check", "Bedside identity check refused"
    INFUSION_BLOCKED = "infusion_blocked", "Infusion blocked"


class AlertSeverity(models.TextChoices):
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class ShipperType(models.TextChoices):
    LN2_DRY_SHIPPER = "ln2_dry_shipper", "Liquid-nitrogen dry shipper (vapor phase)"
    CONTROLLED_2_8 = "controlled_2_8", "Temperature-controlled box, 2–8 °C"
    CONTROLLED_15_25 = "controlled_15_25", "Temperature-controlled box, 15–25 °C"


class ShipmentStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    IN_TRANSIT = "in_transit", "In transit"
    RECEIVED = "received", "Received"


# A shipment's workflow as a table (DESIGN.md rule 5): dispatched by the sender, received by the
# receiver, and nothing after. Each move is logged in `ShipmentTransition` (append-only).
SHIPMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    ShipmentStatus.PLANNED: frozenset({ShipmentStatus.IN_TRANSIT}),
    ShipmentStatus.IN_TRANSIT: frozenset({ShipmentStatus.RECEIVED}),
    ShipmentStatus.RECEIVED: frozenset(),
}
_PLANNED, _IN_TRANSIT, _RECEIVED = ShipmentStatus
SHIPMENT_WORKFLOW = TransitionTable(
    "shipment",
    SHIPMENT_TRANSITIONS,
    {status: status.label for status in ShipmentStatus},
    # (from, to): what the sender or the receiver is told when the move is refused.
    refusals={
        (_IN_TRANSIT, _IN_TRANSIT): "This shipment is already in transit.",
        (_RECEIVED, _IN_TRANSIT): "This shipment is already received.",
        (_PLANNED, _RECEIVED): "This shipment has not been dispatched yet.",
        (_RECEIVED, _RECEIVED): "This shipment was already received.",
    },
)
