"""The infusion day in a real browser (Debian's Chromium), at a tablet's width: the second person
of the bedside identity check scans the wristband, then another patient's bag (a red block says
to stop, and a critical alert is raised), then the right bag (green), and starts the infusion.

The course is built through the services with the clock moved (the last fludarabine dose 25 h
before, the nurse's own check complete, the premedication and the thaw recorded); the clock then
runs on from there for the browser, so the infusion window is open.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from playwright.sync_api import expect

from tilcare.core.tests.browser import sign_in
from tilcare.identity.choices import AlertKind, AlertSeverity, ScanResult
from tilcare.identity.models import CustodyEvent, IdentityAlert
from tilcare.journey.tests.factories import CareTeam, riverside_team
from tilcare.treatment.models import BedsideScan, Infusion
from tilcare.treatment.services.bedside import record_thaw
from tilcare.treatment.tests.factories import (
    MIN,
    PAGE_LAST_FLUDARABINE,
    PAGE_NOW,
    check_identity,
    infusion_day,
    premedicate,
)

if TYPE_CHECKING:
    from playwright.sync_api import Page
    from pytest_django.live_server_helper import LiveServer

TABLET = {"width": 820, "height": 1180}


def test_the_second_checker_scans_a_wrong_bag_then_the_right_one_and_starts_the_infusion(
    live_server: LiveServer, page: Page, time_machine: Any
) -> None:
    # Given Riverside's course on its infusion day: one released bag, the nurse's check done,
    # the premedication given 45 min ago and the bag thawed 20 min ago
    team: CareTeam = riverside_team()
    day = infusion_day(team, time_machine, last=PAGE_LAST_FLUDARABINE, opened=PAGE_NOW, bags=1)
    premedicate(day, PAGE_NOW - 45 * MIN)
    record_thaw(
        day.infusion, item_id=day.bag_ids[0], thawed_at=PAGE_NOW - 20 * MIN, actor=team.nurse
    )
    check_identity(day, team.nurse)
    # and another patient's course, whose released bag has been brought to the same bedside
    other = infusion_day(team, time_machine, last=PAGE_LAST_FLUDARABINE, opened=PAGE_NOW, bags=1)
    time_machine.move_to(PAGE_NOW, tick=True)

    # When the treating physician opens the checklist on a tablet
    page.set_viewport_size(TABLET)
    sign_in(page, live_server.url, team.physician)
    page.goto(f"{live_server.url}/treatment/infusions/{day.infusion.public_id}/")
    expect(page.get_by_role("heading", name="Identity check")).to_be_visible()
    scan = page.get_by_label("Scanned text")
    expect(scan).to_be_focused()

    # and scans the patient's wristband
    page.get_by_label("Patient wristband").check()
    scan.fill(day.wristband)
    scan.press("Enter")
    expect(page.locator(".scan-panel-match")).to_contain_text("Matches")

    # and then the other patient's bag
    page.get_by_label("Product bag").check()
    page.get_by_label("Scanned text").fill(other.bag_ids[0])
    page.get_by_label("Scanned text").press("Enter")

    # Then a red block says to stop, why, and what to do
    stop = page.locator(".scan-panel-stop")
    expect(stop).to_be_visible()
    expect(stop).to_contain_text(
        f"This product bag belongs to another patient's journey ({other.journey.coi_spaced})."
    )
    expect(stop).to_contain_text("Set the item aside")
    # and the start still waits for the physician's check of this patient's bag
    expect(page.locator("#start")).to_contain_text(f"still to scan {day.bag_ids[0]}")
    # and a critical alert is raised on this course, kept with the refused scan
    refused = CustodyEvent.objects.get(coi_din=day.journey.coi_din, result=ScanResult.OTHER_JOURNEY)
    assert refused.actor_id == team.physician.pk
    alert = IdentityAlert.objects.get(coi_din=day.journey.coi_din, custody_event=refused)
    assert (alert.kind, alert.severity) == (AlertKind.SCAN_MISMATCH, AlertSeverity.CRITICAL)

    # When the physician scans the right bag
    page.get_by_label("Product bag").check()
    page.get_by_label("Scanned text").fill(day.bag_ids[0])
    page.get_by_label("Scanned text").press("Enter")

    # Then it matches, and both people's checks are complete
    expect(page.locator(".scan-panel-match")).to_contain_text("Matches")
    expect(page.locator(".check-column.is-complete")).to_have_count(2)
    expect(page.locator("#start")).to_contain_text("Every check is done: the infusion may start.")

    # When the physician starts the infusion
    page.get_by_role("button", name="Start infusion").click()

    # Then the checklist says it started, by whom
    expect(page.locator("#start")).to_contain_text(
        re.compile(rf"Started .+ by {re.escape(team.physician.printed_name)}")
    )
    infusion = Infusion.objects.get(pk=day.infusion.pk)
    assert infusion.started_by_id == team.physician.pk
    # and the physician's scans are the second check: wristband, the wrong bag, the right bag
    scans = BedsideScan.objects.filter(infusion=infusion, checker=2).order_by("id")
    assert [(s.target, s.custody_event.result) for s in scans] == [
        ("wristband", ScanResult.MATCH),
        ("bag", ScanResult.OTHER_JOURNEY),
        ("bag", ScanResult.MATCH),
    ]
