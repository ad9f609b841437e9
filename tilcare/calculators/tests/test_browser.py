"""A nurse checks a NEWS2 score and a pharmacist is told which center settings are missing,
in a real browser (Debian's Chromium), through the htmx form."""

from __future__ import annotations

from typing import TYPE_CHECKING

from playwright.sync_api import expect

from tilcare.core.tests.browser import sign_in as shared_sign_in
from tilcare.patients.tests.factories import UserFactory

if TYPE_CHECKING:
    from playwright.sync_api import Page
    from pytest_django.live_server_helper import LiveServer


def sign_in(page: Page, live_server: LiveServer, username: str) -> None:
    shared_sign_in(page, live_server.url, username)


def test_nurse_scores_news2_and_sees_the_emergency_response(
    live_server: LiveServer, page: Page
) -> None:
    # Given a nurse on the NEWS2 calculator
    UserFactory(username="kim", role="nurse")
    sign_in(page, live_server, "kim")
    page.goto(live_server.url + "/calculators/")
    page.click("a:has-text('NEWS2 early warning score')")

    # When she enters one set of vital signs (RCP NEWS2 Chart 1: 2+1+0+1+2+0+1 = 7)
    page.fill("input[name='respiration_rate_per_min']", "22")
    page.fill("input[name='spo2_percent']", "95")
    page.select_option("select[name='spo2_scale']", "1")
    page.check("input[name='on_oxygen'][value='false']")
    page.fill("input[name='systolic_bp_mmhg']", "105")
    page.fill("input[name='pulse_per_min']", "112")
    page.select_option("select[name='consciousness']", "alert")
    page.fill("input[name='temperature_c']", "38.6")
    page.click("button:has-text('Calculate')")

    # Then the score, its risk band and the response appear beside the inputs, with the source
    headline = page.locator(".calc-headline")
    expect(headline).to_contain_text("NEWS2 7 — High risk")
    expect(headline).to_have_class("calc-headline calc-danger")
    expect(page.locator(".calc-how")).to_contain_text("Royal College of Physicians")


def test_pharmacist_is_told_each_missing_center_setting_by_name(
    live_server: LiveServer, page: Page
) -> None:
    # Given a pharmacist on the lifileucel lymphodepletion calculator
    UserFactory(username="hana", role="pharmacist")
    sign_in(page, live_server, "hana")
    page.goto(live_server.url + "/calculators/lymphodepletion-lifileucel-us-2024/")

    # When she enters the patient but none of the center's settings
    page.fill("input[name='weight_kg']", "80")
    page.fill("input[name='height_cm']", "178")
    page.select_option("select[name='sex']", "male")
    page.fill("input[name='age_years']", "52")
    page.fill("input[name='serum_creatinine_mg_per_dl']", "1.0")
    page.click("button:has-text('Calculate')")

    # Then nothing is calculated and each setting says what the center must set
    expect(page.locator(".calc-headline")).to_contain_text("Not calculated")
    expect(page.locator("#id_bsa_formula_error")).to_contain_text(
        "Set 'Body-surface-area formula for fludarabine' (bsa_formula)"
    )
    expect(page.locator("#id_cyclophosphamide_weight_basis_error")).to_be_visible()


def test_technologist_sees_the_growth_chart_drawn(live_server: LiveServer, page: Page) -> None:
    # Given a manufacturing technologist at a facility
    from tilcare.patients.tests.factories import FacilityFactory

    UserFactory(username="diego", role="manufacturing_tech", organization=FacilityFactory())
    sign_in(page, live_server, "diego")
    page.goto(live_server.url + "/calculators/harvest-forecast/")

    # When she enters four daily counts and the label's dose range
    page.fill("textarea[name='counts']", "0, 0.05\n3, 0.3\n5, 0.9\n7, 2.8")
    page.select_option("select[name='count_unit']", "e9_cells")
    page.fill("input[name='harvest_day']", "11")
    page.fill("input[name='dose_lower_e9_cells']", "7.5")
    page.fill("input[name='dose_upper_e9_cells']", "72")
    page.fill("input[name='warn_below_probability']", "0.8")
    page.click("button:has-text('Calculate')")

    # Then the forecast is given and the growth chart is drawn (under the page's CSP)
    expect(page.locator(".calc-headline")).to_contain_text("Day 11:")
    expect(page.locator(".calc-chart canvas")).to_have_count(1)
