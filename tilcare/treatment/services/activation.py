"""A center's protocol settings: entered once, signed by a pharmacist and a physician, in force.

`enter_protocol_settings` writes the version awaiting signatures (a new one, or the same one
changed while nobody has signed it yet); `sign_protocol_settings` adds the signer's signature
(the role decides which of the two) and, with both in, puts the version in force and supersedes
the previous one in the same transaction; `discard_protocol_settings` ends an unsigned version.
A signed value never changes: a change is a new version, with a reason.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from tilcare.accounts.models import Organization, User
from tilcare.audit.actions import Action
from tilcare.audit.hashing import snapshot
from tilcare.audit.models import Signature
from tilcare.audit.services import record_written, sign_record
from tilcare.clinical.dosing.protocol_settings import (
    plain_value,
    problems,
    required_specs,
    settings_from_plain,
    specs_in,
)
from tilcare.clinical.dosing.regimens import ProtocolRef
from tilcare.core.errors import InvalidInput
from tilcare.core.policy import require
from tilcare.core.validation import clean_text
from tilcare.protocols.loader import ProtocolNotFound, load_protocol
from tilcare.protocols.schema import Protocol
from tilcare.treatment import policies
from tilcare.treatment.choices import REASON_MAX, SIGNING_ROLES, ActivationStatus
from tilcare.treatment.models import ProtocolActivation
from tilcare.treatment.selectors import active_activation, pending_activation

NOT_ENTERER = "Only a pharmacist or a treating physician of this center enters protocol settings."
NOT_SIGNER = (
    "Only a pharmacist or a treating physician of this center signs protocol settings, each "
    "once, while the version awaits their signature."
)


def _protocol(protocol_id: str, version: str) -> Protocol:
    try:
        return load_protocol(protocol_id, version)
    except ProtocolNotFound as error:
        raise InvalidInput({"protocol": [str(error)]}) from None


def _stored(protocol: Protocol, values: Mapping[str, object]) -> dict[str, object]:
    """The values as stored: blanks dropped, each typed and written back as plain text."""
    given = {key: value for key, value in values.items() if value not in (None, "")}
    found = problems(protocol, given)
    if found:
        raise InvalidInput({key: [message] for key, message in found.items()})
    typed = settings_from_plain(specs_in(protocol), given)
    return {key: plain_value(typed[key]) for key in typed}


def _reason(reason: object, *, needed: bool) -> str:
    required = "Say what changes from the version in force and why (required)."
    return clean_text(
        "reason", reason, max_length=REASON_MAX, required=required if needed else None
    )


def enter_protocol_settings(
    center: Organization,
    *,
    protocol_id: str,
    protocol_version: str,
    values: Mapping[str, object],
    reason: str = "",
    actor: User,
) -> ProtocolActivation:
    """Write the center's settings for a protocol as the version awaiting signatures.

    Every value is checked against its declaration in the protocol file (unknown keys, values
    out of range, a renal band with a gap), and refused by key, nothing written. Values may be
    incomplete here: signing needs every setting the choices made require. A reason is required
    once a version is in force.
    """
    require(policies.can_enter_protocol_settings(actor, center), NOT_ENTERER)
    protocol = _protocol(protocol_id, protocol_version)
    stored = _stored(protocol, values)
    with transaction.atomic():
        # One writer at a time per center and protocol: the center row is the lock.
        Organization.objects.select_for_update().get(pk=center.pk)
        in_force = active_activation(center, protocol.ref)
        if in_force is not None and in_force.values == stored:
            raise InvalidInput(
                {
                    "__all__": [
                        f"These are the settings of version {in_force.number}, already in force: "
                        "change at least one setting to enter a new version."
                    ]
                }
            )
        cleaned_reason = _reason(reason, needed=in_force is not None)
        pending = pending_activation(center, protocol.ref)
        if pending is not None:
            if pending.is_signed_by_anyone:
                raise InvalidInput(
                    {
                        "__all__": [
                            f"Version {pending.number} already carries a signature, so its "
                            "settings can no longer change. Discard it (with a reason) and enter "
                            "the settings again."
                        ]
                    }
                )
            if pending.values == stored and pending.reason == cleaned_reason:
                return pending  # the same settings again: nothing changes, nothing to record
            before = snapshot(pending)
            pending.values = stored
            pending.reason = cleaned_reason
            pending.entered_by = actor
            pending.save(update_fields=["values", "reason", "entered_by", "updated_at"])
            record_written(Action.PROTOCOL_SETTINGS_CHANGE, pending, actor=actor, before=before)
            return pending
        highest = ProtocolActivation.objects.filter(
            center=center, protocol_id=protocol.protocol_id, protocol_version=protocol.version
        ).aggregate(Max("number"))["number__max"]
        activation = ProtocolActivation.objects.create(
            center=center,
            protocol_id=protocol.protocol_id,
            protocol_version=protocol.version,
            number=(highest or 0) + 1,
            values=stored,
            reason=cleaned_reason,
            entered_by=actor,
        )
        record_written(Action.PROTOCOL_SETTINGS_ENTER, activation, actor=actor)
        return activation


def _locked(activation: ProtocolActivation) -> ProtocolActivation:
    return (
        ProtocolActivation.objects.select_for_update()
        .select_related("center")
        .get(pk=activation.pk)
    )


def _check_complete(activation: ProtocolActivation) -> None:
    protocol = load_protocol(activation.protocol_id, activation.protocol_version)
    found = problems(
        protocol, activation.values, required=required_specs(protocol, activation.values)
    )
    if found:
        raise InvalidInput(
            {
                "__all__": [
                    "These settings must be entered before the version can be signed: "
                    + "; ".join(found.values())
                ]
            }
        )


def _ref(activation: ProtocolActivation) -> ProtocolRef:
    return ProtocolRef(activation.protocol_id, activation.protocol_version)


def _end(
    activation: ProtocolActivation,
    status: ActivationStatus,
    reason: str,
    *,
    action: Action,
    actor: User,
) -> None:
    before = snapshot(activation)
    activation.status = status
    activation.ended_at = timezone.now()
    activation.end_reason = reason
    activation.save(update_fields=["status", "ended_at", "end_reason", "updated_at"])
    record_written(action, activation, actor=actor, before=before, reason=reason)


def sign_protocol_settings(
    activation: ProtocolActivation, *, actor: User, password: str
) -> Signature:
    """Sign the version as the actor's role (pharmacist or physician), re-entering the password.

    With both signatures in, the version is in force from now and the previous one superseded,
    in the same transaction.
    """
    with transaction.atomic():
        Organization.objects.select_for_update().get(pk=activation.center_id)
        activation = _locked(activation)
        require(policies.can_sign_protocol_settings(actor, activation), NOT_SIGNER)
        _check_complete(activation)
        meaning, field = SIGNING_ROLES[actor.role]
        signature = sign_record(activation, actor=actor, password=password, meaning=meaning)
        before = snapshot(activation)
        setattr(activation, field, signature)
        action = Action.PROTOCOL_SETTINGS_SIGN
        if activation.pharmacist_signature_id and activation.physician_signature_id:
            previous = active_activation(activation.center, _ref(activation))
            if previous is not None:
                _end(
                    previous,
                    ActivationStatus.SUPERSEDED,
                    f"Replaced by version {activation.number}.",
                    action=Action.PROTOCOL_SETTINGS_SUPERSEDE,
                    actor=actor,
                )
            activation.status = ActivationStatus.ACTIVE
            activation.activated_at = timezone.now()
            action = Action.PROTOCOL_SETTINGS_ACTIVATE
        activation.save()
        record_written(action, activation, actor=actor, before=before)
        return signature


def discard_protocol_settings(
    activation: ProtocolActivation, *, reason: str, actor: User
) -> ProtocolActivation:
    """End a version that will not be signed (it stays readable, with the reason)."""
    with transaction.atomic():
        # The center row first, as entering and signing take it: otherwise a change being entered
        # could land on the version just discarded.
        Organization.objects.select_for_update().get(pk=activation.center_id)
        activation = _locked(activation)
        require(
            policies.can_discard_protocol_settings(actor, activation),
            "Only a pharmacist or a treating physician of this center discards a version, and "
            "only while it awaits signatures.",
        )
        text = clean_text(
            "reason",
            reason,
            max_length=REASON_MAX,
            required="Say why this version is discarded (required).",
        )
        _end(
            activation,
            ActivationStatus.DISCARDED,
            text,
            action=Action.PROTOCOL_SETTINGS_DISCARD,
            actor=actor,
        )
        return activation
