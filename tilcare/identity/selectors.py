"""Reads of identity and custody records, always through `visible_to(user)`-style filters, and
which center issued a chain-of-identity (COI) identifier."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.db.models import Q, QuerySet

from tilcare.accounts.models import Organization
from tilcare.accounts.roles import Perm
from tilcare.audit.models import AuditEvent
from tilcare.audit.services import object_type_of
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


# --- who issued a COI identifier ---------------------------------------------------------------
#
# The journey issues COI identifiers (one per journey, from its center's sequence) and sits above
# this domain in the layers, so it registers its lookup here when the app starts
# (`JourneyConfig.ready`): given a DIN, the id of the center whose journey carries it, or None.

CoiIssuerLookup = Callable[[str], "int | None"]

_issuer_lookups: list[CoiIssuerLookup] = []


def on_coi_issuer_lookup(lookup: CoiIssuerLookup) -> CoiIssuerLookup:
    """Register `lookup(coi_din) -> center id | None`, once (registering twice is harmless)."""
    if lookup not in _issuer_lookups:
        _issuer_lookups.append(lookup)
    return lookup


def coi_issuer(coi_din: str) -> int | None:
    """The id of the center whose journey carries this COI identifier, or None if none does."""
    for lookup in _issuer_lookups:
        center_id = lookup(coi_din)
        if center_id is not None:
            return center_id
    return None


def coi_issued_by(coi_din: str, center: Organization) -> bool:
    """Did `center` issue this COI identifier?

    Yes when one of its journeys carries it. A COI no journey carries yet is the center's only if
    it is numbered under the center's own facility identification number (FIN): a center without a
    FIN has issued no identifier, so it can claim none but its own journeys'. Every door that takes
    a COI from a center's user (items, labels, slot bookings) asks this, always.
    """
    issuer = coi_issuer(coi_din)
    if issuer is not None:
        return issuer == center.pk
    fin = (center.isbt_fin or "").upper()
    return bool(fin) and coi_din[:5] == fin


def items_created_at(items: list[Item]) -> dict[int, dt.datetime]:
    """When each item was made, as its creation's audit event says (it may have been entered later
    than that, so the row's `created_at`, when it was written, is not it), in one query. An item
    registered without that event (not through `create_item`) is absent."""
    if not items:
        return {}
    by_public_id = {str(item.public_id): item.pk for item in items}
    events = (
        AuditEvent.objects.filter(
            object_type=object_type_of(items[0]),
            object_id__in=list(by_public_id),
            action="identity.item.create",
        )
        .order_by("seq")
        .values_list("object_id", "occurred_at")
    )
    made: dict[int, dt.datetime] = {}
    for public_id, occurred_at in events:
        made.setdefault(by_public_id[public_id], occurred_at)
    return made


def item_created_at(item: Item) -> dt.datetime | None:
    """When one item was made (`items_created_at`)."""
    return items_created_at([item]).get(item.pk)
