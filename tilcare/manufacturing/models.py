"""Manufacturing capacity: the facility's slots and the centers' bookings in them.

A booking belongs to a journey through its chain-of-identity (COI) identifier, stored here as
text: this domain sits below the journey in the layers, and a facility needs the COI only. No
field here holds patient identity.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from tilcare.accounts.choices import OrganizationKind
from tilcare.accounts.models import Organization
from tilcare.audit.hashing import to_jsonable
from tilcare.clinical.manufacturing.reactivity import MAX_IFN_GAMMA_PG_PER_ML, MAX_PERCENT
from tilcare.core.models import CoiMixin, TimeStampedModel
from tilcare.identity.models import Item
from tilcare.manufacturing.choices import (
    ATTEMPT_MAX,
    ATTEMPT_MIN,
    CANCEL_REASON_MAX,
    CAPACITY_MAX,
    CAPACITY_MIN,
    NOTE_MAX,
    BatchStatus,
    Disposition,
    ReleaseTestKind,
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


class SlotBooking(CoiMixin, TimeStampedModel):
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


# --- The batch record (facility side; COI only, never patient identity) -------------------------


class Batch(CoiMixin, TimeStampedModel):
    """One manufacturing attempt of one journey's product at one facility."""

    coi_din = models.CharField("COI identifier", max_length=13, db_index=True)
    coi_check = models.CharField("COI check character", max_length=1)
    manufacture_attempt = models.PositiveSmallIntegerField(default=1)
    center = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    facility = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="batches")
    protocol_id = models.CharField(max_length=40)
    protocol_version = models.CharField(max_length=20)
    status = models.CharField(max_length=30, choices=BatchStatus.choices)
    status_changed_at = models.DateTimeField()
    # When the tissue arrived and the record began (the receiving scan), which may be earlier
    # than the row's `created_at` when the receipt is entered after the fact; no bench step of
    # the batch is dated before it.
    opened_at = models.DateTimeField("Opened (tissue received)")
    rep_started_on = models.DateField(null=True, blank=True)
    planned_harvest_on = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        # Latest opened first: a receipt entered after the fact takes its place by its scan.
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["coi_din", "manufacture_attempt"], name="manufacturing_batch_per_attempt"
            )
        ]

    def __str__(self) -> str:
        return f"Batch {self.coi_din} attempt {self.manufacture_attempt}"


class BatchTransition(models.Model):
    """Append-only log of a batch's status changes (who, when, why)."""

    batch = models.ForeignKey(Batch, on_delete=models.PROTECT, related_name="transitions")
    from_status = models.CharField(max_length=30, choices=BatchStatus.choices, blank=True)
    to_status = models.CharField(max_length=30, choices=BatchStatus.choices)
    # When the change happened on the bench, and when it was entered (the same unless entered
    # after the fact).
    occurred_at = models.DateTimeField()
    recorded_at = models.DateTimeField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=400, blank=True)

    class Meta:
        ordering = ["occurred_at", "id"]

    def __str__(self) -> str:
        return f"{self.batch_id}: {self.from_status or '—'} → {self.to_status}"

    @property
    def recorded_later(self) -> bool:
        """Was the change entered at another minute than it happened (shown with both times)?"""
        return self.recorded_at.replace(second=0, microsecond=0) != self.occurred_at.replace(
            second=0, microsecond=0
        )


class TissueReceipt(models.Model):
    batch = models.OneToOneField(Batch, on_delete=models.PROTECT, related_name="tissue_receipt")
    received_at = models.DateTimeField()
    weight_g = models.DecimalField(max_digits=6, decimal_places=3)
    fragments = models.PositiveSmallIntegerField()
    note = models.CharField(max_length=400, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    def __str__(self) -> str:
        return f"Tissue of batch {self.batch_id}: {self.weight_g} g, {self.fragments} fragments"


class Culture(models.Model):
    """A pre-REP culture (one tumor fragment or well) with its count."""

    batch = models.ForeignKey(Batch, on_delete=models.PROTECT, related_name="cultures")
    culture_id = models.CharField(max_length=20)
    viable_cells = models.DecimalField(max_digits=20, decimal_places=0, null=True, blank=True)
    viability_percent = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    counted_at = models.DateTimeField(null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["culture_id"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "culture_id"], name="manufacturing_culture_id")
        ]

    def __str__(self) -> str:
        return self.culture_id


class ReactivityImport(models.Model):
    """One plate-reader CSV imported whole (or not at all)."""

    batch = models.ForeignKey(Batch, on_delete=models.PROTECT, related_name="reactivity_imports")
    file_name = models.CharField(max_length=200)
    sha256 = models.CharField(max_length=64)
    imported_at = models.DateTimeField()
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    def __str__(self) -> str:
        return f"{self.file_name} ({self.imported_at:%Y-%m-%d})"


class ReactivityReading(models.Model):
    source = models.ForeignKey(ReactivityImport, on_delete=models.PROTECT, related_name="readings")
    culture = models.ForeignKey(Culture, on_delete=models.PROTECT, related_name="readings")
    line_number = models.PositiveIntegerField()
    ifn_gamma_tumor_pg_per_ml = models.DecimalField(max_digits=10, decimal_places=1)
    ifn_gamma_control_pg_per_ml = models.DecimalField(max_digits=10, decimal_places=1)
    cd137_tumor_percent = models.DecimalField(max_digits=5, decimal_places=2)
    cd137_control_percent = models.DecimalField(max_digits=5, decimal_places=2)

    def __str__(self) -> str:
        return f"{self.culture_id} line {self.line_number}"


class CultureSelection(models.Model):
    """Which cultures go into the REP, chosen by a person, with why and the ranking they saw."""

    batch = models.OneToOneField(Batch, on_delete=models.PROTECT, related_name="selection")
    cultures = models.ManyToManyField(Culture, related_name="selections")
    reason = models.CharField(max_length=400)
    ranking_json = models.TextField()
    selected_at = models.DateTimeField()
    selected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    def __str__(self) -> str:
        return f"Selection for batch {self.batch_id}"


class RepCount(models.Model):
    """A daily viable-cell count of the rapid expansion."""

    batch = models.ForeignKey(Batch, on_delete=models.PROTECT, related_name="rep_counts")
    day = models.PositiveSmallIntegerField()
    counted_at = models.DateTimeField()
    viable_cells = models.DecimalField(max_digits=20, decimal_places=0)
    viability_percent = models.DecimalField(max_digits=4, decimal_places=1)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["day"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "day"], name="manufacturing_rep_count_day")
        ]

    def __str__(self) -> str:
        return f"REP day {self.day}: {self.viable_cells} cells"


class ProductBag(models.Model):
    """One formulated bag of the product; its label item lives in the identity domain."""

    batch = models.ForeignKey(Batch, on_delete=models.PROTECT, related_name="bags")
    bag_number = models.PositiveSmallIntegerField()
    volume_ml = models.DecimalField(max_digits=6, decimal_places=1)
    viable_cells = models.DecimalField(max_digits=20, decimal_places=0)
    item_id = models.CharField(max_length=24, blank=True)
    formulated_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["bag_number"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "bag_number"], name="manufacturing_bag_no")
        ]

    def __str__(self) -> str:
        return f"Bag {self.bag_number} of batch {self.batch_id}"


class ReleaseSpecification(TimeStampedModel):
    """A facility's acceptance criterion for one release test under one protocol.

    The sources settle none of these limits except the viable-cell dose range (from the protocol
    file): each facility sets them, and a test with no specification cannot be judged.
    """

    facility = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    protocol_id = models.CharField(max_length=40)
    test = models.CharField(max_length=30, choices=ReleaseTestKind.choices)
    criterion = models.CharField(max_length=200)
    minimum = models.DecimalField(max_digits=20, decimal_places=4, null=True, blank=True)
    maximum = models.DecimalField(max_digits=20, decimal_places=4, null=True, blank=True)
    unit = models.CharField(max_length=30, blank=True)
    expected_text = models.CharField(max_length=80, blank=True)  # e.g. "No growth", "Negative"
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["facility", "protocol_id", "test"], name="manufacturing_spec_unique"
            )
        ]


class ReleaseTest(TimeStampedModel):
    batch = models.ForeignKey(Batch, on_delete=models.PROTECT, related_name="release_tests")
    test = models.CharField(max_length=30, choices=ReleaseTestKind.choices)
    specification = models.CharField(max_length=200)
    result_value = models.DecimalField(max_digits=20, decimal_places=4, null=True, blank=True)
    result_unit = models.CharField(max_length=30, blank=True)
    result_text = models.CharField(max_length=80, blank=True)
    passed = models.BooleanField()
    tested_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["test"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "test"], name="manufacturing_release_test")
        ]


class QaDisposition(TimeStampedModel):
    """QA's decision on the batch, signed; under exception also the treating physician's signed
    acknowledgement, without which the product is not released."""

    batch = models.OneToOneField(Batch, on_delete=models.PROTECT, related_name="disposition")
    decision = models.CharField(max_length=30, choices=Disposition.choices)
    reason = models.CharField(max_length=600, blank=True)
    decided_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    qa_signature = models.ForeignKey(
        "audit.Signature", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    physician_ack_signature = models.ForeignKey(
        "audit.Signature", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    physician_acknowledged_at = models.DateTimeField(null=True, blank=True)

    def signed_content(self) -> dict[str, Any]:
        """What QA's signature and the physician's acknowledgement cover: the decision, its
        reason, the batch, every release test as judged, and every bag with its item and expiry
        (a bag's expiry lives on its identity item)."""
        batch = self.batch
        bags = list(ProductBag.objects.filter(batch=batch).order_by("bag_number"))
        expiry = dict(
            Item.objects.filter(item_id__in=[bag.item_id for bag in bags]).values_list(
                "item_id", "expires_at"
            )
        )
        tests = ReleaseTest.objects.filter(batch=batch).order_by("test")
        content = {
            "batch": str(batch.public_id),
            "coi": f"{batch.coi_din}{batch.coi_check}",
            "attempt": batch.manufacture_attempt,
            "protocol": f"{batch.protocol_id} {batch.protocol_version}",
            "decision": self.decision,
            "reason": self.reason,
            "decided_at": self.decided_at,
            "decided_by": str(self.decided_by.public_id),
            "tests": [
                [t.test, t.specification, t.result_value, t.result_unit, t.result_text, t.passed]
                for t in tests
            ],
            "bags": [
                [b.bag_number, b.volume_ml, b.viable_cells, b.item_id, expiry.get(b.item_id)]
                for b in bags
            ],
        }
        return cast(dict[str, Any], to_jsonable(content))


# --- The facility's own settings for the screen and the forecast ---------------------------------

# The limits of each stored setting: the clinical core's (IFN-γ 0 to 10⁶ pg/mL, CD137 0 to 100
# points, fold above 0, probability above 0 and at most 1) and the places kept. The fold has no
# upper limit in the core; FOLD_MAX bounds what is stored (a plausibility limit, not a clinical
# fact). The probability keeps 3 places, the precision the forecast rounds probabilities to.
IFN_GAMMA_DIFFERENCE_MAX = MAX_IFN_GAMMA_PG_PER_ML
IFN_GAMMA_DIFFERENCE_PLACES = 1
FOLD_MAX = Decimal(1000)
FOLD_PLACES = 2
CD137_DIFFERENCE_MAX = MAX_PERCENT
CD137_DIFFERENCE_PLACES = 2
PROBABILITY_MAX = Decimal(1)
PROBABILITY_PLACES = 3


class FacilityThresholds(TimeStampedModel):
    """A manufacturing facility's reactivity-screen thresholds and its early-warning threshold.

    One row per facility (the ranking and the forecast do not depend on the protocol). None of
    these has a default: a null value is "not set", and the batch page says so and who sets it (a
    QA reviewer of the facility, `threshold_services.set_facility_thresholds`).
    """

    facility = models.OneToOneField(
        Organization,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"kind": OrganizationKind.FACILITY},
    )
    min_ifn_gamma_difference_pg_per_ml = models.DecimalField(
        "Minimum IFN-γ difference (pg/mL)",
        max_digits=8,
        decimal_places=IFN_GAMMA_DIFFERENCE_PLACES,
        null=True,
        blank=True,
    )
    min_ifn_gamma_fold = models.DecimalField(
        "Minimum IFN-γ fold over control",
        max_digits=6,
        decimal_places=FOLD_PLACES,
        null=True,
        blank=True,
    )
    min_cd137_difference_points = models.DecimalField(
        "Minimum CD137 difference (percentage points)",
        max_digits=5,
        decimal_places=CD137_DIFFERENCE_PLACES,
        null=True,
        blank=True,
    )
    warn_below_probability = models.DecimalField(
        "Early warning below probability",
        max_digits=4,
        decimal_places=PROBABILITY_PLACES,
        null=True,
        blank=True,
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name_plural = "facility thresholds"
        constraints = [
            models.CheckConstraint(
                condition=Q(min_ifn_gamma_difference_pg_per_ml__isnull=True)
                | Q(
                    min_ifn_gamma_difference_pg_per_ml__gte=0,
                    min_ifn_gamma_difference_pg_per_ml__lte=IFN_GAMMA_DIFFERENCE_MAX,
                ),
                name="manufacturing_thresholds_ifn_gamma_difference_range",
            ),
            models.CheckConstraint(
                condition=Q(min_ifn_gamma_fold__isnull=True)
                | Q(min_ifn_gamma_fold__gt=0, min_ifn_gamma_fold__lte=FOLD_MAX),
                name="manufacturing_thresholds_fold_range",
            ),
            models.CheckConstraint(
                condition=Q(min_cd137_difference_points__isnull=True)
                | Q(
                    min_cd137_difference_points__gte=0,
                    min_cd137_difference_points__lte=CD137_DIFFERENCE_MAX,
                ),
                name="manufacturing_thresholds_cd137_difference_range",
            ),
            models.CheckConstraint(
                condition=Q(warn_below_probability__isnull=True)
                | Q(warn_below_probability__gt=0, warn_below_probability__lte=PROBABILITY_MAX),
                name="manufacturing_thresholds_probability_range",
            ),
        ]

    def __str__(self) -> str:
        return f"Thresholds of facility {self.facility_id}"
