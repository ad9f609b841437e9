"""The infusion-day checklist: who reads it and who records on it, each step's form (premedication,
thaw, the two-person identity check, the start, the end) going back to the page with its message,
each refusal shown on the page with nothing written; and the journey's Orders card that opens it.

The course is the conftest's `bedside_day`: Riverside (New York), one bag, the window open since
11:00 EDT, the clock at noon EDT on 15 June 2026 (16:00 UTC).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse

from tilcare.audit.models import AuditEvent
from tilcare.clinical.identity_scan import next_step_for
from tilcare.core.tests.clients import client_for
from tilcare.identity.models import CustodyEvent, IdentityAlert
from tilcare.journey.choices import Stage
from tilcare.journey.tests.factories import CareTeam, journey_at, make_team
from tilcare.treatment.models import BagThaw, BedsideScan, Infusion, Premedication
from tilcare.treatment.services.infusion import SAME_PERSON_TWICE, start_infusion
from tilcare.treatment.tests.factories import MIN, PAGE_NOW, InfusionDay, ready_to_start

pytestmark = pytest.mark.django_db

WRITTEN = (Infusion, Premedication, BagThaw, BedsideScan, CustodyEvent, AuditEvent, IdentityAlert)
POSTS = ("premedication", "thaw", "scan", "start", "end")


def text_of(response: Any) -> str:
    """The page's text with tags dropped and spaces squeezed, as a reader sees it."""
    html = response.content.decode()
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#x27;", "'")


def counts() -> tuple[int, ...]:
    return tuple(model.objects.count() for model in WRITTEN)


def page(day: InfusionDay) -> str:
    return reverse("treatment:infusion", kwargs={"public_id": day.infusion.public_id})


def action(day: InfusionDay, name: str) -> str:
    return reverse(f"treatment:infusion_{name}", kwargs={"public_id": day.infusion.public_id})


# ---------- Reading ----------


@pytest.mark.parametrize("role", ["nurse", "physician", "pharmacist", "navigator"])
def test_the_centers_clinical_staff_read_the_checklist_in_its_six_steps(
    team: CareTeam, bedside_day: InfusionDay, role: str
) -> None:
    response = client_for(team.by_role(role)).get(page(bedside_day))

    assert response.status_code == 200
    text = text_of(response)
    steps = [
        "1 Window and product",
        "2 Premedication",
        "3 Thaw",
        "4 Identity check",
        "5 Start",
        "6 End",
    ]
    assert [text.index(step) for step in steps] == sorted(text.index(step) for step in steps)
    assert (
        "Open now · Infusion allowed from Mon 15 Jun 11:00 EDT until Thu 18 Jun 11:00 EDT "
        "Open now, closes in 2 days 23 h"
    ) in text
    assert (
        f"{bedside_day.bags[0].item_id} product_bag 1 Sun 14 Jun 12:00 EDT Wed 15 Jul 12:00 EDT"
        in text
    )
    assert "✓ Released, in date" in text


@pytest.mark.parametrize(
    ("role", "offered"),
    [("nurse", True), ("physician", True), ("pharmacist", False), ("navigator", False)],
)
def test_only_a_nurse_or_physician_is_offered_the_forms(
    team: CareTeam, bedside_day: InfusionDay, role: str, offered: bool
) -> None:
    html = client_for(team.by_role(role)).get(page(bedside_day)).content.decode()

    buttons = ["Record premedication", "Record thaw", "Record scan", "Start infusion"]
    assert [button in html for button in buttons] == [offered] * 4


def test_the_scan_field_takes_the_focus_for_a_barcode_scanner(
    team: CareTeam, bedside_day: InfusionDay
) -> None:
    html = client_for(team.nurse).get(page(bedside_day)).content.decode()

    field = re.search(r"<input[^>]*name=\"scanned_text\"[^>]*>", html)
    assert field is not None and "autofocus" in field.group(0)
    assert 'action="' + action(bedside_day, "scan") + '#identity"' in html


def test_another_centers_staff_neither_see_nor_touch_the_infusion(
    bedside_day: InfusionDay, time_machine: Any
) -> None:
    other = make_team()
    client = client_for(other.nurse)
    before = counts()

    answers = [client.get(page(bedside_day)).status_code] + [
        client.post(action(bedside_day, name), {"at": "2026-06-15T12:00"}).status_code
        for name in POSTS
    ]

    assert answers == [404] * 6
    assert counts() == before


@pytest.mark.parametrize("role", ["manufacturing_tech", "qa_reviewer"])
def test_a_facilitys_staff_are_refused(team: CareTeam, bedside_day: InfusionDay, role: str) -> None:
    response = client_for(team.by_role(role)).get(page(bedside_day))

    assert response.status_code == 403


@pytest.mark.parametrize("role", ["pharmacist", "navigator"])
@pytest.mark.parametrize("name", POSTS)
def test_those_who_do_not_record_the_infusion_are_refused_with_nothing_written(
    team: CareTeam, bedside_day: InfusionDay, role: str, name: str
) -> None:
    before = counts()

    response = client_for(team.by_role(role)).post(
        action(bedside_day, name),
        {
            "group": "acetaminophen",
            "agent": "acetaminophen",
            "dose": "650",
            "route": "PO",
            "at": "2026-06-15T11:15",
            "item_id": bedside_day.bags[0].item_id,
            "thawed_at": "2026-06-15T11:40",
            "target": "wristband",
            "scanned_text": bedside_day.wristband,
        },
    )

    assert response.status_code == 403
    assert counts() == before


# ---------- Premedication and thaw ----------


def test_the_nurse_records_a_premedication_on_the_centers_clock(
    team: CareTeam, bedside_day: InfusionDay
) -> None:
    client = client_for(team.nurse)

    response = client.post(
        action(bedside_day, "premedication"),
        {
            "group": "acetaminophen",
            "agent": "acetaminophen",
            "dose": "650",
            "route": "PO",
            "at": "2026-06-15T11:15",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == page(bedside_day) + "#premedication"
    given = Premedication.objects.get()
    assert (given.group, given.agent, given.dose, given.route) == (
        "acetaminophen",
        "acetaminophen",
        650,
        "PO",
    )
    assert given.at == PAGE_NOW - 45 * MIN  # 11:15 in New York is 15:15 UTC
    text = text_of(client.get(page(bedside_day)))
    assert "Recorded: acetaminophen 650 mg PO at Mon 15 Jun 11:15 EDT." in text
    assert "Mon 15 Jun 11:15 EDT Acetaminophen acetaminophen 650 mg PO" in text


def test_a_premedication_the_group_does_not_allow_is_refused_on_its_field(
    team: CareTeam, bedside_day: InfusionDay
) -> None:
    before = counts()

    response = client_for(team.nurse).post(
        action(bedside_day, "premedication"),
        {
            "group": "acetaminophen",
            "agent": "ibuprofen",
            "dose": "400",
            "route": "PO",
            "at": "2026-06-15T11:15",
        },
    )

    assert response.status_code == 422
    assert response.context["premedication_form"].errors == {
        "agent": ["acetaminophen: give acetaminophen."]
    }
    assert counts() == before


def test_the_nurse_records_a_bags_thaw_and_the_minutes_since_are_shown(
    team: CareTeam, bedside_day: InfusionDay
) -> None:
    client = client_for(team.nurse)

    response = client.post(
        action(bedside_day, "thaw"),
        {"item_id": bedside_day.bags[0].item_id, "thawed_at": "2026-06-15T11:40"},
    )

    assert response.status_code == 302 and response["Location"] == page(bedside_day) + "#thaw"
    assert BagThaw.objects.get().thawed_at == PAGE_NOW - 20 * MIN
    text = text_of(client.get(page(bedside_day)))
    assert f"Recorded: {bedside_day.bags[0].item_id} thawed at Mon 15 Jun 11:40 EDT." in text
    assert (
        "Thawed Mon 15 Jun 11:40 EDT · 20 min since the thaw (limit 60 min) Within the "
        "center's limit: infuse by Mon 15 Jun 12:40 EDT."
    ) in text


# ---------- The identity check ----------


def scan(client: Any, day: InfusionDay, target: str, text: str) -> Any:
    return client.post(action(day, "scan"), {"target": target, "scanned_text": text})


def test_a_matching_scan_is_shown_green_and_ticked_in_the_first_column(
    team: CareTeam, bedside_day: InfusionDay
) -> None:
    client = client_for(team.nurse)

    response = scan(client, bedside_day, "wristband", bedside_day.wristband)

    assert response.status_code == 302 and response["Location"] == page(bedside_day) + "#identity"
    page_after = client.get(page(bedside_day))
    html, text = page_after.content.decode(), text_of(page_after)
    assert "scan-panel-match" in html and "scan-panel-stop" not in html
    assert "Patient wristband: matches." in text
    first = page_after.context["columns"][0]
    assert (first.person, first.wristband, first.bags) == (
        team.nurse.printed_name,
        True,
        [(bedside_day.bags[0].item_id, False)],
    )


def test_a_mismatched_scan_is_recorded_and_shown_red_with_the_next_step(
    team: CareTeam, bedside_day: InfusionDay
) -> None:
    client = client_for(team.nurse)
    wrong = bedside_day.bags[0].item_id[:-2] + "09"  # a bag number this bedside_day does not have

    response = scan(client, bedside_day, "bag", wrong)

    assert response.status_code == 302
    event = BedsideScan.objects.get().custody_event
    assert event.result != "match"
    page_after = client.get(page(bedside_day))
    html, text = page_after.content.decode(), text_of(page_after)
    assert "scan-panel-stop" in html and "scan-panel-match" not in html
    assert f"Stop: {event.get_result_display()}" in text
    assert event.message in text
    assert f"Next step: {next_step_for(event.result)}" in text
    assert f"Does not match: {event.message}" in text
    assert page_after.context["columns"][0].bags == [(bedside_day.bags[0].item_id, False)]


def test_the_person_who_made_the_first_check_may_not_make_the_second(
    team: CareTeam, bedside_day: InfusionDay
) -> None:
    client = client_for(team.nurse)
    scan(client, bedside_day, "wristband", bedside_day.wristband)
    scan(client, bedside_day, "bag", bedside_day.bags[0].item_id)
    scans = BedsideScan.objects.count()

    response = scan(client, bedside_day, "wristband", bedside_day.wristband)

    assert response.status_code == 409
    assert response.context["scan_form"].non_field_errors() == [SAME_PERSON_TWICE]
    assert BedsideScan.objects.count() == scans
    assert IdentityAlert.objects.filter(kind="bedside_check").count() == 1


def test_a_wristband_scanned_as_a_bag_is_refused_on_the_field(
    team: CareTeam, bedside_day: InfusionDay
) -> None:
    before = counts()

    response = scan(client_for(team.nurse), bedside_day, "bag", bedside_day.wristband)

    assert response.status_code == 422
    assert response.context["scan_form"].errors == {
        "scanned_text": [
            "This is a journey identifier (a wristband), not a bag label: scan the label on "
            "the bag."
        ]
    }
    assert counts() == before


# ---------- Start and end ----------


def test_a_start_before_the_checks_is_refused_in_red_with_what_is_missing(
    team: CareTeam, bedside_day: InfusionDay
) -> None:
    before = counts()

    response = client_for(team.nurse).post(action(bedside_day, "start"), {"at": "2026-06-15T12:00"})

    assert response.status_code == 409
    refusals = response.context["start_form"].non_field_errors()
    assert refusals == [
        "The first person has not checked yet: each of two people scans the wristband and "
        "every bag.",
        "The second person has not checked yet: each of two people scans the wristband and "
        "every bag.",
        "Premedication not complete: acetaminophen not given; H1 antihistamine not given. Each "
        "premedication is given before the infusion starts (the protocol's ~30 to 60 min before "
        "the infusion).",
        "Record the thaw time of the first bag before starting.",
    ]
    assert 'class="refusals"' in response.content.decode()
    assert "Not started:" in text_of(response)
    assert Infusion.objects.get().started_at is None
    assert counts() == before


def test_the_nurse_starts_the_infusion_once_every_check_is_done(
    team: CareTeam, bedside_day: InfusionDay, time_machine: Any
) -> None:
    ready_to_start(bedside_day, time_machine, PAGE_NOW)
    client = client_for(team.nurse)
    assert "✓ Every check is done: the infusion may start." in text_of(
        client.get(page(bedside_day))
    )

    response = client.post(action(bedside_day, "start"), {"at": "2026-06-15T12:00"})

    assert response.status_code == 302 and response["Location"] == page(bedside_day) + "#end"
    assert Infusion.objects.get().started_at == PAGE_NOW
    text = text_of(client.get(page(bedside_day)))
    assert "Infusion started at Mon 15 Jun 12:00 EDT." in text
    assert "Record end of infusion" in text


def test_the_end_is_recorded_and_the_cell_dose_checked_against_the_range(
    team: CareTeam, bedside_day: InfusionDay, time_machine: Any
) -> None:
    ready_to_start(bedside_day, time_machine, PAGE_NOW)
    start_infusion(bedside_day.infusion, at=PAGE_NOW, actor=team.nurse)
    time_machine.move_to(PAGE_NOW + 30 * MIN, tick=False)
    client = client_for(team.physician)

    response = client.post(
        action(bedside_day, "end"),
        {"at": "2026-06-15T12:30", "bags_infused": "1", "viable_cells_e9": "80", "note": ""},
    )

    assert response.status_code == 302
    ended = Infusion.objects.get()
    assert (ended.ended_at, ended.bags_infused, ended.viable_cells_e9) == (
        PAGE_NOW + 30 * MIN,
        1,
        80,
    )
    text = text_of(client.get(page(bedside_day)))
    assert (
        "End of infusion recorded at Mon 15 Jun 12:30 EDT. The cell dose is outside the "
        "protocol's range: an alert has been raised for the treating physician."
    ) in text
    assert "✕ Outside the protocol's range: the treating physician has been alerted" in text
    assert IdentityAlert.objects.filter(kind="infusion_blocked").count() == 1


def test_an_end_without_the_cells_is_refused_on_its_field(
    team: CareTeam, bedside_day: InfusionDay, time_machine: Any
) -> None:
    ready_to_start(bedside_day, time_machine, PAGE_NOW)
    start_infusion(bedside_day.infusion, at=PAGE_NOW, actor=team.nurse)
    time_machine.move_to(PAGE_NOW + 30 * MIN, tick=False)
    before = counts()

    response = client_for(team.nurse).post(
        action(bedside_day, "end"), {"at": "2026-06-15T12:30", "bags_infused": "1"}
    )

    assert response.status_code == 422
    assert response.context["end_form"].errors == {
        "viable_cells_e9": ["Viable cells infused (×10⁹) is required."]
    }
    assert Infusion.objects.get().ended_at is None
    assert counts() == before


# ---------- The journey's Orders card opens it ----------


def journey_page(journey: Any) -> str:
    return reverse("journey:journey-detail", kwargs={"public_id": journey.public_id})


def opener(journey: Any) -> str:
    return reverse("journey:open_infusion", kwargs={"public_id": journey.public_id})


def test_the_nurse_opens_the_infusion_checklist_from_the_orders_card(
    team: CareTeam, time_machine: Any
) -> None:
    time_machine.move_to(PAGE_NOW, tick=False)
    journey = journey_at(team, Stage.LYMPHODEPLETION)
    client = client_for(team.nurse)
    assert "Open the infusion checklist" in text_of(client.get(journey_page(journey)))

    response = client.post(opener(journey))

    infusion = Infusion.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "treatment:infusion", kwargs={"public_id": infusion.public_id}
    )
    assert (infusion.coi_din, infusion.opened_by) == (journey.coi_din, team.nurse)
    card = text_of(client.get(journey_page(journey)))
    assert "Infusion checklist" in card and "Open the infusion checklist" not in card


@pytest.mark.parametrize("role", ["pharmacist", "navigator"])
def test_who_does_not_record_the_infusion_neither_sees_nor_uses_the_opener(
    team: CareTeam, time_machine: Any, role: str
) -> None:
    time_machine.move_to(PAGE_NOW, tick=False)
    journey = journey_at(team, Stage.LYMPHODEPLETION)
    client = client_for(team.by_role(role))
    assert "Open the infusion checklist" not in text_of(client.get(journey_page(journey)))

    response = client.post(opener(journey))

    assert response.status_code == 403
    assert Infusion.objects.count() == 0
