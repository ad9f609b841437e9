"""QA's signed disposition and the physician's acknowledgement of a batch over the API: the same
journey release services as the card, so what follows for the journey is recorded with the
signature. The batch's release checklist itself is the batch record's (`manufacturing.api`).

The operation ids are the ones ninja derived from this door's first module
(`tilcare.journey.release`), kept so that clients generated from the OpenAPI document keep them.

(No `from __future__ import annotations` in this module: ninja reads the operations' parameter
annotations as objects when the routes are built.)
"""

from typing import Any

from django.http import HttpRequest
from ninja import Router

from tilcare.journey.schemas import AcknowledgementIn, DispositionIn, ReleaseStepOut
from tilcare.journey.services.release import acknowledge_batch_exception, dispose_batch
from tilcare.manufacturing.api import release as release_api

router = Router(tags=["manufacturing"])


@router.post(
    "/manufacturing/batches/{public_id}/disposition",
    response=ReleaseStepOut,
    summary="QA's signed disposition: release, release under exception, or reject",
    operation_id="tilcare_journey_release_post_disposition",
)
def post_disposition(request: HttpRequest, public_id: str, payload: DispositionIn) -> Any:
    user, batch = release_api.batch_for(request, public_id)
    outcome = dispose_batch(batch, actor=user, **payload.model_dump())
    return ReleaseStepOut(release=release_api.release_out(batch), journey_notes=list(outcome.notes))


@router.post(
    "/manufacturing/batches/{public_id}/acknowledgement",
    response=ReleaseStepOut,
    summary="The treating physician's signed acknowledgement of a release under exception",
    operation_id="tilcare_journey_release_post_acknowledgement",
)
def post_acknowledgement(request: HttpRequest, public_id: str, payload: AcknowledgementIn) -> Any:
    user, batch = release_api.batch_for(request, public_id)
    outcome = acknowledge_batch_exception(batch, password=payload.password, actor=user)
    return ReleaseStepOut(release=release_api.release_out(batch), journey_notes=list(outcome.notes))
