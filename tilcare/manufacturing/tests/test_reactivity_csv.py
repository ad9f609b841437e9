"""The reactivity screen CSV: the one format accepted, read strictly, imported whole or not at all.

Each refusal names the line (and the column) of the problem; a refused file leaves nothing
behind: no import, no reading, no audit event.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from tilcare.audit.models import AuditEvent
from tilcare.core.errors import InvalidInput, PermissionDenied
from tilcare.manufacturing.choices import BatchStatus
from tilcare.manufacturing.models import ReactivityImport, ReactivityReading
from tilcare.manufacturing.reactivity_csv import (
    HEADER_TEXT,
    ReactivityCsvError,
    ScreenRow,
    parse_reactivity_csv,
)
from tilcare.manufacturing.services import screen as screen_services
from tilcare.manufacturing.tests.batch_factories import (
    SCREEN_CSV,
    open_test_batch,
    walk_batch,
)

HEADER = HEADER_TEXT + "\n"
KNOWN = ("F01", "F02", "F03")


def problems(text: str | bytes, known=KNOWN) -> list[str]:
    data = text.encode() if isinstance(text, str) else text
    with pytest.raises(ReactivityCsvError) as refused:
        parse_reactivity_csv(data, known_culture_ids=known)
    return refused.value.messages()


# ---------- the format ----------


def test_a_good_file_gives_one_row_per_culture_with_its_line_and_exact_values():
    # Given the plate reader's export, with a byte-order mark, CRLF line ends and a blank end
    data = (
        "\ufeff" + HEADER + "F01,1850.0,120.0,14.20,1.10\r\nF03,960.5,80,6.5,0\r\n\r\n"
    ).encode()

    # When it is read
    rows = parse_reactivity_csv(data, known_culture_ids=KNOWN)

    # Then each culture line gives its values as exact decimals, with its line number
    assert rows == [
        ScreenRow(2, "F01", Decimal("1850.0"), Decimal("120.0"), Decimal("14.20"), Decimal("1.10")),
        ScreenRow(3, "F03", Decimal("960.5"), Decimal("80"), Decimal("6.5"), Decimal("0")),
    ]


def test_an_empty_file_is_refused_on_line_1():
    assert problems(b"") == [f"Line 1: the file is empty; the first line must be “{HEADER_TEXT}”."]


def test_a_file_of_blank_lines_is_refused_as_empty():
    assert problems("\n  \n") == [
        f"Line 1: the file is empty; the first line must be “{HEADER_TEXT}”."
    ]


def test_a_header_without_cultures_is_refused_on_line_2():
    assert problems(HEADER) == ["Line 2: the file has the header but no culture lines."]


def test_a_missing_column_is_named():
    text = "culture_id,ifn_gamma_tumor_pg_per_ml,ifn_gamma_control_pg_per_ml,cd137_tumor_percent\n"
    assert problems(text + "F01,1850,120,14.2\n") == [
        f"Line 1, header: expected exactly “{HEADER_TEXT}”, found “culture_id,"
        "ifn_gamma_tumor_pg_per_ml,ifn_gamma_control_pg_per_ml,cd137_tumor_percent” "
        "(missing cd137_control_percent)."
    ]


def test_an_extra_column_is_named():
    text = HEADER_TEXT + ",plate\nF01,1850,120,14.2,1.1,P1\n"
    assert problems(text) == [
        f"Line 1, header: expected exactly “{HEADER_TEXT}”, found “{HEADER_TEXT},plate” "
        "(unexpected “plate”)."
    ]


def test_columns_in_another_order_are_refused():
    swapped = (
        "culture_id,ifn_gamma_control_pg_per_ml,ifn_gamma_tumor_pg_per_ml,cd137_tumor_percent,"
        "cd137_control_percent"
    )
    assert problems(swapped + "\nF01,120,1850,14.2,1.1\n") == [
        f"Line 1, header: expected exactly “{HEADER_TEXT}”, found “{swapped}” "
        "(the columns are in the wrong order)."
    ]


def test_a_repeated_column_is_named():
    text = HEADER_TEXT.replace("cd137_control_percent", "cd137_tumor_percent")
    assert problems(text + "\nF01,1850,120,14.2,1.1\n") == [
        f"Line 1, header: expected exactly “{HEADER_TEXT}”, found “{text}” (repeated "
        "cd137_tumor_percent; missing cd137_control_percent)."
    ]


def test_a_column_in_ng_per_ml_is_refused_not_converted():
    text = HEADER_TEXT.replace("ifn_gamma_tumor_pg_per_ml", "ifn_gamma_tumor_ng_per_ml")
    assert problems(text + "\nF01,1.85,120,14.2,1.1\n") == [
        "Line 1, header: the column “ifn_gamma_tumor_ng_per_ml” is not in pg/mL; give IFN-γ in "
        "pg/mL in the columns ifn_gamma_tumor_pg_per_ml and ifn_gamma_control_pg_per_ml "
        "(values are never converted)."
    ]


def test_a_cd137_fraction_column_is_refused_not_converted():
    text = HEADER_TEXT.replace("cd137_tumor_percent", "cd137_tumor_fraction")
    assert problems(text + "\nF01,1850,120,0.142,1.1\n") == [
        "Line 1, header: the column “cd137_tumor_fraction” is a fraction; give CD137 in % of T "
        "cells in the columns cd137_tumor_percent and cd137_control_percent (values are never "
        "converted)."
    ]


def test_a_semicolon_separated_export_is_refused_with_the_reason():
    assert problems(HEADER_TEXT.replace(",", ";") + "\nF01;1850;120;14.2;1.1\n") == [
        "Line 1, header: the columns are separated by “;”; the file must be comma-separated "
        f"with the header “{HEADER_TEXT}”."
    ]


def test_a_value_with_its_unit_is_refused_naming_line_and_column():
    assert problems(HEADER + "F01,1850 pg/mL,120,14.2,1.1\n") == [
        "Line 2, ifn_gamma_tumor_pg_per_ml: “1850 pg/mL” has a unit; write the number only "
        "(the column is in pg/mL)."
    ]


def test_a_value_in_ng_per_ml_is_refused_not_converted():
    assert problems(HEADER + "F01,1850,120,14.2,1.1\nF03,1.85 ng/mL,80,6.5,0.9\n") == [
        "Line 3, ifn_gamma_tumor_pg_per_ml: “1.85 ng/mL” is in ng/mL; this column is in pg/mL: "
        "write the number in pg/mL, without a unit (values are never converted)."
    ]


def test_a_percent_sign_is_refused():
    assert problems(HEADER + "F01,1850,120,14.2%,1.1\n") == [
        "Line 2, cd137_tumor_percent: “14.2%” has a unit; write the number only (the column "
        "is in %)."
    ]


def test_a_duplicated_well_is_refused_naming_both_lines():
    text = HEADER + "F01,1850,120,14.2,1.1\nF02,240,180,2.0,1.4\nF01,1790,115,13.8,1.0\n"
    assert problems(text) == [
        "Line 4, culture_id: culture F01 appears again (first on line 2); give one line per "
        "culture (well)."
    ]


def test_a_culture_not_in_the_batch_is_refused():
    assert problems(HEADER + "F09,1850,120,14.2,1.1\n") == [
        "Line 2, culture_id: culture “F09” is not a culture of this batch."
    ]


def test_a_culture_id_in_other_case_is_refused_with_a_hint():
    assert problems(HEADER + "f01,1850,120,14.2,1.1\n") == [
        "Line 2, culture_id: culture “f01” is not a culture of this batch. Did you mean “F01”?"
    ]


def test_text_where_a_number_belongs_is_refused():
    assert problems(HEADER + "F01,n/a,120,14.2,1.1\n") == [
        "Line 2, ifn_gamma_tumor_pg_per_ml: “n/a” is not a number; write a plain decimal number "
        "such as 12.5."
    ]


def test_a_negative_value_is_refused():
    assert problems(HEADER + "F01,1850,-5,14.2,1.1\n") == [
        "Line 2, ifn_gamma_control_pg_per_ml: “-5” is negative; IFN-γ against control cannot "
        "be below 0 pg/mL."
    ]


def test_a_percentage_above_100_is_refused():
    assert problems(HEADER + "F01,1850,120,100.5,1.1\n") == [
        "Line 2, cd137_tumor_percent: 100.5 % is above 100 %; a percentage of T cells is 0 to 100."
    ]


def test_an_implausible_ifn_gamma_is_refused():
    assert problems(HEADER + "F01,1850000,120,14.2,1.1\n") == [
        "Line 2, ifn_gamma_tumor_pg_per_ml: 1850000 pg/mL is above the plausible maximum "
        "1,000,000 pg/mL; check the dilution factor and the unit."
    ]


def test_more_decimals_than_the_record_keeps_are_refused():
    assert problems(HEADER + "F01,1850.25,120,14.205,1.1\n") == [
        "Line 2, ifn_gamma_tumor_pg_per_ml: “1850.25” has more than one decimal place (at most "
        "one decimal place).",
        "Line 2, cd137_tumor_percent: “14.205” has more than 2 decimal places (at most 2 "
        "decimal places).",
    ]


def test_a_missing_value_is_named():
    assert problems(HEADER + "F01,1850,,14.2,1.1\n") == [
        "Line 2, ifn_gamma_control_pg_per_ml: missing; give IFN-γ against control in pg/mL."
    ]


def test_a_line_with_the_wrong_number_of_values_is_refused():
    assert problems(HEADER + "F01,1850,120,14.2\n") == [
        f"Line 2: expected 5 values ({HEADER_TEXT}), found 4."
    ]


def test_a_blank_line_between_cultures_is_refused():
    assert problems(HEADER + "F01,1850,120,14.2,1.1\n\nF02,240,180,2.0,1.4\n") == [
        "Line 3: blank line between cultures; remove it."
    ]


def test_a_file_that_is_not_utf8_is_refused_with_its_line():
    data = (HEADER + "F01,1850,120,14.2,1.1\n").encode() + b"F02,240,180,2.0,1.4 \xb5\n"
    assert problems(data) == ["Line 3: the file is not UTF-8 text; export it as UTF-8 CSV."]


def test_every_problem_is_listed_up_to_twenty():
    lines = "".join(f"X{n:02d},1850,120,14.2,1.1\n" for n in range(25))
    listed = problems(HEADER + lines)
    assert len(listed) == 21
    assert listed[0] == "Line 2, culture_id: culture “X00” is not a culture of this batch."
    assert listed[-1] == "… and 5 more problems not listed."


# ---------- the import: all or nothing ----------


def stored() -> tuple[int, int, int]:
    return (
        ReactivityImport.objects.count(),
        ReactivityReading.objects.count(),
        AuditEvent.objects.count(),
    )


BAD_FILES = {
    "wrong columns": (
        HEADER_TEXT.replace("cd137_control_percent", "cd137_ctrl") + "\nF01,1850,120,14.2,1.1\n",
        "Line 1, header: expected exactly",
    ),
    "units": (HEADER + "F01,1850,120,14.2,1.1\nF02,0.24 ng/mL,180,2.0,1.4\n", "Line 3, "),
    "empty": ("", "Line 1: the file is empty"),
    "header only": (HEADER, "Line 2: the file has the header but no culture lines."),
    "duplicated wells": (
        HEADER + "F01,1850,120,14.2,1.1\nF02,240,180,2.0,1.4\nF02,250,170,2.1,1.3\n",
        "Line 4, culture_id: culture F02 appears again (first on line 3)",
    ),
    "unknown culture": (HEADER + "F01,1850,120,14.2,1.1\nF77,1,1,1,1\n", "Line 3, culture_id"),
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_bad_file_is_refused_with_its_line_and_nothing_is_saved(team, screening, case):
    # Given a batch in the reactivity screen, and a file with one problem after good lines
    text, expected = BAD_FILES[case]
    before = stored()

    # When the technologist imports it
    with pytest.raises(InvalidInput) as refused:
        screen_services.import_reactivity_csv(
            screening, file_name="plate.csv", content=text.encode(), actor=team.manufacturing_tech
        )

    # Then it is refused on the file, naming the line, and nothing at all is saved
    assert list(refused.value.errors) == ["file"]
    assert refused.value.errors["file"][0].startswith(expected)
    assert stored() == before


@pytest.mark.django_db
def test_a_good_file_is_imported_whole_with_its_lines_and_audited(team, screening):
    # When the technologist imports the plate reader's file
    source = screen_services.import_reactivity_csv(
        screening, file_name="C:\\exports\\plate-1.csv", content=SCREEN_CSV,
        actor=team.manufacturing_tech,
    )  # fmt: skip

    # Then one import holds a reading per culture, with the line each came from
    assert source.file_name == "plate-1.csv"
    readings = {r.culture.culture_id: r for r in source.readings.select_related("culture")}
    assert sorted(readings) == ["F01", "F02", "F03"]
    assert readings["F03"].line_number == 4
    assert readings["F03"].ifn_gamma_tumor_pg_per_ml == Decimal("960.5")
    event = AuditEvent.objects.get(action="manufacturing.reactivity.import")
    assert event.subject_id == f"coi:{screening.coi_din}"
    assert '"cultures":["F01","F02","F03"]' in event.after_json


@pytest.mark.django_db
def test_the_same_file_is_not_imported_twice(team, screening):
    tech = team.manufacturing_tech
    screen_services.import_reactivity_csv(
        screening, file_name="a.csv", content=SCREEN_CSV, actor=tech
    )
    before = stored()

    with pytest.raises(InvalidInput) as refused:
        screen_services.import_reactivity_csv(
            screening, file_name="b.csv", content=SCREEN_CSV, actor=tech
        )

    assert refused.value.errors["file"][0].startswith(
        "This file was already imported as “a.csv” on "
    )
    assert stored() == before


@pytest.mark.django_db
def test_a_culture_already_screened_is_refused_by_line(team, screening):
    tech = team.manufacturing_tech
    first = (HEADER + "F01,1850,120,14.2,1.1\n").encode()
    screen_services.import_reactivity_csv(screening, file_name="a.csv", content=first, actor=tech)
    before = stored()

    with pytest.raises(InvalidInput) as refused:
        screen_services.import_reactivity_csv(
            screening,
            file_name="b.csv",
            content=(HEADER + "F02,240,180,2.0,1.4\nF01,1790,115,13.8,1.0\n").encode(),
            actor=tech,
        )

    assert refused.value.errors == {
        "file": [
            "Line 3, culture_id: culture F01 already has a screen reading (line 2 of “a.csv”); "
            "a culture is screened once."
        ]
    }
    assert stored() == before


@pytest.mark.django_db
def test_the_screen_is_imported_only_in_the_reactivity_screen_status(team):
    batch = walk_batch(open_test_batch(team), team, BatchStatus.PRE_REP)
    before = stored()

    with pytest.raises(InvalidInput) as refused:
        screen_services.import_reactivity_csv(
            batch, file_name="a.csv", content=SCREEN_CSV, actor=team.manufacturing_tech
        )

    assert refused.value.errors == {
        "__all__": [
            "The reactivity screen is recorded while the batch is in “Reactivity screen”; this "
            "batch is in “Pre-REP cultures”."
        ]
    }
    assert stored() == before


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["qa_reviewer", "navigator"])
def test_only_the_facility_technologist_imports_the_screen(team, screening, role):
    before = stored()

    with pytest.raises(PermissionDenied):
        screen_services.import_reactivity_csv(
            screening, file_name="a.csv", content=SCREEN_CSV, actor=getattr(team, role)
        )

    assert stored() == before
