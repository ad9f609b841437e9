"""Observations over the API: recorded and graded on arrival, refused with the field named and
nothing written, the same observation stored once, corrections, paging, and who may."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tilcare.audit.models import AuditEvent
from tilcare.core.tests.clients import client_for, invalid_input, post_json, row_counts
from tilcare.monitoring.models import Grade, Observation
from tilcare.monitoring.tests.factories import LATE_EVENING

pytestmark = pytest.mark.django_db

AT = "2026-12-14T18:10:00-05:00"  # 23:10 UTC, twenty minutes before the clock
COUNTED = (Observation, Grade, AuditEvent)


def _url(patient: Any) -> str:
    return f"/api/v1/monitoring/patients/{patient.public_id}/observations"


def _vitals(set_id: str, **values: Any) -> list[dict[str, Any]]:
    numbers = {
        "respiratory_rate": (16, "/min"),
        "spo2": (97, "%"),
        "systolic_bp": (120, "mm[Hg]"),
        "heart_rate": (72, "/min"),
        "temperature": ("37.0", "Cel"),
    }
    entries = []
    for kind, (value, unit) in numbers.items():
        entries.append(
            {
                "kind": kind,
                "value": values.get(kind, value),
                "unit": unit,
                "effective_at": AT,
                "set_id": set_id,
            }
        )
    for kind, answer in (("supplemental_oxygen", "no"), ("consciousness", "A")):
        entries.append(
            {
                "kind": kind,
                "value_text": values.get(kind, answer),
                "effective_at": AT,
                "set_id": set_id,
            }
        )
    return entries


def test_a_vitals_set_is_recorded_and_graded_on_arrival(team, patient):
    """NEWS2 (RCP 2017 Chart 1): RR 22 (2), SpO2 93 (2), oxygen (2), SBP 105 (1), pulse 115 (2),
    alert (0), 38.5 °C (1) is 10; CTCAE v5.0 Fever: 38.5 °C is grade 1 ("38.0 - 39.0")."""
    body = {
        "entries": _vitals(
            "bed-4-1810",
            respiratory_rate=22,
            spo2=93,
            supplemental_oxygen="yes",
            systolic_bp=105,
            heart_rate=115,
            temperature=38.5,
        )
    }

    response = post_json(client_for(team.nurse), _url(patient), body)

    assert response.status_code == 201
    answer = response.json()
    assert [o["kind"] for o in answer["observations"]] == [
        "respiratory_rate",
        "spo2",
        "systolic_bp",
        "heart_rate",
        "temperature",
        "supplemental_oxygen",
        "consciousness",
    ]
    temperature = answer["observations"][4]
    assert {
        k: temperature[k] for k in ("code", "code_system", "value", "unit", "effective_at")
    } == {
        "code": "8310-5",
        "code_system": "http://loinc.org",
        "value": "38.5",
        "unit": "Cel",
        "effective_at": "2026-12-14T23:10:00+00:00",
    }
    assert [(g["term"], g["grade"]) for g in temperature["grades"]] == [("Fever", 1)]
    assert temperature["news2"]["grade"] == 10
    assert [(g["system"], g["term"], g["grade"]) for g in answer["grades"]] == [
        ("CTCAE v5.0", "Fever", 1),
        ("NEWS2", "NEWS2 aggregate score", 10),
    ]
    assert answer["grades"][0]["observation"] == temperature["public_id"]
    assert answer["grades"][1]["rule"].startswith("total >= 7: aggregate 10, High clinical risk")


def test_a_laboratory_count_is_graded_with_the_laboratorys_lower_limit(team, patient):
    """CTCAE v5.0 Platelet count decreased: 24 ×10⁹/L is "<25.0 x 10e9 /L: grade 4"."""
    body = {
        "entries": [
            {
                "kind": "platelets",
                "value": 24,
                "unit": "10*9/L",
                "effective_at": AT,
                "reference_low": 150,
                "reference_high": 400,
            }
        ]
    }

    response = post_json(client_for(team.physician), _url(patient), body)

    assert response.status_code == 201
    [grade] = response.json()["grades"]
    assert (grade["term"], grade["grade"], grade["rule"]) == (
        "Platelet count decreased",
        4,
        "<25.0 x 10e9 /L: grade 4",
    )
    assert grade["values"]["platelet count"] == {"value": "24000.0", "unit": "/mm³"}
    assert grade["source"].startswith("NCI CTEP, Common Terminology Criteria")


@pytest.mark.parametrize(
    ("changed", "field", "message"),
    [
        ({"unit": "[degF]", "value": 101.3}, "unit", "Temperature is recorded in Cel (°C); "
         "“[degF]” was sent. Send the value in Cel: a value in another unit is refused, not "
         "converted."),
        ({"value": 47.5}, "value", "Temperature must be between 30.0 and 44.0 °C."),
        ({"effective_at": "2026-12-14T23:36:00Z"}, "effective_at",
         "The time it was measured cannot be in the future."),
        ({"effective_at": "2026-12-14T18:10:00"}, "effective_at",
         "Give the date and time with its UTC offset, e.g. 2026-01-05T14:30:00+01:00 or "
         "2026-01-05T13:30:00Z; a time without an offset is ambiguous."),
    ],
)  # fmt: skip
def test_a_bad_entry_is_refused_with_its_field_and_nothing_is_written(
    team, patient, changed, field, message
):
    entries = _vitals("s")
    entries[4] = {**entries[4], **changed}
    before = row_counts(*COUNTED)

    response = post_json(client_for(team.nurse), _url(patient), {"entries": entries})

    assert response.status_code == 422
    assert response.json() == invalid_input({f"entries.4.{field}": [message]})
    assert row_counts(*COUNTED) == before


def test_the_same_entry_sent_twice_is_stored_once_and_other_content_is_a_conflict(team, patient):
    client = client_for(team.nurse)
    sent = {
        "kind": "heart_rate",
        "value": 72,
        "unit": "/min",
        "effective_at": AT,
        "client_id": "m-9",
    }
    first = post_json(client, _url(patient), {"entries": [sent]})
    before = row_counts(*COUNTED)

    again = post_json(client, _url(patient), {"entries": [sent]})
    other = post_json(client, _url(patient), {"entries": [{**sent, "value": 90}]})

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json()["observations"] == first.json()["observations"]
    assert again.json()["grades"] == []
    assert other.status_code == 409
    assert other.json()["errors"] == {
        "entries.0.client_id": [
            "An observation with client_id “m-9” is already stored with other content: send a new "
            "client_id for a new observation, or a correction to change the stored one."
        ]
    }
    assert row_counts(*COUNTED) == before


def test_the_list_is_newest_first_paged_with_superseded_ones_marked(team, patient, clock):
    client = client_for(team.nurse)
    for minutes, rate in ((30, 70), (20, 80), (10, 90)):
        at = (LATE_EVENING - dt.timedelta(minutes=minutes)).isoformat()
        entry = {"kind": "heart_rate", "value": rate, "unit": "/min", "effective_at": at}
        post_json(client, _url(patient), {"entries": [entry]})
    oldest = Observation.objects.get(value=70)
    correction = post_json(
        client,
        f"/api/v1/monitoring/observations/{oldest.public_id}/correction",
        {"value": 75, "reason": "Counted over 15 s, not 30"},
    )

    page = client.get(_url(patient), {"limit": 3})

    assert correction.status_code == 201
    assert page.status_code == 200
    assert page.json()["count"] == 4
    rows = [(o["value"], o["superseded"], o["supersedes"]) for o in page.json()["items"]]
    assert rows == [
        ("90", False, None),
        ("80", False, None),
        ("75", False, str(oldest.public_id)),
    ]
    [rest] = client.get(_url(patient), {"limit": 3, "offset": 3}).json()["items"]
    assert (rest["value"], rest["superseded"], rest["public_id"]) == (
        "70",
        True,
        str(oldest.public_id),
    )
    assert page.json()["items"][2]["correction_reason"] == "Counted over 15 s, not 30"


def test_a_correction_of_a_corrected_observation_is_a_conflict(team, patient):
    client = client_for(team.physician)
    entry = {"kind": "heart_rate", "value": 70, "unit": "/min", "effective_at": AT}
    post_json(client, _url(patient), {"entries": [entry]})
    url = f"/api/v1/monitoring/observations/{Observation.objects.get().public_id}/correction"
    post_json(client, url, {"value": 75, "reason": "Recounted"})
    before = row_counts(*COUNTED)

    response = post_json(client, url, {"value": 80, "reason": "Recounted again"})

    assert response.status_code == 409
    assert response.json()["errors"] == {
        "__all__": ["This observation was already corrected: correct the latest entry."]
    }
    assert row_counts(*COUNTED) == before


def test_a_pharmacist_may_read_but_not_record(team, patient):
    client = client_for(team.pharmacist)
    before = row_counts(*COUNTED)
    entry = {"kind": "heart_rate", "value": 70, "unit": "/min", "effective_at": AT}

    refused = post_json(client, _url(patient), {"entries": [entry]})
    listed = client.get(_url(patient))

    assert refused.status_code == 403
    assert refused.json()["detail"] == (
        "Only a nurse or a treating physician of this patient's center records observations."
    )
    assert row_counts(*COUNTED) == before
    assert (listed.status_code, listed.json()["count"]) == (200, 0)


def test_another_centers_staff_and_a_facility_do_not_learn_of_the_patient(
    team, other_team, patient
):
    entry = {"kind": "heart_rate", "value": 70, "unit": "/min", "effective_at": AT}
    before = row_counts(*COUNTED)

    for user in (other_team.nurse, team.manufacturing_tech):
        client = client_for(user)
        assert post_json(client, _url(patient), {"entries": [entry]}).status_code == 404
        assert client.get(_url(patient)).status_code == 404
    assert row_counts(*COUNTED) == before


@pytest.mark.parametrize(
    ("sent", "term", "grade", "rule"),
    [
        ({"kind": "anc", "value": "0.49", "unit": "10*9/L", "reference_low": "1.8"},
         "Neutrophil count decreased", 4, "<0.5 x 10e9 /L: grade 4"),
        ({"kind": "lymphocytes", "value": "0.5", "unit": "10*9/L", "reference_low": "1.0"},
         "Lymphocyte count decreased", 2, "<0.8 - 0.5 x 10e9 /L: grade 2"),
        ({"kind": "wbc", "value": "1.0", "unit": "10*9/L", "reference_low": "4.0"},
         "White blood cell decreased", 3, "<2.0 - 1.0 x 10e9 /L: grade 3"),
        ({"kind": "hemoglobin", "value": "7.9", "unit": "g/dL", "reference_low": "12.0"},
         "Anemia", 3, "Hgb <8.0 g/dL: grade 3"),
        ({"kind": "creatinine", "value": "7.21", "unit": "mg/dL", "reference_high": "1.2"},
         "Creatinine increased", 4, "ULN comparison >6.0 x ULN: grade 4; no baseline given (a "
         "baseline gives at most grade 3); grade 4 set by the ULN comparison"),
        ({"kind": "weight", "value": "96.0", "unit": "kg"},
         "Weight gain", 3, ">=20% from baseline: grade 3"),
        ({"kind": "temperature", "value": "39.1", "unit": "Cel"},
         "Fever", 2, ">39.0 - 40.0 degrees C (102.3 - 104.0 degrees F): grade 2"),
    ],
)  # fmt: skip
def test_each_grader_grades_on_arrival_through_the_api(team, patient, sent, term, grade, rule):
    """CTCAE v5.0 worked examples: neutrophils 0.49 ×10⁹/L grade 4, lymphocytes 0.5 grade 2, WBC
    1.0 grade 3, Hgb 7.9 g/dL grade 3, creatinine 7.21 mg/dL with ULN 1.2 (>6 × ULN) grade 4,
    weight 96 kg from 80 kg (+20 %) grade 3, 39.1 °C grade 2."""
    from tilcare.patients.services import record_measurement

    record_measurement(
        patient, actor=team.nurse, measured_on=dt.date(2026, 12, 1), weight_kg="80", height_cm="180"
    )

    response = post_json(
        client_for(team.nurse), _url(patient), {"entries": [{**sent, "effective_at": AT}]}
    )

    assert response.status_code == 201
    [graded] = response.json()["grades"]
    assert (graded["system"], graded["term"], graded["grade"], graded["rule"]) == (
        "CTCAE v5.0",
        term,
        grade,
        rule,
    )
