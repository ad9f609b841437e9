"""A course's baseline: the measurement and creatinine its lymphodepletion was calculated from.

The treatment domain sets it when a pharmacist verifies the lymphodepletion order, inside that
verification's transaction; weight gain (and, later, creatinine) are graded against it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction

from tilcare.accounts.models import Organization, User
from tilcare.audit.actions import Action
from tilcare.audit.hashing import snapshot
from tilcare.audit.services import record_change, record_written
from tilcare.core.policy import require
from tilcare.monitoring import policies
from tilcare.monitoring.models import CourseBaseline
from tilcare.patients.models import BodyMeasurement, Patient

NOT_SETTER = "Only a pharmacist of the center sets a course's baseline, by verifying its order."


def set_course_baseline(
    *,
    center: Organization,
    patient: Patient,
    coi_din: str,
    manufacture_attempt: int,
    measurement: BodyMeasurement,
    serum_creatinine_mg_per_dl: Decimal | None,
    creatinine_drawn_on: dt.date | None,
    source: str,
    actor: User,
) -> CourseBaseline:
    """Set (or replace) the course's baseline, with its audit event, in the caller's
    transaction."""
    require(policies.can_set_course_baseline(actor, center), NOT_SETTER)
    with transaction.atomic():
        existing = (
            CourseBaseline.objects.select_for_update()
            .filter(coi_din=coi_din, manufacture_attempt=manufacture_attempt)
            .first()
        )
        values = {
            "center": center,
            "patient": patient,
            "measurement": measurement,
            "serum_creatinine_mg_per_dl": serum_creatinine_mg_per_dl,
            "creatinine_drawn_on": creatinine_drawn_on,
            "source": source[:200],
        }
        subject = str(patient.public_id)
        if existing is None:
            baseline = CourseBaseline.objects.create(
                coi_din=coi_din, manufacture_attempt=manufacture_attempt, **values
            )
            record_written(Action.BASELINE_SET, baseline, actor=actor, subject_id=subject)
            return baseline
        before = snapshot(existing)
        for name, value in values.items():
            setattr(existing, name, value)
        existing.save()
        record_change(Action.BASELINE_SET, existing, actor=actor, before=before, subject_id=subject)
        return existing
