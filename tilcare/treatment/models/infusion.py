"""The infusion day at the bedside: premedication, each bag's thaw time, the two-person identity
check, and the infusion itself with the bags and viable cells given."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from tilcare.accounts.models import Organization
from tilcare.core.models import CoiMixin, TimeStampedModel
from tilcare.identity.models import CustodyEvent, Item
from tilcare.patients.models import Patient
from tilcare.treatment.choices import BedsideTarget
from tilcare.treatment.models.activation import ProtocolActivation


class Infusion(CoiMixin, TimeStampedModel):
    """One course's cell infusion (Day 0), opened on the settings version in force.

    The version gives the thaw-to-infusion limit, the infusion window and the cell dose range the
    bedside is checked against. Started once the identity check of two people is complete; ended
    with the bags and the viable cells given, checked against the protocol's range."""

    center = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    coi_din = models.CharField("COI identifier", max_length=13, db_index=True)
    coi_check = models.CharField("COI check character", max_length=1)
    manufacture_attempt = models.PositiveSmallIntegerField()
    activation = models.ForeignKey(
        ProtocolActivation, on_delete=models.PROTECT, related_name="infusions"
    )
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    bags_infused = models.PositiveSmallIntegerField(null=True, blank=True)
    viable_cells_e9 = models.DecimalField(
        "viable cells infused (×10⁹)", max_digits=8, decimal_places=2, null=True, blank=True
    )
    cell_dose_check = models.JSONField(default=dict, blank=True)
    end_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["coi_din", "manufacture_attempt"], name="treatment_infusion_one_per_course"
            )
        ]

    def __str__(self) -> str:
        return f"Infusion for {self.coi_display}"


class Premedication(TimeStampedModel):
    """A premedication given before the infusion: the protocol's group it fulfils (for example
    "acetaminophen" or "H1 antihistamine"), the agent, dose and route, and when it was given."""

    infusion = models.ForeignKey(Infusion, on_delete=models.PROTECT, related_name="premedications")
    group = models.CharField(max_length=40)
    agent = models.CharField(max_length=60)
    dose = models.DecimalField(max_digits=8, decimal_places=2)
    dose_unit = models.CharField(max_length=10)
    route = models.CharField(max_length=10)
    at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.agent} {self.dose} {self.dose_unit} {self.route}"


class BagThaw(TimeStampedModel):
    """When one product bag was thawed: the clock of the center's thaw-to-infusion limit."""

    infusion = models.ForeignKey(Infusion, on_delete=models.PROTECT, related_name="thaws")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="+")
    thawed_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["thawed_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["infusion", "item"], name="treatment_thaw_once_per_bag")
        ]

    def __str__(self) -> str:
        return f"{self.item.item_id} thawed"


class BedsideScan(TimeStampedModel):
    """One scan of the bedside identity check: which of the two people (1 or 2), the wristband or
    a bag, and the custody event the chain-of-identity scan engine recorded and judged."""

    infusion = models.ForeignKey(Infusion, on_delete=models.PROTECT, related_name="bedside_scans")
    checker = models.PositiveSmallIntegerField()
    target = models.CharField(max_length=10, choices=BedsideTarget.choices)
    custody_event = models.OneToOneField(
        CustodyEvent, on_delete=models.PROTECT, related_name="bedside_scan"
    )

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"Bedside check {self.checker}: {self.get_target_display()}"
