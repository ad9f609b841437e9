"""Display helpers for the journey pages: study days and the patient record's journeys card.

The COI identifier has its own tag, `{% coi %}` in tilcare.core.templatetags.coi.
"""

from __future__ import annotations

from typing import Any

from django import template

from tilcare.journey.policies import can_create_journey, can_view_journey
from tilcare.journey.selectors import format_study_day
from tilcare.patients.models import Patient

register = template.Library()


@register.filter
def study_day(day: int | None) -> str:
    """ "Day −7", "Day 0", "Day +3" from a day number relative to infusion (blank when None)."""
    return format_study_day(day)


@register.inclusion_tag("journey/partials/_patient_journeys.html", takes_context=True)
def patient_journeys(context: dict[str, Any], patient: Patient) -> dict[str, Any]:
    """The patient record's card of therapy journeys, with "Open a journey" when allowed.

    A template tag, so the patients domain (a lower layer) shows journeys without importing them.
    """
    user = context["request"].user
    journeys = [j for j in patient.journeys.order_by("-created_at") if can_view_journey(user, j)]
    has_open = any(not j.is_closed for j in journeys)
    return {
        "patient": patient,
        "journeys": journeys,
        "can_open": not has_open and can_create_journey(user, patient),
    }
