"""Orders computed from a signed protocol version, their doses, and what happened to each."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from tilcare.accounts.models import Organization
from tilcare.audit.models import Signature
from tilcare.core.models import CoiMixin, TimeStampedModel
from tilcare.patients.models import BodyMeasurement, Patient
from tilcare.treatment.choices import (
    OPEN_ORDER_STATUSES,
    AdministrationOutcome,
    OrderKind,
    OrderStatus,
)
from tilcare.treatment.models.activation import ProtocolActivation


class Order(CoiMixin, TimeStampedModel):
    """A physician's order for one patient's course, computed by the clinical core from the
    center's signed settings and the patient's measurements, which it keeps as they were.

    `inputs` holds what the calculation read (height, weight and their date, creatinine and its
    date, age, sex), `calculation` the clinical core's whole result (formula, working, source),
    and the doses are rows of `OrderDose`. The course is named by its chain-of-identity number
    and manufacturing attempt, as every label and bag of it is.
    """

    center = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    coi_din = models.CharField("COI identifier", max_length=13, db_index=True)
    coi_check = models.CharField("COI check character", max_length=1)
    manufacture_attempt = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=20, choices=OrderKind.choices)
    activation = models.ForeignKey(
        ProtocolActivation, on_delete=models.PROTECT, related_name="orders"
    )
    measurement = models.ForeignKey(BodyMeasurement, on_delete=models.PROTECT, related_name="+")
    serum_creatinine_mg_per_dl = models.DecimalField(
        max_digits=5, decimal_places=2, null=True, blank=True
    )
    creatinine_drawn_on = models.DateField(null=True, blank=True)
    inputs = models.JSONField(default=dict)
    calculation = models.JSONField(default=dict)
    status = models.CharField(
        max_length=24, choices=OrderStatus.choices, default=OrderStatus.AWAITING_VERIFICATION
    )
    ordered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    verification_signature = models.OneToOneField(
        Signature, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One open order of each kind per course: a change is a cancellation and a new order.
            models.UniqueConstraint(
                fields=["coi_din", "manufacture_attempt", "kind"],
                condition=models.Q(status__in=OPEN_ORDER_STATUSES),
                name="treatment_order_one_open_per_kind",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} order for {self.coi_display}"

    def signed_content(self) -> dict[str, Any]:
        """What the pharmacist's verification covers: the inputs, the calculation and the doses."""
        return {
            "order": str(self.public_id),
            "coi": self.coi_din + self.coi_check,
            "manufacture_attempt": self.manufacture_attempt,
            "kind": self.kind,
            "activation": str(self.activation.public_id),
            "inputs": self.inputs,
            "calculation": self.calculation,
            "doses": [
                [dose.sequence, dose.day, dose.agent, str(dose.dose), dose.dose_unit]
                for dose in self.doses.all()
            ],
        }


class OrderDose(models.Model):
    """One dose of an order: an agent on a study day (lymphodepletion), or the n-th IL-2 dose
    (its time follows the schedule, so `day` is empty)."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="doses")
    sequence = models.PositiveSmallIntegerField()
    day = models.SmallIntegerField(null=True, blank=True)
    agent = models.CharField(max_length=40)
    route = models.CharField(max_length=10)
    dose = models.DecimalField(max_digits=12, decimal_places=2)
    dose_unit = models.CharField(max_length=10)

    class Meta:
        ordering = ["order_id", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["order", "sequence"], name="treatment_dose_sequence")
        ]

    def __str__(self) -> str:
        return f"{self.agent} {self.dose} {self.dose_unit}"


class Administration(TimeStampedModel):
    """What happened to one ordered dose: given, held or not given, when, by whom and why.

    One per dose: a dose is given once. `at` is when it was given (or the decision was taken),
    typed by the nurse, not the moment the row was written (`created_at`)."""

    dose = models.OneToOneField(OrderDose, on_delete=models.PROTECT, related_name="administration")
    outcome = models.CharField(max_length=12, choices=AdministrationOutcome.choices)
    at = models.DateTimeField()
    reason = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.dose}: {self.get_outcome_display()}"
