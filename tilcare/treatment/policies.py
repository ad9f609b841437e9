"""Who may read and change a center's protocol settings. Deny by default."""

from __future__ import annotations

from typing import Any

from tilcare.accounts.choices import OrganizationKind
from tilcare.accounts.models import Organization
from tilcare.accounts.policies import is_active_member
from tilcare.accounts.roles import Perm
from tilcare.treatment.choices import (
    OPEN_ORDER_STATUSES,
    SIGNING_ROLES,
    ActivationStatus,
    Il2DecisionStatus,
    OrderKind,
    OrderStatus,
)
from tilcare.treatment.models import Il2Decision, Order, ProtocolActivation


def _center_staff(user: Any, center: Organization, perm: Perm) -> bool:
    return (
        is_active_member(user)
        and center.kind == OrganizationKind.CENTER
        and user.organization_id == center.pk
        and user.has_perm_code(perm)
    )


def can_view_protocol_settings(user: Any, center: Organization) -> bool:
    """The center's clinical staff read which settings their patients are treated under."""
    return _center_staff(user, center, Perm.VIEW_JOURNEY)


def can_enter_protocol_settings(user: Any, center: Organization) -> bool:
    return _center_staff(user, center, Perm.ENTER_PROTOCOL_SETTINGS)


def can_sign_protocol_settings(user: Any, activation: ProtocolActivation) -> bool:
    """A pharmacist and a treating physician of the center each sign a version awaiting them,
    once: the role decides which of the two signatures it is."""
    if activation.status != ActivationStatus.AWAITING_SIGNATURES:
        return False
    if not _center_staff(user, activation.center, Perm.SIGN_PROTOCOL_SETTINGS):
        return False
    slot = SIGNING_ROLES.get(user.role)
    return slot is not None and getattr(activation, f"{slot[1]}_id") is None


def can_discard_protocol_settings(user: Any, activation: ProtocolActivation) -> bool:
    return activation.status == ActivationStatus.AWAITING_SIGNATURES and (
        can_enter_protocol_settings(user, activation.center)
    )


def can_view_orders(user: Any, center: Organization) -> bool:
    """The center's staff who follow its journeys see its orders (with the patient's identity)."""
    return _center_staff(user, center, Perm.VIEW_JOURNEY)


def can_view_order(user: Any, order: Order) -> bool:
    return can_view_orders(user, order.center)


def can_write_order(user: Any, center: Organization) -> bool:
    return _center_staff(user, center, Perm.WRITE_ORDER)


def can_verify_order(user: Any, order: Order) -> bool:
    """A pharmacist verifies an order awaiting verification; the person who wrote an order never
    verifies it (the two-person check is the point)."""
    return (
        order.status == OrderStatus.AWAITING_VERIFICATION
        and order.ordered_by_id != getattr(user, "pk", None)
        and _center_staff(user, order.center, Perm.VERIFY_ORDER)
    )


def can_cancel_order(user: Any, order: Order) -> bool:
    return order.status in OPEN_ORDER_STATUSES and can_write_order(user, order.center)


def can_record_administration(user: Any, order: Order) -> bool:
    """A nurse or physician of the center records what happened to the order's doses (only once
    it is verified: the service says so in words, as it is the order's state, not the person)."""
    return _center_staff(user, order.center, Perm.RECORD_ADMINISTRATION)


def can_record_infusion(user: Any, center: Organization) -> bool:
    """A nurse or treating physician of the center records the infusion day at the bedside:
    premedication, thaw times, the identity check (each of two people), start and end."""
    return _center_staff(user, center, Perm.RECORD_INFUSION)


def can_assess_il2_dose(user: Any, order: Order) -> bool:
    """A nurse (or physician) of the center assesses the patient before an IL-2 dose."""
    return order.kind == OrderKind.IL2 and _center_staff(user, order.center, Perm.ASSESS_IL2_DOSE)


def can_decide_il2_dose(user: Any, decision: Il2Decision) -> bool:
    """A treating physician decides a dose awaiting the decision, never one they assessed
    themselves: the nurse's and the physician's decisions are two people's."""
    return (
        decision.status == Il2DecisionStatus.AWAITING_PHYSICIAN
        and decision.nurse_id != getattr(user, "pk", None)
        and _center_staff(user, decision.order.center, Perm.DECIDE_IL2_DOSE)
    )
