"""The journey pages: the coordinator board, the journey page and its actions, my tasks."""

from tilcare.journey.views.actions import (
    eligibility_amend,
    eligibility_save,
    eligibility_sign,
    journey_advance,
    journey_facility_change,
    journey_open,
    journey_plan,
    journey_withdraw,
    milestone_record,
    milestone_void,
    task_complete,
)
from tilcare.journey.views.board import board
from tilcare.journey.views.detail import journey_detail
from tilcare.journey.views.tasks import task_list

__all__ = [
    "board",
    "eligibility_amend",
    "eligibility_save",
    "eligibility_sign",
    "journey_advance",
    "journey_detail",
    "journey_facility_change",
    "journey_open",
    "journey_plan",
    "journey_withdraw",
    "milestone_record",
    "milestone_void",
    "task_complete",
    "task_list",
]
