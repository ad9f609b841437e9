"""Reads of a patient's observations and grades, and the baselines grading compares against."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db.models import Exists, OuterRef, Prefetch, QuerySet

from tilcare.accounts.models import Organization
from tilcare.core.timeutil import local_datetime
from tilcare.monitoring.models import CourseBaseline, Grade, Observation
from tilcare.patients.models import BodyMeasurement, Patient


def with_superseded(queryset: QuerySet[Observation]) -> QuerySet[Observation]:
    """Each observation with `is_superseded`: a later correction supersedes it."""
    later = Observation.objects.filter(supersedes=OuterRef("pk"))
    return queryset.annotate(is_superseded=Exists(later))


def list_for_patient(patient: Patient) -> QuerySet[Observation]:
    """The patient's observations, newest first, superseded ones marked, with their grades."""
    grades = Grade.objects.order_by("id")
    return with_superseded(
        Observation.objects.filter(patient=patient)
        .select_related("supersedes", "recorded_by")
        .prefetch_related(Prefetch("grades", queryset=grades))
        .order_by("-effective_at", "-id")
    )


def current(queryset: QuerySet[Observation]) -> QuerySet[Observation]:
    """Only the observations no correction supersedes."""
    return queryset.filter(superseded_by__isnull=True)


def set_members(patient: Patient, set_ids: Iterable[str]) -> dict[str, list[Observation]]:
    """The current observations of each vital-signs set, by set id."""
    members: dict[str, list[Observation]] = {set_id: [] for set_id in set_ids}
    rows = current(Observation.objects.filter(patient=patient, set_id__in=list(members)))
    for row in rows.order_by("effective_at", "id"):
        members[row.set_id].append(row)
    return members


def stored_by_client_id(center: Organization, client_ids: Iterable[str]) -> dict[str, Observation]:
    """The observations this center already stores under these senders' identifiers."""
    wanted = [client_id for client_id in set(client_ids) if client_id]
    if not wanted:
        return {}
    rows = Observation.objects.filter(center=center, client_id__in=wanted)
    return {row.client_id: row for row in rows}


def baseline_measurement(
    patient: Patient, coi_din: str, manufacture_attempt: int | None, on_or_before: dt.date
) -> BodyMeasurement | None:
    """The body measurement weight gain is graded against: for an observation of a course whose
    lymphodepletion order was verified, the measurement that order was calculated from (the
    course's baseline, set by the verification); otherwise the patient's latest measurement on or
    before the observation's day."""
    if coi_din and manufacture_attempt is not None:
        baseline = (
            CourseBaseline.objects.filter(
                coi_din=coi_din, manufacture_attempt=manufacture_attempt, patient=patient
            )
            .select_related("measurement")
            .first()
        )
        if baseline is not None:
            return baseline.measurement
    return (
        patient.measurements.filter(measured_on__lte=on_or_before)
        .order_by("-measured_on", "-id")
        .first()
    )


def local_day(moment: dt.datetime, center: Organization) -> dt.date:
    """The center's calendar day of a moment (a measurement's date is the center's)."""
    return local_datetime(moment, center).date()


def latest_news2(patient: Patient, set_ids: Iterable[str]) -> dict[str, Grade]:
    """The latest NEWS2 row of each vital-signs set (a set scored again keeps its earlier rows)."""
    wanted = [set_id for set_id in set(set_ids) if set_id]
    latest: dict[str, Grade] = {}
    rows = Grade.objects.filter(patient=patient, set_id__in=wanted, observation__isnull=True)
    for row in rows.order_by("set_id", "-id"):
        latest.setdefault(row.set_id, row)
    return latest


def observations_by_id(patient: Patient, ids: Iterable[int]) -> dict[int, Observation]:
    """The patient's observations with these keys, marked and with their grades."""
    return {row.pk: row for row in list_for_patient(patient).filter(pk__in=list(ids))}
