"""A center's protocol settings and treatment orders over the API: the same selectors, policies
and services as the pages.

    GET  /treatment/protocol-settings                         each shipped protocol: the version
                                                              in force and the one awaiting
                                                              signatures (the caller's center)
    GET  /treatment/protocol-settings/{id}                    one version, with its signatures
    POST /treatment/protocol-settings                         enter the settings: a new version
                                                              (201) or the unsigned one changed
                                                              (200)
    POST /treatment/protocol-settings/{id}/signatures         sign as pharmacist or physician
    POST /treatment/protocol-settings/{id}/discard            end a version awaiting signatures

and the orders computed from the settings in force (written from the journey):

    GET  /treatment/orders                                    the pharmacist's queue: orders
                                                              awaiting verification, and
                                                              verified ones whose inputs changed
    GET  /treatment/orders/{id}                               one order, with its inputs,
                                                              calculation and verification
    POST /treatment/orders/{id}/verification                  the pharmacist's e-signature
    POST /treatment/orders/{id}/reorder                       replace it by one computed again
    POST /treatment/orders/{id}/cancel                        cancel it, with the reason

Only the center's own staff see its settings and orders: a version or an order of another
center, or any of them for a facility's user, is 404. A role that may not enter, sign or discard
settings, or verify, cancel or write an order again, gets 403 (the policy's words), as does a
second signature by the same role. A refused value is 422 under `values.<key>`, in the words of
the protocol file's declaration (its label and limit). An order whose doses no longer follow the
latest inputs is not verified, and an order is not written again while the center's settings
are not in force: 409, saying why.

(No `from __future__ import annotations` in this module: ninja reads the operations' parameter
annotations as objects when the routes are built.)
"""

import uuid
from typing import Any

from django.db.models import prefetch_related_objects
from django.http import Http404, HttpRequest
from ninja import Router, Status

from tilcare.clinical.dosing.regimens import ProtocolRef
from tilcare.core.api_support import caller
from tilcare.core.errors import InvalidInput
from tilcare.core.policy import require
from tilcare.treatment.choices import SIGNING_ROLES, OrderKind
from tilcare.treatment.models import Order, ProtocolActivation
from tilcare.treatment.policies import (
    can_cancel_order,
    can_view_order,
    can_view_orders,
    can_view_protocol_settings,
    can_write_order,
)
from tilcare.treatment.schemas.orders import (
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
    DiscardIn,
    ProtocolSettingsIn,
    ProtocolSettingsSignedOut,
    ProtocolSettingsVersionOut,
    ProtocolStandingOut,
    SignIn,
    signature_out,
    standing_out,
    version_out,
)
from tilcare.treatment.selectors import (
    activation_by_public_id,
    newer_inputs,
    order_by_public_id,
    orders_to_verify,
    pending_activation,
    protocol_standings,
)
from tilcare.treatment.services.activation import (
    discard_protocol_settings,
    enter_protocol_settings,
    sign_protocol_settings,
)
from tilcare.treatment.services.orders import NOT_PRESCRIBER, cancel_order, reorder, verify_order

router = Router(tags=["treatment"])

NOT_CENTER_STAFF = "Only the center's clinical staff see its protocol settings."
# The service's error keys that are not setting keys.
_BODY_FIELDS = frozenset({"__all__", "protocol", "reason"})


def _visible(request: HttpRequest, public_id: str) -> tuple[Any, ProtocolActivation]:
    """The caller and the version, if the caller's center is the version's; 404 otherwise, so
    another center's settings are not known to exist."""
    user = caller(request)
    try:
        key = uuid.UUID(str(public_id))
    except ValueError:
        raise Http404() from None
    activation = activation_by_public_id(key)
    if activation is None or not can_view_protocol_settings(user, activation.center):
        raise Http404()
    return user, activation


def _fresh(activation: ProtocolActivation) -> ProtocolActivation:
    found = activation_by_public_id(activation.public_id)
    assert found is not None  # just written in this request
    return found


@router.get(
    "/treatment/protocol-settings",
    response=list[ProtocolStandingOut],
    summary="Each shipped protocol with the caller's center's settings: in force and awaiting",
)
def list_protocol_settings(request: HttpRequest) -> list[ProtocolStandingOut]:
    user = caller(request)
    require(can_view_protocol_settings(user, user.organization), NOT_CENTER_STAFF)
    return [
        standing_out(standing.protocol, standing.active, standing.pending)
        for standing in protocol_standings(user.organization)
    ]


@router.get(
    "/treatment/protocol-settings/{public_id}",
    response=ProtocolSettingsVersionOut,
    summary="One version of the center's settings for a protocol, with its signatures",
)
def get_protocol_settings(request: HttpRequest, public_id: str) -> ProtocolSettingsVersionOut:
    _user, activation = _visible(request, public_id)
    return version_out(activation)


@router.post(
    "/treatment/protocol-settings",
    response={200: ProtocolSettingsVersionOut, 201: ProtocolSettingsVersionOut},
    summary="Enter the center's settings for a protocol (pharmacist or treating physician)",
    description=(
        "Writes the version awaiting signatures: 201 with a new version, or 200 with the "
        "version already awaiting signatures, changed (allowed while nobody has signed it). "
        "Every setting is checked against its declaration in the protocol file; a refused "
        "setting is named as `values.<key>`. Once a version is in force, a reason is required."
    ),
)
def post_protocol_settings(request: HttpRequest, payload: ProtocolSettingsIn) -> Status[Any]:
    user = caller(request)
    center = user.organization
    # Only to tell a new version (201) from the unsigned one changed (200).
    earlier = pending_activation(center, ProtocolRef(payload.protocol_id, payload.protocol_version))
    try:
        activation = enter_protocol_settings(
            center,
            protocol_id=payload.protocol_id,
            protocol_version=payload.protocol_version,
            values=payload.model_dump(mode="json")["values"],
            reason=payload.reason,
            actor=user,
        )
    except InvalidInput as refused:
        # The service names a setting by its key; the body holds it under `values`.
        raise InvalidInput(
            {
                (key if key in _BODY_FIELDS else f"values.{key}"): messages
                for key, messages in refused.errors.items()
            }
        ) from None
    changed = earlier is not None and earlier.pk == activation.pk
    return Status(200 if changed else 201, version_out(_fresh(activation)))


@router.post(
    "/treatment/protocol-settings/{public_id}/signatures",
    response={201: ProtocolSettingsSignedOut},
    summary="Sign a version as pharmacist or treating physician, re-entering the password",
    description=(
        "The signer's role decides which of the two signatures it is; each role signs once. "
        "With both in, the version is in force and the previous one superseded. Refused (422) "
        "while a setting the protocol needs is blank, naming each."
    ),
)
def post_signature(request: HttpRequest, public_id: str, payload: SignIn) -> Status[Any]:
    user, activation = _visible(request, public_id)
    signature = sign_protocol_settings(activation, actor=user, password=payload.password)
    signed = _fresh(activation)
    role = next(
        str(role)
        for role, (_meaning, field) in SIGNING_ROLES.items()
        if getattr(signed, f"{field}_id") == signature.pk
    )
    return Status(
        201,
        ProtocolSettingsSignedOut(
            signature=signature_out(role, signature, signed),
            status=signed.status,
            version=version_out(signed),
        ),
    )


@router.post(
    "/treatment/protocol-settings/{public_id}/discard",
    response=ProtocolSettingsVersionOut,
    summary="Discard a version awaiting signatures, with the reason (it stays readable)",
)
def post_discard(
    request: HttpRequest, public_id: str, payload: DiscardIn
) -> ProtocolSettingsVersionOut:
    user, activation = _visible(request, public_id)
    discarded = discard_protocol_settings(activation, reason=payload.reason, actor=user)
    return version_out(_fresh(discarded))


# Orders -----------------------------------------------------------------------------------------

NOT_CENTER_STAFF_ORDERS = "Only the center's clinical staff see its treatment orders."
IL2_TAKES_NO_CREATININE = (
    "An IL-2 order is not computed from a creatinine: leave the creatinine and its date out."
)


def _visible_order(request: HttpRequest, public_id: str) -> tuple[Any, Order]:
    """The caller and the order, if the caller's center is the order's; 404 otherwise, so
    another center's orders are not known to exist."""
    user = caller(request)
    try:
        key = uuid.UUID(str(public_id))
    except ValueError:
        raise Http404() from None
    order = order_by_public_id(key)
    if order is None or not can_view_order(user, order):
        raise Http404()
    return user, order


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
