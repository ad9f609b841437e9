"""Tasks tied to a planned date say what the plan says: the resection is due on the planned
resection day, lymphodepletion's orders before Day −7, the last fludarabine dose on Day −1, the
infusion on Day 0; when the plan moves, the open tasks move with it."""

from __future__ import annotations

import datetime as dt

import pytest

from tilcare.accounts.choices import Role
from tilcare.journey import services
from tilcare.journey.choices import Stage, TaskStatus
from tilcare.journey.models import Journey, Task
from tilcare.journey.tests.factories import (
    PLANNED_INFUSION_ON,
    PLANNED_RESECTION_ON,
    journey_at,
)

pytestmark = pytest.mark.django_db


def open_tasks(journey: Journey) -> dict[str, dt.date]:
    tasks = Task.objects.filter(journey=journey, status=TaskStatus.OPEN)
    return {task.title: task.due_on for task in tasks}


def test_the_surgeon_s_resection_task_is_due_on_the_planned_resection_day(team):
    # Given a journey entering "Resection scheduled" with its resection planned
    journey = journey_at(team, Stage.RESECTION_SCHEDULED)

    # Then the surgeon's task is due that day, not two weeks after the stage began
    tasks = open_tasks(journey)
    assert tasks["Resect a lesion of at least 1.5 cm for TIL manufacturing"] == PLANNED_RESECTION_ON


def test_moving_the_resection_moves_the_surgeon_s_task(team):
    # Given the surgeon's open task, due on the planned resection day
    journey = journey_at(team, Stage.RESECTION_SCHEDULED)
    later = PLANNED_RESECTION_ON + dt.timedelta(days=6)

    # When the navigator moves the resection six days later
    services.plan_journey(journey, actor=team.navigator, changes={"planned_resection_on": later})

    # Then the task follows the plan
    assert open_tasks(journey)["Resect a lesion of at least 1.5 cm for TIL manufacturing"] == later


def test_planning_day_0_dates_the_orders_and_the_il2_supply_on_day_minus_8(team):
    # Given a journey whose product is at the center, its tasks counted from the arrival
    journey = journey_at(team, Stage.PRODUCT_AT_CENTER)
    day0 = PLANNED_INFUSION_ON

    # When the physician plans the infusion (Day 0)
    services.plan_journey(journey, actor=team.physician, changes={"planned_infusion_on": day0})

    # Then both tasks are due the day before cyclophosphamide starts on Day −7
    # (Amtagvi US label and NKI schedule: cyclophosphamide Day −7 and −6, fludarabine −5 to −1)
    tasks = open_tasks(journey)
    day_minus_8 = day0 - dt.timedelta(days=8)
    assert tasks["Order lymphodepletion and confirm the infusion date"] == day_minus_8
    assert tasks["Confirm IL-2 (aldesleukin) supply before lymphodepletion"] == day_minus_8


def test_moving_day_0_moves_the_open_tasks_tied_to_it(team):
    # Given the physician's and the pharmacist's open tasks, dated from a planned Day 0
    journey = journey_at(team, Stage.PRODUCT_AT_CENTER)
    services.plan_journey(
        journey, actor=team.physician, changes={"planned_infusion_on": PLANNED_INFUSION_ON}
    )
    new_day0 = PLANNED_INFUSION_ON + dt.timedelta(days=3)

    # When the infusion is planned three days later
    services.plan_journey(journey, actor=team.physician, changes={"planned_infusion_on": new_day0})

    # Then both tasks move three days too
    tasks = open_tasks(journey)
    new_day_minus_8 = new_day0 - dt.timedelta(days=8)
    assert tasks["Order lymphodepletion and confirm the infusion date"] == new_day_minus_8
    assert tasks["Confirm IL-2 (aldesleukin) supply before lymphodepletion"] == new_day_minus_8


def test_the_nurse_s_lymphodepletion_task_is_due_on_day_minus_1(team):
    # Given a journey entering lymphodepletion (fludarabine Day −5 to Day −1)
    journey = journey_at(team, Stage.LYMPHODEPLETION)
    day0 = Journey.objects.get(pk=journey.pk).planned_infusion_on

    # Then the last fludarabine dose is due on Day −1, and the pharmacist's check the next day
    tasks = open_tasks(journey)
    title = "Give lymphodepletion and record the last fludarabine dose (Day −1)"
    assert tasks[title] == day0 - dt.timedelta(days=1)
    assert Task.objects.get(journey=journey, title=title).role == Role.NURSE


def test_the_infusion_task_is_due_on_day_0(team):
    journey = journey_at(team, Stage.INFUSION)
    day0 = Journey.objects.get(pk=journey.pk).planned_infusion_on

    assert open_tasks(journey)["Two-person bedside identity check, then infuse (Day 0)"] == day0
