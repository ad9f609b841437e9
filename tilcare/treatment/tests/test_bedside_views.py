"""The bedside page: the center's patients on their infusion day or in IL-2, what is due next with
its window on the center's clock, the doses recorded today (the center's today, not UTC's), and
the links to the infusion checklist and the IL-2 decision; who reads it and whose menu offers it.

The course is the conftest's `bedside_day` (Riverside, New York).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.urls import reverse

from tilcare.core.tests.clients import client_for
from tilcare.journey.tests.factories import CareTeam, make_team
from tilcare.treatment.services.il2 import assess_il2_dose, decide_il2_dose
from tilcare.treatment.tests.factories import PAGE_NOW, InfusionDay, il2_ordered, infused

pytestmark = pytest.mark.django_db

BEDSIDE = reverse("treatment:bedside")
# The dose is held at 19:30 EDT on 15 June (23:30 UTC).
HELD_AT = dt.datetime(2026, 6, 15, 23, 30, tzinfo=dt.UTC)


def text_of(response: Any) -> str:
    html = response.content.decode()
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#x27;", "'")


@pytest.mark.parametrize("role", ["nurse", "physician", "pharmacist", "navigator"])
def test_the_infusion_day_patient_is_listed_with_the_window_counted_down(
    team: CareTeam, bedside_day: InfusionDay, role: str
) -> None:
    response = client_for(team.by_role(role)).get(BEDSIDE)

    assert response.status_code == 200
    text = text_of(response)
    patient = bedside_day.journey.patient
    assert (f"{patient.family_name}, {patient.given_name} Infusion day MRN {patient.mrn}") in text
    assert (
        "Cell infusion Open now · Allowed from Mon 15 Jun 11:00 EDT until Thu 18 Jun 11:00 EDT "
        "Open now, closes in 2 days 23 h"
    ) in text
    assert "○ Premedication ○ Thaw recorded ○ Identity check begun by two people" in text
    checklist = reverse("treatment:infusion", kwargs={"public_id": bedside_day.infusion.public_id})
    assert f'href="{checklist}"' in response.content.decode()


def test_a_facilitys_staff_are_refused(team: CareTeam, bedside_day: InfusionDay) -> None:
    assert client_for(team.manufacturing_tech).get(BEDSIDE).status_code == 403


def test_another_centers_staff_see_only_their_own_patients(bedside_day: InfusionDay) -> None:
    other = make_team()

    response = client_for(other.nurse).get(BEDSIDE)

    assert response.status_code == 200
    assert response.context["cards"] == []
    assert bedside_day.journey.patient.family_name not in text_of(response)
    assert "No patient is on their infusion day or in IL-2 at this center." in text_of(response)


def test_an_il2_patient_shows_the_next_dose_and_the_doses_of_the_centers_today(
    team: CareTeam, bedside_day: InfusionDay, time_machine: Any
) -> None:
    infused(bedside_day, time_machine, PAGE_NOW)
    order = il2_ordered(bedside_day)
    time_machine.move_to(HELD_AT, tick=False)
    decision = assess_il2_dose(
        order,
        observations={"serum_creatinine_mg_per_dl": "2.7"},
        choice="hold",
        actor=team.nurse,
    )
    decide_il2_dose(decision, choice="hold", note="Creatinine up.", actor=team.physician)

    # 23:30 UTC is 19:30 in New York, the same day as the dose held.
    same_day = text_of(client_for(team.nurse).get(BEDSIDE))
    # 05:30 UTC on 16 June is 01:30 in New York: a new day there, so nothing yet today.
    time_machine.move_to(dt.datetime(2026, 6, 16, 5, 30, tzinfo=dt.UTC), tick=False)
    next_day = client_for(team.nurse).get(BEDSIDE)

    assert (
        f"IL-2 MRN {bedside_day.journey.patient.mrn} · COI" in same_day
        and "Next: dose 2 of 6 42,000,000 IU (42 MIU) IV" in same_day
    )
    assert (
        "Today: Dose 1 · 42,000,000 IU (42 MIU) · Held Mon 15 Jun 19:30 EDT, "
        f"{team.physician.printed_name}"
    ) in same_day
    assert "Not yet · Allowed from Tue 16 Jun 03:30 EDT until Tue 16 Jun 07:30 EDT" in same_day
    text = text_of(next_day)
    assert "Today: no dose recorded yet" in text
    assert "Open now · Allowed from Tue 16 Jun 03:30 EDT until Tue 16 Jun 07:30 EDT" not in text
    assert "Not yet · Allowed from Tue 16 Jun 03:30 EDT until Tue 16 Jun 07:30 EDT" in text
    assert "Opens in 2 h" in text
    il2 = reverse("treatment:il2", kwargs={"public_id": order.public_id})
    assert f'href="{il2}"' in next_day.content.decode()


@pytest.mark.parametrize(
    ("role", "shown"),
    [("nurse", True), ("physician", True), ("pharmacist", False), ("navigator", False)],
)
def test_the_bedside_entry_is_in_the_menu_of_who_records_the_infusion_or_assesses_il2(
    team: CareTeam, role: str, shown: bool
) -> None:
    labels = [
        item.label
        for item in client_for(team.by_role(role))
        .get(reverse("treatment:orders"))
        .context["nav_items"]
    ]

    assert ("Bedside" in labels) is shown
