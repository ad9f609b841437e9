"""A nurse scans a product bag of another patient's journey in a real browser (Debian's Chromium)
and sees the block; then scans the right bag and sees it match."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from playwright.sync_api import expect

from tilcare.core.tests.browser import sign_in
from tilcare.identity.choices import AlertSeverity, ScanResult
from tilcare.identity.models import CustodyEvent, IdentityAlert, Item
from tilcare.journey.choices import Stage
from tilcare.journey.models import Journey
from tilcare.journey.tests.factories import (
    CareTeam,
    make_item,
    make_team,
    open_journey_for,
    walk_to,
)
from tilcare.patients.tests.factories import CenterFactory, PatientFactory

if TYPE_CHECKING:
    from playwright.sync_api import Page
    from pytest_django.live_server_helper import LiveServer


def _bag(journey: Journey, team: CareTeam) -> Item:
    return make_item(journey, team, description="TIL product for infusion, bag 1 of 1")


def _sign_in(page: Page, live_server: LiveServer, username: str) -> None:
    sign_in(page, live_server.url, username)
    expect(page).to_have_url(re.compile(r"/board/$"))


def test_nurse_scans_a_bag_of_another_journey_and_sees_the_block(
    live_server: LiveServer, page: Page
) -> None:
    # Given two journeys whose released products are on their way to the center
    team = make_team(CenterFactory(name="Riverside Cancer Center", isbt_fin="W1234"))
    mine = walk_to(
        open_journey_for(PatientFactory(center=team.center), team.navigator),
        Stage.PRODUCT_RELEASED,
        users=team,
    )
    other = walk_to(
        open_journey_for(PatientFactory(center=team.center), team.navigator),
        Stage.PRODUCT_RELEASED,
        users=team,
    )
    my_bag, other_bag = _bag(mine, team), _bag(other, team)

    # When the nurse opens the scan page from the navigation, chooses the receipt step and
    # scans the journey's COI from the order
    _sign_in(page, live_server, team.nurse.username)
    page.click("nav.app-nav a:has-text('Scan')")
    page.select_option("select[name='step']", "product_received")
    page.fill("input[name='coi']", f"{mine.coi_din}{mine.coi_check}")
    page.fill("input[name='location']", "Cell-therapy pharmacy")
    page.click("button:has-text('Start scanning')")
    scan_input = page.locator("[data-scan-input]")
    expect(scan_input).to_be_focused()

    # and scans the other journey's bag (a wedge scanner types it and presses Enter)
    scan_input.press_sequentially(other_bag.item_id)
    scan_input.press("Enter")

    # Then a red block says to stop, why, and what to do
    stop = page.locator(".scan-panel-stop")
    expect(stop).to_be_visible()
    expect(stop).to_contain_text("Stop — Belongs to another patient's journey")
    expect(stop).to_contain_text(
        f"This product bag belongs to another patient's journey ({other.coi_spaced})."
    )
    expect(stop).to_contain_text("Set the item aside")
    # And the input is empty and focused again for the next label
    expect(scan_input).to_have_value("")
    expect(scan_input).to_be_focused()
    # And the scan and a critical alert are recorded; the journey did not move
    event = CustodyEvent.objects.get(coi_din=mine.coi_din)
    assert event.result == ScanResult.OTHER_JOURNEY
    assert IdentityAlert.objects.get(coi_din=mine.coi_din).severity == AlertSeverity.CRITICAL
    assert Journey.objects.get(pk=mine.pk).stage == Stage.PRODUCT_RELEASED

    # When the nurse then scans the journey's own bag
    scan_input.press_sequentially(my_bag.item_id)
    scan_input.press("Enter")

    # Then a green panel says it matches
    match = page.locator(".scan-panel-match")
    expect(match).to_be_visible()
    expect(match).to_contain_text(f"Matches — {my_bag.item_id}")
    expect(page.locator(".scan-panel-stop")).to_have_count(0)

    # And the journey's chain of custody shows the block, with its open alert, and the match
    page.click("a:has-text('Chain of custody')")
    custody = page.locator("#custody")
    expect(custody.locator(".id-alert")).to_have_count(1)
    expect(custody).to_contain_text("Open identity alerts")
    expect(custody).to_contain_text("Stop: Belongs to another patient's journey")
    expect(custody.locator(".badge-success")).to_have_text("Matches")
