"""The chain-of-custody card of the journey page, as a template tag.

A tag, so the journey page's view stays as it is: the card reads the custody events and open
alerts of the journey's COI identifier for the signed-in user, who sees it only with the custody
permission at the journey's center or facility. What was typed on each event is shown as
`identity.policies.can_view_scan_text` allows (`selectors.scan_rows`).
"""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse

from tilcare.identity.models import Item
from tilcare.identity.policies import can_record_scans
from tilcare.journey import policies
from tilcare.journey.models import Journey
from tilcare.journey.selectors import custody_of, scan_rows

register = template.Library()


@register.inclusion_tag("journey/partials/_custody_timeline.html", takes_context=True)
def custody_timeline(context: dict[str, Any], journey: Journey) -> dict[str, Any]:
    request = context["request"]
    user = request.user
    custody = custody_of(journey, user)
    may_scan = custody.visible and not journey.is_closed and can_record_scans(user)
    has_items = Item.objects.filter(coi_din=journey.coi_din).exists()
    return {
        "custody": custody,
        "rows": scan_rows(journey, user, custody.events),
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
            if not has_items and policies.can_create_first_item(user, journey)
            else ""
        ),
    }
