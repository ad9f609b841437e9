"""ASTCT CRS, RECIST 1.1, body size, creatinine clearance and lymphodepletion through
POST /api/v1/calc/<slug>: the corrections of the December 2026 review of the clinical core
(clinical-reference.md section 12), and every refusal naming the field that is wrong."""

from __future__ import annotations

import pytest

from tilcare.calculators.tests.helpers import CENTER, PATIENT, post, refused

pytestmark = pytest.mark.django_db

LYMPHODEPLETION = "lymphodepletion-lifileucel-us-2024"
CRS = {
    "fever": False,
    "crs_graded_before_therapy": False,
    "therapy_for_crs": "none",
    "hypotension": "one_vasopressor",
    "hypoxia": "none",
}
TARGETS = [
    {"lesion_id": "T1", "organ": "liver", "is_lymph_node": False, "baseline_mm": "40"},
    {"lesion_id": "N1", "organ": "axilla", "is_lymph_node": True, "baseline_mm": "18"},
]
SD_AT_DAY_42 = {
    "days_since_baseline": 42,
    "non_target": "non-CR/non-PD",
    "new_lesions": False,
    "measurements_mm": ["38", "17"],
}
RECIST = {"targets": TARGETS, "time_points": [SD_AT_DAY_42], "min_sd_days": 42}


# ASTCT CRS (Lee et al., BBMT 2019;25:625-638) --------------------------------------------------


def test_crs_afebrile_il2_hypotension_under_scheduled_acetaminophen_is_not_crs(physician):
    # Given afebrile hypotension on one vasopressor during IL-2 with "Acetaminophen 650 mg PO q4h
    # scheduled" (Betof Warner, JITC 2024), never graded with CRS before.
    # Source: Lee 2019: "In patients who have CRS then receive tocilizumab or steroids, fever is
    # no longer required": this patient had no CRS, so fever is still required.
    response = post(physician, "crs-astct", CRS)

    assert response.status_code == 200, response.json()
    assert response.json()["result"]["grade"] == 0
    assert response.json()["result"]["fever_requirement_waived"] is False
    assert response.json()["tone"] == "ok"


def test_crs_after_tocilizumab_for_crs_already_graded_no_fever_needed(physician):
    # Source: Lee 2019, as above: CRS graded, then tocilizumab; one vasopressor = grade 3.
    body = {
        **CRS,
        "crs_graded_before_therapy": True,
        "therapy_for_crs": "tocilizumab_or_other_anticytokine",
    }

    response = post(physician, "crs-astct", body)

    assert response.status_code == 200, response.json()
    assert response.json()["result"]["grade"] == 3


def test_crs_refuses_the_former_therapy_field_by_name(physician):
    # Source: Lee 2019: the exception needs CRS before the therapy; the former single yes/no
    # field ("antipyretic or anticytokine given") cannot say so and is no longer accepted.
    body = {**CRS, "antipyretic_or_anticytokine_given": True}

    assert list(refused(post(physician, "crs-astct", body))) == [
        "antipyretic_or_anticytokine_given"
    ]


def test_crs_refuses_a_number_for_yes(physician):
    # Source: Lee 2019 fever is a yes/no finding; 1 is not true.
    assert list(refused(post(physician, "crs-astct", {**CRS, "fever": 1}))) == ["fever"]


# RECIST 1.1 (Eisenhauer et al., Eur J Cancer 2009;45:228-247) ----------------------------------


def test_recist_without_the_minimum_sd_interval_names_it(physician):
    # Source: Eisenhauer 2009, best overall response: the minimum interval for SD "is defined in
    # the study protocol"; no default.
    body = {"targets": TARGETS, "time_points": [SD_AT_DAY_42]}

    assert refused(post(physician, "recist-1-1", body)) == {
        "min_sd_days": [
            "Set min_sd_days, the minimum number of days after study entry at which stable "
            "disease must be met to count as the best overall response. RECIST 1.1 leaves it to "
            "the study protocol (in general not less than 6-8 weeks, 42-56 days); outside a "
            "trial the center's treating physicians decide it for their program."
        ]
    }


def test_recist_sd_met_at_the_minimum_interval_is_the_best_response(physician):
    # Source: Eisenhauer 2009: 55 mm at day 42 vs baseline 58 mm (−5.2 %) is SD, met at the
    # protocol's 42 days.
    response = post(physician, "recist-1-1", RECIST)

    assert response.status_code == 200, response.json()
    assert response.json()["headline"] == "Best overall response: SD"


def test_recist_sd_before_the_minimum_interval_is_ne(physician):
    # Source: Eisenhauer 2009: SD not met at the protocol's minimum interval (56 days here).
    response = post(physician, "recist-1-1", {**RECIST, "min_sd_days": 56})

    assert response.status_code == 200, response.json()
    assert response.json()["headline"] == "Best overall response: NE"


def test_recist_three_nodes_in_different_stations_are_one_organ(physician):
    # Source: EORTC RECIST 1.1 questions and clarifications: "Nodes are considered to be one
    # organ"; at most 2 targets per organ (Eisenhauer 2009).
    nodes = [
        {"lesion_id": f"N{i}", "organ": station, "is_lymph_node": True, "baseline_mm": "20"}
        for i, station in enumerate(("axilla", "groin", "neck"), start=1)
    ]
    body = {**RECIST, "targets": nodes, "time_points": []}

    assert refused(post(physician, "recist-1-1", body)) == {
        "targets": [
            "max 2 target lesions per organ; organ lymph nodes has 3 (N1, N2, N3) "
            "(all lymph nodes count as one organ)"
        ]
    }


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"min_sd_days": 0}, "min_sd_days"),
        ({"min_sd_days": 366}, "min_sd_days"),
        ({"min_sd_days": True}, "min_sd_days"),
        ({"targets": [{**TARGETS[0], "baseline_mm": "1001"}]}, "targets.0.baseline_mm"),
        ({"targets": [{**TARGETS[0], "baseline_mm": "-1"}]}, "targets.0.baseline_mm"),
        (
            {"time_points": [{**SD_AT_DAY_42, "days_since_baseline": 0}]},
            "time_points.0.days_since_baseline",
        ),
        (
            {"time_points": [{**SD_AT_DAY_42, "days_since_baseline": 3651}]},
            "time_points.0.days_since_baseline",
        ),
        (
            {"time_points": [{**SD_AT_DAY_42, "measurements_mm": ["38", "1001"]}]},
            "time_points.0.measurements_mm.1",
        ),
        (
            {"time_points": [{**SD_AT_DAY_42, "non_target_nodes_mm": ["-2"]}]},
            "time_points.0.non_target_nodes_mm.0",
        ),
        ({"minimum_sd_days": 42}, "minimum_sd_days"),
    ],
    ids=[
        "min SD 0",
        "min SD 366",
        "min SD true",
        "baseline 1001 mm",
        "baseline negative",
        "day 0",
        "day 3651",
        "measurement 1001 mm",
        "node negative",
        "unknown field",
    ],
)
def test_recist_refuses_each_implausible_number_by_its_field(physician, change, field):
    # Source: Eisenhauer 2009 measures in mm; limits 0-1000 mm, days 1-3650, SD interval
    # 1-365 days ("in general not less than 6-8 weeks").
    assert list(refused(post(physician, "recist-1-1", {**RECIST, **change}))) == [field]


# Body size and creatinine clearance -------------------------------------------------------------


def test_ideal_weight_at_150_cm_without_the_center_rule_names_the_setting(physician):
    # Source: clinical-reference.md section 12: below 152.4 cm "practice varies (subtract 2.3 kg
    # per inch below 60, or use actual weight): a center setting, not a refusal".
    errors = refused(post(physician, "ideal-body-weight", {"height_cm": "150", "sex": "male"}))

    assert list(errors) == ["ideal_weight_below_152_4_cm"]
    assert errors["ideal_weight_below_152_4_cm"][0].startswith(
        "Set 'Ideal body weight below 152.4 cm (60 in)' (ideal_weight_below_152_4_cm) in the "
        "center's protocol settings: "
    )


@pytest.mark.parametrize(
    ("body", "ideal_kg"),
    [
        # Source: as above. 150 / 2.54 = 59.055 in; 50 − 2.3 × 0.9449 = 47.827 -> 47.8 kg.
        pytest.param(
            {"sex": "male", "ideal_weight_below_152_4_cm": "subtract_2_3_kg_per_inch"},
            "47.8",
            id="subtracting 2.3 kg per inch",
        ),
        # Source: as above, "or use actual weight".
        pytest.param(
            {
                "sex": "female",
                "ideal_weight_below_152_4_cm": "use_actual_weight",
                "weight_kg": "52",
            },
            "52.0",
            id="using the actual weight",
        ),
    ],
)
def test_ideal_weight_at_150_cm(physician, body, ideal_kg):
    response = post(physician, "ideal-body-weight", {"height_cm": "150", **body})

    assert response.status_code == 200, response.json()
    assert response.json()["result"]["ideal_weight"] == {"value": ideal_kg, "unit": "kg"}


CRCL = {
    "age_years": "60",
    "weight_kg": "80",
    "weight_basis": "actual",
    "serum_creatinine_mg_per_dl": "1.0",
    "sex": "male",
}


def test_crcl_creatinine_0_01_mg_per_dl_is_refused_naming_the_limit(physician):
    # Cockcroft & Gault (Nephron 1976): (140 − 60) × 80 / (72 × 0.01) would be 8,889 mL/min.
    body = {**CRCL, "serum_creatinine_mg_per_dl": "0.01"}

    assert refused(post(physician, "creatinine-clearance", body)) == {
        "serum_creatinine_mg_per_dl": [
            "serum_creatinine_mg_per_dl 0.01 is below the plausible minimum 0.2 mg/dL; "
            "check the unit (mg/dL, not µmol/L or mg/L)."
        ]
    }


@pytest.mark.parametrize(
    ("slug", "body", "field"),
    [
        ("creatinine-clearance", {**CRCL, "age_years": "121"}, "age_years"),
        ("creatinine-clearance", {**CRCL, "weight_kg": "351"}, "weight_kg"),
        (
            "creatinine-clearance",
            {**CRCL, "serum_creatinine_mg_per_dl": "21"},
            "serum_creatinine_mg_per_dl",
        ),
        ("creatinine-clearance", {**CRCL, "weight_kg": True}, "weight_kg"),
        ("creatinine-clearance", {**CRCL, "creatinine": "1.0"}, "creatinine"),
        ("bsa", {"weight_kg": "19", "height_cm": "175", "formula": "dubois"}, "weight_kg"),
        ("bsa", {"weight_kg": "70", "height_cm": "251", "formula": "dubois"}, "height_cm"),
        ("bmi", {"weight_kg": "70", "height_cm": True}, "height_cm"),
        ("ideal-body-weight", {"height_cm": "99", "sex": "male"}, "height_cm"),
        (
            "ideal-body-weight",
            {
                "height_cm": "150",
                "sex": "male",
                "ideal_weight_below_152_4_cm": "use_actual_weight",
                "weight_kg": "400",
            },
            "weight_kg",
        ),
        (
            "ideal-body-weight",
            {
                "height_cm": "120",
                "sex": "female",
                "ideal_weight_below_152_4_cm": "subtract_2_3_kg_per_inch",
            },
            "height_cm",
        ),
        (
            "adjusted-body-weight",
            {"weight_kg": "110", "height_cm": "175", "sex": "male", "factor": "-0.1"},
            "factor",
        ),
    ],
    ids=[
        "CrCl age 121",
        "CrCl weight 351",
        "CrCl SCr 21",
        "CrCl weight true",
        "CrCl unknown field",
        "BSA weight 19",
        "BSA height 251",
        "BMI height true",
        "IBW height 99",
        "IBW actual weight 400",
        "IBW 120 cm subtracted below 20 kg",
        "AdjBW factor negative",
    ],
)
def test_body_size_and_crcl_refuse_each_number_by_its_field(physician, slug, body, field):
    # Plausible ranges: weight 20-350 kg, height 100-250 cm, age 18-120 years (Cockcroft-Gault
    # is an adult formula, Nephron 1976), creatinine 0.2-20 mg/dL, adjusted-weight factor 0-1.
    assert list(refused(post(physician, slug, body))) == [field]


# Lymphodepletion dosing weight (Amtagvi US label 2024: cyclophosphamide 60 mg/kg) ---------------


def test_lymphodepletion_underweight_on_the_ideal_basis_names_the_setting(physician):
    # Given 45 kg, 178 cm on the ideal basis: Devine 50 + 2.3 × (70.079 − 60) = 73.2 kg > 45 kg.
    # Source: review of December 2026: a dosing weight above the actual weight is refused unless
    # the center's setting says otherwise.
    body = {**PATIENT, **CENTER, "weight_kg": "45", "cyclophosphamide_weight_basis": "ideal"}

    errors = refused(post(physician, LYMPHODEPLETION, body))

    assert list(errors) == ["dosing_weight_above_actual"]
    assert errors["dosing_weight_above_actual"][0].endswith(
        "This patient's ideal weight 73.2 kg is above the actual weight 45 kg."
    )


def test_lymphodepletion_underweight_on_the_lower_of_actual_and_ideal(physician):
    # Source: as above, "use the lower of actual and dosing weight": 60 mg/kg × 45 kg = 2700 mg.
    body = {
        **PATIENT,
        **CENTER,
        "weight_kg": "45",
        "cyclophosphamide_weight_basis": "ideal",
        "dosing_weight_above_actual": "use_actual_weight",
    }

    response = post(physician, LYMPHODEPLETION, body)

    assert response.status_code == 200, response.json()
    assert response.json()["headline"].startswith("Cyclophosphamide 2700 mg daily")


def test_lymphodepletion_150_cm_on_the_ideal_basis_names_the_short_stature_setting(physician):
    # Source: clinical-reference.md section 12, Devine below 152.4 cm: a center setting.
    body = {**PATIENT, **CENTER, "height_cm": "150", "cyclophosphamide_weight_basis": "ideal"}

    assert list(refused(post(physician, LYMPHODEPLETION, body))) == ["ideal_weight_below_152_4_cm"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"weight_kg": "351"}, "weight_kg"),
        ({"height_cm": "99"}, "height_cm"),
        ({"age_years": "17"}, "age_years"),
        ({"serum_creatinine_mg_per_dl": "0.01"}, "serum_creatinine_mg_per_dl"),
        ({"serum_creatinine_mg_per_dl": "21"}, "serum_creatinine_mg_per_dl"),
        ({"weight_kg": True}, "weight_kg"),
        ({"weight": "80"}, "weight"),
        (
            {
                "cyclophosphamide_weight_basis": "adjusted",
                "cyclophosphamide_adjusted_weight_factor": "1.5",
            },
            "cyclophosphamide_adjusted_weight_factor",
        ),
    ],
    ids=[
        "weight 351",
        "height 99",
        "age 17",
        "SCr 0.01",
        "SCr 21",
        "weight true",
        "unknown field",
        "factor 1.5",
    ],
)
def test_lymphodepletion_refuses_each_number_by_its_field(physician, change, field):
    # Plausible ranges as for body size and Cockcroft-Gault; the factor between 0 (ideal) and 1
    # (actual weight) by the definition of the adjusted weight.
    body = {**PATIENT, **CENTER, **change}

    assert list(refused(post(physician, LYMPHODEPLETION, body))) == [field]


def test_il2_dose_on_the_ideal_weight_of_an_underweight_patient_names_the_setting(physician):
    # Given 45 kg, 178 cm on the ideal IL-2 basis (Devine 73.2 kg > 45 kg). Source: review of
    # December 2026: a dosing weight above the actual weight is refused unless the center's
    # setting says otherwise; the IL-2 dose (600,000 IU/kg, Medina JITC 2023) is per kg too.
    body = {"weight_kg": "45", "height_cm": "178", "sex": "male", "il2_weight_basis": "ideal"}

    assert list(refused(post(physician, "il2-dose-lifileucel-us-2024", body))) == [
        "dosing_weight_above_actual"
    ]
