"""The infusion day's checklist for a journey's course over the API: the journey names the
course (its COI identifier, current manufacturing attempt and protocol) and the treatment service
opens the checklist on the center's settings in force, as the journey page does. The checklist is
then read and written under `/treatment/infusions/{id}`.

Only the center's staff reach it: a manufacturing facility, which sees the journey by its COI
identifier, gets 404 (it does not learn of the infusion); a role that may not record the infusion
day gets 403, and nothing is written.

(No `from __future__ import annotations` in this module: ninja reads the operations' parameter
annotations as objects when the routes are built.)
"""

from typing import Any

from django.http import HttpRequest
from ninja import Router, Status

from tilcare.core.api_support import caller
from tilcare.core.errors import Conflict, NotVisible
from tilcare.core.http import get_visible_or_404
from tilcare.core.policy import require
from tilcare.journey import policies, selectors
from tilcare.journey.choices import Stage
from tilcare.journey.models import Journey
from tilcare.treatment import policies as treatment_policies
from tilcare.treatment.api.infusion import checklist_out
from tilcare.treatment.schemas.infusion import InfusionOut, InfusionRefusedOut
from tilcare.treatment.selectors import infusion_of_course
from tilcare.treatment.services import infusion as infusion_services

router = Router(tags=["journeys"])


@router.post(
    "/journeys/{public_id}/infusion",
    response={200: InfusionOut, 201: InfusionOut, 409: InfusionRefusedOut},
    summary="Open the infusion checklist of the journey's course (201), or answer the one "
    "already open (200)",
)
def post_infusion(request: HttpRequest, public_id: str) -> Status[Any]:
    """One checklist per course (the journey's current manufacturing attempt), on the center's
    signed settings in force for the journey's protocol: 409 when they are not in force, or the
    journey is closed and no checklist was opened before it closed."""
    user = caller(request)
    journey: Journey = get_visible_or_404(
        selectors.visible_to(user).select_related("center", "patient"), public_id
    )
    if not policies.can_view_journey_identity(user, journey):
        raise NotVisible()
    require(
        treatment_policies.can_record_infusion(user, journey.center),
        infusion_services.NOT_INFUSER,
    )
    existing = infusion_of_course(journey.coi_din, journey.manufacture_attempt)
    if existing is not None:
        return Status(200, checklist_out(existing))
    if journey.is_closed:
        raise Conflict(
            {
                "__all__": [
                    f"This journey is closed (“{Stage(journey.stage).label}”): no infusion "
                    "checklist is opened on it."
                ]
            }
        )
    infusion = infusion_services.open_infusion(selectors.course_of(journey), actor=user)
    return Status(201, checklist_out(infusion))
