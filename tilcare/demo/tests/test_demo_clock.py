"""The demo builds at any minute, in any pair of time zones, with every day on its own calendar.

A clinical day (study day, days in stage, a task's due date) is the center's calendar day; a bench
day (culture day, REP day) is the facility's. The demo is built under a frozen clock at the hours
where the zones disagree about the date (23:30, 00:30, 04:30, 05:30 and 06:30 UTC), on the
daylight-saving change days of the United States (8 March and 1 November 2026) and of the
European Union (29 March and 25 October 2026). Every hour meets every change day once; the pairs
of zones rotate through the builds, so each pair is built at least twice, including a facility a
calendar day ahead of its center and one a day behind. An ordinary day is built at 05:30 UTC by
the command itself (test_cli.py), and the rest of the demo's tests build it at the hour they run.
A full build takes seconds, so the whole cross-product (ordinary day included) is left to the
pure date tests (tilcare/core/tests/test_timeutil.py, test_lived_moment.py).
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from tilcare.accounts.models import Organization, User
from tilcare.audit.selectors import verify_chain
from tilcare.core.timeutil import local_datetime, local_today
from tilcare.demo.builder import build_demo
from tilcare.demo.people import PATIENTS, REMANUFACTURE_DELAY_DAYS, STAGE_DAY, PatientSpec
from tilcare.journey import selectors
from tilcare.journey.choices import STAGE_TASKS, Stage, TaskStatus, TaskTemplate
from tilcare.journey.models import Journey, Task
from tilcare.manufacturing.choices import BatchStatus
from tilcare.manufacturing.models import Batch, RepCount, TissueReceipt
from tilcare.manufacturing.selectors.batches import days_in_status

pytestmark = pytest.mark.django_db

NEW_YORK, CHICAGO = "America/New_York", "America/Chicago"
AMSTERDAM, SYDNEY = "Europe/Amsterdam", "Australia/Sydney"

# (center, facility)
ZONE_PAIRS = (
    (NEW_YORK, CHICAGO),  # the demo's own
    (CHICAGO, SYDNEY),  # the facility is a calendar day ahead for much of the day
    (SYDNEY, CHICAGO),  # the facility is a calendar day behind
    (AMSTERDAM, NEW_YORK),
    (NEW_YORK, AMSTERDAM),
    (SYDNEY, AMSTERDAM),
    (AMSTERDAM, SYDNEY),
)
DAYS = (
    dt.date(2026, 3, 8),  # United States: clocks forward
    dt.date(2026, 11, 1),  # United States: clocks back
    dt.date(2026, 3, 29),  # European Union: clocks forward
    dt.date(2026, 10, 25),  # European Union: clocks back
)
HOURS_UTC = (dt.time(23, 30), dt.time(0, 30), dt.time(4, 30), dt.time(5, 30), dt.time(6, 30))

BUILDS = [
    pytest.param(
        dt.datetime.combine(day, hour, tzinfo=dt.UTC),
        *ZONE_PAIRS[(d + h) % len(ZONE_PAIRS)],
        id=f"{day}T{hour:%H%M}Z-{ZONE_PAIRS[(d + h) % len(ZONE_PAIRS)][0].split('/')[1]}"
        f"-{ZONE_PAIRS[(d + h) % len(ZONE_PAIRS)][1].split('/')[1]}",
    )
    for d, day in enumerate(DAYS)
    for h, hour in enumerate(HOURS_UTC)
]


def test_the_builds_cover_every_hour_day_and_pair_of_zones():
    # Given the frozen clocks and zones of the builds below
    cases = [param.values for param in BUILDS]

    # Then every hour meets every day, and every pair of zones is built at least twice
    assert {(moment.date(), moment.time()) for moment, _, _ in cases} == {
        (day, hour) for day in DAYS for hour in HOURS_UTC
    }
    pairs = [(center, facility) for _, center, facility in cases]
    assert {pair: pairs.count(pair) >= 2 for pair in ZONE_PAIRS} == dict.fromkeys(ZONE_PAIRS, True)


def _spec(journey: Journey) -> PatientSpec:
    return next(spec for spec in PATIENTS if spec.mrn == journey.patient.mrn)


def _elapsed(spec: PatientSpec) -> int:
    """Days from referral to today on the demo's schedule (people.py), without a withdrawal."""
    extra = REMANUFACTURE_DELAY_DAYS if spec.remanufacture else 0
    return STAGE_DAY[spec.stage] + extra + spec.days_in_stage


def _due_on(template: TaskTemplate, journey: Journey, entered_on: dt.date) -> dt.date:
    """A task's due date on the center's calendar: from the planned date it is tied to, if the
    task is tied to one and it is planned, else from the day its stage was entered."""
    anchor = getattr(template, "anchor", "")
    planned = getattr(journey, anchor) if anchor else None
    if planned is not None:
        return planned + dt.timedelta(days=template.anchor_offset_days)
    return entered_on + dt.timedelta(days=template.due_in_days)


def _day_numbers(center: Organization, facility: Organization) -> dict[str, object]:
    """Every day number the demo shows, next to what the demo's schedule says it must be."""
    navigator = User.objects.get(username="navigator")
    center_today, facility_today = local_today(center), local_today(facility)
    shown: dict[str, object] = {}
    expected: dict[str, object] = {}
    cards = [card for column in selectors.board(navigator) for card in column.cards]
    for card in cards:
        journey = Journey.objects.select_related("patient").get(public_id=card.public_id)
        spec = _spec(journey)
        name = spec.family_name
        shown[f"{name}: days in stage"] = card.days_in_stage
        expected[f"{name}: days in stage"] = spec.days_in_stage
        shown[f"{name}: study day"] = selectors.study_day(selectors.day_zero(journey), center_today)
        expected[f"{name}: study day"] = (
            _elapsed(spec)
            - STAGE_DAY[Stage.INFUSION]
            - (REMANUFACTURE_DELAY_DAYS if spec.remanufacture else 0)
            if journey.planned_infusion_on is not None
            else None
        )
        entered_on = center_today - dt.timedelta(days=spec.days_in_stage)
        templates = {template.title: template for template in STAGE_TASKS.get(spec.stage, ())}
        for task in Task.objects.filter(journey=journey, status=TaskStatus.OPEN):
            shown[f"{name}: {task.title} due"] = task.due_on
            expected[f"{name}: {task.title} due"] = _due_on(
                templates[task.title], journey, entered_on
            )
    for batch in Batch.objects.filter(status__in=(BatchStatus.PRE_REP, BatchStatus.REP)):
        spec = _spec(Journey.objects.select_related("patient").get(coi_din=batch.coi_din))
        name = spec.family_name
        bench_day = spec.days_in_stage  # days since the tissue arrived at the facility
        receipt = TissueReceipt.objects.get(batch=batch)
        shown[f"{name}: culture day"] = (
            facility_today - local_datetime(receipt.received_at, facility).date()
        ).days
        expected[f"{name}: culture day"] = bench_day
        if batch.status == BatchStatus.REP:
            assert batch.rep_started_on is not None
            shown[f"{name}: REP day"] = (facility_today - batch.rep_started_on).days
            expected[f"{name}: REP day"] = bench_day - 11
            for count in RepCount.objects.filter(batch=batch):
                counted_on = local_datetime(count.counted_at, facility).date()
                shown[f"{name}: REP count day {count.day}"] = (
                    counted_on - batch.rep_started_on
                ).days
                expected[f"{name}: REP count day {count.day}"] = count.day
            shown[f"{name}: days in status"] = days_in_status(batch, facility_today)
            expected[f"{name}: days in status"] = bench_day - 11
        else:
            shown[f"{name}: days in status"] = days_in_status(batch, facility_today)
            expected[f"{name}: days in status"] = bench_day
    return {"shown": shown, "expected": expected}


@pytest.mark.parametrize(("moment", "center_zone", "facility_zone"), BUILDS)
def test_the_demo_builds_at_any_hour_with_each_day_on_its_own_calendar(
    moment, center_zone, facility_zone
):
    # Given the clock at an hour where the center's and the facility's dates may differ
    with time_machine.travel(moment, tick=True):
        # When the demo is built with the center and the facility in these zones
        summary = build_demo(center_time_zone=center_zone, facility_time_zone=facility_zone)

        # Then it is complete, its audit chain verifies, and every day number shown (days in
        # stage, study day, due dates, culture day, REP day) is the one of the demo's schedule,
        # counted on the center's calendar for the clinic and on the facility's for the bench
        assert (summary.patients, summary.journeys) == (18, 18)
        report = verify_chain()
        assert report.ok, report.problem
        center = Organization.objects.get(time_zone=center_zone, kind="center")
        facility = Organization.objects.get(time_zone=facility_zone, kind="facility")
        numbers = _day_numbers(center, facility)
        assert numbers["shown"] == numbers["expected"]
        assert any("REP day" in key for key in numbers["shown"])
        assert any("culture day" in key for key in numbers["shown"])
        assert any("study day" in key for key in numbers["shown"])
