"""Every door that records a custody scan runs the same checks: `POST /api/v1/journeys/scans` and
the scan page both go through the journey's one door (`/api/v1/identity/custody-events` only
reads).

- A scan's time is never in the future (beyond the scanner's clock allowance), never before its
  item was created, and for a product never before QA released it or the facility dispatched it:
  422 naming `occurred_at` and the bound with its time, nothing written.
- A scan dated earlier than now by more than the allowance is a late entry and says why
  (`late_entry_reason`): kept on the event, as the audit event's reason, and on the journey page.
- Whether a product may be used is judged when it is used: now for the receipt and the bedside
  (a back-dated scan cannot accept a product that has since expired), the scan's time otherwise.
- A bag of another manufacturing attempt is refused with the same 409 and message each time.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from dataclasses import dataclass

import pytest
from django.urls import reverse

from tilcare.audit.models import AuditEvent
from tilcare.core.tests import clients
from tilcare.core.tests.clients import client_for, row_counts
from tilcare.core.timeutil import local_datetime
from tilcare.identity.choices import HandoffStep, ItemKind, ScanResult
from tilcare.identity.models import CustodyEvent, IdentityAlert, Item
from tilcare.identity.services.items import create_item
from tilcare.journey.choices import Stage
from tilcare.journey.models import Journey, Milestone

# Every test runs at NOW, its clock stopped.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock_stopped_at_module_now")]

NOW = dt.datetime(2026, 12, 7, 15, 0, tzinfo=dt.UTC)
SCANS = "/api/v1/journeys/scans"
RECORD = "/scan/record/"
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "scan-result"}
REASON = "Entered from the paper custody form after the network outage"
DOORS = ("journeys_scans", "scan_page")


def utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%d %b %Y %H:%M UTC")


@pytest.fixture
def journey(product_released):
    """Product released: the bag is on its way to the center."""
    return product_released


def make_bag(
    journey,
    team,
    *,
    created: dt.datetime = NOW - dt.timedelta(days=3),
    released: dt.datetime | None = NOW - dt.timedelta(days=2),
    expires: dt.datetime = NOW + dt.timedelta(days=30),
    attempt: int = 1,
) -> Item:
    """Bag 1 of the journey's COI, made at `created` (through the service, which audits it then)
    and released by QA at `released` with its expiry."""
    bag = create_item(
        coi_din=journey.coi_din,
        coi_check=journey.coi_check,
        kind=ItemKind.PRODUCT_BAG,
        center=journey.center,
        facility=team.facility,
        description="TIL product bag 1",
        actor=team.navigator,
        manufacture_attempt=attempt,
        occurred_at=created,
    )
    Item.objects.filter(pk=bag.pk).update(released_at=released, expires_at=expires)
    return Item.objects.get(pk=bag.pk)


def on_attempt(journey, attempt: int) -> Journey:
    Journey.objects.filter(pk=journey.pk).update(manufacture_attempt=attempt)
    return Journey.objects.select_related("center", "manufacturing_facility").get(pk=journey.pk)


def counts() -> tuple[int, ...]:
    return row_counts(CustodyEvent, IdentityAlert, Milestone, AuditEvent)


def post_json(user, url, body):
    return clients.post_json(client_for(user), url, body)


def post_scan(user, journey, text, step, occurred_at=None, reason=""):
    """Post one scan to the API door, as `api_body` writes it."""
    return post_json(user, SCANS, api_body(journey, text, step, occurred_at, reason))


def api_body(journey, text, step, occurred_at=None, reason=""):
    body = {"coi": f"{journey.coi_din}{journey.coi_check}", "step": step, "scanned_text": text}
    if occurred_at is not None:
        body["occurred_at"] = occurred_at.isoformat()
    if reason:
        body["late_entry_reason"] = reason
    return body


@dataclass(frozen=True)
class Outcome:
    """What a door answered, in the terms every door shares: a match, a blocked scan (its result
    and message: recorded with its alert), or a refusal (its messages: nothing recorded)."""

    kind: str
    result: str = ""
    messages: tuple[str, ...] = ()


def _from_api(response) -> tuple[Outcome, dict]:
    body = response.json()
    if response.status_code == 201:
        return Outcome("match"), body
    if response.status_code == 409:
        return Outcome("blocked", body["result"], (body["message"],)), body
    assert response.status_code == 422, response.content
    messages = tuple(m for field in sorted(body["errors"]) for m in body["errors"][field])
    return Outcome("refused", "", messages), body


def through(door, user, journey, text, *, step, occurred_at=None, reason="") -> Outcome:
    """Post one scan through `door` and read its answer."""
    if door == "journeys_scans":
        response = post_scan(user, journey, text, step, occurred_at, reason)
        return _from_api(response)[0]
    client = client_for(user)
    form = {"step": step, "coi": f"{journey.coi_din}{journey.coi_check}", "scanned_text": text}
    if occurred_at is not None:
        local = local_datetime(occurred_at, journey.center.time_zone)
        form["occurred_at"] = local.strftime("%Y-%m-%dT%H:%M")
    form["late_entry_reason"] = reason
    page = client.post(RECORD, form, **HTMX).content.decode()
    if "scan-panel-refused" in page:
        items = re.findall(r"<li>(.*?)</li>", page.split("scan-panel-list", 1)[1].split("</ul>")[0])
        return Outcome("refused", "", tuple(html.unescape(m) for m in items))
    if 'data-scan-result="stop"' in page:
        reason_text = re.search(r'<p class="scan-panel-reason">(.*?)</p>', page, re.S)
        assert reason_text is not None
        event = CustodyEvent.objects.order_by("-id").first()
        return Outcome("blocked", event.result, (html.unescape(reason_text.group(1)),))
    assert 'data-scan-result="match"' in page, page
    return Outcome("match")


# ---------- The same refusals at every door ----------


def _refused(journey, bag, scan, message):
    """A case every door refuses with `message`, writing nothing."""
    return journey, bag, scan, Outcome("refused", "", (message,))


def _case_other_attempt(journey, team):
    bag = make_bag(journey, team, attempt=1)
    return (
        on_attempt(journey, 2),
        bag,
        {},
        Outcome(
            "blocked",
            ScanResult.WRONG_ITEM,
            (
                f"This product bag ({bag.item_id}) is from manufacturing attempt 1; the journey is "
                "on attempt 2. Stop: do not proceed.",
            ),
        ),
    )


def _case_expired_back_dated(journey, team):
    expiry = NOW - dt.timedelta(hours=1)
    bag = make_bag(journey, team, expires=expiry)
    local = local_datetime(expiry, journey.center.time_zone).strftime("%d %b %Y %H:%M")
    return (
        journey,
        bag,
        {"occurred_at": expiry - dt.timedelta(hours=2), "reason": REASON},
        Outcome(
            "blocked",
            ScanResult.EXPIRED,
            (f"Product {bag.item_id} expired {local}. Stop: do not accept or infuse it.",),
        ),
    )


def _case_1999(journey, team):
    bag = make_bag(journey, team)
    at = dt.datetime(1999, 6, 1, 10, 0, tzinfo=dt.UTC)
    # The latest bound the time falls before is named: the earliest it may be.
    return _refused(
        journey,
        bag,
        {"occurred_at": at, "reason": REASON},
        f"The scan time ({utc(at)}) cannot be before product {bag.item_id} was released "
        f"by QA ({utc(NOW - dt.timedelta(days=2))}).",
    )


def _case_before_created(journey, team):
    created = NOW - dt.timedelta(days=3)
    bag = make_bag(journey, team, created=created, released=None)
    at = created - dt.timedelta(hours=1)
    return _refused(
        journey,
        bag,
        {"occurred_at": at, "reason": REASON},
        f"The scan time ({utc(at)}) cannot be before item {bag.item_id} was created "
        f"({utc(created)}).",
    )


def _case_future(journey, team):
    bag = make_bag(journey, team)
    return _refused(
        journey,
        bag,
        {"occurred_at": NOW + dt.timedelta(hours=1)},
        f"The scan time cannot be in the future. It is now {utc(NOW)}; a scanner's clock "
        "may run at most 5 minutes ahead.",
    )


def _case_late_without_reason(journey, team):
    bag = make_bag(journey, team)
    at = NOW - dt.timedelta(minutes=30)
    return _refused(
        journey,
        bag,
        {"occurred_at": at},
        f"This scan is dated {utc(at)}, more than 5 minutes before now: say why it is "
        "entered late (for example, from the paper custody form after a downtime).",
    )


def _case_before_release(journey, team):
    released = NOW - dt.timedelta(days=1)
    bag = make_bag(journey, team, released=released)
    at = NOW - dt.timedelta(hours=36)
    return _refused(
        journey,
        bag,
        {"occurred_at": at, "reason": REASON},
        f"The scan time ({utc(at)}) cannot be before product {bag.item_id} was released by "
        f"QA ({utc(released)}).",
    )


CASES = {
    "bag_of_another_attempt": _case_other_attempt,
    "expired_bag_back_dated_to_before_its_expiry": _case_expired_back_dated,
    "dated_1999": _case_1999,
    "dated_before_the_bag_was_registered": _case_before_created,
    "dated_in_the_future": _case_future,
    "late_without_a_reason": _case_late_without_reason,
    "dated_before_the_release": _case_before_release,
}


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize("case", list(CASES))
def test_every_door_refuses_the_same_bedside_scans_the_same_way(team, journey, door, case):
    # Given a bag and a scan of it at the bedside that must not go through
    journey, bag, scan, expected = CASES[case](journey, team)
    before = counts()

    # When the nurse records it through this door
    outcome = through(
        door,
        team.nurse,
        journey,
        bag.item_id,
        step=HandoffStep.PRODUCT_TO_BEDSIDE,
        occurred_at=scan.get("occurred_at"),
        reason=scan.get("reason", ""),
    )

    # Then the answer is the same at every door
    assert outcome == expected
    if expected.kind == "refused":
        # And a refusal writes nothing
        assert counts() == before
    else:
        # And a blocked scan is recorded with its alert, and nothing else
        event = CustodyEvent.objects.get()
        assert (event.result, event.message) == (expected.result, expected.messages[0])
        assert IdentityAlert.objects.filter(custody_event=event).count() == 1
        assert Milestone.objects.count() == before[2]


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("dated_1999", "occurred_at"),
        ("dated_before_the_bag_was_registered", "occurred_at"),
        ("dated_in_the_future", "occurred_at"),
        ("late_without_a_reason", "late_entry_reason"),
        ("dated_before_the_release", "occurred_at"),
    ],
)
def test_the_api_door_names_the_refused_field(team, journey, case, field):
    journey, bag, scan, expected = CASES[case](journey, team)
    before = counts()

    response = post_scan(
        team.nurse,
        journey,
        bag.item_id,
        HandoffStep.PRODUCT_TO_BEDSIDE,
        scan.get("occurred_at"),
        scan.get("reason", ""),
    )

    assert response.status_code == 422
    assert response.json()["errors"] == {field: list(expected.messages)}
    assert counts() == before


# ---------- The attempt: the same 409 each time ----------


def test_journey_scans_refuses_a_bag_of_attempt_1_at_attempt_2s_bedside_each_time(team, journey):
    # Given a journey on its second manufacturing attempt and a bag of the first
    bag = make_bag(journey, team, attempt=1)
    journey = on_attempt(journey, 2)
    body = api_body(journey, bag.item_id, HandoffStep.PRODUCT_TO_BEDSIDE)

    # When the bag is posted for the bedside twice
    first_post = post_json(team.nurse, SCANS, body)
    second_post = post_json(team.nurse, SCANS, body)

    # Then both answer 409 with the same result, message and next step
    assert (first_post.status_code, second_post.status_code) == (409, 409)
    first, second = first_post.json(), second_post.json()
    for key in ("detail", "result", "message", "next_step"):
        assert first[key] == second[key]
    assert first["result"] == ScanResult.WRONG_ITEM
    assert first["message"] == (
        f"This product bag ({bag.item_id}) is from manufacturing attempt 1; the journey is on "
        "attempt 2. Stop: do not proceed."
    )
    # And both scans are recorded, blocked, each with its alert
    assert list(CustodyEvent.objects.values_list("result", flat=True)) == [
        ScanResult.WRONG_ITEM,
        ScanResult.WRONG_ITEM,
    ]
    assert IdentityAlert.objects.count() == 2


# ---------- Expiry at the moment of use ----------


def test_a_back_dated_receipt_of_a_bag_expired_since_is_refused_as_expired(team, journey):
    # Given a released bag that expired an hour ago
    expiry = NOW - dt.timedelta(hours=1)
    bag = make_bag(journey, team, expires=expiry)

    # When its receipt is posted dated two hours before its expiry, with a late-entry reason
    response = post_scan(
        team.pharmacist,
        journey,
        bag.item_id,
        HandoffStep.PRODUCT_RECEIVED,
        expiry - dt.timedelta(hours=2),
        REASON,
    )

    # Then it is blocked as expired: the bag is not accepted and nothing is received
    assert response.status_code == 409
    assert response.json()["result"] == ScanResult.EXPIRED
    event = CustodyEvent.objects.get()
    assert (event.result, event.occurred_at) == (ScanResult.EXPIRED, expiry - dt.timedelta(hours=2))
    assert Milestone.objects.filter(kind="product_received").count() == 0
    assert Journey.objects.get(pk=journey.pk).stage == Stage.PRODUCT_RELEASED


def test_a_back_dated_storage_scan_is_judged_at_its_own_time(team, journey):
    # Given a bag that expired an hour ago
    expiry = NOW - dt.timedelta(hours=1)
    bag = make_bag(journey, team, expires=expiry)
    at = expiry - dt.timedelta(hours=2)

    # When its move into storage, made while it was in date, is entered late
    response = post_scan(
        team.pharmacist, journey, bag.item_id, HandoffStep.PRODUCT_TO_STORAGE, at, REASON
    )

    # Then the record says what happened then: it matched
    assert response.status_code == 201
    assert CustodyEvent.objects.get().result == ScanResult.MATCH


# ---------- Time bounds from the item's own history ----------


def test_a_center_scan_cannot_be_dated_before_the_facility_dispatched_the_bag(team, journey):
    # Given a bag the facility scanned out ten hours ago
    bag = make_bag(journey, team)
    dispatched = NOW - dt.timedelta(hours=10)
    dispatch = post_scan(
        team.manufacturing_tech,
        journey,
        bag.item_id,
        HandoffStep.PRODUCT_DISPATCHED,
        dispatched,
        REASON,
    )
    assert dispatch.status_code == 201
    before = counts()

    # When the center's receipt is dated twelve hours ago
    at = NOW - dt.timedelta(hours=12)
    response = post_scan(
        team.pharmacist, journey, bag.item_id, HandoffStep.PRODUCT_RECEIVED, at, REASON
    )

    # Then it is refused naming the dispatch and its time, and nothing is written
    assert response.status_code == 422
    assert response.json()["errors"] == {
        "occurred_at": [
            f"The scan time ({utc(at)}) cannot be before product {bag.item_id} was dispatched "
            f"({utc(dispatched)})."
        ]
    }
    assert counts() == before


# ---------- A late entry says why ----------


def test_a_late_entry_with_its_reason_is_recorded_with_it_and_shown_on_the_journey_page(
    team, journey
):
    # Given a released bag in date
    bag = make_bag(journey, team)
    at = NOW - dt.timedelta(minutes=40)

    # When its receipt is entered forty minutes late, saying why
    response = post_scan(
        team.pharmacist, journey, bag.item_id, HandoffStep.PRODUCT_RECEIVED, at, f"  {REASON} "
    )

    # Then it is accepted at its own time, with the reason on the event and its audit event
    assert response.status_code == 201
    assert response.json()["event"]["late_entry_reason"] == REASON
    event = CustodyEvent.objects.get()
    assert (event.occurred_at, event.late_entry_reason) == (at, REASON)
    audit = AuditEvent.objects.get(action="identity.custody.record")
    assert (audit.reason, audit.occurred_at, audit.recorded_at) == (REASON, at, NOW)
    # And the journey's chain of custody shows it
    page = (
        client_for(team.navigator)
        .get(reverse("journey:journey-detail", kwargs={"public_id": journey.public_id}))
        .content.decode()
    )
    entered = local_datetime(NOW, journey.center.time_zone).strftime("%a %-d %b %Y, %H:%M")
    assert f"Entered late ({entered}): {REASON}" in html.unescape(page)


def test_a_scan_made_now_needs_no_reason(team, journey):
    bag = make_bag(journey, team)

    response = post_scan(
        team.nurse,
        journey,
        bag.item_id,
        HandoffStep.PRODUCT_TO_BEDSIDE,
        NOW - dt.timedelta(minutes=4),
    )

    assert response.status_code == 201
    assert CustodyEvent.objects.get().late_entry_reason == ""


def test_the_scan_page_records_a_late_entry_in_the_centers_time(team, journey):
    bag = make_bag(journey, team)
    at = NOW - dt.timedelta(hours=3)

    outcome = through(
        "scan_page",
        team.nurse,
        journey,
        bag.item_id,
        step=HandoffStep.PRODUCT_TO_BEDSIDE,
        occurred_at=at,
        reason=REASON,
    )

    assert outcome == Outcome("match")
    event = CustodyEvent.objects.get()
    assert (event.occurred_at, event.late_entry_reason) == (at, REASON)
