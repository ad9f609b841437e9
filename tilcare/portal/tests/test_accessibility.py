"""The pages a patient uses, on a 360 px phone screen, pass axe-core with no violation.

axe-core runs from the copy bundled with axe-playwright-python (no network). The pages: the
sign-in page (as the demo shows it and as a real installation does, with its second-factor
notice or without) and the patient's portal.
"""

from __future__ import annotations

import datetime as dt

import pytest
from axe_playwright_python.sync_playwright import Axe

from tilcare.core.tests.browser import sign_in
from tilcare.journey import services as journeys
from tilcare.patients.tests.factories import CenterFactory, PatientFactory, UserFactory

PHONE = {"width": 360, "height": 740}


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def violations_on(page) -> list[str]:
    """Each axe-core violation as "rule: nodes" (empty when the page passes)."""
    results = Axe().run(page)
    return [
        f"{v['id']}: {[n['target'] for n in v['nodes']]}" for v in results.response["violations"]
    ]


def fits_the_screen(page) -> bool:
    """Nothing wider than the screen: no sideways scrolling on a phone."""
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("second_factor", [True, False], ids=["installation", "demo"])
def test_the_sign_in_page_passes_axe_on_a_phone(live_server, phone, settings, second_factor):
    # Given the sign-in page on a 360 px screen, with the second factor on or (demo) off
    settings.TILCARE_REQUIRE_SECOND_FACTOR = second_factor
    phone.goto(live_server.url + "/accounts/login/")

    # Then axe-core finds nothing, and the page fits the screen
    assert violations_on(phone) == []
    assert fits_the_screen(phone)


@pytest.mark.django_db(transaction=True)
def test_the_patient_portal_passes_axe_on_a_phone(live_server, phone):
    # Given a patient with a journey, signed in on a phone
    center = CenterFactory(name="Riverside Cancer Center", after_hours_phone="+1 555 0199")
    user = UserFactory(role="patient", organization=center, first_name="Maria")
    patient = PatientFactory(center=center, portal_user=user, given_name="Maria")
    journeys.open_journey(
        patient,
        actor=UserFactory(role="navigator", organization=center),
        protocol="lifileucel-us-2024",
        referred_on=dt.date(2026, 10, 1),
    )
    sign_in(phone, live_server.url, user)

    # When the portal opens
    phone.goto(live_server.url + "/portal/")

    # Then axe-core finds nothing, and the page fits the screen
    assert phone.get_by_text("You are here").count() == 1
    assert violations_on(phone) == []
    assert fits_the_screen(phone)
