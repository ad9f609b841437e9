"""Reads of a center's protocol settings: the version in force, the one awaiting signatures, the
history, and the values typed as the clinical core reads them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from tilcare.accounts.models import Organization
from tilcare.clinical.dosing.protocol_settings import settings_from_plain, specs_in
from tilcare.clinical.dosing.regimens import ProtocolRef
from tilcare.clinical.dosing.settings import CenterSettings
from tilcare.protocols.loader import available_protocols, load_protocol
from tilcare.protocols.schema import Protocol
from tilcare.treatment import policies
from tilcare.treatment.choices import (
    ActivationStatus,
)
from tilcare.treatment.models import ProtocolActivation


def _of(center: Organization, ref: ProtocolRef) -> QuerySet[ProtocolActivation]:
    return ProtocolActivation.objects.filter(
        center=center, protocol_id=ref.protocol_id, protocol_version=ref.version
    ).select_related("pharmacist_signature", "physician_signature", "entered_by")


def active_activation(center: Organization, ref: ProtocolRef) -> ProtocolActivation | None:
    """The signed version in force for this protocol at this center, if any."""
    return _of(center, ref).filter(status=ActivationStatus.ACTIVE).first()


def pending_activation(center: Organization, ref: ProtocolRef) -> ProtocolActivation | None:
    """The version entered and awaiting signatures, if any."""
    return _of(center, ref).filter(status=ActivationStatus.AWAITING_SIGNATURES).first()


def activation_history(center: Organization, ref: ProtocolRef) -> list[ProtocolActivation]:
    """Every version, newest first: superseded and discarded ones stay readable."""
    return list(_of(center, ref).order_by("-number"))


def _activations() -> QuerySet[ProtocolActivation]:
    return ProtocolActivation.objects.select_related(
        "center", "pharmacist_signature", "physician_signature", "entered_by"
    )


def activation_by_public_id(public_id: object) -> ProtocolActivation | None:
    return _activations().filter(public_id=public_id).first()


def activations_visible_to(user: Any) -> QuerySet[ProtocolActivation]:
    """Every version of the user's own center, for its staff who read protocol settings; none
    for anyone else (another center's versions are not known to exist)."""
    center = getattr(user, "organization", None)
    if center is None or not policies.can_view_protocol_settings(user, center):
        return ProtocolActivation.objects.none()
    return _activations().filter(center=center)


def protocol_of(activation: ProtocolActivation) -> Protocol:
    return load_protocol(activation.protocol_id, activation.protocol_version)


def center_settings_of(activation: ProtocolActivation) -> CenterSettings:
    """The version's values in the types the clinical core reads."""
    return settings_from_plain(specs_in(protocol_of(activation)), activation.values)


@dataclass(frozen=True)
class ProtocolStanding:
    """One shipped protocol as a center stands with it: in force, awaiting signatures, or not
    activated."""

    protocol: Protocol
    active: ProtocolActivation | None
    pending: ProtocolActivation | None


def protocol_standings(center: Organization) -> list[ProtocolStanding]:
    found: dict[tuple[str, str], dict[str, ProtocolActivation]] = {}
    live = (ActivationStatus.ACTIVE, ActivationStatus.AWAITING_SIGNATURES)
    rows = ProtocolActivation.objects.filter(center=center, status__in=live).select_related(
        "pharmacist_signature", "physician_signature", "entered_by"
    )
    for row in rows:
        found.setdefault((row.protocol_id, row.protocol_version), {})[row.status] = row
    standings = []
    for ref in available_protocols():
        mine = found.get((ref.protocol_id, ref.version), {})
        standings.append(
            ProtocolStanding(
                protocol=load_protocol(ref.protocol_id, ref.version),
                active=mine.get(ActivationStatus.ACTIVE),
                pending=mine.get(ActivationStatus.AWAITING_SIGNATURES),
            )
        )
    return standings
