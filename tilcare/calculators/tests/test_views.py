"""The calculator pages: grouped list, one page per calculator, the working beside the inputs,
the same refusals as the API, and no page for a role that may not use it."""

from __future__ import annotations

import pytest

from tilcare.accounts.choices import Role
from tilcare.audit.models import AuditEvent
from tilcare.calculators.tests.helpers import client_for

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def test_list_groups_the_calculators_a_pharmacist_may_use():
    response = client_for(Role.PHARMACIST).get("/calculators/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Body size and renal function" in html
    assert 'href="/calculators/news2/"' in html
    assert 'href="/calculators/calculators/"' not in html


@pytest.mark.parametrize("role", [Role.PATIENT, Role.FINANCIAL_COORDINATOR], ids=str)
def test_roles_without_calculators_get_no_page(role):
    client = client_for(role)

    assert client.get("/calculators/").status_code == 403
    assert client.get("/calculators/bsa/").status_code == 403
    assert client.post("/calculators/bsa/", {"weight_kg": "70"}).status_code == 403


def test_a_technologist_may_not_open_a_bedside_calculator():
    client = client_for(Role.MANUFACTURING_TECH)

    assert client.get("/calculators/news2/").status_code == 403
    assert client.get("/calculators/check-character/").status_code == 200


def test_unknown_calculator_is_404():
    assert client_for(Role.NURSE).get("/calculators/nonsense/").status_code == 404


def test_form_starts_with_nothing_chosen():
    html = client_for(Role.NURSE).get("/calculators/news2/").content.decode()

    assert '<option value="" selected>— choose —</option>' in html
    assert 'type="radio" name="on_oxygen"' in html
    assert "checked" not in html


def test_news2_page_shows_the_score_its_sub_scores_and_the_response():
    # RCP NEWS2 Chart 1: RR 22 → 2, SpO2 95 (scale 1) → 1, air → 0, SBP 105 → 1, pulse 112 → 2,
    # alert → 0, 38.6 °C → 1; aggregate 7 → emergency response (Chart 4)
    response = client_for(Role.NURSE).post(
        "/calculators/news2/",
        {
            "respiration_rate_per_min": "22",
            "spo2_percent": "95",
            "spo2_scale": "1",
            "on_oxygen": "false",
            "systolic_bp_mmhg": "105",
            "pulse_per_min": "112",
            "consciousness": "alert",
            "temperature_c": "38.6",
        },
        **HTMX,
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="calc-headline calc-danger"' in html
    assert "NEWS2 7 — High risk" in html
    assert "How this was calculated" in html
    assert "Royal College of Physicians" in html
    assert '<th scope="col">Score</th>' in html
    assert "<html" not in html  # htmx gets the panel only


def test_refusal_on_the_page_names_the_field_and_the_limit_and_saves_nothing():
    before = AuditEvent.objects.count()

    response = client_for(Role.PHARMACIST).post(
        "/calculators/bsa/",
        {"weight_kg": "400", "height_cm": "175", "formula": "mosteller"},
        **HTMX,
    )

    assert response.status_code == 200  # the form comes back with its errors
    html = response.content.decode()
    assert "weight_kg 400 is above the plausible maximum 350 kg." in html
    assert 'id="id_weight_kg_error"' in html
    assert "Not calculated" in html
    assert AuditEvent.objects.count() == before


def test_missing_choice_is_refused_by_the_form():
    response = client_for(Role.PHARMACIST).post(
        "/calculators/bsa/", {"weight_kg": "70", "height_cm": "175", "formula": ""}
    )

    html = response.content.decode()
    assert 'id="id_formula_error"' in html
    assert "This field is required." in html
    assert "calc-headline calc-info" not in html


def test_without_htmx_the_whole_page_comes_back():
    response = client_for(Role.PHARMACIST).post(
        "/calculators/bmi/", {"weight_kg": "70", "height_cm": "175"}
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html
    assert "BMI 22.9 kg/m²" in html
