"""A patient's journey through one course of TIL therapy, and what is recorded along it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import models

from tilcare.accounts.choices import Role
from tilcare.accounts.models import Organization
from tilcare.clinical.dosing.regimens import ProtocolRef
from tilcare.core.models import CoiMixin, TimeStampedModel
from tilcare.journey.choices import (
    PROTOCOL_FILES,
    MilestoneKind,
    Protocol,
    Stage,
    TaskStatus,
    TransitionKind,
    WithdrawalReason,
)
from tilcare.patients.models import Patient


class CoiSequence(models.Model):
    """The last chain-of-identity sequence number issued per facility number and year.

    Locked while a number is issued so that two journeys opened at the same moment never get the
    same number (ISBT 128 DINs must be unique for 100 years).
    """

    fin = models.CharField(max_length=5)
    year = models.PositiveSmallIntegerField()
    last_sequence = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["fin", "year"], name="coi_sequence_unique")]

    def __str__(self) -> str:
        return f"{self.fin} {self.year:02d}: {self.last_sequence}"


class Journey(CoiMixin, TimeStampedModel):
    """One course of TIL therapy for one patient, from referral to long-term follow-up.

    The chain-of-identity (COI) identifier is an ISBT 128 DIN (FIN + year + sequence) with its
    ISO 7064 Mod 37-2 check character; every label, scan and product of this course carries it.
    """

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="journeys")
    center = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="journeys")
    manufacturing_facility = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="manufactured_journeys",
    )
    protocol = models.CharField(max_length=40, choices=Protocol.choices)
    coi_din = models.CharField("COI identifier", max_length=13, unique=True)
    coi_check = models.CharField("COI check character", max_length=1)
    stage = models.CharField(max_length=30, choices=Stage.choices, default=Stage.REFERRAL)
    stage_entered_at = models.DateTimeField()
    manufacture_attempt = models.PositiveSmallIntegerField(default=1)
    referred_on = models.DateField()
    referring_physician = models.CharField(max_length=200, blank=True)
    planned_resection_on = models.DateField(null=True, blank=True)
    planned_infusion_on = models.DateField(null=True, blank=True)
    withdrawal_reason = models.CharField(
        max_length=30, choices=WithdrawalReason.choices, blank=True
    )
    withdrawal_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["center", "stage"])]

    @property
    def protocol_ref(self) -> ProtocolRef:
        """The protocol file this journey's treatment follows."""
        return PROTOCOL_FILES[self.protocol]

    def __str__(self) -> str:
        return f"Journey {self.coi_display}"

    @property
    def is_closed(self) -> bool:
        return self.stage in (Stage.COMPLETED, Stage.WITHDRAWN)

    def stage_label(self) -> str:
        return Stage(self.stage).label


class JourneyTransition(models.Model):
    """One stage change, appended and never edited: the journey's timeline."""

    journey = models.ForeignKey(Journey, on_delete=models.PROTECT, related_name="transitions")
    from_stage = models.CharField(max_length=30, choices=Stage.choices, blank=True)
    to_stage = models.CharField(max_length=30, choices=Stage.choices)
    kind = models.CharField(max_length=20, choices=TransitionKind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # When the move happened, and when it was entered (the same unless entered after the fact).
    occurred_at = models.DateTimeField()
    recorded_at = models.DateTimeField()
    reason = models.TextField(blank=True)
    withdrawal_reason = models.CharField(
        max_length=30, choices=WithdrawalReason.choices, blank=True
    )

    class Meta:
        ordering = ["occurred_at", "id"]

    def __str__(self) -> str:
        return f"{self.from_stage or '—'} → {self.to_stage}"

    @property
    def recorded_later(self) -> bool:
        """Was the move entered at another minute than it happened (shown with both times)?"""
        return self.recorded_at.replace(second=0, microsecond=0) != self.occurred_at.replace(
            second=0, microsecond=0
        )


class Milestone(models.Model):
    """A fact the journey's guards rely on (consented, cleared, resected, received, infused…).

    Per-attempt milestones carry the manufacturing attempt they belong to. A wrong entry is voided
    with a reason, never deleted.
    """

    journey = models.ForeignKey(Journey, on_delete=models.PROTECT, related_name="milestones")
    kind = models.CharField(max_length=30, choices=MilestoneKind.choices)
    attempt = models.PositiveSmallIntegerField()
    occurred_at = models.DateTimeField()
    reference = models.CharField(
        max_length=100, blank=True, help_text="Authorization number, lot number, order number…"
    )
    note = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField()
    voided_at = models.DateTimeField(null=True, blank=True)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    void_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["occurred_at", "id"]

    def __str__(self) -> str:
        return self.get_kind_display()

    @property
    def public_id(self) -> str:
        return f"{self.journey.public_id}:m{self.pk}"


ELIGIBILITY_CRITERIA: tuple[tuple[str, str], ...] = (
    (
        "confirmed_diagnosis",
        "Unresectable or metastatic disease confirmed by pathology and imaging",
    ),
    (
        "prior_therapy_met",
        "Prior therapy requirement met (anti-PD-1; BRAF ± MEK inhibitor if BRAF V600)",
    ),
    ("performance_status_ok", "Performance status acceptable for the protocol (ECOG recorded)"),
    ("resectable_lesion", "At least one resectable lesion of 1.5 cm or more for manufacturing"),
    ("cardiac_ok", "Cardiac function reviewed and adequate"),
    ("pulmonary_ok", "Pulmonary function reviewed and adequate"),
    ("renal_ok", "Renal function reviewed and adequate"),
    ("no_active_infection", "No active systemic infection"),
    ("fit_for_il2", "Fit for high-dose IL-2 (aldesleukin)"),
)


class EligibilityChecklist(TimeStampedModel):
    """The physician's eligibility review, signed before resection can be scheduled."""

    journey = models.OneToOneField(Journey, on_delete=models.PROTECT, related_name="eligibility")
    confirmed_diagnosis = models.BooleanField(default=False)
    prior_therapy_met = models.BooleanField(default=False)
    performance_status_ok = models.BooleanField(default=False)
    ecog = models.PositiveSmallIntegerField("ECOG performance status", null=True, blank=True)
    resectable_lesion = models.BooleanField(default=False)
    cardiac_ok = models.BooleanField(default=False)
    pulmonary_ok = models.BooleanField(default=False)
    renal_ok = models.BooleanField(default=False)
    no_active_infection = models.BooleanField(default=False)
    fit_for_il2 = models.BooleanField(default=False)
    notes = models.TextField(blank=True)
    # The last amendment of a signed checklist: the signature it voided (the row itself stays,
    # append-only), who amended it, when and why. Earlier amendments are in the audit trail.
    voided_signature = models.ForeignKey(
        "audit.Signature", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    signature_voided_at = models.DateTimeField(null=True, blank=True)
    signature_voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    signature_void_reason = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"Eligibility checklist for {self.journey.coi_display}"

    @property
    def unmet(self) -> list[str]:
        return [label for field, label in ELIGIBILITY_CRITERIA if not getattr(self, field)]

    def signed_content(self) -> dict[str, Any]:
        """What a physician's signature covers: every criterion, ECOG and the notes."""
        content: dict[str, Any] = {field: getattr(self, field) for field, _ in ELIGIBILITY_CRITERIA}
        content.update(
            {"ecog": self.ecog, "notes": self.notes, "journey": str(self.journey.public_id)}
        )
        return content


class Task(TimeStampedModel):
    """Work for a role, created when a journey enters a stage."""

    journey = models.ForeignKey(Journey, on_delete=models.PROTECT, related_name="tasks")
    stage = models.CharField(max_length=30, choices=Stage.choices)
    title = models.CharField(max_length=200)
    role = models.CharField(max_length=32, choices=Role.choices)
    due_on = models.DateField()
    status = models.CharField(max_length=12, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_on", "id"]
        indexes = [models.Index(fields=["status", "role", "due_on"])]

    def __str__(self) -> str:
        return self.title

    def is_overdue(self, today: dt.date) -> bool:
        return self.status == TaskStatus.OPEN and self.due_on < today
