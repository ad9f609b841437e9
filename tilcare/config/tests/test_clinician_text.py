"""Text a clinician reads speaks to clinicians: no file names of the project's working notes, no
"not confirmed" markers, no addresses of question-and-answer websites.

Checked where the text reaches people: every calculator page (its form with each center
setting's help text), every calculator's documented example through the API (its working, or the
refusal that names each center setting to enter), every settings page, and every user-visible
string of the protocol files and IL-2 rule sets (shown on the calculators' working and help).
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tilcare.accounts.choices import Role
from tilcare.calculators.registry import all_calculators
from tilcare.calculators.tests.helpers import client_for

pytestmark = pytest.mark.django_db

CALCULATORS = all_calculators()
PROTOCOL_FILES = sorted(
    (Path(__file__).resolve().parents[2] / "protocols").glob("*/*.toml"), key=lambda p: p.name
)

# What a clinician must never read: the names of the project's working notes, review markers,
# and the web addresses of question-and-answer or AI-answer sites (secondary, unreviewable).
# ("The facility has not confirmed receipt" is a milestone in a nurse's words, so only the notes'
# marker in capitals, "is/marked not confirmed" and the warning sign are review markers.)
FORBIDDEN = (
    re.compile(
        r"clinical-reference|DESIGN\.md|shared/reference|reference notes|(is|marked) not confirmed|"
        r"⚠|\bretrieved\b|droracle|stackexchange|stackoverflow|quora\.com|reddit\.com|harderworld",
        re.IGNORECASE,
    ),
    re.compile(r"NOT CONFIRMED"),
)


def offending(text: str) -> list[str]:
    """Each forbidden phrase with the words around it, so a failure shows where it is."""
    return [
        text[max(0, m.start() - 60) : m.end() + 60]
        for pattern in FORBIDDEN
        for m in pattern.finditer(text)
    ]


def strings_in(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


def test_the_pattern_catches_what_it_is_for():
    # Given texts as the project's notes once wrote them / When checked / Then each is caught
    for text in (
        "factor NOT CONFIRMED in the reference notes",
        "(clinical-reference.md §9)",
        "⚠ not confirmed",
        "the common 0.4 is not confirmed",
        "via https://www.droracle.ai/articles/319104/what-is-the-approach",
        "the label's renal guidance was not retrieved",
    ):
        assert offending(text), text
    # and a clinician's sentence about a milestone is not
    assert offending("The facility has not confirmed receipt of the tissue.") == []


@pytest.mark.parametrize("calc", CALCULATORS, ids=lambda c: c.slug)
def test_calculator_page_and_its_example_speak_to_clinicians(calc):
    # Given a treating physician, who may use every calculator
    client = client_for(Role.PHYSICIAN)

    # When the page is opened and its documented example is calculated through the API
    page = client.get(f"/calculators/{calc.slug}/")
    answer = client.post(
        f"/api/v1/calc/{calc.slug}", data=json.dumps(calc.example), content_type="application/json"
    )

    # Then neither the form, its help, the working nor a refusal names the notes or a Q&A site
    assert page.status_code == 200
    assert answer.status_code in (200, 422)
    assert offending(page.content.decode()) == []
    assert [hit for text in strings_in(answer.json()) for hit in offending(text)] == []


def test_calculator_list_speaks_to_clinicians():
    page = client_for(Role.PHYSICIAN).get("/calculators/")

    assert page.status_code == 200
    assert offending(page.content.decode()) == []


@pytest.mark.parametrize(
    ("role", "url"),
    [
        (Role.CENTER_ADMIN, "/accounts/center/"),
        (Role.QA_REVIEWER, "/manufacturing/release-specifications/"),
        (Role.QA_REVIEWER, "/manufacturing/thresholds/"),
    ],
    ids=["center settings", "release specifications", "facility thresholds"],
)
def test_settings_pages_speak_to_clinicians(role, url):
    # Given the role that sets them / When the page is opened
    page = client_for(role).get(url)

    # Then it names no notes and no Q&A site
    assert page.status_code == 200
    assert offending(page.content.decode()) == []


@pytest.mark.parametrize("path", PROTOCOL_FILES, ids=lambda p: p.name)
def test_protocol_and_rule_set_strings_speak_to_clinicians(path):
    # Given a protocol file or IL-2 rule set: every string value reaches a page (titles, sources,
    # notes, each center setting's reason); comments do not and are not read here
    data = tomllib.loads(path.read_text(encoding="utf-8"))

    # When its strings are read / Then none names the notes, a review marker or a Q&A site
    found = [hit for text in strings_in(data) for hit in offending(text)]
    assert found == []


def test_every_protocol_and_rule_set_file_is_checked():
    # Given the two protocol files and the two IL-2 rule sets the project ships
    names = {path.name for path in PROTOCOL_FILES}

    assert {"lifileucel_us_2024.toml", "nki_phase3_2022.toml"} <= names
    assert {"dutcher_2014.toml", "betof_warner_2024.toml"} <= names


REPO = Path(__file__).resolve().parents[3]
PUBLIC_DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


@pytest.mark.parametrize("path", PUBLIC_DOCS, ids=lambda p: p.name)
def test_readme_and_docs_name_no_working_notes(path):
    # Given the README and the docs a center reads before installing / Then they speak plainly
    assert offending(path.read_text(encoding="utf-8")) == []
