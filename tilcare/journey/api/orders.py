"""Treatment orders for a journey's course over the API: the journey names the course (its COI
identifier, current manufacturing attempt and protocol) and the treatment services compute and
write the order, as the journey page's orders card does.

Only the center's staff reach the orders: a manufacturing facility, which sees the journey by its
COI identifier, gets 404 (it does not learn of the orders); a role that may not write orders gets
403 before its body is read further, and nothing is written.

(No `from __future__ import annotations` in this module: ninja reads the operations' parameter
annotations as objects when the routes are built.)
"""

from typing import Any

from django.http import HttpRequest
from ninja import Router, Status

from tilcare.core.api_support import caller
from tilcare.core.errors import Conflict, InvalidInput, NotVisible
from tilcare.core.http import get_visible_or_404
from tilcare.core.policy import require
from tilcare.journey import policies, selectors
from tilcare.journey.models import Journey
from tilcare.journey.schemas import OrderIn
from tilcare.treatment import policies as treatment_policies
from tilcare.treatment.choices import OrderKind
from tilcare.treatment.schemas.orders import OrderOut, OrderRefusedOut, order_out
from tilcare.treatment.selectors import order_by_public_id
from tilcare.treatment.services import filgrastim as filgrastim_services
from tilcare.treatment.services import orders as order_services

router = Router(tags=["journeys"])

ONLY_FILGRASTIM_DAYS = "Only a filgrastim order takes a number of days."
NO_CREATININE_FOR_FILGRASTIM = (
    "A filgrastim order takes no creatinine: its doses are computed from the weight."
)
NO_CREATININE_FOR_IL2 = (
    "An IL-2 order takes no creatinine: its doses are computed from the weight. Send it without "
    "this field."
)


def _journey_to_order(request: HttpRequest, public_id: str) -> tuple[Any, Journey]:
    user = caller(request)
    journey: Journey = get_visible_or_404(
        selectors.visible_to(user).select_related("center", "patient"), public_id
    )
    if not policies.can_view_journey_identity(user, journey):
        raise NotVisible()
    require(treatment_policies.can_write_order(user, journey.center), order_services.NOT_PRESCRIBER)
    return user, journey


@router.post(
    "/journeys/{public_id}/orders",
    response={201: OrderOut, 409: OrderRefusedOut},
    summary="Order lymphodepletion, IL-2 or filgrastim for the journey's course (doses computed)",
)
def post_order(request: HttpRequest, public_id: str, payload: OrderIn) -> Status[Any]:
    """The doses are computed from the center's signed settings in force for the journey's
    protocol and the patient's latest height and weight (and, for lymphodepletion, the
    creatinine sent). The order then awaits a pharmacist's verification. 409 when the settings
    are not in force, no height and weight are recorded, the course already has an open order
    of this kind, or the journey is closed."""
    user, journey = _journey_to_order(request, public_id)
    if refusal := selectors.order_refusal(journey):
        raise Conflict({"__all__": [refusal]})
    course = selectors.course_of(journey)
    creatinine_sent = [
        name
        for name in ("serum_creatinine_mg_per_dl", "creatinine_drawn_on")
        if getattr(payload, name) is not None
    ]
    if payload.kind != OrderKind.FILGRASTIM and payload.days is not None:
        raise InvalidInput({"days": [ONLY_FILGRASTIM_DAYS]})
    if payload.kind == OrderKind.IL2:
        if creatinine_sent:
            raise InvalidInput({name: [NO_CREATININE_FOR_IL2] for name in creatinine_sent})
        order = order_services.order_il2(course, actor=user)
    elif payload.kind == OrderKind.FILGRASTIM:
        if creatinine_sent:
            raise InvalidInput({name: [NO_CREATININE_FOR_FILGRASTIM] for name in creatinine_sent})
        if payload.days is None:
            raise InvalidInput({"days": ["Say how many daily doses the order covers (1 to 30)."]})
        order = filgrastim_services.order_filgrastim(course, days=payload.days, actor=user)
    else:
        order = order_services.order_lymphodepletion(
            course,
            serum_creatinine_mg_per_dl=payload.serum_creatinine_mg_per_dl,
            creatinine_drawn_on=payload.creatinine_drawn_on,
            actor=user,
        )
    # Read back as the treatment API shows an order (its doses and activation joined).
    written = order_by_public_id(order.public_id)
    return Status(201, order_out(written or order, None))
