"""The packaged CTCAE v5.0 catalogue against the NCI CTEP workbook CTCAE_v5.0.xlsx.

The workbook (tests/data/CTCAE_v5.0.xlsx) is parsed here independently of the build script:
sheet "CTCAE v5.0 Clean Copy", texts stripped of surrounding whitespace (the headers carry
trailing non-breaking spaces), "-" = the grade does not exist.
"""

import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from tilcare.clinical.grading import ctcae_v5_0 as ctcae
from tilcare.clinical.grading.ctcae_v5_0 import (
    GradeNotDefined,
    UnknownCtcaeTerm,
    all_terms,
    search_terms,
    term,
    term_by_meddra_code,
)

WORKBOOK = Path(__file__).parent / "data" / "CTCAE_v5.0.xlsx"
WORKBOOK_SHA256 = "dc11095f39227ef48402eb166cefaf0933bb7a0b0cc61c187649c0b19c6f601f"
SHEET = "CTCAE v5.0 Clean Copy"


def _cell(value: object) -> str | None:
    if value is None:
        return None
    assert isinstance(value, str)
    text = value.strip()
    return None if text in ("", "-") else text


@pytest.fixture(scope="module")
def workbook_rows() -> list[dict[str, Any]]:
    # Given the workbook file, checked byte for byte before it is read.
    assert hashlib.sha256(WORKBOOK.read_bytes()).hexdigest() == WORKBOOK_SHA256
    book = openpyxl.load_workbook(WORKBOOK, read_only=True, data_only=True)
    rows = list(book[SHEET].iter_rows(values_only=True))
    book.close()
    headers = [str(h).strip() for h in rows[0]]
    assert headers[:10] == [
        "MedDRA Code",
        "MedDRA SOC",
        "CTCAE Term",
        "Grade 1",
        "Grade 2",
        "Grade 3",
        "Grade 4",
        "Grade 5",
        "Definition",
        "Navigational Note",
    ]
    return [
        {
            "meddra_code": row[0],
            "soc": _cell(row[1]),
            "term": _cell(row[2]),
            "grades": tuple(_cell(row[i]) for i in range(3, 8)),
            "definition": _cell(row[8]),
            "navigational_note": _cell(row[9]),
        }
        for row in rows[1:]
        if any(cell is not None for cell in row)
    ]


@pytest.fixture(scope="module")
def catalogue_json() -> dict[str, Any]:
    path = resources.files("tilcare.clinical.grading").joinpath("data/ctcae_v5_0.json")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def test_workbook_file_is_the_pinned_nci_workbook() -> None:
    # Source: reference notes §4.1 and ctcae-v5.0/README.md (SHA-256, 466,460 bytes).
    content = WORKBOOK.read_bytes()
    assert hashlib.sha256(content).hexdigest() == WORKBOOK_SHA256
    assert len(content) == 466_460


def test_catalogue_names_the_workbook_it_was_built_from(catalogue_json: dict[str, Any]) -> None:
    assert catalogue_json["workbook_sha256"] == WORKBOOK_SHA256
    assert catalogue_json["version"] == ctcae.VERSION == "CTCAE v5.0"
    assert catalogue_json["release_date"] == ctcae.RELEASE_DATE == "2017-11-27"
    assert catalogue_json["source"] == ctcae.SOURCE
    assert "MedDRA is licensed by ICH MSSO" in catalogue_json["meddra_note"]


def test_catalogue_holds_exactly_the_workbook_terms(
    workbook_rows: list[dict[str, Any]], catalogue_json: dict[str, Any]
) -> None:
    # Given the 837 workbook rows, when comparing with the JSON and the loaded terms,
    # then every field is identical and in the same order.
    assert len(workbook_rows) == 837
    entries = catalogue_json["terms"]
    assert len(entries) == 837
    for row, entry, loaded in zip(workbook_rows, entries, all_terms(), strict=True):
        assert entry["meddra_code"] == row["meddra_code"] == loaded.meddra_code
        assert entry["soc"] == row["soc"] == loaded.soc
        assert entry["term"] == row["term"] == loaded.term
        json_grades = tuple(entry["grades"][str(g)] for g in range(1, 6))
        assert json_grades == row["grades"] == loaded.grades
        assert entry["definition"] == row["definition"] == loaded.definition
        assert entry["navigational_note"] == row["navigational_note"] == loaded.navigational_note


def test_catalogue_json_is_what_the_build_script_writes(catalogue_json: dict[str, Any]) -> None:
    # Deterministic layout: sorted keys, ensure_ascii=False, indent 1, trailing newline.
    path = resources.files("tilcare.clinical.grading").joinpath("data/ctcae_v5_0.json")
    text = path.read_text(encoding="utf-8")
    assert text == json.dumps(catalogue_json, sort_keys=True, ensure_ascii=False, indent=1) + "\n"


# Spot checks against clinical-reference.md §4.2 (verbatim from the workbook) -----------------

SPOT_CHECKS = [
    (
        "Capillary leak syndrome",
        10007196,
        "Vascular disorders",
        (
            "Asymptomatic",
            "Symptomatic; medical intervention indicated",
            "Severe symptoms; intervention indicated",
            "Life-threatening consequences; urgent intervention indicated",
            "Death",
        ),
    ),
    (
        "Hypoxia",
        10021143,
        "Respiratory, thoracic and mediastinal disorders",
        (
            None,
            "Decreased oxygen saturation with exercise (e.g., pulse oximeter <88%); "
            "intermittent supplemental oxygen",
            "Decreased oxygen saturation at rest (e.g., pulse oximeter <88% or PaO2 <=55 mm Hg)",
            "Life-threatening airway compromise; urgent intervention indicated "
            "(e.g., tracheotomy or intubation)",
            "Death",
        ),
    ),
    (
        "Neutrophil count decreased",
        10029366,
        "Investigations",
        (
            "<LLN - 1500/mm3; <LLN - 1.5 x 10e9 /L",
            "<1500 - 1000/mm3; <1.5 - 1.0 x 10e9 /L",
            "<1000 - 500/mm3; <1.0 - 0.5 x 10e9 /L",
            "<500/mm3; <0.5 x 10e9 /L",
            None,
        ),
    ),
    (
        "Creatinine increased",
        10011368,
        "Investigations",
        (
            ">ULN - 1.5 x ULN",
            ">1.5 - 3.0 x baseline; >1.5 - 3.0 x ULN",
            ">3.0 x baseline; >3.0 - 6.0 x ULN",
            ">6.0 x ULN",
            None,
        ),
    ),
    (
        "Sinus tachycardia",
        10040752,
        "Cardiac disorders",
        (
            "Asymptomatic, intervention not indicated",
            "Symptomatic; non-urgent medical intervention indicated",
            "Urgent medical intervention indicated",
            None,
            None,
        ),
    ),
]


@pytest.mark.parametrize(
    ("name", "code", "soc", "grades"),
    SPOT_CHECKS,
    ids=[f"{name}-clinical-reference-4.2-CTCAE-v5.0-workbook" for name, *_ in SPOT_CHECKS],
)
def test_spot_check_against_reference_notes(
    name: str, code: int, soc: str, grades: tuple[str | None, ...]
) -> None:
    found = term(name)
    assert (found.meddra_code, found.soc, found.grades) == (code, soc, grades)
    assert term_by_meddra_code(code) is found


def test_navigational_note_and_definition_spot_checks() -> None:
    # Source: clinical-reference.md §4.2 "Definitions and navigational notes".
    creatinine = term("Creatinine increased")
    assert creatinine.navigational_note == (
        "Also consider Renal and urinary disorders: Acute kidney injury"
    )
    assert term("Hypoxia").definition == (
        "A disorder characterized by a decrease in the level of oxygen in the body."
    )
    # A "-" definition in the workbook is carried as None.
    other = term("Blood and lymphatic system disorders - Other, specify")
    assert other.definition is None


def test_available_grades_and_grade_text() -> None:
    tachycardia = term("Sinus tachycardia")
    assert tachycardia.available_grades == (1, 2, 3)
    assert tachycardia.grade_text(3) == "Urgent medical intervention indicated"
    with pytest.raises(GradeNotDefined, match=r"'Sinus tachycardia' has no grade 4"):
        tachycardia.grade_text(4)
    with pytest.raises(ValueError, match="from 1 to 5"):
        tachycardia.grade_text(0)
    assert term("Febrile neutropenia").available_grades == (3, 4, 5)


def test_lookup_is_exact_and_case_insensitive() -> None:
    assert term("FEVER") is term("Fever")
    with pytest.raises(UnknownCtcaeTerm, match="no term named 'Fevers'"):
        term("Fevers")
    with pytest.raises(UnknownCtcaeTerm, match="MedDRA code 123"):
        term_by_meddra_code(123)


def test_search_finds_terms_in_workbook_order() -> None:
    assert [t.term for t in search_terms("NEUTRO")] == [
        "Febrile neutropenia",
        "Neutrophil count decreased",
    ]
    assert search_terms("no such adverse event") == ()
    with pytest.raises(ValueError, match="non-empty"):
        search_terms("  ")
