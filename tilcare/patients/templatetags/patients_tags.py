"""Small display helpers for the patient pages."""

from __future__ import annotations

import datetime as dt

from django import template

from tilcare.core.timeutil import age_in_years

register = template.Library()


@register.filter
def age_on(born: dt.date | None, today: dt.date | None) -> int | str:
    """Age in whole years on the center's "today" (passed in, so the page and list agree)."""
    if born is None or today is None:
        return ""
    return age_in_years(born, today)
