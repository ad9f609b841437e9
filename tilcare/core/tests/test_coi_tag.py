"""The `{% coi %}` tag prints any record's COI identifier the same way."""

from __future__ import annotations

from dataclasses import dataclass

from django.template import Context, Template


@dataclass(frozen=True)
class Card:
    coi_din: str
    coi_check: str


def render(source: str, item: object) -> str:
    return Template("{% load coi %}" + source).render(Context({"item": item}))


def test_a_dict_row_and_a_dataclass_print_alike() -> None:
    expected = '<span class="coi">W1234 26 000123 <span class="coi-check">3</span></span>'

    assert render("{% coi item %}", {"coi_din": "W123426000123", "coi_check": "3"}) == expected
    assert render("{% coi item %}", Card("W123426000123", "3")) == expected


def test_a_title_explains_the_check_character() -> None:
    html = render('{% coi item title="Check character" %}', Card("W123426000123", "3"))

    assert html == (
        '<span class="coi">W1234 26 000123 '
        '<span class="coi-check" title="Check character">3</span></span>'
    )
