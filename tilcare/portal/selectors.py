"""What a patient sees of their own record: only their own, never anyone else's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tilcare.accounts.models import User
from tilcare.accounts.roles import Perm
from tilcare.core.timeutil import local_today
from tilcare.journey.choices import STAGE_ORDER, Stage
from tilcare.journey.models import Journey
from tilcare.journey.selectors import day_zero, format_study_day, study_day
from tilcare.patients.models import Patient
from tilcare.patients.policies import can_view_own_record
from tilcare.portal.content import STAGE_TEXT, StageText


def own_patient(user: Any) -> Patient | None:
    """The patient record linked to this login, if the user is a patient."""
    if not (isinstance(user, User) and user.has_perm_code(Perm.VIEW_OWN_RECORD)):
        return None
    patient = Patient.objects.filter(portal_user=user).select_related("center").first()
    if patient is None or not can_view_own_record(user, patient):
        return None
    return patient


@dataclass(frozen=True)
class PathStep:
    label: str
    state: str  # "done", "current" or "upcoming"


@dataclass(frozen=True)
class MyJourney:
    journey: Journey
    text: StageText
    steps: list[PathStep]
    study_day_label: str


def my_journey(patient: Patient) -> MyJourney | None:
    journey = patient.journeys.select_related("center").order_by("-created_at").first()
    if journey is None:
        return None
    current = Stage(journey.stage)
    path = [s for s in STAGE_ORDER if s != Stage.WITHDRAWN]
    steps = []
    position = path.index(current) if current in path else -1
    for index, stage in enumerate(path):
        if current == Stage.WITHDRAWN:
            state = "upcoming"
        elif index < position or current == Stage.COMPLETED:
            state = "done"
        elif index == position:
            state = "current"
        else:
            state = "upcoming"
        steps.append(PathStep(STAGE_TEXT[stage].title, state))
    today = local_today(journey.center.time_zone)
    label = format_study_day(study_day(day_zero(journey), today))
    return MyJourney(journey, STAGE_TEXT[current], steps, label)
