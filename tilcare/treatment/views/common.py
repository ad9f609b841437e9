"""What the protocol settings pages share: who may open them, the center's standing with a
protocol in words, a version's values grouped by section, dates in the center's zone."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, cast

from django.http import Http404, HttpRequest
from django.urls import reverse
from django.utils import dateformat, timezone

from tilcare.accounts.choices import Role
from tilcare.accounts.models import Organization, User
from tilcare.audit.models import Signature
from tilcare.clinical.dosing.protocol_settings import (
    narrowables,
    optional_keys,
    shown,
    specs_in,
)
from tilcare.clinical.dosing.settings import (
    SHARED_WEIGHT_SETTINGS,
    ChoiceSetting,
    DecimalSetting,
    SettingSpec,
)
from tilcare.core.http import get_visible_or_404
from tilcare.core.policy import require
from tilcare.core.timeutil import zone_of
from tilcare.protocols.loader import available_protocols, load_protocol
from tilcare.protocols.schema import Protocol
from tilcare.treatment import policies, selectors
from tilcare.treatment.choices import ActivationStatus
from tilcare.treatment.forms import decimal_or_text, option_words
from tilcare.treatment.models import ProtocolActivation

NOT_VIEWER = "Protocol settings are read by the clinical staff of the treatment center."
WHEN = "j M Y, H:i T"
ROLE_WORDS = {Role.PHARMACIST: "pharmacist", Role.PHYSICIAN: "treating physician"}
STATUS_BADGES = {
    ActivationStatus.ACTIVE: "badge-success",
    ActivationStatus.AWAITING_SIGNATURES: "badge-warning",
    ActivationStatus.SUPERSEDED: "badge-neutral",
    ActivationStatus.DISCARDED: "badge-muted",
}
NOT_ACTIVATED = (
    "Not activated: a pharmacist and a treating physician of the center enter and sign these "
    "settings before doses can be calculated for patients on this protocol"
)


# ---------- What the pages show ----------


@dataclass(frozen=True)
class StandingLine:
    badge: str
    label: str
    text: str


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    why: str
    value: str
    in_force: str | None = None  # the value in force, shown beside a changed one
    changed: bool = False
    is_set: bool = True


@dataclass
class Section:
    title: str
    rows: list[Any] = field(default_factory=list)


def when(moment: Any, center: Organization) -> str:
    return dateformat.format(timezone.localtime(moment, zone_of(center)), WHEN)


def signed_by(signature: Signature | None, role: Role, center: Organization) -> str:
    if signature is None:
        return ""
    return f"{signature.printed_name} ({ROLE_WORDS[role]}) on {when(signature.signed_at, center)}"


def awaited(activation: ProtocolActivation) -> list[str]:
    slots = (
        (Role.PHARMACIST, activation.pharmacist_signature),
        (Role.PHYSICIAN, activation.physician_signature),
    )
    return [f"the {ROLE_WORDS[role]}" for role, signature in slots if signature is None]


def standing_lines(
    active: ProtocolActivation | None, pending: ProtocolActivation | None, center: Organization
) -> list[StandingLine]:
    """The center's standing with a protocol, in the words the list and the summary share."""
    lines = []
    if active is not None:
        pharmacist = active.pharmacist_signature
        physician = active.physician_signature
        assert pharmacist is not None and physician is not None
        lines.append(
            StandingLine(
                "badge-success",
                "In force",
                f"In force: version {active.number}, signed by {pharmacist.printed_name} "
                f"(pharmacist) and {physician.printed_name} (treating physician) on "
                f"{when(active.activated_at, center)}",
            )
        )
    if pending is not None:
        signed = [
            signed_by(pending.pharmacist_signature, Role.PHARMACIST, center),
            signed_by(pending.physician_signature, Role.PHYSICIAN, center),
        ]
        signed_text = "; ".join(s for s in signed if s)
        lines.append(
            StandingLine(
                "badge-warning",
                "Awaiting signatures",
                f"Version {pending.number} awaiting the signature of "
                + " and ".join(awaited(pending))
                + (f" (signed by {signed_text})" if signed_text else ""),
            )
        )
    if not lines:
        lines.append(StandingLine("badge-neutral", "Not activated", NOT_ACTIVATED))
    return lines


def sections_of(protocol: Protocol) -> list[tuple[str, list[SettingSpec]]]:
    """The protocol's settings grouped as the regimen runs: each lymphodepletion agent (mesna
    with its agent), the body-size rules, IL-2, the infusion day (its window and the
    thaw-to-infusion limit), filgrastim. Stable: taken from the protocol's structure, in its
    order."""
    shared = {spec.key for spec in SHARED_WEIGHT_SETTINGS}
    taken: set[str] = set()
    groups: list[tuple[str, list[SettingSpec]]] = []

    def group(title: str, parts: Iterable[Any], *, rules: bool = False) -> None:
        # The body-size rules come with every weight basis; they get their own group.
        left_out = taken if rules else shared | taken
        specs = [s for part in parts for s in specs_in(part) if s.key not in left_out]
        specs = list(dict.fromkeys(specs))
        taken.update(s.key for s in specs)
        if specs:
            groups.append((title, specs))

    regimen = protocol.lymphodepletion
    for agent in regimen.agents:
        title = agent.agent[:1].upper() + agent.agent[1:]
        if agent.renal is not None:
            title += " and renal bands"
        mesna = [regimen.mesna] if regimen.mesna and regimen.mesna.with_agent == agent.agent else []
        group(title, [agent, *mesna])
    everything = specs_in(protocol)
    group("Body-size rules", [s for s in everything if s.key in shared], rules=True)
    group("IL-2", [protocol.il2])
    # The thaw-to-infusion limit is read on the infusion day, beside the window (if any).
    group("Infusion day", [protocol.infusion_window, protocol.thaw])
    if protocol.filgrastim is not None:
        group("Filgrastim", [protocol.filgrastim])
    group("Other settings", [s for s in everything if s.key not in taken])
    return groups


def sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def display(spec: SettingSpec, value: object, defaults: dict[str, str]) -> str:
    """A stored value as a pharmacist reads it; a blank narrowing setting says what applies."""
    if value is None:
        return defaults.get(spec.key, "Not set")
    if isinstance(spec, ChoiceSetting) and isinstance(value, str):
        return option_words(spec.key, value)
    if isinstance(spec, DecimalSetting) and value == spec.none_option:
        return sentence(str(value))
    return shown(spec, value)


def value_sections(
    protocol: Protocol,
    values: dict[str, object],
    compared_with: dict[str, object] | None = None,
) -> list[Section]:
    """The version's values by section; with `compared_with` (the version in force), each
    value that differs is marked and shown beside the one in force."""
    defaults = {
        key: "Not needed with the choices made" for key in optional_keys(protocol, values)
    } | {
        p.setting.key: f"The protocol's {p.low.magnitude} to {p.high}"
        for p in narrowables(protocol)
    }
    sections = []
    for title, specs in sections_of(protocol):
        section = Section(title)
        for spec in specs:
            value = values.get(spec.key)
            changed = compared_with is not None and decimal_or_text(value) != decimal_or_text(
                compared_with.get(spec.key)
            )
            section.rows.append(
                Row(
                    key=spec.key,
                    label=spec.label,
                    why=sentence(spec.why_unconfirmed),
                    value=display(spec, value, defaults),
                    in_force=(
                        display(spec, compared_with.get(spec.key), defaults)
                        if changed and compared_with is not None
                        else None
                    ),
                    changed=changed,
                    is_set=value is not None,
                )
            )
        sections.append(section)
    return sections


def history_row(activation: ProtocolActivation, center: Organization) -> dict[str, Any]:
    signers = [
        signed_by(activation.pharmacist_signature, Role.PHARMACIST, center),
        signed_by(activation.physician_signature, Role.PHYSICIAN, center),
    ]
    slots = (
        (activation.pharmacist_signature, Role.PHARMACIST),
        (activation.physician_signature, Role.PHYSICIAN),
    )
    return {
        "activation": activation,
        "badge": STATUS_BADGES[ActivationStatus(activation.status)],
        "entered_by": activation.entered_by.printed_name,
        "signers": [s for s in signers if s],
        # The history table names the signers only; the version's own view dates each signature.
        "signer_names": [
            f"{signature.printed_name} ({ROLE_WORDS[role]})"
            for signature, role in slots
            if signature is not None
        ],
        "activated": when(activation.activated_at, center) if activation.activated_at else "",
        "ended": when(activation.ended_at, center) if activation.ended_at else "",
    }


# ---------- Access ----------


def user_of(request: HttpRequest) -> User:
    return cast(User, request.user)


def center_staff(
    request: HttpRequest, may: Callable[[Any, Organization], bool], refused: str
) -> tuple[User, Organization]:
    """The caller and their center once `may` lets them in (else 403 with `refused`, before any
    record is looked up)."""
    user = user_of(request)
    center = user.organization
    require(center is not None and may(user, center), refused)
    assert center is not None
    return user, center


def viewer(request: HttpRequest) -> tuple[User, Organization]:
    """The caller and their center, once they may read its protocol settings (else 403)."""
    return center_staff(request, policies.can_view_protocol_settings, NOT_VIEWER)


def shipped_protocol(protocol_id: str, version: str) -> Protocol:
    if (protocol_id, version) not in {(r.protocol_id, r.version) for r in available_protocols()}:
        raise Http404("No such protocol.")
    return load_protocol(protocol_id, version)


def activation_of(request: HttpRequest, public_id: Any) -> tuple[User, ProtocolActivation]:
    """A version of the caller's own center (another center's answers 404: not theirs)."""
    user = user_of(request)
    return user, get_visible_or_404(selectors.activations_visible_to(user), public_id)


def detail_url(activation: ProtocolActivation) -> str:
    return reverse(
        "treatment:protocol",
        kwargs={"protocol_id": activation.protocol_id, "version": activation.protocol_version},
    )
