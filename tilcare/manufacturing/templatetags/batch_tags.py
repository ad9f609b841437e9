"""Numbers of the batch page as staff read them: cells in millions or billions, exactly."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template

register = template.Library()


def _scaled(value: Any, power: int) -> str:
    if value is None or value == "":
        return "—"
    number = (Decimal(value) / Decimal(10) ** power).normalize()
    return f"{number:,f}"


@register.filter
def per_million(value: Any) -> str:
    """Cells shown in ×10⁶ cells: 25400000 -> "25.4"."""
    return _scaled(value, 6)


@register.filter
def per_billion(value: Any) -> str:
    """Cells shown in ×10⁹ cells: 2800000000 -> "2.8"."""
    return _scaled(value, 9)


@register.filter
def percent_of(value: Any) -> str:
    """A probability 0–1 shown as a percentage: 0.934 -> "93.4 %"."""
    if value is None or value == "":
        return "—"
    return f"{(Decimal(value) * 100).normalize():f} %"
