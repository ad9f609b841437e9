"""Reads of identity and custody records, always through `visible_to(user)`-style filters."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from tilcare.accounts.roles import Perm
from tilcare.identity.models import CustodyEvent, IdentityAlert, Item, Shipment


def _org_filter(user: Any) -> Q | None:
    if not (getattr(user, "is_authenticated", False) and getattr(user, "is_active", False)):
        return None
    if not hasattr(user, "has_perm_code") or not user.has_perm_code(Perm.VIEW_CUSTODY):
        return None
    org = getattr(user, "organization_id", None)
    if org is None:
        return None
    return Q(center_id=org) | Q(facility_id=org)


def items_visible_to(user: Any) -> QuerySet[Item]:
    condition = _org_filter(user)
    return Item.objects.filter(condition) if condition is not None else Item.objects.none()


def alerts_visible_to(user: Any) -> QuerySet[IdentityAlert]:
    condition = _org_filter(user)
    if condition is None:
        return IdentityAlert.objects.none()
    return IdentityAlert.objects.filter(condition)


def shipments_visible_to(user: Any) -> QuerySet[Shipment]:
    condition = _org_filter(user)
    if condition is None:
        return Shipment.objects.none()
    org = user.organization_id
    return Shipment.objects.filter(Q(origin_id=org) | Q(destination_id=org))


def custody_events_for(user: Any, coi_din: str) -> QuerySet[CustodyEvent]:
    """The custody timeline of one COI, if the user's organization is a party to its items."""
    visible = items_visible_to(user).filter(coi_din=coi_din)
    if not visible.exists():
        return CustodyEvent.objects.none()
    return CustodyEvent.objects.filter(coi_din=coi_din).select_related("item", "actor")
