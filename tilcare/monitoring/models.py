"""Observations on a patient (vital signs, weight, fluid totals, laboratory values) and the grades
each set on arrival.

An observation is never edited: a correction is a new observation that supersedes it, with its
reason. Whether an observation is superseded is read from the one that supersedes it
(`selectors.with_superseded`), never stored on it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from tilcare.accounts.models import Organization
from tilcare.core.models import TimeStampedModel
from tilcare.monitoring.choices import (
    CLIENT_ID_MAX,
    SET_ID_MAX,
    GradeSystem,
    Source,
)
from tilcare.patients.models import Patient


class Observation(TimeStampedModel):
    """One measured or answered value, coded (LOINC or tilcare's local code) with its UCUM unit.

    `value` holds a quantity, `value_text` a categorical answer (supplemental oxygen yes/no,
    consciousness A/C/V/P/U). `effective_at` is when it was measured (for a fluid total, the end
    of its period, which starts at `period_start`). `reference_low`/`reference_high` are the
    laboratory's own range when it sent one. Vital signs taken together share a `set_id`, which
    NEWS2 is scored on. `client_id` is the sender's own identifier: the same observation sent
    twice is stored once (unique per center). The course, when known, is named by its COI
    identifier and manufacturing attempt, as every other record of it is.
    """

    center = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="observations")
    coi_din = models.CharField("COI identifier", max_length=13, blank=True)
    manufacture_attempt = models.PositiveSmallIntegerField(null=True, blank=True)
    kind = models.CharField(max_length=40)
    loinc = models.CharField("code", max_length=80)
    value = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    value_text = models.CharField(max_length=20, blank=True)
    unit = models.CharField("UCUM unit", max_length=20, blank=True)
    effective_at = models.DateTimeField()
    period_start = models.DateTimeField(null=True, blank=True)
    reference_low = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    reference_high = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    set_id = models.CharField(max_length=SET_ID_MAX, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices)
    client_id = models.CharField(max_length=CLIENT_ID_MAX, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    supersedes = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="superseded_by",
    )
    correction_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-effective_at", "-id"]
        indexes = [
            models.Index(fields=["patient", "kind", "-effective_at"], name="monitoring_obs_kind"),
            models.Index(fields=["patient", "set_id"], name="monitoring_obs_set"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["center", "client_id"],
                condition=~models.Q(client_id=""),
                name="monitoring_observation_client_id_per_center",
            ),
        ]

    def __str__(self) -> str:
        shown = self.value_text or f"{self.value} {self.unit}"
        return f"{self.kind} {shown} at {self.effective_at:%Y-%m-%d %H:%M}"


class Grade(TimeStampedModel):
    """A grade set on arrival: a CTCAE v5.0 term from one observation, or NEWS2 from a vital-signs
    set. `grade` is empty when the observation could not be graded (no laboratory lower limit
    sent, a set missing parameters): `rule` then says why. `values` are the inputs as the
    clinical core read them, `detail` its whole result, `source` the publication."""

    center = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="grades")
    observation = models.ForeignKey(
        Observation, on_delete=models.PROTECT, null=True, blank=True, related_name="grades"
    )
    set_id = models.CharField(max_length=SET_ID_MAX, blank=True)
    effective_at = models.DateTimeField()
    system = models.CharField(max_length=20, choices=GradeSystem.choices)
    term = models.CharField(max_length=120)
    grade = models.SmallIntegerField(null=True, blank=True)
    rule = models.TextField()
    values = models.JSONField(default=dict)
    detail = models.JSONField(default=dict)
    source = models.TextField()

    class Meta:
        ordering = ["-effective_at", "-id"]
        indexes = [models.Index(fields=["patient", "set_id"], name="monitoring_grade_set")]

    def __str__(self) -> str:
        shown = "not graded" if self.grade is None else f"grade {self.grade}"
        return f"{self.system} {self.term}: {shown}"


class CourseBaseline(TimeStampedModel):
    """What a course's observations are compared against: the height and weight, and the serum
    creatinine with the day it was drawn, that the course's lymphodepletion was calculated from.

    Written by the treatment domain when a pharmacist verifies the lymphodepletion order (again
    when a replacing order is verified), so that monitoring, below treatment, never reads orders.
    """

    center = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    coi_din = models.CharField("COI identifier", max_length=13)
    manufacture_attempt = models.PositiveSmallIntegerField()
    measurement = models.ForeignKey(
        "patients.BodyMeasurement", on_delete=models.PROTECT, related_name="+"
    )
    serum_creatinine_mg_per_dl = models.DecimalField(
        max_digits=5, decimal_places=2, null=True, blank=True
    )
    creatinine_drawn_on = models.DateField(null=True, blank=True)
    source = models.CharField(max_length=200)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["coi_din", "manufacture_attempt"], name="monitoring_one_baseline_per_course"
            )
        ]

    def __str__(self) -> str:
        return f"Baseline of {self.coi_din} attempt {self.manufacture_attempt}"
