"""The infusion day over the API: the journey opens the course's checklist, the bedside records
premedication, thaws and the two people's identity scans on it, then the start and the end.

Refusals are 403 (a role that may not record the infusion day, in the policy's words), 404
(another center's nurse, a facility's user), 409 (a step the checklist's state refuses, with every
reason), 422 (the field and its limit); a refused request writes nothing. A scan that does not
match is recorded: 201, accepted false, with its alert.

The last fludarabine dose is given at 23:30 UTC on 14 December 2026; the checklist is opened 28 h
later, inside lifileucel's window (24 h to 96 h after it).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tilcare.audit.models import AuditEvent
from tilcare.clinical import identity_scan
from tilcare.config.api import api
from tilcare.core.tests.clients import client_for, invalid_input, post_json, row_counts
from tilcare.identity.choices import AlertKind, ItemKind, ScanResult
from tilcare.identity.models import CustodyEvent, IdentityAlert
from tilcare.journey.tests.factories import CareTeam, make_item, open_journey_for
from tilcare.patients.tests.factories import PatientFactory
from tilcare.treatment.models import BagThaw, BedsideScan, Infusion, Premedication
from tilcare.treatment.services.infusion import NOT_INFUSER
from tilcare.treatment.tests.factories import (
    API_LAST_FLUDARABINE,
    API_OPENED,
    API_START,
    MIN,
    InfusionDay,
    check_identity,
    lymphodepletion_given,
    ready_to_start,
)

pytestmark = pytest.mark.django_db

ROOT = "/api/v1"
API = f"{ROOT}/treatment/infusions"
NOT_FOUND = {"detail": "Not found."}
DENIED = {"detail": NOT_INFUSER}
UNKNOWN_FIELD = "Unknown field; check its spelling against the API documentation."
FIRST_NOT_CHECKED = (
    "The first person has not checked yet: each of two people scans the wristband and every bag."
)
SECOND_NOT_CHECKED = (
    "The second person has not checked yet: each of two people scans the wristband and every bag."
)
FIRST_THAW = "Record the thaw time of the first bag before starting."
DOSE_AS_TEXT = 'Send the dose as text, e.g. "7.5" (not a JSON number or true/false).'
WHOLE_NUMBER = "Send a whole number, e.g. 3 (not text, a decimal or true/false)."


def url(day: InfusionDay, action: str = "") -> str:
    return f"{API}/{day.infusion.public_id}" + (f"/{action}" if action else "")


def post(user: Any, path: str, body: object = None) -> Any:
    return post_json(client_for(user), path, body)


def counts() -> tuple[int, ...]:
    return row_counts(
        Infusion, Premedication, BagThaw, BedsideScan, CustodyEvent, IdentityAlert, AuditEvent
    )


def premedication(at: dt.datetime, **changes: object) -> dict[str, object]:
    return {
        "group": "acetaminophen",
        "agent": "acetaminophen",
        "dose": "650",
        "route": "PO",
        "at": at.isoformat(),
        **changes,
    }


def assert_refused_everywhere(day: InfusionDay, other_team: CareTeam, path: str, body: object):
    """The pharmacist and the navigator are refused in the policy's words (403), another center's
    nurse and the facility's technologist do not learn of the checklist (404); nothing is
    written."""
    before = counts()
    team = day.team
    answers = [
        (response.status_code, response.json())
        for response in (
            post(user, path, body)
            for user in (team.pharmacist, team.navigator, other_team.nurse, team.manufacturing_tech)
        )
    ]
    assert answers == [(403, DENIED), (403, DENIED), (404, NOT_FOUND), (404, NOT_FOUND)]
    assert counts() == before


# --- opening the checklist from the journey ----------------------------------------------------


def test_the_nurse_opens_the_checklist_and_opening_it_again_answers_the_same(team, time_machine):
    # Given a journey whose last fludarabine dose was given 28 h ago, its two bags released
    journey = lymphodepletion_given(team, time_machine, API_LAST_FLUDARABINE)
    time_machine.move_to(API_OPENED, tick=False)
    bags = [make_item(journey, team, ItemKind.PRODUCT_BAG, n).item_id for n in (1, 2)]
    path = f"{ROOT}/journeys/{journey.public_id}/infusion"

    # When the nurse opens its infusion checklist, then the physician asks for it again
    opened = post(team.nurse, path)
    again = post(team.physician, path)

    # Then it is opened once (201), then answered as it is (200)
    assert (opened.status_code, again.status_code) == (201, 200)
    body = opened.json()
    assert again.json()["public_id"] == body["public_id"]
    assert Infusion.objects.count() == 1
    assert (body["status"], body["opened_by"], body["coi"]) == (
        "open",
        team.nurse.printed_name,
        journey.coi_din + journey.coi_check,
    )
    assert [(b["item_id"], b["released"], b["expired"], b["thaw"]) for b in body["bags"]] == [
        (bags[0], True, False, None),
        (bags[1], True, False, None),
    ]
    assert body["checks"] == []
    # and what blocks the start now is every step not done, the window being open
    assert body["blocking"][:2] == [FIRST_NOT_CHECKED, SECOND_NOT_CHECKED]
    assert body["blocking"][3:] == [FIRST_THAW]
    assert body["blocking"][2] == body["premedication"]["reason"]
    assert body["premedication"]["complete"] is False
    assert [g["status"] for g in body["premedication"]["groups"]] == ["missing", "missing"]
    assert body["window"]["status"] == "allowed"
    assert body["window"]["last_fludarabine"] == API_LAST_FLUDARABINE.isoformat()


def test_only_the_nurse_and_physician_of_the_center_open_the_checklist(
    team, other_team, time_machine
):
    # Given a journey in lymphodepletion, its last fludarabine dose given 28 h ago
    journey = lymphodepletion_given(team, time_machine, API_LAST_FLUDARABINE)
    time_machine.move_to(API_OPENED, tick=False)
    path = f"{ROOT}/journeys/{journey.public_id}/infusion"
    before = counts()

    # When the pharmacist, the navigator, another center's nurse and the facility try
    answers = [
        (response.status_code, response.json())
        for response in (
            post(user, path)
            for user in (team.pharmacist, team.navigator, other_team.nurse, team.manufacturing_tech)
        )
    ]

    # Then the center's other roles are refused in words, the others do not learn of it
    assert answers == [(403, DENIED), (403, DENIED), (404, NOT_FOUND), (404, NOT_FOUND)]
    assert counts() == before


# --- reading the checklist ----------------------------------------------------------------------


def test_the_center_staff_read_the_checklist_and_nobody_else_learns_of_it(api_day, other_team):
    # When the nurse, the pharmacist and the navigator read it, then another center's nurse and
    # the facility's technologist
    answers = [
        client_for(user).get(url(api_day)).status_code
        for user in (
            api_day.team.nurse,
            api_day.team.pharmacist,
            api_day.team.navigator,
            other_team.nurse,
            api_day.team.manufacturing_tech,
        )
    ]

    # Then the center's staff read it, the others get 404
    assert answers == [200, 200, 200, 404, 404]


# --- premedication and thaw ---------------------------------------------------------------------


def test_the_nurse_records_a_premedication(api_day):
    # Given the checklist opened at 03:30 UTC
    at = API_OPENED - 5 * MIN

    # When the nurse records acetaminophen 650 mg PO five minutes ago
    response = post(api_day.team.nurse, url(api_day, "premedications"), premedication(at))

    # Then it is on the checklist
    assert response.status_code == 201
    assert response.json()["premedications"] == [
        {
            "group": "acetaminophen",
            "agent": "acetaminophen",
            "dose": "650.00",
            "dose_unit": "mg",
            "route": "PO",
            "at": at.isoformat(),
            "recorded_by": api_day.team.nurse.printed_name,
        }
    ]
    groups = response.json()["premedication"]["groups"]
    assert [g["group"] for g in groups] == ["acetaminophen", "H1 antihistamine"]
    assert groups[1]["status"] == "missing"


def test_a_premedication_is_refused_to_other_roles(api_day, other_team):
    at = API_OPENED - 5 * MIN
    assert_refused_everywhere(
        api_day, other_team, url(api_day, "premedications"), premedication(at)
    )


def test_the_physician_records_a_bags_thaw(api_day):
    # When the physician records the first bag thawed ten minutes ago
    thawed = API_OPENED - 10 * MIN
    response = post(
        api_day.team.physician,
        url(api_day, "thaws"),
        {"item_id": api_day.bag_ids[0], "thawed_at": thawed.isoformat()},
    )

    # Then the bag's thaw clock runs against the center's 60-minute limit
    assert response.status_code == 201
    thaw = response.json()["bags"][0]["thaw"]
    assert thaw["thawed_at"] == thawed.isoformat()
    assert thaw["minutes_since_thaw"] == 10
    assert thaw["limit_minutes"] == "60"
    assert thaw["infuse_by"] == (thawed + 60 * MIN).isoformat()
    assert thaw["within_limit"] is True
    assert response.json()["bags"][1]["thaw"] is None
    assert FIRST_THAW not in response.json()["blocking"]


def test_a_thaw_is_refused_to_other_roles(api_day, other_team):
    thawed = API_OPENED - 10 * MIN
    body = {"item_id": api_day.bag_ids[0], "thawed_at": thawed.isoformat()}
    assert_refused_everywhere(api_day, other_team, url(api_day, "thaws"), body)


# --- the identity check -------------------------------------------------------------------------


def test_a_mismatching_bag_is_recorded_with_its_alert_then_the_right_one_is_accepted(api_day):
    # Given another patient's bag at the same center, and the nurse's wristband scanned
    stranger = open_journey_for(PatientFactory(center=api_day.team.center), api_day.team.navigator)
    wrong_bag = make_item(stranger, api_day.team, ItemKind.PRODUCT_BAG, 1).item_id
    nurse = api_day.team.nurse
    wristband = post(
        nurse, url(api_day, "scans"), {"target": "wristband", "scanned_text": api_day.wristband}
    )
    assert wristband.status_code == 201
    assert wristband.json()["next_step"] == f"Scan next: {', '.join(api_day.bag_ids)}."
    alerts_before = set(IdentityAlert.objects.values_list("pk", flat=True))

    # When she scans the other patient's bag
    wrong = post(nurse, url(api_day, "scans"), {"target": "bag", "scanned_text": wrong_bag})

    # Then the scan is recorded (201), not accepted, with the alert the scan engine raised
    assert wrong.status_code == 201
    body = wrong.json()
    assert body["accepted"] is False
    assert body["result"] == ScanResult.OTHER_JOURNEY
    assert body["message"].startswith("This product bag belongs to another patient's journey")
    assert body["next_step"] == identity_scan.next_step_for(ScanResult.OTHER_JOURNEY)
    assert body["check"]["missing"] == list(api_day.bag_ids)
    # (one alert for this journey, one for the journey the bag belongs to)
    raised = IdentityAlert.objects.exclude(pk__in=alerts_before)
    assert [(a.kind, a.severity) for a in raised] == [(AlertKind.SCAN_MISMATCH, "critical")] * 2
    assert sorted(body["alerts"]) == sorted(str(a.public_id) for a in raised)
    assert BedsideScan.objects.filter(infusion=api_day.infusion).count() == 2

    # When she then scans the two right bags
    first = post(
        nurse, url(api_day, "scans"), {"target": "bag", "scanned_text": api_day.bag_ids[0]}
    )
    second = post(
        nurse, url(api_day, "scans"), {"target": "bag", "scanned_text": api_day.bag_ids[1]}
    )

    # Then each is accepted, and her check is complete: the second person is next
    assert (first.status_code, first.json()["accepted"]) == (201, True)
    assert first.json()["next_step"] == f"Scan next: {api_day.bag_ids[1]}."
    assert (second.status_code, second.json()["accepted"]) == (201, True)
    assert second.json()["check"] == {
        **second.json()["check"],
        "checker": 1,
        "person": nurse.printed_name,
        "wristband_ok": True,
        "bags_matched": list(api_day.bag_ids),
        "missing": [],
        "complete": True,
    }
    assert [s["accepted"] for s in second.json()["check"]["scans"]] == [True, False, True, True]
    assert second.json()["next_step"] == (
        "Your identity check is complete: a second person now scans the wristband and every bag."
    )
    assert second.json()["infusion"]["blocking"][0] == SECOND_NOT_CHECKED


def test_the_first_checker_may_not_make_the_second_check(api_day):
    # Given the nurse completed the first check
    check_identity(api_day, api_day.team.nurse)
    before = row_counts(BedsideScan)

    # When she scans the wristband again
    response = post(
        api_day.team.nurse,
        url(api_day, "scans"),
        {"target": "wristband", "scanned_text": api_day.wristband},
    )

    # Then it is refused (409) and alerted; no scan is recorded
    assert response.status_code == 409
    assert response.json()["errors"]["__all__"][0].startswith("You have completed your identity")
    assert IdentityAlert.objects.filter(kind=AlertKind.BEDSIDE_CHECK).count() == 1
    assert row_counts(BedsideScan) == before


def test_a_scan_is_refused_to_other_roles(api_day, other_team):
    body = {"target": "wristband", "scanned_text": api_day.wristband}
    assert_refused_everywhere(api_day, other_team, url(api_day, "scans"), body)


# --- start and end ------------------------------------------------------------------------------


def test_the_start_is_refused_while_steps_are_missing(api_day):
    # Given nothing done on the checklist yet
    before = counts()
    now = API_OPENED

    # When the nurse starts the infusion
    response = post(api_day.team.nurse, url(api_day, "start"), {"at": now.isoformat()})

    # Then it is refused with every step missing, and nothing is written
    assert response.status_code == 409
    reasons = response.json()["errors"]["__all__"]
    assert reasons[:2] == [FIRST_NOT_CHECKED, SECOND_NOT_CHECKED]
    assert reasons[-1] == FIRST_THAW
    assert counts() == before


def test_the_infusion_starts_then_ends_through_the_api(api_day, time_machine):
    # Given everything done for a start 30 h after the last fludarabine dose
    ready_to_start(api_day, time_machine, API_START)
    assert client_for(api_day.team.nurse).get(url(api_day)).json()["blocking"] == []

    # When the nurse starts it, and the physician records its end half an hour later
    started = post(api_day.team.nurse, url(api_day, "start"), {"at": API_START.isoformat()})
    time_machine.move_to(API_START + 30 * MIN, tick=False)
    ended = post(
        api_day.team.physician,
        url(api_day, "end"),
        {
            "at": (API_START + 30 * MIN).isoformat(),
            "bags_infused": 1,
            "viable_cells_e9": "20",
            "note": "",
        },
    )

    # Then it started, and ended with the cell dose within the protocol's range
    assert started.status_code == 200
    assert (started.json()["status"], started.json()["started_at"]) == (
        "started",
        API_START.isoformat(),
    )
    assert started.json()["started_by"] == api_day.team.nurse.printed_name
    assert ended.status_code == 200
    body = ended.json()
    assert (body["status"], body["bags_infused"], body["viable_cells_e9"]) == (
        "ended",
        1,
        "20.00",
    )
    assert body["ended_by"] == api_day.team.physician.printed_name
    assert (body["cell_dose_check"]["cells_status"], body["cell_dose_check"]["bags_status"]) == (
        "within",
        "within",
    )


def test_start_and_end_are_refused_to_other_roles(api_day, other_team, time_machine):
    ready_to_start(api_day, time_machine, API_START)
    assert_refused_everywhere(
        api_day, other_team, url(api_day, "start"), {"at": API_START.isoformat()}
    )
    post(api_day.team.nurse, url(api_day, "start"), {"at": API_START.isoformat()})
    end = {"at": API_START.isoformat(), "bags_infused": 1, "viable_cells_e9": "20"}
    assert_refused_everywhere(api_day, other_team, url(api_day, "end"), end)


# --- strict input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "body", "errors"),
    [
        (
            "premedications",
            {"extra": "x"},
            {"extra": [UNKNOWN_FIELD]},
        ),
        ("premedications", {"dose": 650}, {"dose": [DOSE_AS_TEXT]}),
        ("premedications", {"dose": True}, {"dose": [DOSE_AS_TEXT]}),
        ("end", {"bags_infused": True}, {"bags_infused": [WHOLE_NUMBER]}),
        ("scans", {"scanned_text": True}, None),
    ],
    ids=["unknown-field", "number-for-dose", "true-for-dose", "true-for-bags", "true-for-text"],
)
def test_strict_input_is_refused_by_field_and_writes_nothing(api_day, action, body, errors):
    # Given an otherwise valid body
    at = (API_OPENED - 5 * MIN).isoformat()
    valid = {
        "premedications": premedication(API_OPENED - 5 * MIN),
        "end": {"at": at, "bags_infused": 1, "viable_cells_e9": "20"},
        "scans": {"target": "wristband", "scanned_text": api_day.wristband},
    }[action]
    before = counts()

    # When the nurse sends it with the field changed
    response = post(api_day.team.nurse, url(api_day, action), {**valid, **body})

    # Then the field is refused in words (422), and nothing is written
    assert response.status_code == 422
    if errors is not None:
        assert response.json() == invalid_input(errors)
    else:
        assert list(response.json()["errors"]) == list(body)
    assert counts() == before


# --- the document -------------------------------------------------------------------------------

OPERATIONS = {
    ("post", "/journeys/{public_id}/infusion"): {200, 201, 401, 403, 404, 409, 422},
    ("get", "/treatment/infusions/{public_id}"): {200, 401, 403, 404, 422},
    **{
        ("post", f"/treatment/infusions/{{public_id}}/{action}"): {
            success,
            400,
            401,
            403,
            404,
            409,
            413,
            422,
        }
        for action, success in (
            ("premedications", 201),
            ("thaws", 201),
            ("scans", 201),
            ("start", 200),
            ("end", 200),
        )
    },
}


def test_the_document_declares_every_answer_of_the_infusion_operations():
    # Given the OpenAPI document
    paths = api.get_openapi_schema()["paths"]

    # Then each operation declares its success and every refusal it can give
    declared = {
        (method, path): {int(code) for code in paths[f"{ROOT}{path}"][method]["responses"]}
        for method, path in OPERATIONS
    }
    assert declared == OPERATIONS


def test_a_bag_thawed_after_the_start_is_read_on_its_own_thaw_clock(api_day, time_machine):
    # Given the infusion started 30 h after the last fludarabine dose (bag 1 thawed 20 min
    # before), then bag 2 recorded thawed 10 min after the start, 5 min later
    ready_to_start(api_day, time_machine, API_START)
    started = post(api_day.team.nurse, url(api_day, "start"), {"at": API_START.isoformat()})
    assert started.status_code == 200
    thawed = API_START + 10 * MIN
    time_machine.move_to(thawed + 5 * MIN, tick=False)
    recorded = post(
        api_day.team.nurse,
        url(api_day, "thaws"),
        {"item_id": api_day.bag_ids[1], "thawed_at": thawed.isoformat()},
    )
    assert recorded.status_code == 201

    # When the physician reads the checklist
    response = client_for(api_day.team.physician).get(url(api_day))

    # Then it is answered: bag 1 read at the start, bag 2 counted from its own thaw
    assert response.status_code == 200
    first, second = (bag["thaw"] for bag in response.json()["bags"])
    assert (
        first["thawed_at"],
        first["minutes_since_thaw"],
        first["infuse_by"],
        first["within_limit"],
    ) == ((API_START - 20 * MIN).isoformat(), 20, (API_START + 40 * MIN).isoformat(), True)
    assert (
        second["thawed_at"],
        second["minutes_since_thaw"],
        second["infuse_by"],
        second["within_limit"],
    ) == (thawed.isoformat(), 5, (thawed + 60 * MIN).isoformat(), True)
    assert response.json()["blocking"] == []

    # And 61 minutes after its thaw, with the infusion still running, bag 2 is over the limit
    time_machine.move_to(thawed + 61 * MIN, tick=False)
    later = client_for(api_day.team.physician).get(url(api_day)).json()["bags"][1]["thaw"]
    assert (later["minutes_since_thaw"], later["within_limit"]) == (61, False)
