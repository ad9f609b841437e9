"""Worked examples through the API and the page for the list-shaped calculators (RECIST 1.1,
harvest forecast, culture ranking): rows typed one a line reach the clinical core intact."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from html import unescape

import pytest

from tilcare.accounts.choices import Role
from tilcare.calculators.definitions.response import TimePointIn
from tilcare.calculators.forms import RowsError, parse_rows
from tilcare.calculators.tests.helpers import client_for, post

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


RECIST_TARGETS = [
    {"lesion_id": "T1", "organ": "liver", "is_lymph_node": False, "baseline_mm": "40"},
    {"lesion_id": "T2", "organ": "lung", "is_lymph_node": False, "baseline_mm": "20"},
    {"lesion_id": "N1", "organ": "axilla", "is_lymph_node": True, "baseline_mm": "18"},
]


def _time_point(days: int, measurements_mm: list[str]) -> dict[str, object]:
    """A RECIST assessment with non-target disease non-CR/non-PD and no new lesion."""
    return {
        "days_since_baseline": days,
        "non_target": "non-CR/non-PD",
        "new_lesions": False,
        "measurements_mm": measurements_mm,
    }


def _forecast_body(
    counts: list[tuple[int, str]], count_unit: str = "e9_cells"
) -> dict[str, object]:
    """A harvest-forecast request: daily counts against the lifileucel dose range, day 11."""
    return {
        "counts": [{"day": day, "viable_cells": cells} for day, cells in counts],
        "count_unit": count_unit,
        "harvest_day": 11,
        "dose_lower_e9_cells": "7.5",
        "dose_upper_e9_cells": "72",
        "warn_below_probability": "0.8",
    }


def test_recist_pr_then_pd_over_nadir():
    # RECIST 1.1 (Eisenhauer 2009): baseline 40 + 20 + 18 = 78 mm. Day 42: 25 + 12 + 9 = 46 mm,
    # −41.0 % from baseline → PR. Day 84: 30 + 17 + 9 = 56 mm, +21.7 % and +10 mm over the
    # nadir of 46 → PD. Best overall response: PR.
    body = {
        "targets": RECIST_TARGETS,
        "time_points": [
            _time_point(42, ["25", "12", "9"]),
            _time_point(84, ["30", "17", "9"]),
        ],
        "min_sd_days": 42,
    }

    response = post(client_for(Role.PHYSICIAN), "recist-1-1", body)

    assert response.status_code == 200, response.json()
    result = response.json()["result"]
    first, second = result["time_points"]
    assert first["target"]["sum_mm"] == "46"
    assert first["target"]["change_from_baseline_percent"] == "-41.0"
    assert first["overall"] == "PR" or first["overall"]["response"] == "PR"
    assert second["target"]["nadir_sum_mm"] == "46"
    assert second["target"]["change_from_nadir_percent"] == "21.7"
    assert second["target"]["response"] == "PD"
    assert response.json()["headline"] == "Best overall response: PR"


def test_recist_refuses_a_sixth_target_with_the_rule():
    targets = [
        {"lesion_id": f"T{i}", "organ": f"organ{i}", "is_lymph_node": False, "baseline_mm": "20"}
        for i in range(6)
    ]
    body = {"targets": targets, "time_points": []}

    response = post(client_for(Role.PHYSICIAN), "recist-1-1", body)

    assert response.status_code == 422
    assert response.json()["errors"] == {
        "targets": ["max 5 target lesions total; got 6 (T0, T1, T2, T3, T4, T5)"]
    }


def test_recist_page_reads_rows_typed_one_a_line():
    response = client_for(Role.PHYSICIAN).post(
        "/calculators/recist-1-1/",
        {
            "targets": "T1, liver, true, 40\nT2, lung, false, 20\nN1, axilla, true, 18",
            "time_points": "42, non-CR/non-PD, false, 25 12 9",
            "min_sd_days": "42",
        },
        **HTMX,
    )

    # T1 marked a node by mistake: 40 mm short axis is still measurable, so it is accepted
    html = response.content.decode()
    assert response.status_code == 200, html
    assert "Best overall response: PR" in html


def test_a_row_with_too_many_values_is_refused_naming_the_line():
    with pytest.raises(RowsError) as error:
        parse_rows("42, CR, false, 0 0 0, 5, extra", TimePointIn)

    assert str(error.value) == (
        "Line 1 has 6 values; expected 3 to 5 (days_since_baseline, non_target, new_lesions, "
        "measurements_mm, non_target_nodes_mm)."
    )


def test_the_page_names_the_line_of_a_bad_value():
    response = client_for(Role.PHYSICIAN).post(
        "/calculators/recist-1-1/",
        {
            "targets": "T1, liver, false, 40\nT2, lung, false, forty",
            "time_points": "42, PD, true",
        },
        **HTMX,
    )

    html = response.content.decode()
    assert response.status_code == 200  # the form comes back with its errors
    assert "Line 2 (baseline_mm): Input should be a valid decimal." in html


def test_harvest_forecast_flags_a_culture_unlikely_to_reach_the_dose():
    # Counts doubling about every 3 days reach ~1.3 × 10⁹ cells by day 11: far below 7.5 × 10⁹
    body = _forecast_body([(0, "0.1"), (3, "0.2"), (6, "0.4"), (9, "0.8")])

    response = post(client_for(Role.MANUFACTURING_TECH), "harvest-forecast", body)

    assert response.status_code == 200, response.json()
    assert response.json()["tone"] == "danger"
    assert response.json()["headline"].startswith("Early warning — Day 11:")
    assert response.json()["result"]["forecast"]["early_warning"] is True


def test_harvest_forecast_with_two_counts_says_more_are_needed():
    body = _forecast_body([(0, "100000000"), (3, "400000000")], "cells")

    response = post(client_for(Role.MANUFACTURING_TECH), "harvest-forecast", body)

    assert response.status_code == 200
    assert response.json()["tone"] == "warn"
    assert response.json()["result"]["status"] == "too_few_points"
    assert response.json()["result"]["points_needed"] == 1


def test_harvest_forecast_refuses_a_duplicate_day():
    body = _forecast_body([(0, "0.1"), (3, "0.2"), (3, "0.3")])

    response = post(client_for(Role.MANUFACTURING_TECH), "harvest-forecast", body)

    assert response.status_code == 422
    assert "3" in json.dumps(response.json()["errors"])


def test_culture_ranking_puts_the_reactive_culture_first():
    body = {
        "readouts": [
            {
                "culture_id": "F07",
                "ifn_gamma_tumor_pg_per_ml": "240",
                "ifn_gamma_control_pg_per_ml": "180",
                "cd137_tumor_percent": "2.0",
                "cd137_control_percent": "1.4",
            },
            {
                "culture_id": "F03",
                "ifn_gamma_tumor_pg_per_ml": "1850",
                "ifn_gamma_control_pg_per_ml": "120",
                "cd137_tumor_percent": "14.2",
                "cd137_control_percent": "1.1",
            },
        ],
        "min_ifn_gamma_difference_pg_per_ml": "200",
        "min_ifn_gamma_fold": "2",
        "min_cd137_difference_percent": "2",
    }

    response = post(client_for(Role.QA_REVIEWER), "culture-reactivity", body)

    rows = response.json()["result"]["rows"]
    assert [row["culture_id"] for row in rows] == ["F03", "F07"]
    assert rows[0]["reactive"] is True
    assert rows[0]["ifn_gamma_difference_pg_per_ml"] == "1730"
    assert Decimal(rows[0]["ifn_gamma_fold"]) == Decimal("15.42")
    assert rows[1]["reactive"] is False


BETOF_WARNER_ALL_ASSESSED = {
    "hypotension_persisting_despite_fluids": False,
    "urine_output_persistently_low_despite_boluses": False,
    "urine_output_ml_per_kg_per_h_over_8h": "0.8",
    "serum_creatinine_mg_per_dl": "1.0",
    "creatinine_clearance_persistently_low": False,
}


@pytest.mark.parametrize(
    ("changes", "tone", "headline"),
    [
        # Table 2 covers blood pressure and kidney only, "so it cannot decide a dose alone".
        pytest.param(
            {},
            "warn",
            "Cannot decide from these criteria alone: every one was assessed and none is met, "
            "but IL-2 hold and discontinue parameters after TIL (expert consensus, Table 2) "
            "covers only blood pressure and kidney function. Check the dose against the criteria "
            "for the other organ systems before giving it.",
            id="Betof Warner 2024: nothing met, all assessed: cannot decide alone",
        ),
        pytest.param(
            {"serum_creatinine_mg_per_dl": "2.5"},
            "warn",
            "Hold: Renal: serum creatinine 2.5–2.9 mg/dL.",
            id="Betof Warner 2024: creatinine 2.5 mg/dL holds",
        ),
        pytest.param(
            {"hypotension_persisting_despite_fluids": True},
            "danger",
            None,
            id="Betof Warner 2024: hypotension despite fluids discontinues",
        ),
    ],
)
def test_il2_dose_check_against_the_2024_til_consensus(changes, tone, headline):
    response = post(
        client_for(Role.NURSE), "il2-betof-warner-2024", {**BETOF_WARNER_ALL_ASSESSED, **changes}
    )

    assert response.status_code == 200, response.json()
    assert response.json()["tone"] == tone
    if headline:
        assert response.json()["headline"] == headline


def test_il2_dose_check_never_says_give_with_a_finding_unassessed():
    body = dict(BETOF_WARNER_ALL_ASSESSED)
    del body["hypotension_persisting_despite_fluids"]

    response = post(client_for(Role.NURSE), "il2-betof-warner-2024", body)

    assert response.json()["result"]["decision"] == "cannot decide"
    assert response.json()["result"]["decisive_missing_observations"] == [
        "hypotension_persisting_despite_fluids"
    ]


def test_il2_dose_check_refuses_an_implausible_value_naming_it():
    body = {**BETOF_WARNER_ALL_ASSESSED, "serum_creatinine_mg_per_dl": "-1"}

    response = post(client_for(Role.NURSE), "il2-betof-warner-2024", body)

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["serum_creatinine_mg_per_dl"]


# Strict inputs of the IL-2 rule-set calculators: a plausible range for every number, named.
@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "heart_rate_per_min",
            "1e30",
            "heart_rate_per_min 1E+30 /min is above the plausible maximum 300 /min",
        ),
        (
            "platelets_per_mm3",
            "1e30",
            "platelets_per_mm3 1E+30 /mm³ is above the plausible maximum 2000000 /mm³",
        ),
        (
            "weight_gain_percent",
            "-200",
            "weight_gain_percent -200 % is below the plausible minimum -50 %",
        ),
    ],
)
def test_il2_dose_check_refuses_an_implausible_number_naming_field_and_limit(field, value, message):
    response = post(client_for(Role.NURSE), "il2-dutcher-2014", {field: value})

    assert response.status_code == 422
    errors = response.json()["errors"]
    assert list(errors) == [field]
    assert errors[field][0].startswith(message)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"heart_rate": "90"}, "heart_rate"),
        ({"heart_rate_per_min": True}, "heart_rate_per_min"),
        ({"intubation": 1}, "intubation"),
    ],
    ids=["unknown field", "true is not a number", "1 is not true"],
)
def test_il2_dose_check_refuses_unknown_fields_and_loose_types(body, field):
    response = post(client_for(Role.NURSE), "il2-dutcher-2014", body)

    assert response.status_code == 422
    assert list(response.json()["errors"]) == [field]


def test_il2_protocol_check_reads_both_rule_sets_and_the_strictest_wins():
    # Dutcher 2014 Table 3 meets nothing; Betof Warner 2024 Table 2: "If persistent low
    # creatinine clearance, we generally recommend discontinuation of IL-2".
    body = {**BETOF_WARNER_ALL_ASSESSED, "creatinine_clearance_persistently_low": True}

    response = post(client_for(Role.NURSE), "il2-criteria-lifileucel-us-2024", body)

    assert response.status_code == 200, response.json()
    result = response.json()["result"]
    assert result["decision"] == "stop"
    assert result["rule_set_ids"] == ["dutcher-2014", "betof-warner-2024"]
    assert response.json()["headline"] == (
        "Stop: Renal: If persistent low creatinine clearance, we generally recommend "
        "discontinuation of IL-2."
    )


def test_il2_protocol_check_never_gives_with_dutcher_criteria_unanswered():
    response = post(
        client_for(Role.NURSE), "il2-criteria-lifileucel-us-2024", BETOF_WARNER_ALL_ASSESSED
    )

    assert response.json()["result"]["decision"] == "cannot decide"
    assert "heart_rate_per_min" in response.json()["result"]["decisive_missing_observations"]


def test_il2_page_offers_not_assessed_for_each_finding():
    html = client_for(Role.NURSE).get("/calculators/il2-dutcher-2014/").content.decode()

    assert '<option value="" selected>Not assessed</option>' in html
    assert "Serum creatinine (mg/dL)" in html


def test_harvest_forecast_page_carries_the_growth_chart_data():
    response = client_for(Role.MANUFACTURING_TECH).post(
        "/calculators/harvest-forecast/",
        {
            "counts": "0, 0.05\n3, 0.3\n5, 0.9\n7, 2.8",
            "count_unit": "e9_cells",
            "harvest_day": "11",
            "dose_lower_e9_cells": "7.5",
            "dose_upper_e9_cells": "72",
            "warn_below_probability": "0.8",
        },
        **HTMX,
    )

    html = response.content.decode()
    [attribute] = re.findall(r'data-chart="([^"]*)"', html)
    chart = json.loads(unescape(attribute))
    assert chart["x"] == [str(day) for day in range(12)]
    assert [series["label"] for series in chart["series"]] == [
        "Counted",
        "Growth fit",
        "Forecast, lower",
        "Forecast, upper",
        "Dose range, lower",
        "Dose range, upper",
    ]
    assert chart["series"][0]["values"][3] == "0.3"
