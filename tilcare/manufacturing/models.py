"""Manufacturing capacity: the facility's slots and the centers' bookings in them.

A booking belongs to a journey through its chain-of-identity (COI) identifier, stored here as
text: this domain sits below the journey in the layers, and a facility needs the COI only. No
field here holds patient identity.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from tilcare.accounts.choices import OrganizationKind
from tilcare.accounts.models import Organization
from tilcare.core.models import TimeStampedModel
from tilcare.manufacturing.choices import (
    ATTEMPT_MAX,
    ATTEMPT_MIN,
    CANCEL_REASON_MAX,
    CAPACITY_MAX,
    CAPACITY_MIN,
    NOTE_MAX,
)


class ManufacturingSlot(TimeStampedModel):
    """One day on which a facility can start manufacturing (tissue expected), with its places."""

    facility = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="manufacturing_slots",
        limit_choices_to={"kind": OrganizationKind.FACILITY},
    )
    starts_on = models.DateField("Manufacturing starts (tissue expected)")
    capacity = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(CAPACITY_MIN), MaxValueValidator(CAPACITY_MAX)]
    )
    note = models.CharField(max_length=NOTE_MAX, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["starts_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["facility", "starts_on"], name="manufacturing_slot_one_per_day"
            ),
            models.CheckConstraint(
                condition=Q(capacity__gte=CAPACITY_MIN) & Q(capacity__lte=CAPACITY_MAX),
                name="manufacturing_slot_capacity_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.starts_on.isoformat()} ({self.capacity} places)"


class SlotBooking(TimeStampedModel):
    """One place in a slot, booked by a center for one COI identifier and manufacture attempt.

    Cancelled bookings are kept with who cancelled them and why. At most one booking per COI and
    attempt is active (not cancelled) at a time, enforced by the database as well.
    """

    slot = models.ForeignKey(ManufacturingSlot, on_delete=models.PROTECT, related_name="bookings")
    coi_din = models.CharField("COI identifier", max_length=13, db_index=True)
    coi_check = models.CharField("COI check character", max_length=1)
    manufacture_attempt = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(ATTEMPT_MIN), MaxValueValidator(ATTEMPT_MAX)],
    )
    center = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"kind": OrganizationKind.CENTER},
    )
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    booked_at = models.DateTimeField()
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    cancellation_reason = models.CharField(max_length=CANCEL_REASON_MAX, blank=True)

    class Meta:
        ordering = ["booked_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["coi_din", "manufacture_attempt"],
                condition=Q(cancelled_at__isnull=True),
                name="manufacturing_one_active_booking_per_coi",
            ),
            models.CheckConstraint(
                condition=(
                    Q(cancelled_at__isnull=True, cancelled_by__isnull=True)
                    | Q(cancelled_at__isnull=False, cancelled_by__isnull=False)
                ),
                name="manufacturing_booking_cancelled_by_whom",
            ),
        ]
        indexes = [models.Index(fields=["slot", "cancelled_at"], name="manufacturing_slot_active")]

    def __str__(self) -> str:
        return f"{self.coi_display} on {self.slot.starts_on.isoformat()}"

    @property
    def is_active(self) -> bool:
        return self.cancelled_at is None

    @property
    def coi_spaced(self) -> str:
        d = self.coi_din
        return f"{d[:5]} {d[5:7]} {d[7:]}"

    @property
    def coi_display(self) -> str:
        """The DIN as printed: FIN, year, sequence, then the check character."""
        return f"{self.coi_spaced} {self.coi_check}"
