"""Start a journey's chain of identity: the first labelled item, made from the journey itself.

The identity domain sits below the journey and cannot look a journey up, so the first item (the
tumor specimen container the operating room fills) is created here, with the journey's COI,
center, manufacturing facility and attempt; later items are added on the items page.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from tilcare.core.errors import InvalidInput
from tilcare.identity.choices import ItemKind
from tilcare.identity.services.items import create_item
from tilcare.journey.views.common import back_to_journey, journey_of, user_of

SPECIMEN_DESCRIPTION = "Tumor specimen container"


@require_POST
def journey_first_item(request: Any, public_id: Any) -> Any:
    journey = journey_of(request, public_id)
    try:
        create_item(
            coi_din=journey.coi_din,
            coi_check=journey.coi_check,
            kind=ItemKind.TUMOR_SPECIMEN,
            center=journey.center,
            facility=journey.manufacturing_facility,
            description=SPECIMEN_DESCRIPTION,
            actor=user_of(request),
            manufacture_attempt=journey.manufacture_attempt,
        )
    except InvalidInput as error:
        for problems in error.errors.values():
            for problem in problems:
                messages.error(request, problem)
        return back_to_journey(journey, "custody")
    messages.success(request, "Specimen container created: print its label below.")
    return redirect(reverse("identity:coi-items", args=[journey.coi_din]))


urlpatterns = [
    path(
        "journeys/<uuid:public_id>/items/first/",
        journey_first_item,
        name="journey-first-item",
    ),
]
