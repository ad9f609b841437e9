"""The batch record over the API, for a facility's instruments and LIMS.

The facility reads and writes the whole record; the treating center reads each batch's status
only and may write nothing; anyone else gets 404. No answer or error carries the patient's
name, record number or date of birth. A bad CSV answers 422 naming the line and saves nothing.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tilcare.core.tests.clients import client_for
from tilcare.core.tests.clients import post_json as post
from tilcare.manufacturing.choices import BatchStatus
from tilcare.manufacturing.models import (
    Batch,
    Culture,
    RepCount,
)
from tilcare.manufacturing.reactivity_csv import HEADER_TEXT
from tilcare.manufacturing.tests.batch_factories import (
    SCREEN_CSV,
    THRESHOLDS,
    batch_of_patient,
    batch_team,
    count_time,
    fresh,
    in_rep_with_counts,
    open_test_batch,
    walk_batch,
)
from tilcare.manufacturing.tests.batch_factories import batch_rows as written
from tilcare.patients.tests.factories import (
    CenterFactory,
    FacilityFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

BATCHES = "/api/v1/manufacturing/batches"
IDENTITY = (b"Theodora", b"Lindqvist", b"MRN004512", b"1968-04-12")
NOT_FOUND = {"detail": "Not found."}
THRESHOLD_QUERY = {k: str(v) for k, v in THRESHOLDS.items()}


def url(batch: Batch, tail: str = "") -> str:
    return f"{BATCHES}/{batch.public_id}{tail}"


def post_receipt(user, batch: Batch, **changes):
    """`user` posts `batch`'s tissue receipt: 1.2 g in 24 fragments, unless `changes` differ."""
    body = {"received_at": "2026-01-05T10:00:00Z", "weight_g": 1.2, "fragments": 24, **changes}
    return post(client_for(user), url(batch, "/tissue-receipt"), body)


def other_facility_tech():
    return UserFactory(role="manufacturing_tech", organization=FacilityFactory(name="Elsewhere"))


def other_center_navigator():
    return UserFactory(role="navigator", organization=CenterFactory(name="Lakeside"))


# ---------- who sees what ----------


def test_anonymous_callers_are_refused(team):
    open_test_batch(team)

    assert Client().get(BATCHES).status_code == 401


def test_the_facility_lists_its_batches_by_coi(team):
    batch = open_test_batch(team)
    open_test_batch(batch_team(), sequence=18)  # another facility's

    response = client_for(team.qa_reviewer).get(BATCHES)

    assert response.status_code == 200
    [item] = response.json()["items"]
    assert (item["coi_display"], item["status"], item["record"]) == (
        "W1234 26 000017 7",
        "tissue_received",
        None,
    )
    assert item["public_id"] == str(batch.public_id)


def test_the_facility_reads_the_whole_record(team):
    batch = in_rep_with_counts(team)

    response = client_for(team.manufacturing_tech).get(url(batch))

    assert response.status_code == 200
    record = response.json()["record"]
    assert (record["dose_min_cells_1e9"], record["dose_max_cells_1e9"]) == ("7.5", "72")
    assert [c["culture_id"] for c in record["cultures"] if c["selected"]] == ["F01", "F03"]
    assert record["selection"]["ranking"]["thresholds"]["min_ifn_gamma_fold"] == "2"
    assert [(c["day"], c["viable_cells"]) for c in record["rep_counts"]] == [
        (0, "50000000"),
        (3, "300000000"),
        (5, "900000000"),
        (7, "2800000000"),
    ]
    assert record["reactivity_imports"][0]["cultures"] == ["F01", "F02", "F03"]


def test_the_treating_center_sees_the_status_only(team):
    batch = in_rep_with_counts(team)

    listed = client_for(team.navigator).get(BATCHES)
    one = client_for(team.navigator).get(url(batch))

    assert [i["status"] for i in listed.json()["items"]] == ["rep"]
    assert one.status_code == 200
    body = one.json()
    assert (body["status_label"], body["planned_harvest_on"], body["record"]) == (
        "Rapid expansion (REP)",
        fresh(batch).planned_harvest_on.isoformat(),
        None,
    )


@pytest.mark.parametrize(
    ("tail", "query"),
    [("/forecast", {"warn_below_probability": "0.8"}), ("/ranking", THRESHOLD_QUERY)],
)
def test_the_treating_center_may_not_read_the_process(team, tail, query):
    batch = in_rep_with_counts(team)

    response = client_for(team.physician).get(url(batch, tail), query)

    assert response.status_code == 403
    assert response.json() == {"detail": "The batch record is the manufacturing facility's."}


@pytest.mark.parametrize("who", [other_facility_tech, other_center_navigator])
def test_other_organizations_do_not_see_the_batch(team, who):
    batch = open_test_batch(team)
    client = client_for(who())

    assert client.get(BATCHES).json()["items"] == []
    response = client.get(url(batch))
    assert (response.status_code, response.json()) == (404, NOT_FOUND)


# ---------- writing ----------


def test_tissue_receipt_is_recorded(team):
    batch = open_test_batch(team)

    response = post_receipt(
        team.manufacturing_tech, batch, received_at="2026-01-05T10:00:00-05:00", weight_g=1.25
    )

    assert response.status_code == 201
    receipt = response.json()["record"]["tissue_receipt"]
    assert (receipt["weight_g"], receipt["fragments"]) == ("1.250", 24)
    assert receipt["received_at"] == "2026-01-05T15:00:00+00:00"


def test_a_receipt_outside_the_limits_answers_422_naming_the_field(team):
    batch = open_test_batch(team)
    before = written()

    response = post_receipt(team.manufacturing_tech, batch, weight_g=700)

    assert response.status_code == 422
    assert response.json()["errors"] == {
        "weight_g": ["Tissue weight must be from 0.001 to 500 g (got 700 g)."]
    }
    assert written() == before


def test_a_time_without_offset_is_refused_by_the_schema(team):
    batch = open_test_batch(team)

    response = post_receipt(team.manufacturing_tech, batch, received_at="2026-01-05T10:00:00")

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["received_at"]


@pytest.mark.parametrize("role", ["qa_reviewer", "navigator"])
def test_qa_and_the_center_may_not_record_steps(team, role):
    batch = open_test_batch(team)
    before = written()

    response = post_receipt(team.by_role(role), batch)

    assert response.status_code == 403
    assert written() == before


def test_another_facility_cannot_write_to_the_batch(team):
    batch = open_test_batch(team)
    before = written()

    response = post_receipt(other_facility_tech(), batch)

    assert (response.status_code, response.json()) == (404, NOT_FOUND)
    assert written() == before


def test_a_plate_of_cultures_is_recorded_whole_or_refused_whole(team):
    batch = walk_batch(open_test_batch(team), team, BatchStatus.PRE_REP)
    client = client_for(team.manufacturing_tech)
    before = written()

    refused = post(client, url(batch, "/cultures"), [{"culture_id": "F01"}, {"culture_id": "F/02"}])
    accepted = post(client, url(batch, "/cultures"), [{"culture_id": "F01"}, {"culture_id": "F02"}])

    assert refused.status_code == 422
    assert list(refused.json()["errors"]) == ["cultures.1.culture_id"]
    assert accepted.status_code == 201
    assert [c["culture_id"] for c in accepted.json()["record"]["cultures"]] == ["F01", "F02"]
    assert Culture.objects.count() == before[3] + 2


def test_one_culture_with_its_count(team):
    batch = walk_batch(open_test_batch(team), team, BatchStatus.PRE_REP)

    response = post(
        client_for(team.manufacturing_tech),
        url(batch, "/cultures"),
        {
            "culture_id": "F07",
            "viable_cells": 12500000,
            "viability_percent": 91.5,
            "counted_at": "2026-01-05T10:00:00Z",
        },
    )

    assert response.status_code == 201
    [culture] = response.json()["record"]["cultures"]
    assert (culture["viable_cells"], culture["viability_percent"]) == ("12500000", "91.5")


# ---------- the screen CSV ----------


def test_the_csv_is_imported_from_a_text_csv_body(team, screening):
    response = client_for(team.manufacturing_tech).post(
        url(screening, "/reactivity.csv?file_name=plate-1.csv"),
        data=SCREEN_CSV,
        content_type="text/csv",
    )

    assert response.status_code == 201
    [source] = response.json()["record"]["reactivity_imports"]
    assert (source["file_name"], source["cultures"]) == ("plate-1.csv", ["F01", "F02", "F03"])


def test_the_csv_is_imported_from_a_multipart_file(team, screening):
    upload = SimpleUploadedFile("reader-export.csv", SCREEN_CSV)

    response = client_for(team.manufacturing_tech).post(
        url(screening, "/reactivity.csv"), {"file": upload}
    )

    assert response.status_code == 201
    assert response.json()["record"]["reactivity_imports"][0]["file_name"] == "reader-export.csv"


BAD_CSV = {
    "wrong columns": (
        HEADER_TEXT.replace("cd137_control_percent", "cd137_ctrl_percent") + "\nF01,1,1,1,1\n",
        "Line 1, header: expected exactly",
    ),
    "unit": (HEADER_TEXT + "\nF01,1850,120,14.2,1.1\nF02,240 pg/mL,180,2,1.4\n", "Line 3, "),
    "empty": ("", "Line 1: the file is empty"),
    "duplicated well": (
        HEADER_TEXT + "\nF01,1850,120,14.2,1.1\nF01,1850,120,14.2,1.1\n",
        "Line 3, culture_id: culture F01 appears again (first on line 2)",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_CSV))
def test_a_bad_csv_answers_422_naming_the_line_and_saves_nothing(team, patient, case):
    # Given a batch of a named patient, in the reactivity screen
    batch = walk_batch(batch_of_patient(team, patient), team, BatchStatus.SCREENING)
    text, expected = BAD_CSV[case]
    before = written()

    # When the instrument sends a bad file
    upload = SimpleUploadedFile("plate.csv", text.encode())
    response = client_for(team.manufacturing_tech).post(
        url(batch, "/reactivity.csv"), {"file": upload}
    )

    # Then it is refused on the file, naming the line, nothing is saved, and no identity leaks
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert list(errors) == ["file"]
    assert errors["file"][0].startswith(expected)
    assert written() == before
    for text_bytes in IDENTITY:
        assert text_bytes not in response.content


def test_a_csv_in_another_content_type_is_refused(team, screening):
    response = post(client_for(team.manufacturing_tech), url(screening, "/reactivity.csv"), {})

    assert response.status_code == 422
    assert response.json()["errors"] == {
        "file": ["Send the CSV as a text/csv body or as a multipart field named “file”."]
    }


def test_qa_is_refused_before_the_file_is_read(team, screening):
    response = client_for(team.qa_reviewer).post(
        url(screening, "/reactivity.csv"), data=b"not,a,csv", content_type="text/csv"
    )

    assert response.status_code == 403
    assert response.json() == {
        "detail": "Only the facility's manufacturing technologists record batch steps."
    }


# ---------- ranking and selection ----------


def test_the_ranking_at_the_facility_s_thresholds(team, screening):
    client = client_for(team.manufacturing_tech)
    client.post(url(screening, "/reactivity.csv"), data=SCREEN_CSV, content_type="text/csv")

    response = client.get(url(screening, "/ranking"), THRESHOLD_QUERY)

    assert response.status_code == 200
    rows = response.json()["rows"]
    assert [(r["culture_id"], r["reactive"]) for r in rows] == [
        ("F01", True),
        ("F03", True),
        ("F02", False),
    ]


def test_the_ranking_needs_every_threshold(team, screening):
    response = client_for(team.manufacturing_tech).get(
        url(screening, "/ranking"), {"min_ifn_gamma_fold": "2"}
    )

    assert response.status_code == 422
    assert sorted(response.json()["errors"]) == [
        "min_cd137_difference_points",
        "min_ifn_gamma_difference_pg_per_ml",
    ]


def test_the_selection_is_recorded_with_its_thresholds(team, screening):
    client = client_for(team.manufacturing_tech)
    client.post(url(screening, "/reactivity.csv"), data=SCREEN_CSV, content_type="text/csv")

    response = post(
        client,
        url(screening, "/selection"),
        {"culture_ids": ["F01"], "reason": "Most reactive.", **THRESHOLD_QUERY},
    )

    assert response.status_code == 201
    selection = response.json()["record"]["selection"]
    assert (selection["cultures"], selection["reason"]) == (["F01"], "Most reactive.")
    assert selection["ranking"]["thresholds"]["min_ifn_gamma_difference_pg_per_ml"] == "200"


# ---------- REP counts, harvest plan, forecast ----------


def rep_count(batch, day, **changes):
    body = {
        "day": day,
        "viable_cells_1e9": "0.3",
        "viability_percent": "92.5",
        "counted_at": count_time(batch, day).isoformat(),
    }
    body.update(changes)
    return body


def test_one_rep_count_in_billions(team, in_rep):
    response = post(
        client_for(team.manufacturing_tech), url(in_rep, "/rep-counts"), rep_count(in_rep, 3)
    )

    assert response.status_code == 201
    assert response.json()["record"]["rep_counts"][0]["viable_cells"] == "300000000"


def test_an_instrument_s_list_of_counts_in_cells(team, in_rep):
    body = [
        rep_count(in_rep, 0, viable_cells_1e9=None, viable_cells=50000000),
        rep_count(in_rep, 3, viable_cells_1e9=None, viable_cells=300000000),
    ]

    response = post(client_for(team.manufacturing_tech), url(in_rep, "/rep-counts"), body)

    assert response.status_code == 201
    assert [c["day"] for c in response.json()["record"]["rep_counts"]] == [0, 3]


def test_a_list_with_one_bad_count_saves_none(team, in_rep):
    before = written()

    response = post(
        client_for(team.manufacturing_tech),
        url(in_rep, "/rep-counts"),
        [rep_count(in_rep, 0), rep_count(in_rep, 3, viability_percent="104")],
    )

    assert response.status_code == 422
    assert response.json()["errors"] == {
        "counts.1.viability_percent": ["Viability must be from 0 to 100 % (got 104 %)."]
    }
    assert written() == before


def test_a_count_in_two_units_at_once_is_refused(team, in_rep):
    response = post(
        client_for(team.manufacturing_tech),
        url(in_rep, "/rep-counts"),
        rep_count(in_rep, 3, viable_cells=300000000),
    )

    assert response.status_code == 422
    assert response.json()["errors"] == {
        "viable_cells": ["Give viable_cells (cells) or viable_cells_1e9, not both."]
    }


def test_the_harvest_date_is_planned(team, in_rep):
    day = in_rep.rep_started_on + dt.timedelta(days=12)

    response = post(
        client_for(team.manufacturing_tech),
        url(in_rep, "/harvest-plan"),
        {"planned_harvest_on": day.isoformat()},
    )

    assert response.status_code == 200
    assert response.json()["planned_harvest_on"] == day.isoformat()


def test_the_forecast_with_the_facility_s_threshold(team):
    batch = in_rep_with_counts(team)

    response = client_for(team.qa_reviewer).get(
        url(batch, "/forecast"), {"warn_below_probability": "0.8"}
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["state"], body["harvest_day"], body["early_warning"]) == ("forecast", 11, False)
    assert (body["point_cells_1e9"], body["lower_cells_1e9"], body["upper_cells_1e9"]) == (
        "28.27",
        "23.11",
        "34.58",
    )
    assert body["probability_at_least_lower"] == "0.999"


def test_the_forecast_without_a_threshold_says_so(team):
    batch = in_rep_with_counts(team)

    body = client_for(team.manufacturing_tech).get(url(batch, "/forecast")).json()

    assert body["early_warning"] is None
    assert body["threshold_note"].startswith("Early-warning threshold not set")
    assert body["point_cells_1e9"] == "28.27"


def test_a_threshold_that_is_not_a_probability_is_refused(team):
    batch = in_rep_with_counts(team)

    response = client_for(team.manufacturing_tech).get(
        url(batch, "/forecast"), {"warn_below_probability": "80"}
    )

    assert response.status_code == 422
    assert response.json()["errors"] == {
        "warn_below_probability": [
            "Early-warning threshold “80” must be a probability above 0 and at most 1 (e.g. 0.80)."
        ]
    }


# ---------- the workflow ----------


def test_an_illegal_move_answers_409_with_the_reason(team):
    batch = open_test_batch(team)
    before = written()

    response = post(
        client_for(team.manufacturing_tech), url(batch, "/advance"), {"to_status": "harvested"}
    )

    assert response.status_code == 409
    assert response.json()["reasons"] == [
        "A batch cannot move from “Tissue received” to “Harvested and formulated”."
    ]
    assert written() == before


def test_a_blocked_move_answers_409_with_the_guard(team):
    batch = open_test_batch(team)

    response = post(
        client_for(team.manufacturing_tech), url(batch, "/advance"), {"to_status": "pre_rep"}
    )

    assert response.status_code == 409
    assert response.json()["reasons"] == ["Record the tissue receipt (weight and fragments) first."]


def test_the_batch_moves_when_its_requirement_is_met(team):
    batch = walk_batch(open_test_batch(team), team, BatchStatus.PRE_REP)
    client = client_for(team.manufacturing_tech)
    post(client, url(batch, "/cultures"), {"culture_id": "F01"})

    response = post(client, url(batch, "/advance"), {"to_status": "screening"})

    assert response.status_code == 200
    assert response.json()["status"] == "screening"


def test_rejecting_over_the_api_needs_a_reason(team):
    batch = open_test_batch(team)

    response = post(client_for(team.qa_reviewer), url(batch, "/advance"), {"to_status": "rejected"})

    assert response.status_code == 422
    assert response.json()["errors"] == {"reason": ["Reason for rejecting the batch is required."]}


# ---------- never the patient's identity ----------


def test_no_facility_answer_carries_the_patient_s_identity(team, patient):
    # Given the batch of a named patient, opened by the facility's receipt scan, in the REP
    batch = walk_batch(batch_of_patient(team, patient), team, BatchStatus.REP)
    tech = client_for(team.manufacturing_tech)
    answers = [
        tech.get(BATCHES),
        tech.get(url(batch)),
        tech.get(url(batch, "/ranking"), THRESHOLD_QUERY),
        tech.get(url(batch, "/forecast"), {"warn_below_probability": "0.8"}),
        post(tech, url(batch, "/rep-counts"), rep_count(batch, 7)),
        post(tech, url(batch, "/rep-counts"), rep_count(batch, 7)),  # 422: day counted
        post(tech, url(batch, "/advance"), {"to_status": "released"}),  # 409
        post(tech, url(batch, "/selection"), {"culture_ids": [], "reason": ""}),  # 422
        tech.post(url(batch, "/reactivity.csv"), data=SCREEN_CSV, content_type="text/csv"),
        post(tech, url(batch, "/harvest-plan"), {"planned_harvest_on": "2000-01-01"}),
        post(client_for(team.qa_reviewer), url(batch, "/tissue-receipt"), {}),
    ]

    # Then every answer and error carries the COI identifier's process, never who the patient is
    assert [a.status_code for a in answers] == [
        200,
        200,
        200,
        200,
        201,
        422,
        409,
        422,
        422,
        422,
        422,
    ]
    for answer in answers:
        for text in IDENTITY:
            assert text not in answer.content
    assert answers[1].json()["coi_din"] == batch.coi_din


def test_a_count_stored_from_the_api_is_exact(team, in_rep):
    post(
        client_for(team.manufacturing_tech),
        url(in_rep, "/rep-counts"),
        rep_count(in_rep, 5, viable_cells_1e9="0.91"),
    )

    assert RepCount.objects.get(batch=in_rep, day=5).viable_cells == Decimal(910_000_000)
