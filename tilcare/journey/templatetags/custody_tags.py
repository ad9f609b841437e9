"""The chain-of-custody card of the journey page, as a template tag.

A tag, so the journey page's view stays as it is: the card reads the custody events and open
alerts of the journey's COI identifier for the signed-in user, who sees it only with the custody
permission at the journey's center or facility.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import template
from django.urls import reverse

from tilcare.accounts.roles import Perm
from tilcare.identity.models import CustodyEvent, Item
from tilcare.identity.services.custody import steps_for, typed_text_visible
from tilcare.journey.custody import custody_of
from tilcare.journey.models import Journey

register = template.Library()


@dataclass(frozen=True)
class CustodyRow:
    event: CustodyEvent
    typed_visible: bool


@register.inclusion_tag("journey/partials/_custody_timeline.html", takes_context=True)
def custody_timeline(context: dict[str, Any], journey: Journey) -> dict[str, Any]:
    request = context["request"]
    user = request.user
    custody = custody_of(journey, user)
    may_scan = (
        custody.visible
        and not journey.is_closed
        and user.has_perm_code(Perm.RECORD_CUSTODY)
        and bool(steps_for(user.organization))
    )
    has_items = Item.objects.filter(coi_din=journey.coi_din).exists()
    return {
        "custody": custody,
        "rows": [CustodyRow(e, typed_text_visible(user, e)) for e in custody.events],
        "scan_url": (
            f"{reverse('journey:scan')}?coi={journey.coi_din}{journey.coi_check}"
            if may_scan
            else ""
        ),
        "next": request.get_full_path(),
        "items_url": (
            reverse("identity:coi-items", args=[journey.coi_din])
            if custody.visible and has_items
            else ""
        ),
        # No item yet: the center's handlers start the chain with the specimen container.
        "first_item_url": (
            reverse("journey:journey-first-item", kwargs={"public_id": journey.public_id})
            if not has_items
            and not journey.is_closed
            and user.has_perm_code(Perm.PRINT_LABEL)
            and user.organization_id == journey.center_id
            else ""
        ),
    }
