"""The person: identity, contacts, diagnosis, prior therapy, consents and body measurements.

The pathway through therapy is the journey domain's; this domain only knows the patient.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models

from tilcare.accounts.models import Organization
from tilcare.core.models import TimeStampedModel
from tilcare.patients.choices import (
    BrafStatus,
    CancerType,
    ConsentKind,
    ContactRelationship,
    DiseaseStage,
    Sex,
    TherapyClass,
)

# Plausibility limits refused at every edge (forms, API, services). Outside them a value is far
# more likely a typing or unit error (lb for kg, inches for cm) than a real adult TIL candidate.
WEIGHT_KG_MIN = Decimal("20")
WEIGHT_KG_MAX = Decimal("350")
HEIGHT_CM_MIN = Decimal("100")
HEIGHT_CM_MAX = Decimal("250")
MAX_AGE_YEARS = 120


class Patient(TimeStampedModel):
    """A person referred to the center for TIL therapy."""

    center = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="patients")
    mrn = models.CharField("Medical record number", max_length=40)
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    date_of_birth = models.DateField()
    sex = models.CharField(max_length=10, choices=Sex.choices)
    phone = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True)
    address = models.TextField(blank=True)
    preferred_language = models.CharField(max_length=40, blank=True, default="English")
    # Diagnosis: what the referral is for.
    cancer_type = models.CharField(max_length=40, choices=CancerType.choices, blank=True)
    disease_stage = models.CharField(max_length=20, choices=DiseaseStage.choices, blank=True)
    braf_status = models.CharField(max_length=20, choices=BrafStatus.choices, blank=True)
    diagnosed_on = models.DateField(null=True, blank=True)
    # The patient's own login to the portal, when they have one.
    portal_user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="patient_record",
    )

    class Meta:
        ordering = ["family_name", "given_name"]
        constraints = [
            models.UniqueConstraint(fields=["center", "mrn"], name="patient_mrn_unique_per_center")
        ]

    def __str__(self) -> str:
        return f"{self.family_name}, {self.given_name}"

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def has_diagnosis(self) -> bool:
        return bool(self.cancer_type and self.disease_stage)


class Contact(TimeStampedModel):
    """Someone to call about the patient; a caregiver stays with them after discharge."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(max_length=200)
    relationship = models.CharField(max_length=20, choices=ContactRelationship.choices)
    phone = models.CharField(max_length=40)
    is_caregiver = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"{self.name} ({self.get_relationship_display()})"


class PriorTherapy(TimeStampedModel):
    """A line of treatment before TIL therapy (the label requires prior anti-PD-1)."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="prior_therapies")
    therapy_class = models.CharField(max_length=20, choices=TherapyClass.choices)
    agent = models.CharField(max_length=120, blank=True, help_text="e.g. pembrolizumab")
    started_on = models.DateField(null=True, blank=True)
    ended_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["started_on"]

    def __str__(self) -> str:
        return self.agent or self.get_therapy_class_display()


class Consent(TimeStampedModel):
    """A signed consent form, by kind and form version; withdrawal is recorded, never deleted."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="consents")
    kind = models.CharField(max_length=30, choices=ConsentKind.choices)
    form_version = models.CharField(max_length=40)
    signed_on = models.DateField()
    obtained_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    withdrawn_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["-signed_on"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} v{self.form_version}"

    @property
    def is_active(self) -> bool:
        return self.withdrawn_on is None


class BodyMeasurement(TimeStampedModel):
    """Height and weight on a date: doses are calculated from the measurement nearest the order."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="measurements")
    measured_on = models.DateField()
    weight_kg = models.DecimalField(max_digits=5, decimal_places=1)
    height_cm = models.DecimalField(max_digits=4, decimal_places=1)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-measured_on", "-id"]

    def __str__(self) -> str:
        return f"{self.measured_on}: {self.weight_kg} kg, {self.height_cm} cm"
