"""Patients over the API: the same selectors, policies and services as the pages.

Every lookup goes through `selectors.visible_to(caller)`, so a patient of another center, or any
patient for a manufacturing facility, answers 404 exactly as a patient that does not exist.

(No `from __future__ import annotations` in this module: ninja reads the operations' parameter
annotations as objects when the routes are built.)
"""

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Router, Status
from ninja.pagination import paginate

from tilcare.accounts.models import User
from tilcare.core.api_support import ApiPagination, caller
from tilcare.core.errors import InvalidInput, PermissionDenied
from tilcare.core.http import get_visible_or_404
from tilcare.patients import selectors, services
from tilcare.patients.models import BodyMeasurement, Consent, Patient
from tilcare.patients.schemas import (
    ConsentIn,
    ConsentOut,
    MeasurementIn,
    MeasurementOut,
    PatientChangeIn,
    PatientIn,
    PatientOut,
    PatientSummaryOut,
)

router = Router(tags=["patients"])


def _visible_patient(request: HttpRequest, public_id: str) -> Patient:
    patient: Patient = get_visible_or_404(
        selectors.visible_to(caller(request)).select_related("center"), public_id
    )
    return patient


@router.get("/patients", response=list[PatientSummaryOut], summary="List or search patients")
@paginate(ApiPagination)
def list_patients(request: HttpRequest, q: str = "") -> QuerySet[Patient]:
    """Patients of the caller's center; `q` matches an exact MRN or words of the name."""
    patients = selectors.search(selectors.visible_to(caller(request)), q)
    return patients.order_by("family_name", "given_name", "id")


@router.post("/patients", response={201: PatientOut}, summary="Register a patient")
def create_patient(request: HttpRequest, payload: PatientIn) -> Status[Patient]:
    user: User = caller(request)
    if user.organization is None:
        raise PermissionDenied("You may not register patients: you belong to no center.")
    patient = services.create_patient(
        actor=user, center=user.organization, data=payload.model_dump()
    )
    return Status(201, patient)


@router.get("/patients/{public_id}", response=PatientOut, summary="One patient")
def get_patient(request: HttpRequest, public_id: str) -> Patient:
    return _visible_patient(request, public_id)


@router.patch("/patients/{public_id}", response=PatientOut, summary="Change a patient's record")
def change_patient(request: HttpRequest, public_id: str, payload: PatientChangeIn) -> Patient:
    patient = _visible_patient(request, public_id)
    changes = payload.changes()
    if not changes:
        raise InvalidInput({"__all__": ["Send at least one field to change, with the reason."]})
    return services.update_patient(
        patient, actor=caller(request), changes=changes, reason=payload.reason
    )


@router.get(
    "/patients/{public_id}/measurements",
    response=list[MeasurementOut],
    summary="Height and weight, newest first",
)
def list_measurements(request: HttpRequest, public_id: str) -> QuerySet[BodyMeasurement]:
    patient = _visible_patient(request, public_id)
    return patient.measurements.select_related("recorded_by").order_by("-measured_on", "-id")


@router.post(
    "/patients/{public_id}/measurements",
    response={201: MeasurementOut},
    summary="Record height and weight",
)
def record_measurement(
    request: HttpRequest, public_id: str, payload: MeasurementIn
) -> Status[BodyMeasurement]:
    patient = _visible_patient(request, public_id)
    measurement = services.record_measurement(
        patient, actor=caller(request), **payload.model_dump()
    )
    return Status(201, measurement)


@router.get(
    "/patients/{public_id}/consents", response=list[ConsentOut], summary="Consents, newest first"
)
def list_consents(request: HttpRequest, public_id: str) -> QuerySet[Consent]:
    patient = _visible_patient(request, public_id)
    return patient.consents.select_related("obtained_by").order_by("-signed_on", "-id")


@router.post(
    "/patients/{public_id}/consents", response={201: ConsentOut}, summary="Record a consent"
)
def record_consent(request: HttpRequest, public_id: str, payload: ConsentIn) -> Status[Consent]:
    patient = _visible_patient(request, public_id)
    consent = services.record_consent(patient, actor=caller(request), **payload.model_dump())
    return Status(201, consent)
