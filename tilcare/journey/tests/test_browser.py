"""A coordinator's first journey, end to end in a real browser (Debian's Chromium)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from playwright.sync_api import expect

from tilcare.core.tests.browser import sign_in
from tilcare.journey.models import Journey
from tilcare.patients.models import Patient
from tilcare.patients.tests.factories import CenterFactory, UserFactory

if TYPE_CHECKING:
    from playwright.sync_api import Page
    from pytest_django.live_server_helper import LiveServer


def test_coordinator_registers_patient_opens_and_advances_journey_then_sees_block(
    live_server: LiveServer, page: Page
) -> None:
    # Given a center with its FIN and a nurse navigator
    center = CenterFactory(name="Riverside Cancer Center", isbt_fin="W1234")
    UserFactory(username="dana", role="navigator", organization=center, first_name="Dana")

    # When the navigator signs in
    sign_in(page, live_server.url, "dana")
    expect(page).to_have_url(re.compile(r"/board/$"))

    # and registers a patient with a diagnosis
    page.goto(live_server.url + "/patients/new/")
    page.fill("input[name='mrn']", "RCC0042")
    page.fill("input[name='given_name']", "Theodora")
    page.fill("input[name='family_name']", "Lindqvist")
    page.fill("input[name='date_of_birth']", "1968-04-12")
    page.select_option("select[name='sex']", "female")
    page.select_option("select[name='cancer_type']", "melanoma_cutaneous")
    page.select_option("select[name='disease_stage']", "IV_M1b")
    page.click("button:has-text('Register patient')")
    expect(page.locator("h1")).to_contain_text("Lindqvist, Theodora")

    # and opens a journey for her
    page.click("a:has-text('Open a journey')")
    page.select_option("select[name='protocol']", "lifileucel-us-2024")
    page.fill("input[name='referred_on']", "2026-01-05")
    page.click("button:has-text('Open journey')")
    journey = Journey.objects.get(patient=Patient.objects.get(mrn="RCC0042"))
    expect(page.locator(".coi").first).to_contain_text(journey.coi_check)

    # and moves it from referral to screening (the diagnosis is recorded, so it is ready)
    page.click("button:has-text('Move to Screening and eligibility')")
    expect(page.locator(".messages")).to_contain_text("Screening and eligibility")

    # Then the next step is blocked, with its reason in plain words and no button to press
    expect(page.get_by_text("The patient's TIL therapy consent is not on file.")).to_be_visible()
    blocked = page.locator("button:has-text('Move to Financial clearance')")
    expect(blocked).to_be_disabled()
    journey.refresh_from_db()
    assert journey.stage == "screening"
