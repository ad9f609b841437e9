"""The bedside before the infusion starts: the two-person identity check, the premedication and
the thaw of each bag.

Each of two different people scans the patient's wristband and every bag of this manufacturing
attempt; the scans are custody scans, judged and recorded whatever they show, and a scan that does
not match raises its identity alert (critical for another patient's bag, an unreleased or an
expired product). The person who completed the first check may not make the second (refused and
alerted); a third person may not scan (refused). Premedication before the cells: “Acetaminophen and
diphenhydramine or another H1-antihistamine, ~30 to 60 minutes before infusion” (Amtagvi US label
2024, section 2); the timing is approximate, so it is shown, never refused.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tilcare.audit.actions import Action
from tilcare.audit.models import AuditEvent
from tilcare.core.errors import Conflict, InvalidInput, PermissionDenied
from tilcare.identity.choices import AlertKind, AlertSeverity, ScanResult
from tilcare.identity.models import CustodyEvent, IdentityAlert
from tilcare.journey.tests.factories import CareTeam, make_item, open_journey_for
from tilcare.patients.tests.factories import PatientFactory, UserFactory
from tilcare.treatment.choices import BedsideTarget
from tilcare.treatment.models import BagThaw, BedsideScan, Infusion, Premedication
from tilcare.treatment.selectors import (
    bags_of,
    check_rounds,
    identity_check_missing,
    premedication_status,
)
from tilcare.treatment.services.bedside import (
    record_bedside_scan,
    record_premedication,
    record_thaw,
)
from tilcare.treatment.services.infusion import start_infusion
from tilcare.treatment.tests.factories import (
    HOUR,
    MIN,
    InfusionDay,
    check_identity,
    infusion_day,
    premedicate,
    ready_to_start,
)

pytestmark = pytest.mark.django_db

WRISTBAND, BAG = BedsideTarget.WRISTBAND, BedsideTarget.BAG


def seq() -> int:
    last = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
    return last or 0


def actions_since(before: int) -> list[str]:
    return list(
        AuditEvent.objects.filter(seq__gt=before).order_by("seq").values_list("action", flat=True)
    )


def rows() -> tuple[int, ...]:
    return (
        BedsideScan.objects.count(),
        CustodyEvent.objects.count(),
        IdentityAlert.objects.count(),
        Premedication.objects.count(),
        BagThaw.objects.count(),
    )


def scan(day: InfusionDay, target: str, text: str, actor: Any) -> BedsideScan:
    return record_bedside_scan(day.infusion, target=target, scanned_text=text, actor=actor)


@pytest.fixture
def day(team: CareTeam, time_machine: Any) -> InfusionDay:
    """A Riverside course ready to infuse, the clock 25 h after its last fludarabine dose."""
    ready = infusion_day(team, time_machine)
    time_machine.move_to(ready.last_fludarabine + 25 * HOUR, tick=False)
    return ready


# The two-person identity check ------------------------------------------------------------------


def test_two_different_people_each_scanning_everything_allow_the_start(day, time_machine):
    # Given the premedication and the first thaw recorded, and the nurse, then the physician, each
    # scanning the wristband and both bags
    start = day.last_fludarabine + 25 * HOUR
    ready_to_start(day, time_machine, start)
    bag_ids = [bag.item_id for bag in day.bags]

    # When the nurse starts the infusion
    started = start_infusion(day.infusion, at=start, actor=day.team.nurse)

    # Then both checks are complete, by two people, each with three matching scans, and it starts
    rounds = check_rounds(day.infusion)
    assert [(n, r.person) for n, r in rounds.items()] == [
        (1, day.team.nurse),
        (2, day.team.physician),
    ]
    for check in rounds.values():
        assert check.wristband_matched is True
        assert check.bags_matched == set(bag_ids)
        assert [s.custody_event.result for s in check.scans] == [ScanResult.MATCH] * 3
    assert identity_check_missing(day.infusion, bag_ids) == []
    assert (started.started_at, started.started_by) == (start, day.team.nurse)
    assert IdentityAlert.objects.count() == 0


def test_until_the_second_person_has_scanned_every_bag_each_gap_is_named(day):
    # Given the nurse's complete check and the physician's wristband only
    check_identity(day, day.team.nurse)
    scan(day, WRISTBAND, day.wristband, day.team.physician)
    bag_ids = [bag.item_id for bag in day.bags]

    # When what the check lacks is read
    missing = identity_check_missing(day.infusion, bag_ids)

    # Then the physician's two bags are named
    name = day.team.physician.get_full_name() or day.team.physician.username
    assert missing == [f"{name} (second check) has still to scan {bag_ids[0]}, {bag_ids[1]}."]


def assert_mismatch_alert(day: InfusionDay, made: BedsideScan, severity: str) -> IdentityAlert:
    alert = IdentityAlert.objects.get(coi_din=day.infusion.coi_din)
    assert (alert.kind, alert.severity) == (AlertKind.SCAN_MISMATCH, severity)
    assert alert.custody_event == made.custody_event
    assert alert.center == day.team.center
    return alert


def test_another_patients_bag_is_recorded_as_other_journey_and_alerts_both_journeys(day):
    # Given a bag of another Riverside patient's journey
    other = open_journey_for(PatientFactory(center=day.team.center), day.team.navigator)
    stranger = make_item(other, day.team, number=1)
    before = seq()

    # When the nurse scans it as one of this patient's bags
    made = scan(day, BAG, stranger.item_id, day.team.nurse)

    # Then the scan is recorded as another journey's, with a critical alert on each journey, and
    # it counts for nothing in the check
    assert made.custody_event.result == ScanResult.OTHER_JOURNEY
    assert made.checker == 1
    assert_mismatch_alert(day, made, AlertSeverity.CRITICAL)
    theirs = IdentityAlert.objects.get(coi_din=other.coi_din)
    assert (theirs.kind, theirs.severity) == (AlertKind.SCAN_MISMATCH, AlertSeverity.CRITICAL)
    assert check_rounds(day.infusion)[1].bags_matched == set()
    assert actions_since(before) == [
        Action.CUSTODY_RECORD,
        Action.ALERT_RAISE,
        Action.ALERT_RAISE,
        Action.BEDSIDE_SCAN,
    ]


@pytest.mark.parametrize(
    ("fields", "result"),
    [
        pytest.param({"released_at": None}, ScanResult.NOT_RELEASED, id="unreleased"),
        pytest.param(
            {"expires_at": dt.datetime(2026, 12, 16, 15, 0, tzinfo=dt.UTC) - MIN},
            ScanResult.EXPIRED,
            id="expired-a-minute-ago",
        ),
    ],
)
def test_an_unreleased_or_expired_bag_of_the_course_is_recorded_with_a_critical_alert(
    day, fields, result
):
    # Given a third bag of this attempt, not released or expired a minute before now
    third = make_item(day.journey, day.team, number=3, **fields)
    assert third in bags_of(day.infusion)

    # When the nurse scans it
    made = scan(day, BAG, third.item_id, day.team.nurse)

    # Then the scan is recorded with what it showed and a critical alert, and the bag is unmatched
    assert made.custody_event.result == result
    assert_mismatch_alert(day, made, AlertSeverity.CRITICAL)
    assert check_rounds(day.infusion)[1].missing([b.item_id for b in bags_of(day.infusion)]) == [
        "the wristband",
        day.bags[0].item_id,
        day.bags[1].item_id,
        third.item_id,
    ]


def test_a_bag_of_another_manufacturing_attempt_is_not_this_course_s_bag(day):
    # Given a bag labelled for this journey's second manufacturing attempt
    other_attempt = make_item(day.journey, day.team, number=3, manufacture_attempt=2)
    assert other_attempt not in bags_of(day.infusion)

    # When the nurse scans it
    made = scan(day, BAG, other_attempt.item_id, day.team.nurse)

    # Then it is recorded as not the item the check expects, with an alert
    assert made.custody_event.result == ScanResult.WRONG_ITEM
    assert "from manufacturing attempt 2; the journey is on attempt 1" in (
        made.custody_event.message
    )
    assert_mismatch_alert(day, made, AlertSeverity.HIGH)
    assert check_rounds(day.infusion)[1].bags_matched == set()


def test_a_bag_label_scanned_as_the_wristband_is_refused_and_nothing_is_written(day):
    # Given nothing scanned yet
    before, counts = seq(), rows()

    # When the nurse scans a bag's label where the wristband is asked for
    with pytest.raises(InvalidInput) as refused:
        scan(day, WRISTBAND, day.bags[0].item_id, day.team.nurse)

    # Then it is refused on the scanned text (422, not a conflict) and nothing is written
    assert type(refused.value) is InvalidInput
    assert refused.value.errors == {
        "scanned_text": [
            "This is the label of a product bag, not the wristband: scan the patient's wristband."
        ]
    }
    assert (actions_since(before), rows()) == ([], counts)


def test_the_first_checker_scanning_again_is_refused_and_alerted(day):
    # Given the nurse's first check complete
    check_identity(day, day.team.nurse)
    before, counts = seq(), rows()

    # When the nurse scans the wristband again (as if making the second check)
    with pytest.raises(Conflict) as refused:
        scan(day, WRISTBAND, day.wristband, day.team.nurse)

    # Then it is refused (409) and a bedside-check alert is raised, and stays; no scan is written
    assert refused.value.errors == {
        "__all__": [
            "You have completed your identity check: the second check must be made by another "
            "person, who scans the wristband and every bag again. An alert has been raised."
        ]
    }
    alert = IdentityAlert.objects.get()
    assert (alert.kind, alert.severity) == (AlertKind.BEDSIDE_CHECK, AlertSeverity.HIGH)
    assert alert.coi_din == day.infusion.coi_din
    assert day.team.nurse.printed_name in alert.message
    assert actions_since(before) == [Action.ALERT_RAISE]
    assert rows() == (counts[0], counts[1], counts[2] + 1, counts[3], counts[4])


def test_a_third_person_may_not_scan_and_no_alert_is_raised(day):
    # Given the nurse's and the physician's checks begun
    scan(day, WRISTBAND, day.wristband, day.team.nurse)
    scan(day, WRISTBAND, day.wristband, day.team.physician)
    third = UserFactory(role="nurse", organization=day.team.center, credentials="RN")
    before, counts = seq(), rows()

    # When a third nurse scans
    with pytest.raises(Conflict) as refused:
        scan(day, WRISTBAND, day.wristband, third)

    # Then it is refused naming the two people, and nothing is written (no alert either)
    names = f"{day.team.nurse.printed_name} and {day.team.physician.printed_name}"
    assert refused.value.errors == {
        "__all__": [f"Two people are already making this identity check ({names})."]
    }
    assert (actions_since(before), rows()) == ([], counts)


@pytest.mark.parametrize("role", ["pharmacist", "qa_reviewer", "manufacturing_tech"])
def test_a_pharmacist_or_a_facility_user_may_not_scan_at_the_bedside(day, role):
    # Given nothing scanned yet
    before, counts = seq(), rows()

    # When a pharmacist or a user of the manufacturing facility scans the wristband
    with pytest.raises(PermissionDenied) as refused:
        scan(day, WRISTBAND, day.wristband, day.team.by_role(role))

    # Then it is refused and nothing is written
    assert refused.value.message == (
        "Only a nurse or a treating physician of this center records the infusion day."
    )
    assert (actions_since(before), rows()) == ([], counts)


def test_after_the_start_no_scan_is_recorded(day, time_machine):
    # Given the infusion started
    start = day.last_fludarabine + 25 * HOUR
    ready_to_start(day, time_machine, start)
    start_infusion(day.infusion, at=start, actor=day.team.nurse)
    before, counts = seq(), rows()

    # When the nurse scans a bag
    with pytest.raises(Conflict) as refused:
        scan(day, BAG, day.bags[0].item_id, day.team.nurse)

    # Then it is refused with the start time on the center's clock, and nothing is written
    assert refused.value.errors == {
        "__all__": ["The infusion started at 16 Dec 11:00: this is done before it."]
    }
    assert (actions_since(before), rows()) == ([], counts)


# Premedication ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("group", "agent", "errors"),
    [
        pytest.param(
            "corticosteroid",
            "hydrocortisone",
            {"group": ["Choose one of: acetaminophen, H1 antihistamine."]},
            id="group-not-in-the-protocol",
        ),
        pytest.param(
            "acetaminophen",
            "ibuprofen",
            {"agent": ["acetaminophen: give acetaminophen."]},
            id="agent-not-in-the-group",
        ),
        pytest.param(
            "H1 antihistamine",
            "",
            {"agent": ["Name the agent given."]},
            id="agent-missing",
        ),
    ],
)
def test_a_premedication_the_protocol_does_not_give_is_refused_naming_the_field(
    day, group, agent, errors
):
    # Given nothing recorded yet
    before, counts = seq(), rows()

    # When the nurse records a group or an agent the label does not give
    with pytest.raises(InvalidInput) as refused:
        record_premedication(
            day.infusion,
            group=group,
            agent=agent,
            dose="50",
            route="PO",
            at=dt.datetime(2026, 12, 16, 15, 15, tzinfo=dt.UTC),
            actor=day.team.nurse,
        )

    # Then it is refused on that field and nothing is written
    assert refused.value.errors == errors
    assert (actions_since(before), rows()) == ([], counts)


def test_another_h1_antihistamine_is_accepted(day):
    # Given the label's "diphenhydramine or another H1-antihistamine"
    at = dt.datetime(2026, 12, 16, 15, 15, tzinfo=dt.UTC)

    # When the nurse records cetirizine for the H1 antihistamine
    given = record_premedication(
        day.infusion,
        group="H1 antihistamine",
        agent="cetirizine",
        dose="10",
        route="PO",
        at=at,
        actor=day.team.nurse,
    )

    # Then it is recorded as given
    assert (given.group, given.agent, given.at) == ("H1 antihistamine", "cetirizine", at)


def test_the_premedication_timing_is_shown_against_the_start(day):
    # Given both premedications given at 10:00 New York time (15:00 UTC)
    premedicate(day, dt.datetime(2026, 12, 16, 15, 0, tzinfo=dt.UTC))

    # When they are read against a start 45 min, then 90 min later
    within = premedication_status(day.infusion, dt.datetime(2026, 12, 16, 15, 45, tzinfo=dt.UTC))
    early = premedication_status(day.infusion, dt.datetime(2026, 12, 16, 16, 30, tzinfo=dt.UTC))

    # Then each group shows its minutes before the start: within 30 to 60 min, then earlier than
    # it (a warning only: the label's "~30 to 60 minutes" is approximate)
    assert within is not None and early is not None
    assert [g.minutes_before for g in within.groups] == [45, 45]
    assert within.complete and within.timing_ok
    assert [g.minutes_before for g in early.groups] == [90, 90]
    assert early.complete and not early.timing_ok and early.acceptable
    assert "45 min before the infusion start: within" in within.groups[0].reason
    assert "90 min before the infusion start: earlier than" in early.groups[0].reason


def test_the_start_is_refused_while_a_premedication_group_is_missing_without_alert(
    day, time_machine
):
    # Given everything ready but the H1 antihistamine
    start = day.last_fludarabine + 25 * HOUR
    time_machine.move_to(start, tick=False)
    record_premedication(
        day.infusion,
        group="acetaminophen",
        agent="acetaminophen",
        dose="650",
        route="PO",
        at=start - 45 * MIN,
        actor=day.team.nurse,
    )
    record_thaw(
        day.infusion, item_id=day.bags[0].item_id, thawed_at=start - 30 * MIN, actor=day.team.nurse
    )
    check_identity(day)
    before, counts = seq(), rows()

    # When the nurse starts the infusion
    with pytest.raises(Conflict) as refused:
        start_infusion(day.infusion, at=start, actor=day.team.nurse)

    # Then it is refused naming the missing group, without an alert, and nothing is written
    (problem,) = refused.value.errors["__all__"]
    assert problem.startswith("Premedication not complete: H1 antihistamine not given.")
    assert (actions_since(before), rows()) == ([], counts)
    assert Infusion.objects.get(pk=day.infusion.pk).started_at is None


# Thaw -------------------------------------------------------------------------------------------


def test_each_bag_is_thawed_once(day):
    # Given bag 1 thawed at 10:30 New York time
    at = dt.datetime(2026, 12, 16, 15, 30, tzinfo=dt.UTC)
    record_thaw(day.infusion, item_id=day.bags[0].item_id, thawed_at=at, actor=day.team.nurse)
    before, counts = seq(), rows()

    # When it is recorded thawed again
    with pytest.raises(Conflict) as refused:
        record_thaw(
            day.infusion, item_id=day.bags[0].item_id, thawed_at=at + MIN, actor=day.team.nurse
        )

    # Then it is refused with the first thaw time on the center's clock, and nothing is written
    assert refused.value.errors == {
        "item_id": [f"{day.bags[0].item_id} was recorded thawed at 16 Dec 10:30."]
    }
    assert (actions_since(before), rows()) == ([], counts)


def test_a_bag_not_of_the_course_cannot_be_thawed(day):
    # Given nothing thawed
    before, counts = seq(), rows()

    # When the nurse records the thaw of an id that is not one of the course's bags
    with pytest.raises(InvalidInput) as refused:
        record_thaw(
            day.infusion,
            item_id=f"{day.journey.coi_din}-BG09",
            thawed_at=dt.datetime(2026, 12, 16, 15, 30, tzinfo=dt.UTC),
            actor=day.team.nurse,
        )

    # Then the field names the course's bags, and nothing is written
    ids = ", ".join(b.item_id for b in day.bags)
    assert refused.value.errors == {
        "item_id": [
            f"“{day.journey.coi_din}-BG09” is not a product bag of this course (its bags: {ids})."
        ]
    }
    assert (actions_since(before), rows()) == ([], counts)


# Times typed ahead of the clock -----------------------------------------------------------------


def test_a_thaw_time_ahead_of_the_clock_is_refused_on_the_thaw_time(day):
    # Given the clock at 11:00 New York time
    before, counts = seq(), rows()

    # When the nurse records bag 1 thawed at 11:03
    with pytest.raises(InvalidInput) as refused:
        record_thaw(
            day.infusion,
            item_id=day.bags[0].item_id,
            thawed_at=day.last_fludarabine + 25 * HOUR + 3 * MIN,
            actor=day.team.nurse,
        )

    # Then it is refused on the thaw time; nothing is written
    assert refused.value.errors == {"thawed_at": ["The thaw time cannot be in the future."]}
    assert (actions_since(before), rows()) == ([], counts)


def test_a_premedication_time_ahead_of_the_clock_is_refused_on_the_time_given(day):
    # Given the clock at 11:00 New York time
    before, counts = seq(), rows()

    # When the nurse records acetaminophen given at 11:03
    with pytest.raises(InvalidInput) as refused:
        record_premedication(
            day.infusion,
            group="acetaminophen",
            agent="acetaminophen",
            dose="650",
            route="PO",
            at=day.last_fludarabine + 25 * HOUR + 3 * MIN,
            actor=day.team.nurse,
        )

    # Then it is refused on the time given; nothing is written
    assert refused.value.errors == {"at": ["The time given cannot be in the future."]}
    assert (actions_since(before), rows()) == ([], counts)
