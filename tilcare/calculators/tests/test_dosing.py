"""Dosing calculators through the API and the page: worked examples from the protocol files'
sources, and the refusal of every unset center setting by name, all at once."""

from __future__ import annotations

import pytest

from tilcare.calculators.tests.helpers import CENTER, post
from tilcare.calculators.tests.helpers import PATIENT as LYMPHODEPLETION_PATIENT

pytestmark = pytest.mark.django_db

LIFILEUCEL = "lifileucel-us-2024"
PATIENT = {**LYMPHODEPLETION_PATIENT, "serum_creatinine_mg_per_dl": "1.6"}
# The center's IL-2 interval 8–12 h and start 3–24 h after the infusion (lifileucel: settings).
IL2_WINDOWS = {
    "il2_interval_min_hours": "8",
    "il2_interval_max_hours": "12",
    "il2_start_min_hours": "3",
    "il2_start_max_hours": "24",
}
# One IL-2 dose given, 6 h after an infusion that ended at 14:00; asked at 05:00 the next day.
ONE_IL2_DOSE = {
    "infusion_end": "2026-03-03T14:00:00-05:00",
    "doses_given": ["2026-03-03T20:00:00-05:00"],
    "at": "2026-03-04T05:00:00-05:00",
}


def il2_course(doses: int) -> dict[str, object]:
    """`doses` IL-2 doses 8 h apart from midnight after an infusion that ended at 20:00 on
    3 March, asked at 08:00 on 6 March."""
    return {
        "infusion_end": "2026-03-03T20:00:00-05:00",
        "doses_given": [
            f"2026-03-0{4 + i // 3}T{(i % 3) * 8:02d}:00:00-05:00" for i in range(doses)
        ],
        "at": "2026-03-06T08:00:00-05:00",
    }


def test_every_unset_setting_is_named_at_once(pharmacist):
    response = post(pharmacist, f"lymphodepletion-{LIFILEUCEL}", PATIENT)

    assert response.status_code == 422
    errors = response.json()["errors"]
    # The adjusted-weight factors are not needed while no weight basis is "adjusted"
    assert set(errors) == set(CENTER)
    assert errors["bsa_cap_m2"][0].startswith(
        "Set 'BSA cap for fludarabine (m²), or no cap' (bsa_cap_m2) in the center's protocol "
        "settings: "
    )


def test_an_adjusted_weight_basis_needs_its_factor(pharmacist):
    body = {**PATIENT, **CENTER, "cyclophosphamide_weight_basis": "adjusted"}

    response = post(pharmacist, f"lymphodepletion-{LIFILEUCEL}", body)

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["cyclophosphamide_adjusted_weight_factor"]


def test_lymphodepletion_worked_example(pharmacist):
    # Amtagvi label 2024: cyclophosphamide 60 mg/kg × 80 kg = 4800 mg on days −7 and −6;
    # fludarabine 25 mg/m², reduced by the center's band: CrCl (140 − 52) × 80 / (72 × 1.6)
    # = 61 mL/min → 20 mg/m² × Mosteller BSA √(178 × 80 / 3600) = 1.99 m² → 39.80 → 40 mg.
    response = post(pharmacist, f"lymphodepletion-{LIFILEUCEL}", {**PATIENT, **CENTER})

    assert response.status_code == 200, response.json()
    lines = [
        (line["day_label"], line["agent"], line["dose"]["value"], line["unrounded_dose_mg"])
        for line in response.json()["result"]["lines"]
    ]
    assert lines == [
        ("Day −7", "cyclophosphamide", "4800", "4800"),
        ("Day −6", "cyclophosphamide", "4800", "4800"),
    ] + [(f"Day −{n}", "fludarabine", "40", "39.80") for n in (5, 4, 3, 2, 1)]
    renal = response.json()["result"]["agents"][1]["renal"]
    assert renal["crcl"]["crcl"] == {"value": "61", "unit": "mL/min"}
    assert response.json()["headline"] == "Cyclophosphamide 4800 mg daily; fludarabine 40 mg daily"


def test_crcl_below_the_lowest_band_is_refused(pharmacist):
    # CrCl (140 − 52) × 80 / (72 × 2.6) = 38 mL/min: below the lowest band the center set (40)
    body = {**PATIENT, **CENTER, "serum_creatinine_mg_per_dl": "2.6"}

    response = post(pharmacist, f"lymphodepletion-{LIFILEUCEL}", body)

    assert response.status_code == 422
    [message] = [m for ms in response.json()["errors"].values() for m in ms]
    assert message.startswith("CrCl 38 mL/min is below the lowest band the center set (40 mL/min)")


def test_il2_dose_in_iu_with_miu_shown_explicitly(pharmacist):
    # 600,000 IU/kg (Medina JITC 2023) × 80 kg = 48,000,000 IU = 48 MIU
    body = {"weight_kg": "80", "height_cm": "178", "sex": "male", "il2_weight_basis": "actual"}

    response = post(pharmacist, f"il2-dose-{LIFILEUCEL}", body)

    assert response.status_code == 200, response.json()
    assert response.json()["result"]["dose"] == {"value": "48000000", "unit": "IU"}
    assert response.json()["headline"] == "IL-2 48000000 IU per dose (48 MIU)"


@pytest.mark.parametrize(
    ("total", "unit", "bags", "tone"),
    [
        pytest.param("7.5", "e9_cells", 1, "ok", id="label 2024: 7.5 × 10⁹ is the minimum"),
        pytest.param("7.49", "e9_cells", 1, "danger", id="label 2024: below 7.5 × 10⁹"),
        pytest.param("72000000000", "cells", 4, "ok", id="label 2024: 72 × 10⁹ in cells"),
        pytest.param("72.01", "e9_cells", 2, "danger", id="label 2024: above 72 × 10⁹"),
        pytest.param("20", "e9_cells", 5, "danger", id="label 2024: at most 4 bags"),
    ],
)
def test_cell_dose_against_the_label_range(pharmacist, total, unit, bags, tone):
    body = {"total_viable_cells": total, "unit": unit, "bag_count": bags}

    response = post(pharmacist, f"cell-dose-{LIFILEUCEL}", body)

    assert response.status_code == 200
    assert response.json()["tone"] == tone


@pytest.mark.parametrize(
    ("at", "status"),
    [
        pytest.param("2026-03-03T09:59:00-05:00", "too_early", id="label: 23 h 59 min"),
        pytest.param("2026-03-03T10:00:00-05:00", "allowed", id="label: exactly 24 h"),
        pytest.param("2026-03-06T10:00:00-05:00", "allowed", id="label: exactly 4 days"),
        pytest.param("2026-03-06T10:01:00-05:00", "too_late", id="label: after 4 days"),
    ],
)
def test_infusion_window_after_the_last_fludarabine(pharmacist, at, status):
    body = {"last_fludarabine_end": "2026-03-02T10:00:00-05:00", "at": at}

    response = post(pharmacist, f"infusion-window-{LIFILEUCEL}", body)

    assert response.status_code == 200, response.json()
    result = response.json()["result"]
    assert result["status"] == status
    assert result["allowed_from"] == "2026-03-03T10:00:00-05:00"
    assert result["allowed_until"] == "2026-03-06T10:00:00-05:00"


def test_infusion_window_refuses_a_time_without_offset(pharmacist):
    body = {"last_fludarabine_end": "2026-03-02T10:00:00", "at": "2026-03-03T10:00:00-05:00"}

    response = post(pharmacist, f"infusion-window-{LIFILEUCEL}", body)

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["last_fludarabine_end"]


def test_il2_schedule_next_dose_window(pharmacist):
    # The center's interval 8–12 h after the previous dose (lifileucel: a center setting)
    body = {**ONE_IL2_DOSE, **IL2_WINDOWS}

    response = post(pharmacist, f"il2-schedule-{LIFILEUCEL}", body)

    assert response.status_code == 200, response.json()
    result = response.json()["result"]
    assert result["status"] == "allowed"
    assert result["next_dose_number"] == 2
    assert result["allowed_from"] == "2026-03-04T04:00:00-05:00"
    assert result["allowed_until"] == "2026-03-04T08:00:00-05:00"


def test_il2_schedule_stops_at_the_maximum_number_of_doses(pharmacist):
    # Up to 6 doses after lifileucel (Medina JITC 2023)
    body = {**il2_course(6), **IL2_WINDOWS}

    response = post(pharmacist, f"il2-schedule-{LIFILEUCEL}", body)

    assert response.status_code == 200, response.json()
    assert response.json()["result"]["status"] == "maximum_reached"
    assert response.json()["tone"] == "danger"


def test_il2_schedule_after_lifileucel_needs_no_center_setting(pharmacist):
    # C-144-01: "Three to 24 hours after infusion, patients received IL-2 … every 8 to 12 hours
    # for up to 6 doses"; ONS (US PI): "every 8–12 hours for a maximum of six doses".
    body = ONE_IL2_DOSE

    response = post(pharmacist, f"il2-schedule-{LIFILEUCEL}", body)

    assert response.status_code == 200, response.json()
    result = response.json()["result"]
    assert (result["minimum_hours"], result["maximum_hours"]) == ("8", "12")
    assert result["allowed_from"] == "2026-03-04T04:00:00-05:00"
    assert result["allowed_until"] == "2026-03-04T08:00:00-05:00"


def test_il2_schedule_refuses_a_center_setting_that_widens_the_protocol_range(pharmacist):
    # C-144-01: "every 8 to 12 hours": a 6-hour interval would widen it.
    body = {**ONE_IL2_DOSE, "il2_interval_min_hours": "6"}

    response = post(pharmacist, f"il2-schedule-{LIFILEUCEL}", body)

    assert response.status_code == 422
    errors = response.json()["errors"]
    assert list(errors) == ["il2_interval_min_hours"]
    assert "6 h would widen the protocol's range 8–12 h" in errors["il2_interval_min_hours"][0]


def test_il2_schedule_flags_doses_beyond_the_maximum(pharmacist):
    # "for up to 6 doses" (C-144-01): seven are recorded.
    body = il2_course(7)

    response = post(pharmacist, f"il2-schedule-{LIFILEUCEL}", body)

    assert response.status_code == 200, response.json()
    assert response.json()["result"]["doses_beyond_maximum"] == 1
    assert response.json()["headline"].startswith(
        "No more IL-2, and 1 dose beyond the maximum: 7 doses are recorded"
    )
    assert response.json()["tone"] == "danger"


def test_the_il2_schedule_page_says_the_interval_setting_is_optional_and_who_decides(
    pharmacist,
):
    page = pharmacist.get(f"/calculators/il2-schedule-{LIFILEUCEL}/").content.decode()

    assert "Center setting, optional: the protocol gives IL-2 every 8 to 12 hours." in page
    assert "pharmacist and treating physician may decide on a narrower interval" in page


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("weight_kg", "1e30", "weight_kg 1E+30 is above the plausible maximum 350 kg."),
        ("weight_kg", "-80", "weight_kg -80 is below the plausible minimum 20 kg."),
        ("height_cm", "17", "height_cm 17 is below the plausible minimum 100 cm."),
    ],
)
def test_il2_dose_refuses_an_implausible_body_value_naming_field_and_limit(
    pharmacist, field, value, message
):
    body = {"weight_kg": "80", "height_cm": "178", "sex": "male", "il2_weight_basis": "actual"}

    response = post(pharmacist, f"il2-dose-{LIFILEUCEL}", {**body, field: value})

    assert response.status_code == 422
    assert response.json()["errors"] == {field: [message]}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"weight": "80"}, "weight"),
        ({"weight_kg": True}, "weight_kg"),
    ],
    ids=["unknown field", "true is not a number"],
)
def test_il2_dose_refuses_unknown_fields_and_loose_types(pharmacist, changes, field):
    body = {"weight_kg": "80", "height_cm": "178", "sex": "male", "il2_weight_basis": "actual"}

    response = post(pharmacist, f"il2-dose-{LIFILEUCEL}", {**body, **changes})

    assert response.status_code == 422
    assert field in response.json()["errors"]


def test_the_page_explains_each_center_setting_and_takes_bands_one_a_line(pharmacist):
    page = pharmacist.get(f"/calculators/lymphodepletion-{LIFILEUCEL}/").content.decode()
    assert "Center setting, no default:" in page
    assert 'name="fludarabine_renal_bands"' in page

    form = {**PATIENT, **{k: v for k, v in CENTER.items() if k != "fludarabine_renal_bands"}}
    form["fludarabine_renal_bands"] = "40, 49, 15\n50, 79, 20"
    response = pharmacist.post(
        f"/calculators/lymphodepletion-{LIFILEUCEL}/", form, HTTP_HX_REQUEST="true"
    )

    html = response.content.decode()
    assert response.status_code == 200, html
    assert "Cyclophosphamide 4800 mg daily; fludarabine 40 mg daily" in html


def test_the_il2_schedule_page_reads_times_in_the_center_zone(pharmacist):
    # The test center is in America/New_York: 2026-03-04 05:00 there is 10:00 UTC
    response = pharmacist.post(
        f"/calculators/il2-schedule-{LIFILEUCEL}/",
        {
            "infusion_end": "2026-03-03T14:00",
            "doses_given": "2026-03-03 20:00\n",
            "at": "2026-03-04T05:00",
            **IL2_WINDOWS,
        },
        HTTP_HX_REQUEST="true",
    )

    html = response.content.decode()
    assert response.status_code == 200, html
    assert "calc-headline calc-ok" in html
    assert "2026-03-04T05:00:00-05:00" in html
