"""Which center settings the shipped protocol files ask for, and their values read from plain text
(`clinical.dosing.protocol_settings`), against the real files: lifileucel US label 2024 and NKI
phase 3 2022.

Pure: no database. The values are a test center's choices, not recommendations (the sources
settle none of them, which is why they are center settings); they match the treatment tests'
`LIFILEUCEL_VALUES` and `NKI_VALUES`.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from tilcare.clinical.dosing.protocol_settings import (
    BAND_FIELDS,
    optional_keys,
    plain_value,
    problems,
    required_specs,
    settings_from_plain,
    shown,
    specs_in,
)
from tilcare.clinical.dosing.regimens import WeightBasisSettings
from tilcare.clinical.dosing.settings import (
    DOSING_WEIGHT_ABOVE_ACTUAL,
    IDEAL_WEIGHT_BELOW_60_IN,
    ChoiceSetting,
    DecimalSetting,
    RenalBand,
    SettingSpec,
)
from tilcare.clinical.units import (
    FloatNotAllowed,
    Quantity,
    Unit,
    m2,
    mg,
    mg_per_kg,
    mg_per_m2,
    ml_per_min,
)
from tilcare.protocols.loader import load_protocol
from tilcare.protocols.schema import Protocol

SHARED = [IDEAL_WEIGHT_BELOW_60_IN.key, DOSING_WEIGHT_ABOVE_ACTUAL.key]
NARROWING = [
    "il2_interval_min_hours",
    "il2_interval_max_hours",
    "il2_start_min_hours",
    "il2_start_max_hours",
]
FACTORS = [
    "cyclophosphamide_adjusted_weight_factor",
    "crcl_adjusted_weight_factor",
    "il2_adjusted_weight_factor",
]
BASES = ["cyclophosphamide_weight_basis", "crcl_weight_basis", "il2_weight_basis"]
THAW = "thaw_to_infusion_limit_minutes"
FILGRASTIM = "filgrastim_dose_ug_per_kg"

RENAL_BANDS = [
    {"crcl_from_ml_per_min": "40", "crcl_to_ml_per_min": "49", "dose": "15"},
    {"crcl_from_ml_per_min": "50", "crcl_to_ml_per_min": "79", "dose": "20"},
]
# Actual weights throughout: no adjusted-weight factor and no shared ideal-weight rule needed.
LIFILEUCEL_VALUES: dict[str, object] = {
    "cyclophosphamide_weight_basis": "actual",
    "cyclophosphamide_rounding_increment_mg": "10",
    "fludarabine_rounding_increment_mg": "1",
    "bsa_formula": "mosteller",
    "bsa_cap_m2": "no cap",
    "fludarabine_renal_bands": RENAL_BANDS,
    "crcl_weight_basis": "actual",
    "mesna_dose": "60",
    "il2_weight_basis": "actual",
    "thaw_to_infusion_limit_minutes": "60",
    "filgrastim_dose_ug_per_kg": "5",
}
# The NKI sources give no filgrastim: its dose is no setting of that protocol.
NKI_VALUES: dict[str, object] = {
    **{key: value for key, value in LIFILEUCEL_VALUES.items() if key != FILGRASTIM},
    "infusion_earliest_hours": "24",
    "infusion_latest_hours": "96",
    "il2_interval_max_hours": "8",
    "il2_start_min_hours": "0",
    "il2_start_max_hours": "24",
}


@pytest.fixture
def lifileucel() -> Protocol:
    return load_protocol("lifileucel_us", "2024")


@pytest.fixture
def nki() -> Protocol:
    return load_protocol("nki_phase3", "2022")


def keys(specs: list[SettingSpec]) -> list[str]:
    return [spec.key for spec in specs]


def label(protocol: Protocol, key: str) -> str:
    return protocol.setting(key).label


# specs_in ---------------------------------------------------------------------------------------


def test_specs_in_lists_every_setting_once_in_the_order_the_regimen_refers_to_them(
    lifileucel: Protocol,
) -> None:
    assert keys(specs_in(lifileucel)) == [
        "cyclophosphamide_rounding_increment_mg",
        "cyclophosphamide_weight_basis",
        "cyclophosphamide_adjusted_weight_factor",
        # the first basis offering a derived weight brings the two settings such weights share
        *SHARED,
        "fludarabine_rounding_increment_mg",
        "bsa_formula",
        "bsa_cap_m2",
        "fludarabine_renal_bands",
        "crcl_weight_basis",
        "crcl_adjusted_weight_factor",
        "mesna_dose",
        # the infusion day's thaw-to-infusion limit, before IL-2 as the regimen runs
        "thaw_to_infusion_limit_minutes",
        "il2_weight_basis",
        "il2_adjusted_weight_factor",
        *NARROWING,
        # filgrastim from Day +1, after IL-2 has started
        FILGRASTIM,
    ]


def test_specs_in_covers_every_setting_the_files_declare_plus_the_shared_weight_settings(
    lifileucel: Protocol, nki: Protocol
) -> None:
    for protocol in (lifileucel, nki):
        declared = {spec.key for spec in protocol.center_settings}
        assert set(keys(specs_in(protocol))) == declared | set(SHARED)
        assert len(specs_in(protocol)) == len(declared) + 2


def test_specs_in_of_one_part_is_that_parts_settings(lifileucel: Protocol) -> None:
    # The IL-2 regimen alone still brings the shared weight settings: it offers ideal weight.
    assert keys(specs_in(lifileucel.il2)) == [
        "il2_weight_basis",
        "il2_adjusted_weight_factor",
        *SHARED,
        *NARROWING,
    ]


def _basis(options: tuple[str, ...], factor: bool) -> WeightBasisSettings:
    choice = ChoiceSetting("test_weight_basis", "Test weight", "the center chooses.", options)
    adjusted = (
        DecimalSetting(
            "test_factor", "Test factor", "the center chooses.", None, Decimal(0), Decimal(1), "x"
        )
        if factor
        else None
    )
    return WeightBasisSettings(choice, adjusted)


def test_shared_weight_settings_appear_only_where_a_derived_weight_is_offered() -> None:
    assert keys(specs_in(_basis(("actual",), factor=False))) == ["test_weight_basis"]
    assert keys(specs_in(_basis(("actual", "ideal"), factor=False))) == [
        "test_weight_basis",
        *SHARED,
    ]
    assert keys(specs_in(_basis(("actual", "adjusted"), factor=True))) == [
        "test_weight_basis",
        "test_factor",
        *SHARED,
    ]


# optional_keys and required_specs --------------------------------------------------------------


def test_with_nothing_chosen_narrowing_factors_and_shared_settings_may_stay_blank(
    lifileucel: Protocol,
) -> None:
    assert optional_keys(lifileucel, {}) == set(NARROWING) | set(FACTORS) | set(SHARED)


def test_actual_weights_throughout_need_no_factor_and_no_shared_setting(
    lifileucel: Protocol,
) -> None:
    assert optional_keys(lifileucel, dict.fromkeys(BASES, "actual")) == (
        set(NARROWING) | set(FACTORS) | set(SHARED)
    )


def test_the_adjusted_factor_is_needed_only_where_its_basis_is_adjusted(
    lifileucel: Protocol,
) -> None:
    chosen = {**dict.fromkeys(BASES, "actual"), "cyclophosphamide_weight_basis": "adjusted"}
    # Adjusted weight is a derived weight: the shared settings are needed as well.
    assert optional_keys(lifileucel, chosen) == set(NARROWING) | {
        "crcl_adjusted_weight_factor",
        "il2_adjusted_weight_factor",
    }


def test_ideal_weight_needs_the_shared_settings_but_no_factor(lifileucel: Protocol) -> None:
    chosen = {**dict.fromkeys(BASES, "actual"), "il2_weight_basis": "ideal"}
    assert optional_keys(lifileucel, chosen) == set(NARROWING) | set(FACTORS)


@pytest.mark.parametrize(
    "chosen",
    [
        pytest.param({}, id="nothing chosen"),
        pytest.param(dict.fromkeys(BASES, "actual"), id="actual"),
        pytest.param(dict.fromkeys(BASES, "ideal"), id="ideal"),
        pytest.param(dict.fromkeys(BASES, "adjusted"), id="adjusted"),
    ],
)
def test_for_patients_the_shared_settings_are_always_optional(
    lifileucel: Protocol, chosen: dict[str, object]
) -> None:
    # The calculator's reading: the core asks for them by name only for a patient who needs them.
    optional = optional_keys(lifileucel, chosen, needed_for_patients=True)
    assert set(SHARED) <= optional
    assert set(NARROWING) <= optional


def test_required_specs_for_actual_weights_are_the_eleven_entered(lifileucel: Protocol) -> None:
    assert keys(required_specs(lifileucel, LIFILEUCEL_VALUES)) == [
        "cyclophosphamide_rounding_increment_mg",
        "cyclophosphamide_weight_basis",
        "fludarabine_rounding_increment_mg",
        "bsa_formula",
        "bsa_cap_m2",
        "fludarabine_renal_bands",
        "crcl_weight_basis",
        "mesna_dose",
        "thaw_to_infusion_limit_minutes",
        "il2_weight_basis",
        "filgrastim_dose_ug_per_kg",
    ]
    assert set(keys(required_specs(lifileucel, LIFILEUCEL_VALUES))) == set(LIFILEUCEL_VALUES)


def test_required_specs_grow_with_an_adjusted_basis(lifileucel: Protocol) -> None:
    chosen = {**LIFILEUCEL_VALUES, "crcl_weight_basis": "adjusted"}
    required = keys(required_specs(lifileucel, chosen))
    assert set(required) == set(LIFILEUCEL_VALUES) | {"crcl_adjusted_weight_factor", *SHARED}


def test_nki_requires_its_own_windows_but_not_a_narrowing_it_does_not_have(nki: Protocol) -> None:
    required = keys(required_specs(nki, NKI_VALUES))
    assert set(required) == set(NKI_VALUES)
    assert "il2_interval_min_hours" not in keys(specs_in(nki))  # a fixed 8 h in this protocol


# problems ---------------------------------------------------------------------------------------


def test_complete_values_have_no_problem(lifileucel: Protocol, nki: Protocol) -> None:
    required = required_specs(lifileucel, LIFILEUCEL_VALUES)
    assert problems(lifileucel, LIFILEUCEL_VALUES, required=required) == {}
    assert problems(nki, NKI_VALUES, required=required_specs(nki, NKI_VALUES)) == {}


def test_an_unknown_key_is_refused_by_name(lifileucel: Protocol) -> None:
    found = problems(lifileucel, {**LIFILEUCEL_VALUES, "mesna_dose_mg": "60"})
    assert found == {"mesna_dose_mg": "“mesna_dose_mg” is not a center setting of this protocol."}


def test_a_setting_of_another_protocol_is_unknown_here(lifileucel: Protocol) -> None:
    found = problems(lifileucel, {"infusion_earliest_hours": "24"})
    assert found == {
        "infusion_earliest_hours": "“infusion_earliest_hours” is not a center setting of this "
        "protocol."
    }


def test_a_float_is_refused_by_key_not_raised(lifileucel: Protocol) -> None:
    found = problems(lifileucel, {"mesna_dose": 60.0})
    assert found == {"mesna_dose": str(FloatNotAllowed(60.0, "center setting mesna_dose"))}


def test_a_float_inside_a_renal_band_is_refused_by_the_bands_key(lifileucel: Protocol) -> None:
    band = {"crcl_from_ml_per_min": 40.0, "crcl_to_ml_per_min": "79", "dose": "20"}
    found = problems(lifileucel, {"fludarabine_renal_bands": [band]})
    assert list(found) == ["fludarabine_renal_bands"]
    assert "40.0 is a float" in found["fludarabine_renal_bands"]


@pytest.mark.parametrize("key", ["mesna_dose", "cyclophosphamide_adjusted_weight_factor"])
def test_true_is_not_a_number(lifileucel: Protocol, key: str) -> None:
    assert problems(lifileucel, {key: True}) == {
        key: f"Center setting '{label(lifileucel, key)}' ({key}): True is not a number."
    }


def test_true_is_not_an_option(lifileucel: Protocol) -> None:
    assert problems(lifileucel, {"bsa_formula": True}) == {
        "bsa_formula": f"Center setting '{label(lifileucel, 'bsa_formula')}' (bsa_formula): "
        "True is not one of the options."
    }


def test_an_option_is_matched_exactly(lifileucel: Protocol) -> None:
    assert problems(lifileucel, {"bsa_formula": "Mosteller"}) == {
        "bsa_formula": f"Center setting '{label(lifileucel, 'bsa_formula')}' (bsa_formula): "
        "'Mosteller' is not one of the options: mosteller, dubois."
    }


@pytest.mark.parametrize(
    ("key", "value", "limit"),
    [
        ("mesna_dose", "120.01", "120.01 mg/kg is above the allowed maximum 120 mg/kg."),
        ("mesna_dose", "0.9", "0.9 mg/kg is below the allowed minimum 1 mg/kg."),
        ("bsa_cap_m2", "3.5", "3.5 m² is above the allowed maximum 3 m²."),
        (
            "cyclophosphamide_rounding_increment_mg",
            "0",
            "0 mg is below the allowed minimum 0.1 mg.",
        ),
        ("il2_adjusted_weight_factor", "1.1", "1.1 is above the allowed maximum 1."),
        (FILGRASTIM, "21", "21 µg/kg is above the allowed maximum 20 µg/kg."),
        (FILGRASTIM, "0.5", "0.5 µg/kg is below the allowed minimum 1 µg/kg."),
    ],
)
def test_a_decimal_out_of_range_names_the_key_and_the_limit(
    lifileucel: Protocol, key: str, value: str, limit: str
) -> None:
    assert problems(lifileucel, {key: value}) == {
        key: f"Center setting '{label(lifileucel, key)}' ({key}): {limit}"
    }


@pytest.mark.parametrize("value", ["2.5", "no cap", "1", "3"])
def test_a_bsa_cap_is_a_number_in_range_or_no_cap(lifileucel: Protocol, value: str) -> None:
    assert problems(lifileucel, {"bsa_cap_m2": value}) == {}


@pytest.mark.parametrize("value", ["none", "No cap", ""])
def test_a_bsa_cap_is_not_any_other_text(lifileucel: Protocol, value: str) -> None:
    assert problems(lifileucel, {"bsa_cap_m2": value}) == {
        "bsa_cap_m2": f"Center setting '{label(lifileucel, 'bsa_cap_m2')}' (bsa_cap_m2): "
        f"“{value}” is not a number."
    }


@pytest.mark.parametrize("value", ["NaN", "Infinity", "ten"])
def test_text_that_is_not_a_finite_number_is_refused(lifileucel: Protocol, value: str) -> None:
    assert problems(lifileucel, {"mesna_dose": value}) == {
        "mesna_dose": f"Center setting '{label(lifileucel, 'mesna_dose')}' (mesna_dose): "
        f"“{value}” is not a number."
    }


def test_no_cap_is_only_for_the_setting_that_offers_it(lifileucel: Protocol) -> None:
    key = "cyclophosphamide_adjusted_weight_factor"
    assert problems(lifileucel, {key: "no cap"}) == {
        key: f"Center setting '{label(lifileucel, key)}' ({key}): “no cap” is not a number."
    }


def test_a_gap_between_renal_bands_is_refused(lifileucel: Protocol) -> None:
    bands = [
        {"crcl_from_ml_per_min": "40", "crcl_to_ml_per_min": "48", "dose": "15"},
        {"crcl_from_ml_per_min": "50", "crcl_to_ml_per_min": "79", "dose": "20"},
    ]
    key = "fludarabine_renal_bands"
    assert problems(lifileucel, {key: bands}) == {
        key: f"Center setting '{label(lifileucel, key)}' ({key}): bands must follow on without "
        "gap or overlap: CrCl 40–48 mL/min → 15 mg/m² is followed by CrCl 50–79 mL/min → "
        "20 mg/m²; the next band must start at 49 mL/min."
    }


@pytest.mark.parametrize(
    ("band", "problem"),
    [
        pytest.param(
            {"crcl_from_ml_per_min": "40", "crcl_to_ml_per_min": "49"},
            f"band 1: a band has exactly {', '.join(BAND_FIELDS)}.",
            id="a field missing",
        ),
        pytest.param(
            {**RENAL_BANDS[0], "dose_mg": "15"},
            f"band 1: a band has exactly {', '.join(BAND_FIELDS)}.",
            id="an unknown field",
        ),
        pytest.param(
            {**RENAL_BANDS[0], "dose": "26"},
            "band CrCl 40–49 mL/min → 26 mg/m²: the dose must lie between 1 and 25 mg/m².",
            id="dose above the protocol's",
        ),
        pytest.param(
            {**RENAL_BANDS[0], "crcl_to_ml_per_min": "49.5"},
            "CrCl to 49.5 mL/min must be a whole number (CrCl is compared rounded to a whole "
            "mL/min).",
            id="not whole",
        ),
    ],
)
def test_a_malformed_band_is_refused(
    lifileucel: Protocol, band: dict[str, object], problem: str
) -> None:
    key = "fludarabine_renal_bands"
    assert problems(lifileucel, {key: [band]}) == {
        key: f"Center setting '{label(lifileucel, key)}' ({key}): {problem}"
    }


def test_no_band_at_all_is_refused(lifileucel: Protocol) -> None:
    key = "fludarabine_renal_bands"
    assert problems(lifileucel, {key: []}) == {
        key: f"Center setting '{label(lifileucel, key)}' ({key}): expected at least one renal "
        "band (CrCl from, to, dose)."
    }


def test_a_narrowing_value_outside_the_protocol_range_is_refused(lifileucel: Protocol) -> None:
    key = "il2_interval_min_hours"
    assert problems(lifileucel, {key: "7"}) == {
        key: f"Center setting '{label(lifileucel, key)}' ({key}): 7 h is below the allowed "
        "minimum 8 h."
    }
    assert problems(lifileucel, {"il2_start_max_hours": "25"}) == {
        "il2_start_max_hours": f"Center setting '{label(lifileucel, 'il2_start_max_hours')}' "
        "(il2_start_max_hours): 25 h is above the allowed maximum 24 h."
    }


def test_a_narrowing_within_the_range_is_accepted(lifileucel: Protocol) -> None:
    assert problems(lifileucel, {"il2_interval_min_hours": "10", "il2_start_max_hours": "12"}) == {}


def test_narrowed_ends_that_cross_are_refused_on_the_latest(lifileucel: Protocol) -> None:
    # Each lies within 8–12 h, but the interval would end before it starts.
    found = problems(lifileucel, {"il2_interval_min_hours": "11", "il2_interval_max_hours": "9"})
    key = "il2_interval_max_hours"
    assert found == {
        key: f"Center setting '{label(lifileucel, key)}' ({key}): the IL-2 interval starts at "
        "11 h but ends at 9 h; the earliest must not be later than the latest."
    }


def test_a_narrowed_end_may_meet_the_protocols_other_end(lifileucel: Protocol) -> None:
    # The start window's protocol end is 3 h: a latest of 3 h still leaves a window of one instant.
    assert problems(lifileucel, {"il2_start_max_hours": "3"}) == {}
    assert problems(lifileucel, {"il2_start_min_hours": "24"}) == {}


def test_an_infusion_window_set_backwards_is_refused(nki: Protocol) -> None:
    assert problems(nki, {**NKI_VALUES, "infusion_earliest_hours": "96"}) == {}
    found = problems(nki, {"infusion_earliest_hours": "96", "infusion_latest_hours": "24"})
    key = "infusion_latest_hours"
    assert found == {
        key: f"Center setting '{label(nki, key)}' ({key}): the infusion window starts at 96 h "
        "but ends at 24 h; the earliest must not be later than the latest."
    }


def test_each_required_setting_left_blank_is_named(lifileucel: Protocol) -> None:
    values = {k: v for k, v in LIFILEUCEL_VALUES.items() if k not in ("mesna_dose", "bsa_cap_m2")}
    found = problems(lifileucel, values, required=required_specs(lifileucel, values))
    assert list(found) == ["bsa_cap_m2", "mesna_dose"]
    for key in found:
        spec = lifileucel.setting(key)
        assert found[key] == (
            f"Set '{spec.label}' ({key}) in the center's protocol settings: {spec.why_unconfirmed}"
        )


@pytest.mark.parametrize("name", ["lifileucel", "nki"])
def test_the_thaw_limit_is_required_in_both_protocols_with_no_default(
    name: str, request: pytest.FixtureRequest
) -> None:
    protocol: Protocol = request.getfixturevalue(name)
    complete = LIFILEUCEL_VALUES if name == "lifileucel" else NKI_VALUES
    values = {k: v for k, v in complete.items() if k != THAW}
    found = problems(protocol, values, required=required_specs(protocol, values))
    spec = protocol.setting(THAW)
    assert found == {
        THAW: f"Set '{spec.label}' ({THAW}) in the center's protocol settings: "
        f"{spec.why_unconfirmed}"
    }
    assert THAW not in optional_keys(protocol, values)


def test_the_filgrastim_dose_is_required_for_lifileucel_with_no_default(
    lifileucel: Protocol,
) -> None:
    # The label gives filgrastim from Day 1 but no dose: the center enters it in µg/kg.
    values = {k: v for k, v in LIFILEUCEL_VALUES.items() if k != FILGRASTIM}
    found = problems(lifileucel, values, required=required_specs(lifileucel, values))
    spec = lifileucel.setting(FILGRASTIM)
    assert found == {
        FILGRASTIM: f"Set '{spec.label}' ({FILGRASTIM}) in the center's protocol settings: "
        f"{spec.why_unconfirmed}"
    }
    assert FILGRASTIM not in optional_keys(lifileucel, values)
    assert lifileucel.filgrastim is not None
    assert keys(specs_in(lifileucel.filgrastim)) == [FILGRASTIM]
    assert lifileucel.premedication is not None
    assert keys(specs_in(lifileucel.premedication)) == []  # premedication needs no setting


def test_nki_has_no_filgrastim_dose_to_set(nki: Protocol) -> None:
    # The NKI sources give no filgrastim regimen, so there is nothing for the center to enter.
    assert FILGRASTIM not in keys(specs_in(nki))
    assert problems(nki, {FILGRASTIM: "5"}) == {
        FILGRASTIM: "“filgrastim_dose_ug_per_kg” is not a center setting of this protocol."
    }


def test_the_thaw_limit_is_kept_out_of_the_infusion_window(
    lifileucel: Protocol, nki: Protocol
) -> None:
    # The window calculator reads only the window's settings: it never asks for the thaw limit.
    assert keys(specs_in(lifileucel.infusion_window)) == []
    assert keys(specs_in(nki.infusion_window)) == [
        "infusion_earliest_hours",
        "infusion_latest_hours",
    ]
    assert keys(specs_in(nki.thaw)) == [THAW]


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("9", "9 min is below the allowed minimum 10 min."),
        ("720.5", "720.5 min is above the allowed maximum 720 min."),
        ("no limit", "“no limit” is not a number."),
    ],
    ids=["below 10 min", "above 720 min", "no number"],
)
def test_a_thaw_limit_outside_the_plausible_minutes_is_refused(
    lifileucel: Protocol, value: str, problem: str
) -> None:
    assert problems(lifileucel, {THAW: value}) == {
        THAW: f"Center setting '{label(lifileucel, THAW)}' ({THAW}): {problem}"
    }


def test_a_derived_basis_requires_the_shared_weight_settings_by_name(
    lifileucel: Protocol,
) -> None:
    values = {**LIFILEUCEL_VALUES, "il2_weight_basis": "ideal"}
    found = problems(lifileucel, values, required=required_specs(lifileucel, values))
    assert list(found) == SHARED
    assert found[DOSING_WEIGHT_ABOVE_ACTUAL.key].startswith(
        f"Set '{DOSING_WEIGHT_ABOVE_ACTUAL.label}' (dosing_weight_above_actual) in the center's "
        "protocol settings: "
    )


def test_a_wrong_value_is_named_once_not_also_as_missing(lifileucel: Protocol) -> None:
    values = {**LIFILEUCEL_VALUES, "mesna_dose": "0"}
    found = problems(lifileucel, values, required=required_specs(lifileucel, values))
    assert list(found) == ["mesna_dose"]
    assert "below the allowed minimum 1 mg/kg" in found["mesna_dose"]


def test_blank_none_is_not_a_value(lifileucel: Protocol) -> None:
    assert problems(lifileucel, {"mesna_dose": None}) == {}


# settings_from_plain, plain_value, shown --------------------------------------------------------


def test_plain_values_are_typed_as_the_core_reads_them(lifileucel: Protocol) -> None:
    settings = settings_from_plain(specs_in(lifileucel), LIFILEUCEL_VALUES)
    assert set(settings) == set(LIFILEUCEL_VALUES)
    assert settings["cyclophosphamide_rounding_increment_mg"] == mg(10)
    assert settings["mesna_dose"] == mg_per_kg(60)
    assert settings[THAW] == Quantity.of(60, Unit.minutes)
    assert settings["bsa_cap_m2"] == "no cap"
    assert settings["bsa_formula"] == "mosteller"
    bands = settings["fludarabine_renal_bands"]
    assert isinstance(bands, tuple)
    assert [str(band) for band in bands] == [
        "CrCl 40–49 mL/min → 15 mg/m²",
        "CrCl 50–79 mL/min → 20 mg/m²",
    ]
    assert all(isinstance(band, RenalBand) for band in bands)


def test_a_blank_stays_absent_so_the_core_names_it_when_needed(lifileucel: Protocol) -> None:
    settings = settings_from_plain(specs_in(lifileucel), {"mesna_dose": None, "bsa_cap_m2": "2"})
    assert dict(settings) == {"bsa_cap_m2": m2(2)}


def test_keys_outside_the_specs_are_not_read(lifileucel: Protocol) -> None:
    settings = settings_from_plain(specs_in(lifileucel.il2), LIFILEUCEL_VALUES)
    assert dict(settings) == {"il2_weight_basis": "actual"}


def test_settings_from_plain_refuses_a_float(lifileucel: Protocol) -> None:
    with pytest.raises(FloatNotAllowed):
        settings_from_plain(specs_in(lifileucel), {"mesna_dose": 60.0})


@pytest.mark.parametrize(
    "values",
    [
        pytest.param(LIFILEUCEL_VALUES, id="lifileucel"),
        pytest.param(
            {
                **LIFILEUCEL_VALUES,
                "bsa_cap_m2": "2.20",
                "cyclophosphamide_weight_basis": "adjusted",
                "cyclophosphamide_adjusted_weight_factor": "0.4",
                "il2_interval_min_hours": "10.5",
                IDEAL_WEIGHT_BELOW_60_IN.key: "use_actual_weight",
                DOSING_WEIGHT_ABOVE_ACTUAL.key: "refuse",
            },
            id="adjusted, cap, narrowed",
        ),
    ],
)
def test_plain_value_round_trips_exactly(lifileucel: Protocol, values: dict[str, object]) -> None:
    specs = specs_in(lifileucel)
    typed = settings_from_plain(specs, values)
    stored = {key: plain_value(typed[key]) for key in typed}
    # Stored as text (trailing zeros kept: "2.20" stays what the pharmacist typed).
    assert stored == values
    assert settings_from_plain(specs, stored) == typed


def test_plain_value_of_each_kind() -> None:
    band = RenalBand(ml_per_min(40), ml_per_min(49), mg_per_m2(15))
    assert plain_value(Quantity.of("10.5", Unit.hours)) == "10.5"
    assert plain_value(Decimal("0.4")) == "0.4"
    assert plain_value("no cap") == "no cap"
    assert plain_value((band,)) == [
        {"crcl_from_ml_per_min": "40", "crcl_to_ml_per_min": "49", "dose": "15"}
    ]


def test_shown_reads_as_a_pharmacist_reads_it(lifileucel: Protocol) -> None:
    setting = lifileucel.setting
    assert shown(setting("bsa_cap_m2"), "2.0") == "2.0 m²"
    assert shown(setting("bsa_cap_m2"), "no cap") == "no cap"
    assert shown(setting("bsa_formula"), "dubois") == "dubois"
    assert shown(setting("mesna_dose"), "60") == "60 mg/kg"
    assert shown(setting(FILGRASTIM), "5") == "5 µg/kg"
    assert shown(setting("cyclophosphamide_adjusted_weight_factor"), "0.4") == "0.4"
    assert shown(setting("fludarabine_renal_bands"), RENAL_BANDS) == (
        "CrCl 40–49 mL/min → 15 mg/m²; CrCl 50–79 mL/min → 20 mg/m²"
    )
    assert shown(setting("mesna_dose"), None) == "—"
