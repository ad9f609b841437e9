"""Grading on arrival through the service: each CTCAE v5.0 term a value sets and NEWS2 on each
complete vitals set, both sides of each threshold, with worked examples from the sources.

CTCAE v5.0 bands are the NCI workbook's ("<1500 - 1000/mm3" is below 1500 down to and including
1000); NEWS2 bands are RCP 2017 Chart 1.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tilcare.monitoring.models import Grade, Observation
from tilcare.monitoring.services.observations import record_observations
from tilcare.monitoring.tests.factories import EARLY_MORNING, LATE_EVENING, entry, vitals
from tilcare.patients.services import record_measurement
from tilcare.patients.tests.factories import TEST_PASSWORD
from tilcare.treatment.services.orders import order_lymphodepletion, verify_order
from tilcare.treatment.tests.factories import activate, course_for

pytestmark = pytest.mark.django_db

AT = LATE_EVENING - dt.timedelta(minutes=20)


def _grades(team: Any, patient: Any, entries: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    recorded = record_observations(patient, entries, actor=team.nurse, source="api")
    return [(g.system, g.term, g.grade, g.rule) for g in recorded.grades]


# Fever: "38.0 - 39.0 degrees C" grade 1, ">39.0 - 40.0" grade 2, ">40.0 ... for <=24 hrs" 3.
@pytest.mark.parametrize(
    ("celsius", "grade", "rule"),
    [
        ("37.9", 0, "<38.0 degrees C: grade 0"),
        ("38.0", 1, "38.0 - 39.0 degrees C (100.4 - 102.2 degrees F): grade 1"),
        ("39.0", 1, "38.0 - 39.0 degrees C (100.4 - 102.2 degrees F): grade 1"),
        ("39.1", 2, ">39.0 - 40.0 degrees C (102.3 - 104.0 degrees F): grade 2"),
        ("40.0", 2, ">39.0 - 40.0 degrees C (102.3 - 104.0 degrees F): grade 2"),
    ],
)
def test_a_temperature_is_graded_fever_on_arrival(team, patient, celsius, grade, rule):
    """CTCAE v5.0 Fever: 38.0 °C is grade 1 and 39.1 °C grade 2 (both edges inclusive)."""
    assert _grades(team, patient, [entry("temperature", celsius, AT)]) == [
        ("CTCAE v5.0", "Fever", grade, rule)
    ]


def test_a_temperature_above_40_is_stored_ungraded_saying_the_hours_decide(team, patient):
    # Given a temperature of 40.1 °C: grade 3 (<=24 hrs) or 4 (>24 hrs) by the hours above 40.0
    # When it arrives
    grades = _grades(team, patient, [entry("temperature", "40.1", AT)])

    # Then it is stored, and its fever row says why it is not graded
    assert grades == [
        (
            "CTCAE v5.0",
            "Fever",
            None,
            "not graded: temperature 40.1 °C is above 40.0 °C: give the 'duration above 40.0 °C' "
            "in hours to separate grade 3 (<=24 hrs) from grade 4 (>24 hrs).",
        )
    ]
    assert Observation.objects.filter(patient=patient).count() == 1


# Counts in ×10⁹/L with the laboratory's LLN; the workbook's ×10⁹/L band text is quoted.
NEUT, PLT = "Neutrophil count decreased", "Platelet count decreased"
LYM, WBC = "Lymphocyte count decreased", "White blood cell decreased"


@pytest.mark.parametrize(
    ("kind", "value", "lln", "term", "grade", "rule"),
    [
        ("anc", "1.80", "1.80", NEUT, 0, "not below LLN (1800.00 /mm³): grade 0"),
        ("anc", "1.50", "1.80", NEUT, 1, "<LLN - 1.5 x 10e9 /L: grade 1"),
        ("anc", "1.49", "1.80", NEUT, 2, "<1.5 - 1.0 x 10e9 /L: grade 2"),
        ("anc", "0.50", "1.80", NEUT, 3, "<1.0 - 0.5 x 10e9 /L: grade 3"),
        ("anc", "0.49", "1.80", NEUT, 4, "<0.5 x 10e9 /L: grade 4"),
        ("platelets", "75.0", "150.0", PLT, 1, "<LLN - 75.0 x 10e9 /L: grade 1"),
        ("platelets", "74.9", "150.0", PLT, 2, "<75.0 - 50.0 x 10e9 /L: grade 2"),
        ("platelets", "24.9", "150.0", PLT, 4, "<25.0 x 10e9 /L: grade 4"),
        ("lymphocytes", "0.80", "1.00", LYM, 1, "<LLN - 0.8 x 10e9/L: grade 1"),
        ("lymphocytes", "0.79", "1.00", LYM, 2, "<0.8 - 0.5 x 10e9 /L: grade 2"),
        ("lymphocytes", "0.19", "1.00", LYM, 4, "<0.2 x 10e9 /L: grade 4"),
        ("wbc", "3.00", "4.00", WBC, 1, "<LLN - 3.0 x 10e9 /L: grade 1"),
        ("wbc", "2.99", "4.00", WBC, 2, "<3.0 - 2.0 x 10e9 /L: grade 2"),
        ("wbc", "0.99", "4.00", WBC, 4, "<1.0 x 10e9 /L: grade 4"),
    ],
)  # fmt: skip
def test_a_count_is_graded_against_the_laboratory_lower_limit(
    team, patient, kind, value, lln, term, grade, rule
):
    """CTCAE v5.0 count decreased terms: e.g. neutrophils 1.5 ×10⁹/L is grade 1 and 1.49 grade 2
    ("<1.5 - 1.0 x 10e9 /L"); platelets 74.9 ×10⁹/L grade 2."""
    assert _grades(team, patient, [entry(kind, value, AT, reference_low=lln)]) == [
        ("CTCAE v5.0", term, grade, rule)
    ]


@pytest.mark.parametrize(
    ("kind", "term"),
    [
        ("anc", "Neutrophil count decreased"),
        ("platelets", "Platelet count decreased"),
        ("lymphocytes", "Lymphocyte count decreased"),
        ("wbc", "White blood cell decreased"),
        ("hemoglobin", "Anemia"),
    ],
)
def test_a_count_without_the_laboratory_lower_limit_is_stored_not_graded(team, patient, kind, term):
    grades = _grades(team, patient, [entry(kind, "5.0", AT)])

    assert grades == [
        (
            "CTCAE v5.0",
            term,
            None,
            "not graded: the laboratory's lower limit of normal was not sent",
        )
    ]


@pytest.mark.parametrize(
    ("hemoglobin", "grade", "rule"),
    [
        ("12.0", 0, "not below LLN (12.0 g/dL): grade 0; transfusion indicated not answered: "
         "at least grade 0"),
        ("10.0", 1, "Hemoglobin (Hgb) <LLN - 10.0 g/dL: grade 1; transfusion indicated not "
         "answered: at least grade 1"),
        ("9.9", 2, "Hgb <10.0 - 8.0 g/dL: grade 2; transfusion indicated not answered: "
         "at least grade 2"),
        ("7.9", 3, "Hgb <8.0 g/dL: grade 3"),
    ],
)  # fmt: skip
def test_hemoglobin_is_graded_anemia_at_least_until_a_transfusion_is_answered(
    team, patient, hemoglobin, grade, rule
):
    """CTCAE v5.0 Anemia: Hgb 10.0 g/dL is grade 1, 9.9 grade 2, 7.9 grade 3 ("Hgb <8.0 g/dL")."""
    assert _grades(team, patient, [entry("hemoglobin", hemoglobin, AT, reference_low="12.0")]) == [
        ("CTCAE v5.0", "Anemia", grade, rule)
    ]


@pytest.mark.parametrize(
    ("creatinine", "grade", "band"),
    [
        ("1.20", 0, "<=ULN"),
        ("1.80", 1, ">ULN - 1.5 x ULN"),
        ("1.81", 2, ">1.5 - 3.0 x ULN"),
        ("3.61", 3, ">3.0 - 6.0 x ULN"),
        ("7.21", 4, ">6.0 x ULN"),
    ],
)
def test_creatinine_is_graded_against_the_laboratory_upper_limit(
    team, patient, creatinine, grade, band
):
    """CTCAE v5.0 Creatinine increased with ULN 1.2 mg/dL: 1.8 (1.5 × ULN) is grade 1, 1.81
    grade 2. Without a baseline a grade below 3 is "at least" that grade."""
    [(system, term, got, rule)] = _grades(
        team, patient, [entry("creatinine", creatinine, AT, reference_high="1.20")]
    )

    assert (system, term, got) == ("CTCAE v5.0", "Creatinine increased", grade)
    assert rule.startswith(f"ULN comparison {band}: grade {grade}; no baseline given")


def test_creatinine_without_the_upper_limit_is_stored_not_graded(team, patient):
    assert _grades(team, patient, [entry("creatinine", "1.81", AT)]) == [
        (
            "CTCAE v5.0",
            "Creatinine increased",
            None,
            "not graded: the laboratory's upper limit of normal was not sent",
        )
    ]


@pytest.mark.parametrize(
    ("weight", "grade", "rule"),
    [
        ("83.9", 0, "<5% from baseline: grade 0"),
        ("84.0", 1, "5 - <10% from baseline: grade 1"),
        ("88.0", 2, "10 - <20% from baseline: grade 2"),
        ("96.0", 3, ">=20% from baseline: grade 3"),
    ],
)
def test_weight_is_graded_gain_from_the_latest_measurement(team, patient, weight, grade, rule):
    """CTCAE v5.0 Weight gain from a baseline of 80 kg: 84 kg (+5 %) is grade 1, 83.9 kg grade 0."""
    record_measurement(
        patient, actor=team.nurse, measured_on=dt.date(2026, 12, 1), weight_kg="80", height_cm="180"
    )

    assert _grades(team, patient, [entry("weight", weight, AT)]) == [
        ("CTCAE v5.0", "Weight gain", grade, rule)
    ]


def test_weight_gain_of_a_course_is_from_the_measurement_before_lymphodepletion(team, patient):
    # Given 80 kg measured before the course's lymphodepletion order (verified: the course's
    # baseline), and 70 kg measured after it
    activate(team.center, pharmacist=team.pharmacist, physician=team.physician)
    record_measurement(
        patient, actor=team.nurse, measured_on=dt.date(2026, 12, 1), weight_kg="80", height_cm="180"
    )
    course = course_for(patient)
    order = order_lymphodepletion(
        course,
        serum_creatinine_mg_per_dl="0.9",
        creatinine_drawn_on=dt.date(2026, 12, 1),
        actor=team.physician,
    )
    verify_order(order, actor=team.pharmacist, password=TEST_PASSWORD)
    record_measurement(
        patient,
        actor=team.nurse,
        measured_on=dt.date(2026, 12, 10),
        weight_kg="70",
        height_cm="180",
    )

    # When 88 kg of that course arrives
    [grade] = record_observations(
        patient,
        [entry("weight", "88.0", AT, coi_din=course.coi_din, manufacture_attempt=1)],
        actor=team.nurse,
        source="api",
    ).grades

    # Then the gain is +10 % from the 80 kg baseline (grade 2), not +25.7 % from 70 kg
    assert (grade.grade, grade.rule) == (2, "10 - <20% from baseline: grade 2")
    assert grade.values["baseline weight"] == {"value": "80.0", "unit": "kg"}
    assert grade.values["baseline measured on"] == "2026-12-01"


def test_weight_without_any_measurement_is_stored_not_graded(team, patient):
    assert _grades(team, patient, [entry("weight", "84.0", AT)]) == [
        (
            "CTCAE v5.0",
            "Weight gain",
            None,
            "not graded: no height and weight is recorded for the patient, so there is no "
            "baseline weight to compare with",
        )
    ]


def _news2(team: Any, patient: Any, set_id: str, **values: Any) -> Grade:
    recorded = record_observations(
        patient, vitals(set_id, AT, **values), actor=team.nurse, source="form"
    )
    [news2] = [g for g in recorded.grades if g.system == "NEWS2"]
    return news2


SCALE_NOTE = (
    "SpO2 scored on Scale 1 (Scale 2 is only for a prescribed target SpO2 of 88-92 %, not "
    "recorded with this set)"
)


def test_a_complete_normal_set_scores_news2_zero(team, patient):
    """RCP 2017 Chart 1: RR 16, SpO2 97 % on air, SBP 120, pulse 72, alert, 37.0 °C: all 0."""
    news2 = _news2(team, patient, "set-1")

    assert (news2.term, news2.grade, news2.rule) == (
        "NEWS2 aggregate score",
        0,
        f"total 0: aggregate 0, Low clinical risk; {SCALE_NOTE}",
    )
    assert news2.set_id == "set-1"
    assert news2.observation is None
    assert set(news2.values["observations"]) == {
        "respiration rate",
        "oxygen saturation",
        "air or oxygen",
        "systolic blood pressure",
        "pulse",
        "consciousness",
        "temperature",
    }


def test_the_rcp_worked_set_scores_ten_high_risk(team, patient):
    """RCP 2017 Chart 1: RR 22 (2), SpO2 93 % (2), on oxygen (2), SBP 105 (1), pulse 115 (2),
    alert (0), 38.5 °C (1): aggregate 10, high clinical risk (Chart 4: 7 or more)."""
    news2 = _news2(
        team,
        patient,
        "set-1",
        respiratory_rate="22",
        spo2="93",
        supplemental_oxygen="yes",
        systolic_bp="105",
        heart_rate="115",
        temperature="38.5",
    )

    assert (news2.grade, news2.rule) == (
        10,
        f"total >= 7: aggregate 10, High clinical risk; {SCALE_NOTE}",
    )
    assert news2.values["sub_scores"]["air_or_oxygen"] == {"value": "oxygen", "score": 2}


@pytest.mark.parametrize(
    ("values", "aggregate", "rule"),
    [
        ({"respiratory_rate": "24"}, 2, "total 1-4: aggregate 2, Low clinical risk"),
        (
            {"respiratory_rate": "25"},
            3,
            "3 in a single parameter with total < 5: aggregate 3, Low-medium clinical risk, "
            "a single parameter scoring 3",
        ),
        (
            {"respiratory_rate": "24", "heart_rate": "111", "systolic_bp": "110"},
            5,
            "total 5-6: aggregate 5, Medium clinical risk",
        ),
        (
            {"respiratory_rate": "24", "heart_rate": "111", "systolic_bp": "100"},
            6,
            "total 5-6: aggregate 6, Medium clinical risk",
        ),
        (
            {
                "respiratory_rate": "24",
                "heart_rate": "111",
                "systolic_bp": "100",
                "temperature": "38.1",
            },
            7,
            "total >= 7: aggregate 7, High clinical risk",
        ),
        ({"consciousness": "C"}, 3, "3 in a single parameter with total < 5: aggregate 3, "
         "Low-medium clinical risk, a single parameter scoring 3"),
    ],
)  # fmt: skip
def test_news2_both_sides_of_its_thresholds(team, patient, values, aggregate, rule):
    """RCP 2017: RR 24 scores 2 and 25 scores 3; a new confusion scores 3; 6 is medium, 7 high."""
    news2 = _news2(team, patient, "set-1", **values)

    assert (news2.grade, news2.rule) == (aggregate, f"{rule}; {SCALE_NOTE}")


def test_an_incomplete_set_is_stored_not_scored_naming_what_is_missing(team, patient):
    news2 = _news2(team, patient, "set-1", consciousness=None, supplemental_oxygen=None)

    assert (news2.grade, news2.rule) == (
        None,
        "not scored: the set is missing air or oxygen, consciousness",
    )
    assert news2.values["missing"] == ["air or oxygen", "consciousness"]
    assert Observation.objects.filter(patient=patient, set_id="set-1").count() == 6


def test_a_set_completed_by_a_later_batch_is_scored_then(team, patient):
    # Given a set sent without its consciousness
    _news2(team, patient, "set-1", consciousness=None)

    # When the consciousness of that set arrives on its own
    recorded = record_observations(
        patient, [entry("consciousness", "V", AT, set_id="set-1")], actor=team.nurse, source="api"
    )

    # Then the set is scored: "Voice" is CVPU, 3
    [news2] = recorded.grades
    assert (news2.system, news2.grade) == ("NEWS2", 3)
    assert Grade.objects.filter(patient=patient, system="NEWS2").count() == 2


def test_vitals_recorded_at_0530_utc_are_graded_the_same(team, patient, clock):
    # Given the clock at 05:30 UTC (00:30 in New York)
    clock.move_to(EARLY_MORNING, tick=False)

    # When a febrile set taken five minutes ago arrives
    at = EARLY_MORNING - dt.timedelta(minutes=5)
    recorded = record_observations(
        patient, vitals("night", at, temperature="39.1"), actor=team.nurse, source="form"
    )

    # Then fever grade 2 and NEWS2 2 (39.1 °C scores 2), at the time it was measured
    assert sorted((g.system, g.grade) for g in recorded.grades) == [
        ("CTCAE v5.0", 2),
        ("NEWS2", 2),
    ]
    assert {g.effective_at for g in recorded.grades} == {at}
