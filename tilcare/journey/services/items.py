"""The first item of a journey's chain of identity: its tumor specimen container, once."""

from __future__ import annotations

from django.db import transaction

from tilcare.accounts.models import User
from tilcare.core.errors import InvalidInput
from tilcare.core.policy import require
from tilcare.identity.choices import ItemKind
from tilcare.identity.models import Item
from tilcare.identity.services.items import create_item
from tilcare.journey import policies
from tilcare.journey.models import (
    Journey,
)
from tilcare.journey.services.journeys import (
    _locked,
)

SPECIMEN_DESCRIPTION = "Tumor specimen container"


def create_first_item(journey: Journey, *, actor: User) -> tuple[Item, bool]:
    """Start the journey's chain of identity with its tumor specimen container, once.

    Returns the item and whether it was created now. The item is made from the journey itself:
    its COI identifier, center, manufacturing facility and attempt. A journey whose COI already
    has an item has started its chain, so a repeated request (a double click, a reload, a second
    tab) creates nothing and answers with the specimen container that exists. The journey's row
    lock makes two requests at the same moment wait for each other, and identity's unique item
    number refuses the second where the database has no row locks. Later items (a
    re-manufacture's new container among them) are added on the items page.
    """
    with transaction.atomic():
        journey = _locked(journey)
        require(
            policies.can_handle_specimens(actor, journey),
            "You may not create specimen containers for this journey.",
        )
        if not policies.can_create_first_item(actor, journey):
            # A handler is told why, not refused as if they had no right: the journey is closed.
            raise InvalidInput(
                {
                    "__all__": [
                        f"This journey is {journey.stage_label().lower()}: no specimen "
                        "container is created for it."
                    ]
                }
            )
        items = Item.objects.filter(coi_din=journey.coi_din).order_by("created_at", "id")
        existing = items.filter(kind=ItemKind.TUMOR_SPECIMEN).first() or items.first()
        if existing is not None:
            return existing, False
        item = create_item(
            coi_din=journey.coi_din,
            coi_check=journey.coi_check,
            kind=ItemKind.TUMOR_SPECIMEN,
            center=journey.center,
            facility=journey.manufacturing_facility,
            description=SPECIMEN_DESCRIPTION,
            actor=actor,
            manufacture_attempt=journey.manufacture_attempt,
        )
    return item, True
