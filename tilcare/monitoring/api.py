"""A patient's observations over the API: the same selectors, policies and services as the
bedside form.

    POST /monitoring/patients/{id}/observations        record a batch (at most 500), all or
                                                        nothing; 201 with the observations (an
                                                        entry sent before: the one stored) and
                                                        the grades they set
    GET  /monitoring/patients/{id}/observations        newest first, paged, superseded ones
                                                        marked, each with its grades and its
                                                        set's latest NEWS2
    POST /monitoring/observations/{id}/correction      a new observation, with the reason,
                                                        superseding this one; 201

A patient another center treats, or any patient for a facility's user, is 404. A role that may
not record observations gets 403 (the policy's words). A refused entry is 422 under
`entries.<i>.<field>`; a `client_id` already stored with other content, or a correction of an
observation already corrected, is 409.

(No `from __future__ import annotations` in this module: ninja reads the operations' parameter
annotations as objects when the routes are built.)
"""

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Router, Status
from ninja.pagination import paginate

from tilcare.core.api_support import ApiPagination, caller
from tilcare.core.http import get_visible_or_404
from tilcare.core.policy import require
from tilcare.monitoring import policies, selectors
from tilcare.monitoring.choices import Source
from tilcare.monitoring.models import Observation
from tilcare.monitoring.schemas import (
    CorrectionIn,
    ObservationsIn,
    PatientObservationOut,
    RecordedOut,
    grade_out,
    observation_out,
)
from tilcare.monitoring.services.observations import (
    Recorded,
    correct_observation,
    record_observations,
)
from tilcare.patients.models import Patient
from tilcare.patients.selectors import visible_to

router = Router(tags=["monitoring"])


def _visible_patient(request: HttpRequest, public_id: str) -> Patient:
    patient: Patient = get_visible_or_404(
        visible_to(caller(request)).select_related("center"), public_id
    )
    return patient


def _outs(patient: Patient, rows: list[Observation]) -> list[PatientObservationOut]:
    news2 = selectors.latest_news2(patient, (row.set_id for row in rows))
    return [
        observation_out(
            row,
            row.grades.all(),
            news2.get(row.set_id),
            superseded=bool(getattr(row, "is_superseded", False)),
            supersedes=None if row.supersedes is None else row.supersedes.public_id,
        )
        for row in rows
    ]


def _recorded_out(patient: Patient, recorded: Recorded) -> RecordedOut:
    fresh = selectors.observations_by_id(patient, (o.pk for o in recorded.observations))
    rows = [fresh[o.pk] for o in recorded.observations]
    by_observation = {o.pk: o.public_id for o in rows}
    return RecordedOut(
        observations=_outs(patient, rows),
        grades=[
            grade_out(g, None if g.observation_id is None else by_observation[g.observation_id])
            for g in recorded.grades
        ],
    )


class _Page:
    """A patient's observations, each page converted at once (their sets' NEWS2 in one read)."""

    def __init__(self, patient: Patient, queryset: QuerySet[Observation]) -> None:
        self._patient, self._queryset = patient, queryset

    def all(self) -> "_Page":
        return self

    def count(self) -> int:
        return int(self._queryset.count())

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index: slice) -> list[PatientObservationOut]:
        return _outs(self._patient, list(self._queryset[index]))


@router.post(
    "/monitoring/patients/{public_id}/observations",
    response={201: RecordedOut},
    summary="Record observations (graded on arrival)",
)
def record(request: HttpRequest, public_id: str, payload: ObservationsIn) -> Status[RecordedOut]:
    patient = _visible_patient(request, public_id)
    entries = [entry.model_dump() for entry in payload.entries]
    recorded = record_observations(patient, entries, actor=caller(request), source=Source.API)
    return Status(201, _recorded_out(patient, recorded))


@router.get(
    "/monitoring/patients/{public_id}/observations",
    response=list[PatientObservationOut],
    summary="A patient's observations, newest first",
)
@paginate(ApiPagination)
def list_observations(request: HttpRequest, public_id: str) -> Any:
    patient = _visible_patient(request, public_id)
    require(policies.can_view_observations(caller(request), patient), policies.VIEW_REFUSED)
    return _Page(patient, selectors.list_for_patient(patient))


@router.post(
    "/monitoring/observations/{public_id}/correction",
    response={201: RecordedOut},
    summary="Correct an observation (a new entry supersedes it)",
)
def correct(request: HttpRequest, public_id: str, payload: CorrectionIn) -> Status[RecordedOut]:
    user = caller(request)
    observation: Observation = get_visible_or_404(
        Observation.objects.filter(patient__in=visible_to(user)).select_related(
            "patient", "patient__center"
        ),
        public_id,
    )
    recorded = correct_observation(
        observation, value=payload.value, reason=payload.reason, actor=user, source=Source.API
    )
    return Status(201, _recorded_out(observation.patient, recorded))
