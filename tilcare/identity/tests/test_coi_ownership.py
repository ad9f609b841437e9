"""A COI identifier belongs to the center that issued it: no other center makes its items.

The check holds whether or not the acting center has an ISBT 128 facility identification number
(FIN): a center without one has issued no COI identifier, so it can claim none. A refusal writes
nothing, and the real center still works on its COI afterwards.
"""

from __future__ import annotations

import pytest

from tilcare.core.errors import Conflict
from tilcare.core.tests.clients import client_for, post_json
from tilcare.identity.choices import ItemKind
from tilcare.identity.models import Item
from tilcare.identity.services import items as services
from tilcare.identity.tests.factories import DESCRIPTION, coi, coi_of
from tilcare.identity.tests.helpers import item_counts
from tilcare.journey.tests.factories import make_team, open_journey_for
from tilcare.patients.tests.factories import CenterFactory, FacilityFactory, PatientFactory

pytestmark = pytest.mark.django_db

ITEMS = "/api/v1/identity/items"
NOT_ISSUED = (
    "This COI identifier was not issued by this center: items are made only for the "
    "chain-of-identity numbers of the center's own journeys."
)


@pytest.fixture
def facility():
    return FacilityFactory(name="Northgate Cell Therapy")


@pytest.fixture
def owner(facility):
    """The center that issued the COI: FIN W1234, one journey."""
    return make_team(CenterFactory(name="Riverside Cancer Center", isbt_fin="W1234"), facility)


@pytest.fixture
def journey(owner):
    return open_journey_for(PatientFactory(center=owner.center), owner.navigator)


@pytest.fixture
def no_fin(facility):
    """Another center that has not set its FIN yet."""
    return make_team(CenterFactory(name="Lakeside Oncology", isbt_fin=""), facility)


def create(team, din, check, **fields):
    values = {
        "coi_din": din,
        "coi_check": check,
        "kind": ItemKind.TUMOR_SPECIMEN,
        "center": team.center,
        "facility": team.facility,
        "description": DESCRIPTION,
        "actor": team.navigator,
    }
    values.update(fields)
    return services.create_item(**values)


def api_create(user, din, check):
    body = {"coi_din": din, "coi_check": check, "kind": "tumor_specimen", "description": "Jar"}
    return post_json(client_for(user), ITEMS, body)


def test_a_center_without_a_fin_cannot_make_the_first_item_of_another_centers_coi(
    owner, journey, no_fin
):
    # Given Riverside's journey and a navigator of Lakeside, which has no FIN
    din, check = coi_of(journey)
    before = item_counts()

    # When Lakeside's navigator creates the first item for Riverside's COI
    with pytest.raises(Conflict) as refused:
        create(no_fin, din, check)

    # Then it is refused on the COI, and nothing was written
    assert refused.value.errors == {"coi_din": [NOT_ISSUED]}
    assert item_counts() == before


def test_the_api_answers_409_and_writes_nothing(owner, journey, no_fin):
    din, check = coi_of(journey)
    before = item_counts()

    response = api_create(no_fin.navigator, din, check)

    assert response.status_code == 409
    assert response.json() == {"detail": NOT_ISSUED, "errors": {"coi_din": [NOT_ISSUED]}}
    assert item_counts() == before


def test_the_real_center_then_still_works_on_its_coi(owner, journey, no_fin):
    # Given Lakeside's attempt on Riverside's COI, refused
    din, check = coi_of(journey)
    assert api_create(no_fin.navigator, din, check).status_code == 409

    # When Riverside's navigator creates the first item, through the API, then another
    response = api_create(owner.navigator, din, check)
    second = create(owner, din, check, kind=ItemKind.SHIPPER)

    # Then both are Riverside's items of its COI
    assert response.status_code == 201
    assert response.json()["item_id"] == f"{din}-TS01"
    assert response.json()["center"] == "Riverside Cancer Center"
    assert list(Item.objects.filter(coi_din=din).values_list("item_id", "center_id")) == [
        (f"{din}-SH01", owner.center.pk),
        (f"{din}-TS01", owner.center.pk),
    ]
    assert second.center == owner.center


def test_a_center_without_a_fin_cannot_claim_a_coi_no_journey_carries(no_fin):
    # Given a well-formed COI identifier that no journey carries
    din, check = coi(4242, fin="W1234")
    before = item_counts()

    # When a center without a FIN claims it
    with pytest.raises(Conflict) as refused:
        create(no_fin, din, check)

    # Then it is refused: that center has issued no identifier
    assert refused.value.errors == {"coi_din": [NOT_ISSUED]}
    assert item_counts() == before


def test_a_center_sharing_the_fin_cannot_claim_a_coi_another_centers_journey_carries(
    owner, journey, facility
):
    # Given a second center that typed Riverside's FIN as its own
    copycat = make_team(CenterFactory(name="Hillcrest Clinic", isbt_fin="W1234"), facility)
    din, check = coi_of(journey)
    before = item_counts()

    # When it creates the first item for Riverside's journey's COI
    with pytest.raises(Conflict) as refused:
        create(copycat, din, check)

    # Then the journey decides: the COI is Riverside's
    assert refused.value.errors == {"coi_din": [NOT_ISSUED]}
    assert item_counts() == before


def test_a_center_keeps_its_journeys_cois_after_its_fin_changes(owner, journey):
    # Given a journey issued under W1234, then the center's FIN changed
    din, check = coi_of(journey)
    type(owner.center).objects.filter(pk=owner.center.pk).update(isbt_fin="X9999")
    owner.center.refresh_from_db()

    # When its navigator creates the journey's first item
    item = create(owner, din, check)

    # Then the journey says the COI is the center's own
    assert (item.coi_din, item.center) == (din, owner.center)
