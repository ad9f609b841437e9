"""The release pages: the release checklist card (its own page and inside the batch page), the
formulation and test forms, the facility's specifications page, the CoA download. Facility users
and the center's team see the COI identifier, never the patient's name, MRN or date of birth.

The disposition and acknowledgement forms post to the journey layer (tested in
`tilcare/journey/tests/test_release.py`); the URLs here include them as the project does.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from tilcare.audit.models import AuditEvent
from tilcare.core.tests.clients import client_for as signed_in
from tilcare.manufacturing.choices import BatchStatus, Disposition, ReleaseTestKind
from tilcare.manufacturing.models import ProductBag, ReleaseSpecification, ReleaseTest
from tilcare.manufacturing.tests.test_release_services import (
    IDENTITY,
    SPECS,
    STORAGE,
    Scene,
    counts,
    decide,
    formulate,
    fresh,
    ready_for_disposition,
    released_by_qa,
    set_specs,
)
from tilcare.patients.tests.factories import (
    CenterFactory,
    FacilityFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

K = ReleaseTestKind
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "batch-release"}
SPECS_PAGE = "/manufacturing/release-specifications/"
FACILITY_ZONE = "America/New_York"  # the factories' organizations


def page(scene: Scene) -> str:
    return f"/manufacturing/batches/{scene.batch.public_id}/release/"


def text(response) -> str:
    return response.content.decode()


def assert_no_identity(response) -> None:
    body = text(response)
    for value in IDENTITY:
        assert value not in body


def formulation_data(**extra: str) -> dict[str, str]:
    data = {
        "volume_ml_1": "250.0",
        "cells_e9_1": "9",
        "volume_ml_2": "250.0",
        "cells_e9_2": "8.5",
        "storage_temperature": STORAGE,
        "formulated_at": local_text(),
    }
    data.update(extra)
    return data


def local_text() -> str:
    """Five minutes ago as a datetime-local field holds it, where the facility is."""
    moment = timezone.now() - dt.timedelta(minutes=5)
    return moment.astimezone(zoneinfo.ZoneInfo(FACILITY_ZONE)).strftime("%Y-%m-%dT%H:%M")


# ---------- the release page ----------


@pytest.mark.parametrize("who", ["manufacturing_tech", "qa_reviewer", "physician", "navigator"])
def test_the_facility_and_the_center_see_the_checklist_by_coi_only(scene, who):
    response = signed_in(getattr(scene.team, who)).get(page(scene))

    assert response.status_code == 200
    body = text(response)
    d = scene.batch.coi_din
    assert (
        f'{d[:5]} {d[5:7]} {d[7:]} <span class="coi-check">{scene.batch.coi_check}</span>' in body
    )
    for kind in K:
        assert f'id="test-{kind.value}"' in body
    assert body.count('<span class="badge badge-warning">Missing</span>') == 7
    assert_no_identity(response)


@pytest.mark.parametrize("role", ["manufacturing_tech", "physician"])
def test_another_facility_or_center_gets_not_found(scene, role):
    other = FacilityFactory() if role == "manufacturing_tech" else CenterFactory()

    response = signed_in(UserFactory(role=role, organization=other)).get(page(scene))

    assert response.status_code == 404


def test_only_the_technologist_gets_the_formulation_form(scene):
    tech = text(signed_in(scene.team.manufacturing_tech).get(page(scene)))
    qa = text(signed_in(scene.team.qa_reviewer).get(page(scene)))

    assert "Record formulation" in tech
    assert "Record formulation" not in qa


def test_the_batch_page_shows_the_release_card(scene):
    response = signed_in(scene.team.manufacturing_tech).get(
        reverse("manufacturing:batch-detail", args=[scene.batch.public_id])
    )

    assert response.status_code == 200
    assert 'id="batch-release"' in text(response)
    assert_no_identity(response)


# ---------- formulation and tests ----------


def test_the_technologist_records_the_formulation(scene):
    client = signed_in(scene.team.manufacturing_tech)

    response = client.post(
        reverse("manufacturing:batch-formulation", args=[scene.batch.public_id]),
        formulation_data(next=page(scene)),
    )

    assert (response.status_code, response["Location"]) == (302, page(scene))
    bags = list(ProductBag.objects.filter(batch=scene.batch))
    assert [(b.volume_ml, b.viable_cells) for b in bags] == [
        (Decimal("250.0"), Decimal(9_000_000_000)),
        (Decimal("250.0"), Decimal(8_500_000_000)),
    ]
    assert fresh(scene.batch).status == BatchStatus.HARVESTED


def test_with_htmx_the_card_comes_back_with_its_notice(scene):
    response = signed_in(scene.team.manufacturing_tech).post(
        reverse("manufacturing:batch-formulation", args=[scene.batch.public_id]),
        formulation_data(),
        **HTMX,
    )

    assert response.status_code == 200
    body = text(response)
    assert body.count('id="batch-release"') == 1
    assert "<html" not in body
    assert "Formulation recorded: 2 bag(s), each with its label item." in body
    assert f"{scene.batch.coi_din}-BG02" in body
    assert "17.5 ×10⁹ cells" in body


def test_a_refused_formulation_comes_back_with_its_message_and_writes_nothing(scene):
    before = counts()

    response = signed_in(scene.team.manufacturing_tech).post(
        reverse("manufacturing:batch-formulation", args=[scene.batch.public_id]),
        formulation_data(storage_temperature="cold"),
        **HTMX,
    )

    assert response.status_code == 200
    assert "Not a storage temperature in °C" in text(response)
    assert counts() == before


def test_a_bag_with_a_volume_and_no_cells_is_refused(scene):
    response = signed_in(scene.team.manufacturing_tech).post(
        reverse("manufacturing:batch-formulation", args=[scene.batch.public_id]),
        formulation_data(cells_e9_2=""),
    )

    assert response.status_code == 200
    assert "Bag 2: give both the volume and the viable cells." in text(response)
    assert ProductBag.objects.count() == 0


def test_a_release_test_is_recorded_from_its_row(scene):
    set_specs(scene)
    formulate(scene)

    response = signed_in(scene.team.manufacturing_tech).post(
        reverse("manufacturing:batch-release-test", args=[scene.batch.public_id, K.VIABILITY]),
        {
            f"{K.VIABILITY}-result_value": "61",
            f"{K.VIABILITY}-unit": "%",
            f"{K.VIABILITY}-tested_at": local_text(),
        },
        **HTMX,
    )

    assert response.status_code == 200
    assert "Viability recorded: FAILED." in text(response)
    assert ReleaseTest.objects.get(test=K.VIABILITY).passed is False


def test_a_test_without_specification_shows_where_to_set_it(scene):
    formulate(scene)

    response = signed_in(scene.team.qa_reviewer).get(page(scene))

    assert text(response).count(f'No specification set — <a href="{SPECS_PAGE}">set it</a>') == 6


# ---------- disposition card states ----------


def test_qa_gets_the_disposition_form_when_every_test_is_in(scene):
    ready_for_disposition(scene)

    response = signed_in(scene.team.qa_reviewer).get(page(scene))

    body = text(response)
    assert "Every release test passed." in body
    assert f'action="/release/{scene.batch.public_id}/disposition/"' in body
    assert "Sign disposition as" in body


def test_a_released_batch_shows_the_signature_and_the_coa_link(scene):
    released_by_qa(scene)

    body = text(signed_in(scene.team.physician).get(page(scene)))

    assert f"QA: signed by <strong>{scene.team.qa_reviewer.printed_name}</strong>" in body
    assert "meaning “QA release”" in body
    assert f'href="/manufacturing/batches/{scene.batch.public_id}/coa.pdf"' in body
    assert "Sign disposition" not in body


# ---------- the CoA ----------


def test_the_coa_downloads_once_qa_decided(scene):
    ready_for_disposition(scene)
    decide(scene, Disposition.REJECT, reason="Sterility retest requested by the sponsor.")

    response = signed_in(scene.team.navigator).get(
        f"/manufacturing/batches/{scene.batch.public_id}/coa.pdf"
    )

    assert (response.status_code, response["Content-Type"]) == (200, "application/pdf")
    assert response["Content-Disposition"] == (
        f'attachment; filename="CoA-{scene.batch.coi_din}-attempt-1.pdf"'
    )
    assert response.content.startswith(b"%PDF-")


def test_before_the_disposition_there_is_no_coa(scene):
    response = signed_in(scene.team.qa_reviewer).get(
        f"/manufacturing/batches/{scene.batch.public_id}/coa.pdf", follow=True
    )

    assert response.redirect_chain == [(page(scene), 302)]
    assert "The certificate of analysis is issued after QA&#x27;s disposition." in text(response)


def test_another_facility_gets_no_coa(scene):
    stranger = UserFactory(role="qa_reviewer", organization=FacilityFactory())

    response = signed_in(stranger).get(f"/manufacturing/batches/{scene.batch.public_id}/coa.pdf")

    assert response.status_code == 404


# ---------- the specifications page ----------


def test_qa_sets_a_specification_on_its_page(scene):
    client = signed_in(scene.team.qa_reviewer)

    response = client.post(
        SPECS_PAGE,
        {"protocol_id": "lifileucel_us", "test": K.ENDOTOXIN, "maximum": "5", "unit": "EU/mL"},
        follow=True,
    )

    assert response.redirect_chain == [(SPECS_PAGE, 302)]
    assert "Endotoxin under lifileucel_us: ≤ 5 EU/mL." in text(response)
    assert ReleaseSpecification.objects.get().criterion == "≤ 5 EU/mL"


def test_a_refused_specification_comes_back_with_its_message(scene):
    before = AuditEvent.objects.count()

    response = signed_in(scene.team.qa_reviewer).post(
        SPECS_PAGE, {"protocol_id": "lifileucel_us", "test": K.STERILITY}
    )

    assert response.status_code == 200
    assert "Sterility is a pass/fail test: give the expected result, e.g. “No growth”." in text(
        response
    )
    assert (ReleaseSpecification.objects.count(), AuditEvent.objects.count()) == (0, before)


def test_the_technologist_reads_the_specifications_but_may_not_set_them(scene):
    set_specs(scene)
    client = signed_in(scene.team.manufacturing_tech)

    page_body = text(client.get(SPECS_PAGE))
    refused = client.post(SPECS_PAGE, {"protocol_id": "lifileucel_us", "test": K.VIABILITY})

    assert "≥ 70 %" in page_body
    assert "Save specification" not in page_body
    assert refused.status_code == 403
    assert ReleaseSpecification.objects.count() == len(SPECS)


def test_the_specifications_page_is_the_facilitys(scene):
    response = signed_in(scene.team.physician).get(SPECS_PAGE)

    assert response.status_code == 403
