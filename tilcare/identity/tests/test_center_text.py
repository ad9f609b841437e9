"""What the center's staff type about an item never reaches the manufacturing facility.

An item's description, and the note after its storage temperature, are free text: a navigator may
type the patient's name into them by mistake. The facility's answers (the API's JSON, the items
page, the label it prints as PDF or PNG) show the item's kind, number and COI identifier and the
bare storage temperature instead; the center keeps reading its own text, and the facility reads
what its own staff typed.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from tilcare.core.tests.clients import client_for
from tilcare.identity import labels
from tilcare.identity.choices import ItemKind
from tilcare.identity.services import items as services
from tilcare.identity.tests.factories import new_item
from tilcare.identity.tests.test_labels import pdf_page

pytestmark = pytest.mark.django_db

TYPED = "Specimen jar for Theodora Lindqvist"
STORED = "2–8 °C (cooler of T. Lindqvist, room 4)"
NAME = "Lindqvist"
API = "/api/v1/identity"
FACILITY_ROLES = ["manufacturing_tech", "qa_reviewer"]


@pytest.fixture
def specimen(team, journey):
    """The tumor specimen container, described by the center's navigator with the patient's name."""
    return new_item(
        team, journey, kind=ItemKind.TUMOR_SPECIMEN, description=TYPED, storage_temperature=STORED
    )


def page_url(item) -> str:
    return reverse("identity:coi-items", kwargs={"din": item.coi_din})


# --- the facility -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", FACILITY_ROLES)
def test_the_api_gives_the_facility_no_center_description(team, specimen, role):
    # Given the specimen the navigator described with the patient's name
    client = client_for(getattr(team, role))

    # When facility staff read its items, as a list and one by one
    listed = client.get(f"{API}/items", {"coi": specimen.coi_din})
    one = client.get(f"{API}/items/{specimen.public_id}")

    # Then the description is null and the name appears nowhere; kind and COI say what it is
    assert listed.status_code == one.status_code == 200
    [item] = listed.json()["items"]
    assert (item["description"], item["storage_temperature"]) == (None, "2–8 °C")
    assert (one.json()["description"], one.json()["storage_temperature"]) == (None, "2–8 °C")
    assert (item["kind_label"], item["number"], item["coi_din"]) == (
        "Tumor specimen container",
        1,
        specimen.coi_din,
    )
    assert NAME.encode() not in listed.content
    assert NAME.encode() not in one.content


@pytest.mark.parametrize("role", FACILITY_ROLES)
def test_the_items_page_shows_the_facility_the_kind_and_coi_instead(team, specimen, role):
    response = client_for(getattr(team, role)).get(page_url(specimen))

    html = response.content.decode()
    assert response.status_code == 200
    assert NAME not in html
    din = specimen.coi_din
    assert (
        f"Tumor specimen container 01 of {din[:5]} {din[5:7]} {din[7:]} {specimen.coi_check}; "
        "described by Riverside Cancer Center."
    ) in html
    assert "<dt>Storage</dt><dd>2–8 °C</dd>" in html


def test_the_label_the_facility_prints_leaves_the_center_description_out(team, specimen):
    # Given a label copy the facility's technologist printed
    tech = team.manufacturing_tech
    label = services.print_label(specimen, actor=tech)
    client = client_for(tech)

    # When the technologist fetches its PDF and PNG
    pdf = client.get(reverse("identity:label-pdf", kwargs={"public_id": label.public_id}))
    png = client.get(f"{API}/labels/{label.public_id}.png")

    # Then neither carries the description; the COI and item id are there
    assert pdf.status_code == png.status_code == 200
    text = " ".join(pdf_page(pdf.content).text())
    assert NAME not in text
    assert "Specimen jar" not in text
    assert "cooler" not in text
    assert "2–8 °C" in text
    assert specimen.item_id in text
    assert png.content == labels.label_png(specimen, copy=1, with_typed_text=False)
    assert png.content != labels.label_png(specimen, copy=1, with_typed_text=True)


# --- the center and the facility's own text ---------------------------------------------------


def test_the_center_still_reads_its_description_everywhere(team, specimen):
    navigator = team.navigator
    label = services.print_label(specimen, actor=navigator)
    client = client_for(navigator)

    api = client.get(f"{API}/items/{specimen.public_id}").json()
    page = client.get(page_url(specimen)).content.decode()
    pdf = client.get(reverse("identity:label-pdf", kwargs={"public_id": label.public_id}))

    assert (api["description"], api["storage_temperature"]) == (TYPED, STORED)
    assert TYPED in page
    assert STORED in page
    assert TYPED in " ".join(pdf_page(pdf.content).text())


def test_the_facility_reads_the_description_its_own_staff_typed(team, specimen):
    # Given a culture flask the facility's technologist added and described
    tech = team.manufacturing_tech
    flask = services.create_item(
        coi_din=specimen.coi_din,
        coi_check=specimen.coi_check,
        kind=ItemKind.CULTURE,
        center=team.center,
        facility=team.facility,
        description="Pre-REP flask A",
        actor=tech,
    )

    # When the technologist reads it
    answer = client_for(tech).get(f"{API}/items/{flask.public_id}").json()

    # Then the facility's own text is there
    assert answer["description"] == "Pre-REP flask A"
