"""Start a journey's chain of identity: the first labelled item, made from the journey itself.

The identity domain sits below the journey and cannot look a journey up, so the first item (the
tumor specimen container the operating room fills) is created through the journey's service, with
the journey's COI, center, manufacturing facility and attempt; later items are added on the items
page. A repeated request creates nothing and opens the items page of the existing container.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from tilcare.core.errors import InvalidInput
from tilcare.journey import services
from tilcare.journey.views.common import back_to_journey, journey_of, user_of


@require_POST
def journey_first_item(request: Any, public_id: Any) -> Any:
    journey = journey_of(request, public_id)
    try:
        item, created = services.create_first_item(journey, actor=user_of(request))
    except InvalidInput as error:
        for problems in error.errors.values():
            for problem in problems:
                messages.error(request, problem)
        return back_to_journey(journey, "custody")
    if created:
        messages.success(request, "Specimen container created: print its label below.")
    else:
        messages.info(
            request,
            f"This journey's chain of identity has already started with {item.item_id}; "
            "nothing new was created. Add further items below.",
        )
    return redirect(reverse("identity:coi-items", args=[journey.coi_din]))


urlpatterns = [
    path(
        "journeys/<uuid:public_id>/items/first/",
        journey_first_item,
        name="journey-first-item",
    ),
]
