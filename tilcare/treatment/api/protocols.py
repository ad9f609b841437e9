"""A center's protocol settings over the API: list, read, enter, sign, discard (see the
package's docstring for the paths and answers).

(No `from __future__ import annotations` in this module: ninja reads the operations' parameter
annotations as objects when the routes are built.)
"""

from typing import Any

from django.http import HttpRequest
from ninja import Router, Status

from tilcare.clinical.dosing.regimens import ProtocolRef
from tilcare.core.api_support import caller
from tilcare.core.errors import InvalidInput
from tilcare.core.http import get_visible_or_404
from tilcare.core.policy import require
from tilcare.treatment.choices import SIGNING_ROLES
from tilcare.treatment.models import ProtocolActivation
from tilcare.treatment.policies import (
    can_view_protocol_settings,
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
    activations_visible_to,
    pending_activation,
    protocol_standings,
)
from tilcare.treatment.services.activation import (
    discard_protocol_settings,
    enter_protocol_settings,
    sign_protocol_settings,
)

router = Router()

NOT_CENTER_STAFF = "Only the center's clinical staff see its protocol settings."
# The service's error keys that are not setting keys.
_BODY_FIELDS = frozenset({"__all__", "protocol", "reason"})


def _visible(request: HttpRequest, public_id: str) -> tuple[Any, ProtocolActivation]:
    """The caller and the version, if the caller's center is the version's; 404 otherwise."""
    user = caller(request)
    return user, get_visible_or_404(activations_visible_to(user), public_id)


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
