"""Identity records for tests, with fixed defaults.

- `coi(sequence, fin="W1234", year=26)`: a valid COI identifier and its check character, made
  with the real ISO 7064 Mod 37-2 (`coi(17)` is ("W123426000017", "7")).
- `coi_of(journey)`: the COI identifier a journey was given.
- `ItemFactory`: a product bag (number 1) of a new COI per item, at a new center, with a new
  facility, created directly (no audit event). Tests that check audit or numbering go through
  `tilcare.identity.services.items` instead.
- `LabelFactory`: copy 1 of an item's label, printed a minute ago by the item's creator.
- `journey_item(journey, kind, team)`: item 1 of a kind under a journey's COI, made directly.
- `new_item(team, journey, ...)`: an item of the journey's COI added through the items service
  by the team's navigator (numbered and audited as in use).
- `planned_journey(patient, team)`: a new journey of the patient, planned at the team's facility.
- `unreadable_scan_alert(coi_din, team)`: the high alert a nurse's scan of something that is not
  a label raises at a handoff, through the custody service.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import factory
from django.utils import timezone

from tilcare.accounts.choices import Role
from tilcare.clinical.checkdigits import format_din, mod37_2
from tilcare.identity.choices import ITEM_CODES, HandoffStep, ItemKind, LabelStatus
from tilcare.identity.models import IdentityAlert, Item, Label
from tilcare.identity.services import items as item_services
from tilcare.identity.services.custody import ScanRequest, record_scan
from tilcare.journey import services as journey_services
from tilcare.journey.tests.factories import open_journey_for
from tilcare.patients.tests.factories import CenterFactory, FacilityFactory, UserFactory

DESCRIPTION = "TIL product for infusion, bag 1 of 2"
STORAGE = "≤ −150 °C (vapor phase of liquid nitrogen)"


def coi(sequence: int, fin: str = "W1234", year: int = 26) -> tuple[str, str]:
    din = format_din(fin, year, sequence)
    return din, mod37_2(din).character


def coi_of(journey: object) -> tuple[str, str]:
    return str(journey.coi_din), str(journey.coi_check)  # type: ignore[attr-defined]


class ItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Item

    coi_din = factory.Sequence(lambda n: coi(9000 + n)[0])
    coi_check = factory.LazyAttribute(lambda o: mod37_2(o.coi_din).character)
    manufacture_attempt = 1
    kind = ItemKind.PRODUCT_BAG
    number = 1
    item_id = factory.LazyAttribute(lambda o: f"{o.coi_din}-{ITEM_CODES[o.kind]}{o.number:02d}")
    center = factory.SubFactory(CenterFactory)
    facility = factory.SubFactory(FacilityFactory)
    description = DESCRIPTION
    storage_temperature = STORAGE
    created_by = factory.LazyAttribute(
        lambda o: UserFactory(role=Role.NAVIGATOR, organization=o.center)
    )


class LabelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Label

    item = factory.SubFactory(ItemFactory)
    copy_number = 1
    status = LabelStatus.PRINTED
    printed_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(minutes=1))
    printed_by = factory.LazyAttribute(lambda o: o.item.created_by)


def journey_item(journey: Any, kind: ItemKind, team: Any) -> Item:
    """Item 1 of `kind` under the journey's COI, between the team's center and facility, made by
    its navigator (directly, no audit event)."""
    made: Item = ItemFactory(
        coi_din=journey.coi_din,
        coi_check=journey.coi_check,
        kind=kind,
        number=1,
        center=team.center,
        facility=team.facility,
        created_by=team.navigator,
    )
    return made


def new_item(
    team: Any, journey: Any, actor: Any = None, kind: ItemKind = ItemKind.PRODUCT_BAG, **fields: Any
) -> Item:
    """An item of the journey's COI between the team's center and facility, added through the
    items service by `actor` (the team's navigator by default); `fields` override the rest."""
    din, check = coi_of(journey)
    values = {
        "coi_din": din,
        "coi_check": check,
        "kind": kind,
        "center": team.center,
        "facility": team.facility,
        "description": DESCRIPTION,
        "actor": actor or team.navigator,
    }
    values.update(fields)
    return item_services.create_item(**values)


def planned_journey(patient: Any, team: Any) -> Any:
    """A new journey of `patient` opened by the team's navigator, with the team's facility
    planned for manufacturing (custody scans need both parties)."""
    journey = open_journey_for(patient, team.navigator)
    return journey_services.plan_journey(
        journey, actor=team.navigator, changes={"manufacturing_facility": team.facility}
    )


def unreadable_scan_alert(coi_din: str, team: Any) -> IdentityAlert:
    """The high alert raised by the team's nurse scanning something that is not a label at a
    handoff of this COI, at the team's center."""
    event = record_scan(
        ScanRequest(coi_din=coi_din, step=HandoffStep.HANDOFF, scanned_text="not a label"),
        actor=team.nurse,
        organization=team.center,
        center=team.center,
        facility=team.facility,
    )
    return IdentityAlert.objects.get(custody_event=event)
