"""Treatment orders over the API: the pharmacist's queue, one order, its verification, writing
it again, cancelling it, and each dose given, held or not given (see the package's docstring).

(No `from __future__ import annotations` in this module: ninja reads the operations' parameter
annotations as objects when the routes are built.)
"""

from typing import Any

from django.db.models import prefetch_related_objects
from django.http import Http404, HttpRequest
from ninja import Router, Status

from tilcare.core.api_support import caller
from tilcare.core.errors import InvalidInput
from tilcare.core.http import get_visible_or_404
from tilcare.core.policy import require
from tilcare.treatment.choices import OrderKind
from tilcare.treatment.models import Order
from tilcare.treatment.policies import (
    can_cancel_order,
    can_view_orders,
    can_write_order,
)
from tilcare.treatment.schemas.orders import (
    AdministrationIn,
    FilgrastimStopIn,
    OrderCancelIn,
    OrderOut,
    OrderRefusedOut,
    OrderReorderIn,
    OrderSummaryOut,
    OrderVerifiedOut,
    order_out,
    summary_out,
    verification_out,
)
from tilcare.treatment.schemas.protocols import (
    SignIn,
)
from tilcare.treatment.selectors import (
    newer_inputs,
    order_by_public_id,
    orders_to_verify,
    orders_visible_to,
)
from tilcare.treatment.services.administrations import record_administration
from tilcare.treatment.services.filgrastim import stop_filgrastim
from tilcare.treatment.services.orders import NOT_PRESCRIBER, cancel_order, reorder, verify_order

router = Router()

# Orders -----------------------------------------------------------------------------------------

NOT_CENTER_STAFF_ORDERS = "Only the center's clinical staff see its treatment orders."
IL2_TAKES_NO_CREATININE = (
    "An IL-2 order is not computed from a creatinine: leave the creatinine and its date out."
)


def _visible_order(request: HttpRequest, public_id: str) -> tuple[Any, Order]:
    """The caller and the order, if the caller's center is the order's; 404 otherwise."""
    user = caller(request)
    return user, get_visible_or_404(orders_visible_to(user), public_id)


def _fresh_order(order: Order) -> Order:
    found = order_by_public_id(order.public_id)
    assert found is not None  # just written in this request
    return found


def _order_answer(order: Order) -> OrderOut:
    """The order as stored now (read again after a write), with why it needs a new order."""
    fresh = _fresh_order(order)
    return order_out(fresh, newer_inputs(fresh))


@router.get(
    "/treatment/orders",
    response=list[OrderSummaryOut],
    summary="The orders of the caller's center to verify: awaiting verification (oldest first), "
    "then verified ones whose inputs changed since",
)
def list_orders(request: HttpRequest) -> list[OrderSummaryOut]:
    user = caller(request)
    # The rule of `can_view_order`, for the center as a whole: its clinical staff, who also read
    # the protocol settings the orders are computed on.
    require(can_view_orders(user, user.organization), NOT_CENTER_STAFF_ORDERS)
    orders = orders_to_verify(user.organization)
    prefetch_related_objects(orders, "doses")
    return [summary_out(order, newer_inputs(order)) for order in orders]


@router.get(
    "/treatment/orders/{public_id}",
    response=OrderOut,
    summary="One order with its inputs, calculation, doses and verification",
)
def get_order(request: HttpRequest, public_id: str) -> OrderOut:
    _user, order = _visible_order(request, public_id)
    return order_out(order, newer_inputs(order))


@router.post(
    "/treatment/orders/{public_id}/verification",
    response={201: OrderVerifiedOut, 409: OrderRefusedOut},
    summary="Verify an order as the center's pharmacist, re-entering the password",
    description=(
        "An e-signature over the order's inputs, calculation and doses, by a pharmacist of the "
        "center other than the order's writer, while it awaits verification (403 otherwise). "
        "Refused (409) when a newer height and weight, or newer protocol settings, were recorded "
        "since it was written: it is written again first. A wrong password is 422 on `password`."
    ),
)
def post_order_verification(request: HttpRequest, public_id: str, payload: SignIn) -> Status[Any]:
    user, order = _visible_order(request, public_id)
    signature = verify_order(order, actor=user, password=payload.password)
    verified = _fresh_order(order)
    return Status(
        201,
        OrderVerifiedOut(
            signature=verification_out(signature, verified),
            status=verified.status,
            order=order_out(verified, newer_inputs(verified)),
        ),
    )


@router.post(
    "/treatment/orders/{public_id}/reorder",
    response={201: OrderOut, 409: OrderRefusedOut},
    summary="Write an open order again from the latest inputs (treating physician), with the "
    "reason",
    description=(
        "Cancels the order with the reason and writes the new one, computed from the patient's "
        "latest height and weight on the center's settings in force, awaiting verification: one "
        "transaction. Lymphodepletion takes a new serum creatinine with the date it was drawn, "
        "or neither to keep the order's own; IL-2 takes neither. 409 while the center's "
        "settings are not in force."
    ),
)
def post_order_reorder(
    request: HttpRequest, public_id: str, payload: OrderReorderIn
) -> Status[Any]:
    user, order = _visible_order(request, public_id)
    creatinine_given = (
        payload.serum_creatinine_mg_per_dl is not None or payload.creatinine_drawn_on is not None
    )
    if order.kind == OrderKind.IL2 and creatinine_given:
        # Said only to whom may write it again; anyone else is told they may not.
        may_write = can_cancel_order(user, order) and can_write_order(user, order.center)
        require(may_write, NOT_PRESCRIBER)
        field = (
            "serum_creatinine_mg_per_dl"
            if payload.serum_creatinine_mg_per_dl is not None
            else "creatinine_drawn_on"
        )
        raise InvalidInput({field: [IL2_TAKES_NO_CREATININE]})
    written = reorder(
        order,
        actor=user,
        reason=payload.reason,
        serum_creatinine_mg_per_dl=payload.serum_creatinine_mg_per_dl,
        creatinine_drawn_on=payload.creatinine_drawn_on,
    )
    return Status(201, _order_answer(written))


@router.post(
    "/treatment/orders/{public_id}/cancel",
    response=OrderOut,
    summary="Cancel an open order with the reason (treating physician); it stays readable",
)
def post_order_cancel(request: HttpRequest, public_id: str, payload: OrderCancelIn) -> OrderOut:
    user, order = _visible_order(request, public_id)
    cancelled = cancel_order(order, reason=payload.reason, actor=user)
    return _order_answer(cancelled)


@router.post(
    "/treatment/orders/{public_id}/filgrastim-stop",
    response={200: OrderOut, 409: OrderRefusedOut},
    summary="Stop a verified filgrastim order on the protocol's ANC rule, or on the "
    "institution's standard with the reason (treating physician)",
    description=(
        "The ANC of each day is checked against the protocol's rule; when it is met (or a reason "
        "is given), every dose not yet recorded is recorded not given with the reason and the "
        "order is stopped. 422 under `anc` when the rule is not met and no reason is given, "
        "saying how many consecutive days are above the threshold so far."
    ),
)
def post_filgrastim_stop(
    request: HttpRequest, public_id: str, payload: FilgrastimStopIn
) -> Status[Any]:
    user, order = _visible_order(request, public_id)
    require(can_write_order(user, order.center), NOT_PRESCRIBER)
    stopped = stop_filgrastim(order, anc=payload.anc, reason=payload.reason, actor=user)
    return Status(200, _order_answer(stopped))


@router.post(
    "/treatment/orders/{public_id}/doses/{sequence}/administration",
    response={201: OrderOut, 409: OrderRefusedOut},
    summary="Record a dose of a verified order as given, held or not given (nurse or treating "
    "physician)",
    description=(
        "Once per dose, in the order of the agent's doses, at a time not ahead of the clock and "
        "not before the order was verified; a held or not-given dose says why. A dose is not "
        "given from an order whose inputs are out of date (409, saying why); it may be recorded "
        "as not given. Answers the order with every dose and what happened to it."
    ),
)
def post_dose_administration(
    request: HttpRequest, public_id: str, sequence: int, payload: AdministrationIn
) -> Status[Any]:
    user, order = _visible_order(request, public_id)
    dose = order.doses.filter(sequence=sequence).first()
    if dose is None:
        raise Http404()
    record_administration(
        dose, outcome=payload.outcome, at=payload.at, reason=payload.reason, actor=user
    )
    return Status(201, _order_answer(order))
