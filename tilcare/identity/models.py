"""Physical items, their labels, every handoff of them, shipments and identity alerts.

Items belong to a journey through its chain-of-identity (COI) identifier, stored here as text:
this domain sits below the journey in the layers, and a facility's records need the COI only.
Custody events and temperature readings are append-only: a wrong scan is recorded, never erased.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from tilcare.accounts.models import Organization
from tilcare.core.models import CoiMixin, TimeStampedModel
from tilcare.identity.choices import (
    AlertKind,
    AlertSeverity,
    HandoffStep,
    ItemKind,
    LabelStatus,
    ScanResult,
    ShipmentStatus,
    ShipperType,
)


class Item(CoiMixin, TimeStampedModel):
    """One physical thing that carries a label: a specimen container, culture, bag, cassette or
    shipper. `item_id` is printed on its label: the COI identifier, a kind code and a number."""

    coi_din = models.CharField("COI identifier", max_length=13, db_index=True)
    coi_check = models.CharField("COI check character", max_length=1)
    manufacture_attempt = models.PositiveSmallIntegerField(default=1)
    kind = models.CharField(max_length=20, choices=ItemKind.choices)
    number = models.PositiveSmallIntegerField()
    item_id = models.CharField(max_length=24, unique=True)
    center = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    facility = models.ForeignKey(
        Organization, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    description = models.CharField(max_length=200)
    # For product bags: set by the facility's QA release; checked at every later scan.
    released_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    storage_temperature = models.CharField(max_length=80, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["coi_din", "kind", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["coi_din", "kind", "number"], name="identity_item_number_unique"
            )
        ]

    def __str__(self) -> str:
        return self.item_id


class Label(TimeStampedModel):
    """One printed label for an item, reconciled: printed, then applied or voided (FACT-JACIE)."""

    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="labels")
    copy_number = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=10, choices=LabelStatus.choices)
    printed_at = models.DateTimeField()
    printed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    applied_at = models.DateTimeField(null=True, blank=True)
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    voided_at = models.DateTimeField(null=True, blank=True)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    void_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["item", "copy_number"]
        constraints = [
            models.UniqueConstraint(fields=["item", "copy_number"], name="identity_label_copy")
        ]

    def __str__(self) -> str:
        return f"{self.item.item_id} label {self.copy_number} ({self.status})"


class CustodyEvent(TimeStampedModel):
    """One handoff or check of an item, with the scan that was made and what it showed.

    A scan that does not match is kept with its result: the step it would have completed did not
    happen, and an alert was raised.
    """

    coi_din = models.CharField("COI identifier", max_length=13, db_index=True)
    item = models.ForeignKey(
        Item, on_delete=models.PROTECT, null=True, blank=True, related_name="custody_events"
    )
    step = models.CharField(max_length=30, choices=HandoffStep.choices)
    from_party = models.CharField(max_length=200, blank=True)
    to_party = models.CharField(max_length=200, blank=True)
    location = models.CharField(max_length=200, blank=True)
    occurred_at = models.DateTimeField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    scanned_text = models.CharField(max_length=80)
    expected_item_id = models.CharField(max_length=24, blank=True)
    result = models.CharField(max_length=30, choices=ScanResult.choices)
    message = models.CharField(max_length=300)
    # Why a scan dated earlier than it was entered was entered late (empty: entered as made).
    late_entry_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["occurred_at", "id"]

    def __str__(self) -> str:
        return f"{self.coi_din} {self.step} {self.result}"

    @property
    def accepted(self) -> bool:
        return self.result == ScanResult.MATCH


class IdentityAlert(TimeStampedModel):
    """A mix-up or transit problem that someone must look at; open until acknowledged."""

    coi_din = models.CharField("COI identifier", max_length=13, db_index=True)
    kind = models.CharField(max_length=30, choices=AlertKind.choices)
    severity = models.CharField(max_length=10, choices=AlertSeverity.choices)
    message = models.CharField(max_length=400)
    center = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    facility = models.ForeignKey(
        Organization, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    custody_event = models.ForeignKey(
        CustodyEvent, on_delete=models.PROTECT, null=True, blank=True, related_name="alerts"
    )
    shipment = models.ForeignKey(
        "Shipment", on_delete=models.PROTECT, null=True, blank=True, related_name="alerts"
    )
    raised_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    acknowledgement_note = models.CharField(max_length=400, blank=True)

    class Meta:
        ordering = ["-raised_at"]

    def __str__(self) -> str:
        return f"{self.coi_din}: {self.get_kind_display()}"


class Shipment(TimeStampedModel):
    """A shipper carrying items between organizations, with the range it must stay within."""

    coi_din = models.CharField("COI identifier", max_length=13, db_index=True)
    shipper = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="shipments")
    items = models.ManyToManyField(Item, related_name="carried_in", blank=True)
    origin = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    destination = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    shipper_type = models.CharField(max_length=30, choices=ShipperType.choices)
    expected_hold_hours = models.DecimalField(max_digits=6, decimal_places=1)
    range_min_c = models.DecimalField(max_digits=5, decimal_places=1)
    range_max_c = models.DecimalField(max_digits=5, decimal_places=1)
    status = models.CharField(max_length=20, choices=ShipmentStatus.choices)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    expected_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    minutes_outside_range = models.PositiveIntegerField(null=True, blank=True)
    excursion = models.BooleanField(default=False)
    # The logger's own interval, given at receipt: a longer gap between readings is a gap in the
    # log (unknown time, counted as outside the range). Null when the receiver did not give it.
    max_logging_interval_minutes = models.PositiveSmallIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Shipment {self.shipper.item_id} ({self.status})"


class ShipmentTransition(models.Model):
    """One status change of a shipment (dispatch, receipt): who, when it happened, when it was
    recorded. Never changed (append-only, like the journey's transition log)."""

    shipment = models.ForeignKey(Shipment, on_delete=models.PROTECT, related_name="transitions")
    from_status = models.CharField(max_length=20, choices=ShipmentStatus.choices)
    to_status = models.CharField(max_length=20, choices=ShipmentStatus.choices)
    occurred_at = models.DateTimeField()
    recorded_at = models.DateTimeField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["occurred_at", "id"]

    def __str__(self) -> str:
        return f"{self.shipment_id}: {self.from_status} → {self.to_status}"


class TemperatureReading(models.Model):
    """One logged temperature of a shipment, from a CSV upload or the API; never changed."""

    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="readings")
    recorded_at = models.DateTimeField()
    temperature_c = models.DecimalField(max_digits=5, decimal_places=1)
    source = models.CharField(max_length=80)

    class Meta:
        ordering = ["recorded_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["shipment", "recorded_at"], name="identity_reading_unique_time"
            )
        ]

    def __str__(self) -> str:
        return f"{self.recorded_at:%Y-%m-%d %H:%M} {self.temperature_c} °C"
