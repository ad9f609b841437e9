"""The items-and-labels page of a COI: who may open it and act, htmx actions, label files.

The page reads identity records only; its answers must never carry the patient's identity, and
a COI the user's organization is not a party to answers 404.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from tilcare.accounts.choices import Role
from tilcare.core.tests.browser import sign_in
from tilcare.identity.choices import ItemKind, LabelStatus
from tilcare.identity.models import Item, Label
from tilcare.identity.services import items as services
from tilcare.identity.tests.factories import STORAGE, coi_of, new_item
from tilcare.identity.tests.helpers import item_counts
from tilcare.journey.tests.factories import riverside_team
from tilcare.patients.tests.factories import (
    CenterFactory,
    FacilityFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "coi-items"}
IDENTITY = ("Theodora", "Lindqvist", "MRN004512", "1968", "12 Apr")
MAY_ACT = ["navigator", "nurse", "surgeon", "pharmacist", "manufacturing_tech", "qa_reviewer"]


@pytest.fixture
def team():
    return riverside_team(time_zone="Europe/Amsterdam")


@pytest.fixture
def bag(team, journey):
    return new_item(
        team, journey, description="TIL product, bag 1 of 2", storage_temperature=STORAGE
    )


@pytest.fixture
def label(team, bag):
    return services.print_label(bag, actor=team.navigator)


def page_url(item):
    return reverse("identity:coi-items", kwargs={"din": item.coi_din})


def url(name, obj):
    return reverse(f"identity:{name}", kwargs={"public_id": obj.public_id})


def signed_in(client, user):
    client.force_login(user)
    return client


def no_identity(body: str) -> None:
    for value in IDENTITY:
        assert value not in body


# --- who may open the page --------------------------------------------------------------------


@pytest.mark.parametrize("role", [*MAY_ACT, "financial_coordinator"])
def test_center_and_facility_staff_see_the_items_without_patient_identity(
    client, team, bag, label, role
):
    response = signed_in(client, team.by_role(role)).get(page_url(bag))
    body = response.content.decode()
    assert response.status_code == 200
    assert bag.item_id in body
    assert (
        f'<span class="coi-check" title="ISO 7064 Mod 37-2 check character">{bag.coi_check}' in body
    )
    no_identity(body)


@pytest.mark.parametrize("role", MAY_ACT)
def test_label_handlers_get_the_action_buttons(client, team, bag, label, role):
    body = signed_in(client, team.by_role(role)).get(page_url(bag)).content.decode()
    assert "Print label (PDF)" in body
    assert "Mark applied" in body
    assert "Add an item" in body


def test_financial_coordinator_sees_no_action_buttons(client, team, bag, label):
    body = signed_in(client, team.financial_coordinator).get(page_url(bag)).content.decode()
    assert "Print label (PDF)" not in body
    assert "Mark applied" not in body
    assert "Void…" not in body
    assert "Add an item" not in body
    assert "label.pdf" not in body


@pytest.mark.parametrize(
    "user",
    [
        lambda team: UserFactory(role=Role.PATIENT, organization=team.center),
        lambda team: UserFactory(role=Role.NAVIGATOR, organization=CenterFactory()),
        lambda team: UserFactory(role=Role.MANUFACTURING_TECH, organization=FacilityFactory()),
    ],
    ids=["patient", "other-center", "other-facility"],
)
def test_others_get_404(client, team, bag, label, user):
    response = signed_in(client, user(team)).get(page_url(bag))
    assert response.status_code == 404
    no_identity(response.content.decode())


def test_coi_without_items_is_404(client, team, journey):
    response = signed_in(client, team.navigator).get(
        reverse("identity:coi-items", kwargs={"din": journey.coi_din})
    )
    assert response.status_code == 404


def test_page_links_its_css_and_script_and_has_no_inline_style(client, team, bag, label):
    body = signed_in(client, team.navigator).get(page_url(bag)).content.decode()
    assert "css/identity.css" in body
    assert "js/labels.js" in body
    assert " style=" not in body
    assert "<script>" not in body


# --- reconciliation ---------------------------------------------------------------------------


def test_outstanding_printed_label_is_flagged(client, team, bag, label):
    body = signed_in(client, team.nurse).get(page_url(bag)).content.decode()
    assert "1 printed label neither applied nor voided" in body
    assert "1 not applied or voided" in body


def test_reconciled_when_every_copy_is_applied_or_voided(client, team, bag, label):
    services.apply_label(label, actor=team.nurse)
    second = services.print_label(bag, actor=team.nurse)
    services.void_label(second, actor=team.nurse, reason="Printer jam")
    body = signed_in(client, team.nurse).get(page_url(bag)).content.decode()
    assert "Every printed label is applied or voided" in body
    assert '<span class="badge badge-success">Reconciled</span>' in body
    assert "Printer jam" in body


# --- actions ----------------------------------------------------------------------------------


def test_print_with_htmx_swaps_the_region_and_triggers_the_download(client, team, bag, label):
    response = signed_in(client, team.surgeon).post(url("label-print", bag), **HTMX)
    second = Label.objects.get(item=bag, copy_number=2)
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="coi-items"')
    assert "<html" not in body
    assert json.loads(response["HX-Trigger"]) == {
        "label-printed": {"url": url("label-pdf", second)}
    }
    assert (second.status, second.printed_by) == (LabelStatus.PRINTED, team.surgeon)


def test_print_without_htmx_redirects_back(client, team, bag):
    response = signed_in(client, team.navigator).post(url("label-print", bag), follow=True)
    assert response.redirect_chain == [(f"{page_url(bag)}#item-{bag.pk}", 302)]
    assert f"Label copy 1 of {bag.item_id} printed: download its PDF below." in (
        response.content.decode()
    )
    assert bag.labels.count() == 1


def test_apply_with_htmx(client, team, bag, label):
    response = signed_in(client, team.qa_reviewer).post(url("label-apply", label), **HTMX)
    label.refresh_from_db()
    assert response.status_code == 200
    assert (label.status, label.applied_by) == (LabelStatus.APPLIED, team.qa_reviewer)
    assert "Label copy 1 of" in response.content.decode()


def test_applying_a_voided_label_is_refused_in_words(client, team, bag, label):
    services.void_label(label, actor=team.nurse, reason="Misprint")
    before = item_counts()
    response = signed_in(client, team.nurse).post(url("label-apply", label), **HTMX)
    assert response.status_code == 200
    assert "Label copy 1 was voided: it cannot be applied." in response.content.decode()
    assert item_counts() == before


def test_void_without_reason_comes_back_with_the_field_error(client, team, bag, label):
    before = item_counts()
    response = signed_in(client, team.nurse).post(
        url("label-void", label), {f"void-{label.pk}-reason": ""}, **HTMX
    )
    label.refresh_from_db()
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert label.status == LabelStatus.PRINTED
    assert item_counts() == before


def test_void_with_reason(client, team, bag, label):
    response = signed_in(client, team.pharmacist).post(
        url("label-void", label), {f"void-{label.pk}-reason": "Torn while applying"}, **HTMX
    )
    label.refresh_from_db()
    assert response.status_code == 200
    assert (label.status, label.void_reason) == (LabelStatus.VOIDED, "Torn while applying")
    assert "Torn while applying" in response.content.decode()


def test_add_item_takes_the_coi_parties_and_reads_expiry_in_local_time(client, team, bag):
    # Given the navigator (center in New York) adds a bag expiring at 10:00 local time
    expires = (timezone.now() + dt.timedelta(days=40)).date()
    response = signed_in(client, team.navigator).post(
        page_url(bag),
        {
            "item-kind": ItemKind.PRODUCT_BAG,
            "item-description": "TIL product, bag 2 of 2",
            "item-expires_at": f"{expires:%Y-%m-%d}T10:00",
            "item-storage_temperature": STORAGE,
        },
        **HTMX,
    )
    # Then bag 02 exists for the same COI, center and facility, expiring 10:00 New York time
    item = Item.objects.get(item_id=f"{bag.coi_din}-BG02")
    assert response.status_code == 200
    assert (item.center, item.facility) == (team.center, team.facility)
    local = item.expires_at.astimezone(dt.timezone(dt.timedelta(hours=-5)))
    assert (local.hour, local.minute) == (10, 0)


def test_add_item_with_malformed_storage_is_refused_on_the_field(client, team, bag):
    before = item_counts()
    response = signed_in(client, team.navigator).post(
        page_url(bag),
        {
            "item-kind": ItemKind.CASSETTE,
            "item-description": "Cassette",
            "item-storage_temperature": "very cold",
        },
        **HTMX,
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "Not a storage temperature in °C" in body
    assert 'id="id_item-storage_temperature_error"' in body
    assert item_counts() == before


@pytest.mark.parametrize("action", ["print", "apply", "void", "add"])
def test_financial_coordinator_actions_are_403_and_change_nothing(client, team, bag, label, action):
    client = signed_in(client, team.financial_coordinator)
    before = item_counts()
    targets = {
        "print": (url("label-print", bag), {}),
        "apply": (url("label-apply", label), {}),
        "void": (url("label-void", label), {f"void-{label.pk}-reason": "x"}),
        "add": (page_url(bag), {"item-kind": "culture", "item-description": "Culture"}),
    }
    address, data = targets[action]
    response = client.post(address, data, **HTMX)
    label.refresh_from_db()
    assert response.status_code == 403
    assert label.status == LabelStatus.PRINTED
    assert item_counts() == before


@pytest.mark.parametrize("action", ["print", "apply", "void", "pdf"])
def test_another_centers_staff_get_404_for_actions_and_files(client, team, bag, label, action):
    client = signed_in(client, UserFactory(role=Role.NAVIGATOR, organization=CenterFactory()))
    before = item_counts()
    if action == "pdf":
        response = client.get(url("label-pdf", label))
    else:
        response = client.post(url(f"label-{action}", bag if action == "print" else label), **HTMX)
    assert response.status_code == 404
    assert item_counts() == before


# --- label files ------------------------------------------------------------------------------


def test_pdf_downloads_and_png_shows(client, team, bag, label):
    client = signed_in(client, team.manufacturing_tech)
    pdf = client.get(url("label-pdf", label))
    png = client.get(url("label-png", label))
    assert (pdf.status_code, pdf["Content-Type"]) == (200, "application/pdf")
    assert pdf["Content-Disposition"] == f'attachment; filename="{bag.item_id}-label-1.pdf"'
    assert pdf.content.startswith(b"%PDF-")
    assert (png.status_code, png["Content-Type"]) == (200, "image/png")
    assert png.content.startswith(b"\x89PNG")


def test_file_of_a_voided_copy_is_refused(client, team, bag, label):
    services.void_label(label, actor=team.nurse, reason="Misprint")
    response = signed_in(client, team.nurse).get(url("label-pdf", label), follow=True)
    assert response.redirect_chain == [(page_url(bag), 302)]
    assert (
        f"Label copy 1 of {bag.item_id} is voided: print a new copy instead."
        in response.content.decode()
    )


def test_view_only_staff_may_not_fetch_label_files(client, team, bag, label):
    client = signed_in(client, team.financial_coordinator)
    assert client.get(url("label-pdf", label)).status_code == 403
    assert client.get(url("label-png", label)).status_code == 403


# --- in a real browser ------------------------------------------------------------------------


def test_technologist_prints_applies_and_voids_in_the_browser(live_server, page, team, bag):
    # Given the facility's technologist signed in on the bag's COI page
    sign_in(page, live_server.url, team.manufacturing_tech)
    page.goto(live_server.url + page_url(bag))
    card = page.locator(f"#item-{bag.pk}")

    # When they print a label, the PDF downloads and copy 1 appears as outstanding
    with page.expect_download() as download:
        card.locator("button:has-text('Print label (PDF)')").click()
    assert download.value.suggested_filename == f"{bag.item_id}-label-1.pdf"
    expect(page.locator("#reconciliation")).to_contain_text("1 printed label neither applied")
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF-")

    # and they mark it applied; the summary says every label is reconciled
    card.locator("button:has-text('Mark applied')").click()
    expect(page.locator("#reconciliation")).to_contain_text("Every printed label is applied")

    # and a void without a reason is refused in place, a void with one is recorded
    card = page.locator(f"#item-{bag.pk}")
    card.locator("summary:has-text('Void…')").click()
    card.locator("button:has-text('Void copy 1')").click()
    expect(page.locator(f"#item-{bag.pk} .field-error")).to_contain_text("This field is required.")
    page.locator(f"#item-{bag.pk} input[name$='-reason']").fill("Label lifted in the freezer")
    page.locator(f"#item-{bag.pk} button:has-text('Void copy 1')").click()
    expect(page.locator(f"#item-{bag.pk}")).to_contain_text("Label lifted in the freezer")
    assert Label.objects.get(item=bag).status == LabelStatus.VOIDED


def test_an_item_entered_late_shows_when_it_was_made_not_when_it_was_typed_in(
    client, team, journey
):
    # Given a specimen container made at 14:05 in New York and entered into tilcare 3 hours later
    din, _check = coi_of(journey)
    made = dt.datetime(2026, 3, 2, 19, 5, tzinfo=dt.UTC)  # 14:05 EST
    new_item(
        team,
        journey,
        kind=ItemKind.TUMOR_SPECIMEN,
        description="Specimen container",
        storage_temperature=STORAGE,
        occurred_at=made,
    )

    # When the navigator opens the items page
    body = signed_in(client, team.navigator).get(reverse("identity:coi-items", args=[din]))

    # Then "Added" gives the time it was made, in the center's zone
    assert "<dt>Added</dt><dd>2 Mar 2026, 14:05 by" in body.content.decode()
