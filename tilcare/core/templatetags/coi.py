"""`{% coi obj %}`: a COI identifier as printed on labels, on every page that shows one.

`{{ din|coi_spaced }}` prints a bare DIN the same way where no check character is at hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import template

from tilcare.clinical import identity_scan

register = template.Library()


def _field(item: Any, name: str) -> str:
    # Board rows come as dicts from `.values()`, so they print without loading a model.
    value = item[name] if isinstance(item, Mapping) else getattr(item, name)
    return str(value)


@register.filter
def coi_spaced(din: str) -> str:
    return identity_scan.spaced(str(din))


@register.inclusion_tag("components/_coi.html")
def coi(item: Any, title: str = "") -> dict[str, str]:
    """The spaced DIN, then the check character boxed (with `title` as its tooltip if given).

    `item` is anything with `coi_din` and `coi_check`: a model, a dataclass or a dict.
    """
    return {
        "spaced": identity_scan.spaced(_field(item, "coi_din")),
        "check": _field(item, "coi_check"),
        "title": title,
    }
