"""Reads of patients. Every list goes through `visible_to(user)`."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from tilcare.accounts.models import User
from tilcare.accounts.roles import Perm
from tilcare.patients.choices import ConsentKind
from tilcare.patients.models import BodyMeasurement, Consent, Patient


def visible_to(user: Any) -> QuerySet[Patient]:
    """Patients whose identity this user may see: staff of the patient's own center only."""
    if not (
        isinstance(user, User)
        and user.is_authenticated
        and user.has_perm_code(Perm.VIEW_PATIENT_IDENTITY)
    ):
        return Patient.objects.none()
    return Patient.objects.filter(center_id=user.organization_id)


def search(queryset: QuerySet[Patient], text: str) -> QuerySet[Patient]:
    text = text.strip()
    if not text:
        return queryset
    query = Q(mrn__iexact=text)
    for word in text.split():
        query |= Q(given_name__icontains=word) | Q(family_name__icontains=word)
    return queryset.filter(query)


def latest_measurement(patient: Patient) -> BodyMeasurement | None:
    return patient.measurements.order_by("-measured_on", "-id").first()


def active_consent(patient: Patient, kind: ConsentKind) -> Consent | None:
    return (
        patient.consents.filter(kind=kind, withdrawn_on__isnull=True).order_by("-signed_on").first()
    )
