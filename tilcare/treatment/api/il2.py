"""IL-2 dose by dose over the API: where an IL-2 order stands, the nurse's assessment before a
dose and the treating physician's decision (see the package's docstring for the paths).

(No `from __future__ import annotations` in this module: ninja reads the operations' parameter
annotations as objects when the routes are built.)
"""

from typing import Any

from django.http import Http404, HttpRequest
from django.utils import timezone
from ninja import Router, Status

from tilcare.core.api_support import caller
from tilcare.core.errors import Conflict, InvalidInput
from tilcare.core.http import get_visible_or_404
from tilcare.core.policy import require
from tilcare.treatment.choices import OrderKind
from tilcare.treatment.models import Il2Decision, Order
from tilcare.treatment.policies import can_assess_il2_dose
from tilcare.treatment.schemas.il2 import (
    Il2AssessmentIn,
    Il2DecisionIn,
    Il2DecisionOut,
    Il2StandingOut,
    decision_out,
    standing_out,
)
from tilcare.treatment.schemas.infusion import InfusionRefusedOut
from tilcare.treatment.selectors import (
    decisions_of,
    il2_standing,
    observation_catalogue,
    orders_visible_to,
)
from tilcare.treatment.services.il2 import NOT_ASSESSOR, assess_il2_dose, decide_il2_dose

router = Router()

FINDING_AS_BOOLEAN = "{label}: send true or false (or null when it was not assessed)."
MEASUREMENT_AS_TEXT = (
    "{label}: send the value as text in {unit}, not as a JSON number or true/false."
)
# The service's error keys that are not observation keys.
_BODY_FIELDS = frozenset({"__all__", "choice", "note", "at"})


def _visible_il2_order(request: HttpRequest, public_id: str) -> tuple[Any, Order]:
    """The caller and the IL-2 order, if the caller's center is the order's; 404 otherwise (and
    for a lymphodepletion order, which has no IL-2 doses)."""
    user = caller(request)
    order = get_visible_or_404(orders_visible_to(user), public_id)
    if order.kind != OrderKind.IL2:
        raise Http404()
    return user, order


def _standing(order: Order) -> Il2StandingOut:
    fresh = Order.objects.select_related("activation", "center", "patient").get(pk=order.pk)
    return standing_out(
        il2_standing(fresh, timezone.now()), observation_catalogue(fresh), decisions_of(fresh)
    )


def _typed_as_the_catalogue(order: Order, observations: dict[str, Any]) -> None:
    """A finding is true or false and a measurement is text, as the catalogue says (the service
    also reads "yes"/"no" from a form; the API takes the JSON types). 422 by field otherwise."""
    catalogue = observation_catalogue(order)
    errors: dict[str, list[str]] = {}
    for key, value in observations.items():
        spec = catalogue.get(key)
        if spec is None or value is None or value == "":
            continue
        if spec.unit is None and not isinstance(value, bool):
            errors[f"observations.{key}"] = [FINDING_AS_BOOLEAN.format(label=spec.label)]
        elif spec.unit is not None and not isinstance(value, str):
            errors[f"observations.{key}"] = [
                MEASUREMENT_AS_TEXT.format(label=spec.label, unit=spec.unit.value)
            ]
    if errors:
        raise InvalidInput(errors)


@router.get(
    "/treatment/orders/{public_id}/il2",
    response=Il2StandingOut,
    summary="Where an IL-2 order stands: doses given, held and not given, the next dose and its "
    "window, the observations the protocol's rules read, and the decisions",
    description="404 for a lymphodepletion order (it has no IL-2 doses).",
)
def get_il2(request: HttpRequest, public_id: str) -> Il2StandingOut:
    _user, order = _visible_il2_order(request, public_id)
    return _standing(order)


@router.post(
    "/treatment/orders/{public_id}/il2/assessments",
    response={201: Il2DecisionOut, 409: InfusionRefusedOut},
    summary="Assess the patient before the next IL-2 dose (nurse or treating physician)",
    description=(
        "The observations are evaluated against every hold and stop rule set of the protocol; "
        "the strictest answer wins. The nurse decides give only when the rules clear the dose; "
        "the treating physician, another person, then decides. A key the protocol's rules do "
        "not read is 422 under `observations.<key>`. 409 when the order is not verified or is "
        "stopped, the infusion's end is not recorded, the next dose is already assessed, or "
        "every dose is recorded."
    ),
)
def post_il2_assessment(
    request: HttpRequest, public_id: str, payload: Il2AssessmentIn
) -> Status[Any]:
    user, order = _visible_il2_order(request, public_id)
    require(can_assess_il2_dose(user, order), NOT_ASSESSOR)
    _typed_as_the_catalogue(order, payload.observations)
    try:
        decision = assess_il2_dose(
            order,
            observations=payload.observations,
            choice=payload.choice,
            note=payload.note,
            at=payload.at,
            actor=user,
        )
    except Conflict:
        raise
    except InvalidInput as refused:
        # The service names an observation by its key; the body holds it under `observations`.
        raise InvalidInput(
            {
                (key if key in _BODY_FIELDS else f"observations.{key}"): messages
                for key, messages in refused.errors.items()
            }
        ) from None
    return Status(201, decision_out(_fresh_decision(decision)))


def _fresh_decision(decision: Il2Decision) -> Il2Decision:
    return Il2Decision.objects.select_related("order", "dose", "nurse", "physician").get(
        pk=decision.pk
    )


@router.post(
    "/treatment/il2-decisions/{public_id}/decision",
    response={200: Il2DecisionOut, 409: InfusionRefusedOut},
    summary="Decide an assessed IL-2 dose (treating physician, not the assessor)",
    description=(
        "give: refused (422 on `choice`) when a stop criterion is met; a note says why when the "
        "rules did not clear the dose or it is past its window. hold: the dose is recorded held "
        "now. stop: this and every later dose are recorded not given and the order is stopped. "
        "403 for the person who assessed the dose, and once it is decided; 409 when the order "
        "is stopped."
    ),
)
def post_il2_decision(request: HttpRequest, public_id: str, payload: Il2DecisionIn) -> Status[Any]:
    user = caller(request)
    visible = Il2Decision.objects.filter(order__in=orders_visible_to(user))
    decision = get_visible_or_404(visible, public_id)
    decided = decide_il2_dose(decision, choice=payload.choice, note=payload.note, actor=user)
    return Status(200, decision_out(_fresh_decision(decided)))
