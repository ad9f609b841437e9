"""Lymphodepletion doses day by day: worked examples, renal bands, rounding and center settings.

Doses: cyclophosphamide 60 mg/kg, fludarabine 25 mg/m² (Amtagvi US label 2024, section 2;
clinical-reference.md §1.1). BSA, Devine IBW, adjusted weight and Cockcroft–Gault as in §9.
Renal bands, weight bases, BSA formula and cap, mesna and rounding are center settings; the
values used here are examples entered as a center would (tests/dosing_regimens.py).
"""

import dataclasses
from collections.abc import Callable
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tilcare.clinical.dosing.lymphodepletion import (
    CrClBelowLowestBand,
    LymphodepletionPlan,
    day_label,
    round_dose_to_increment,
)
from tilcare.clinical.dosing.regimens import DaySchedule, WeightBasisSettings
from tilcare.clinical.dosing.settings import (
    CenterSettings,
    InvalidCenterSetting,
    MissingCenterSetting,
    RenalBand,
    SettingSpec,
)
from tilcare.clinical.renal import WeightBasis
from tilcare.clinical.tests.dosing_regimens import (
    BANDS,
    BSA_CAP,
    BSA_FORMULA,
    CRCL_BASIS,
    CRCL_FACTOR,
    CY_BASIS,
    CY_FACTOR,
    CY_ROUNDING,
    CYCLOPHOSPHAMIDE,
    FLU_ROUNDING,
    FLUDARABINE,
    LIFILEUCEL,
    LYMPHODEPLETION,
    MESNA,
    center,
    missing_message,
    plan,
)
from tilcare.clinical.units import (
    FloatNotAllowed,
    InvalidQuantity,
    Quantity,
    Unit,
    UnitMismatch,
    g,
    kg,
    m2,
    mg,
    mg_per_kg,
    mg_per_m2,
    ml_per_min,
)


def agent_dose(result: LymphodepletionPlan, agent: str) -> Quantity:
    doses = {line.dose for line in result.lines if line.agent == agent}
    assert len(doses) == 1  # the same dose every day of the agent
    return doses.pop()


# Cyclophosphamide (mg/kg) ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("basis", "weight_kg", "height_cm", "sex", "unrounded", "expected_mg"),
    [
        # Amtagvi label 2024: 60 mg/kg × 80 kg = 4800 mg
        pytest.param("actual", "80", "180", "male", "4800", "4800", id="label: 60 x 80 kg = 4800"),
        # 60 × 72.5 = 4350 mg
        pytest.param("actual", "72.5", "180", "male", "4350", "4350", id="label: 60 x 72.5 = 4350"),
        # 60 × 70.25 = 4215 mg; nearest 10 mg half up -> 4220
        pytest.param("actual", "70.25", "180", "male", "4215", "4220", id="label: 4215 -> 4220"),
        # 60 × 70.24 = 4214.4 mg -> 4210
        pytest.param(
            "actual", "70.24", "180", "male", "4214.4", "4210", id="label: 4214.4 -> 4210"
        ),
        # Devine IBW male 180 cm: 50 + 2.3 × (70.866 − 60) = 74.99 -> 75.0 kg; × 60 = 4500 mg
        pytest.param("ideal", "120", "180", "male", "4500", "4500", id="Devine ideal: 75.0 kg"),
        # Devine female 165 cm: 45.5 + 2.3 × 4.9606 = 56.909 -> 56.9 kg; × 60 = 3414 -> 3410
        pytest.param("ideal", "90", "165", "female", "3414", "3410", id="Devine ideal: 56.9 kg"),
        # Adjusted (factor 0.4): 74.992 + 0.4 × (120 − 74.992) = 92.995 -> 93.0 kg; × 60 = 5580
        pytest.param("adjusted", "120", "180", "male", "5580", "5580", id="adjusted 0.4: 93.0 kg"),
    ],
)
def test_cyclophosphamide_worked_examples(
    basis: str, weight_kg: str, height_cm: str, sex: str, unrounded: str, expected_mg: str
) -> None:
    # Given the center's weight basis and a 10 mg rounding increment
    settings = center(cyclophosphamide_weight_basis=basis)
    # When the doses are calculated
    result = plan(settings, weight_kg=weight_kg, height_cm=height_cm, sex=sex)
    # Then both cyclophosphamide days carry the dose, its working and its protocol
    lines = [line for line in result.lines if line.agent == "cyclophosphamide"]
    assert [line.day for line in lines] == [-7, -6]
    assert [line.day_label for line in lines] == ["Day −7", "Day −6"]
    for line in lines:
        assert line.dose == mg(expected_mg)
        assert line.unrounded_dose_mg == Decimal(unrounded)
        assert line.protocol == LIFILEUCEL
        assert line.formula == "dose (mg) = dose per kg (mg/kg) × dosing weight (kg)"
        assert "60 mg/kg" in line.source
        assert "cyclophosphamide_weight_basis" in line.source
        assert line.rounding.startswith("round_dose_to_increment: nearest 10 mg, half up")
        assert line.day_numbering_confirmed is False
        assert line.calculation.weight is not None
        assert line.calculation.weight.basis is WeightBasis(basis)


def test_cyclophosphamide_line_records_its_inputs() -> None:
    result = plan(center(), weight_kg="80")
    calc = result.agents[0]
    assert calc.agent == "cyclophosphamide"
    assert calc.protocol_dose_per_unit == mg_per_kg(60)
    assert calc.body_size == kg(80)
    assert calc.increment_mg == Decimal(10)
    assert calc.working == "60 mg/kg × 80 kg (actual weight) = 4800 mg → 4800 mg"
    assert calc.bsa is None and calc.renal is None


# Fludarabine (mg/m², BSA, cap, renal bands) ----------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "weight_kg", "height_cm", "bsa_used", "expected_mg"),
    [
        # Label 25 mg/m²; Mosteller √(180 × 80 / 3600) = 2.00 m²; 25 × 2.00 = 50 mg
        pytest.param({}, "80", "180", "2.00", "50", id="label+Mosteller: 25 x 2.00 = 50"),
        # Mosteller 170 cm 70 kg = 1.82 m²; 25 × 1.82 = 45.5 -> 46 mg (1 mg, half up)
        pytest.param({}, "70", "170", "1.82", "46", id="label+Mosteller: 45.5 -> 46"),
        # DuBois 170 cm 70 kg = 1.81 m²; 25 × 1.81 = 45.25 -> 45 mg
        pytest.param({"bsa_formula": "dubois"}, "70", "170", "1.81", "45", id="DuBois: 45.25"),
        # Mosteller 190 cm 120 kg = 2.52 m², no cap: 63 mg
        pytest.param({}, "120", "190", "2.52", "63", id="no cap: 25 x 2.52 = 63"),
        # Same patient, center cap 2.0 m²: 25 × 2.00 = 50 mg
        pytest.param({"bsa_cap_m2": m2("2.0")}, "120", "190", "2.0", "50", id="cap 2.0: 50"),
        # Cap above the BSA leaves it: 2.00 m² under a 2.2 cap -> 50 mg
        pytest.param({"bsa_cap_m2": m2("2.2")}, "80", "180", "2.00", "50", id="cap not reached"),
        # Increment 0.5 mg: 45.5 mg stays 45.5
        pytest.param(
            {"fludarabine_rounding_increment_mg": mg("0.5")},
            "70",
            "170",
            "1.82",
            "45.5",
            id="increment 0.5 mg: 45.5",
        ),
    ],
)
def test_fludarabine_worked_examples(
    changes: dict[str, object], weight_kg: str, height_cm: str, bsa_used: str, expected_mg: str
) -> None:
    result = plan(center(**changes), weight_kg=weight_kg, height_cm=height_cm, age="40")
    lines = [line for line in result.lines if line.agent == "fludarabine"]
    assert [line.day for line in lines] == [-5, -4, -3, -2, -1]
    calc = lines[0].calculation
    assert calc.bsa is not None
    assert calc.bsa.bsa_used == m2(bsa_used)
    assert calc.formula == "dose (mg) = dose per m² (mg/m²) × BSA used (m²)"
    assert all(line.dose == mg(expected_mg) for line in lines)


def test_capped_bsa_is_recorded() -> None:
    result = plan(center(bsa_cap_m2=m2("2.0")), weight_kg="120", height_cm="190")
    bsa = result.agents[1].bsa
    assert bsa is not None
    assert bsa.capped is True
    assert bsa.bsa.bsa == m2("2.52")
    assert bsa.cap == m2("2.0")
    assert "bsa_cap_m2" in bsa.source


# Renal bands: weight 72 kg, SCr 1.0 mg/dL, male -> CrCl = 140 − age (Cockcroft–Gault), and
# Mosteller BSA √(170 × 72 / 3600) = √3.4 = 1.84 m². Bands as a center entered them:
# 40–49 -> 15 mg/m², 50–79 -> 20 mg/m² (the reference's secondary-source values).
@pytest.mark.parametrize(
    ("age", "crcl", "per_m2", "expected_mg"),
    [
        pytest.param("60", "80", "25", "46", id="CrCl 80 above the bands: 25 x 1.84 = 46"),
        pytest.param("61", "79", "20", "37", id="CrCl 79 top of 50-79: 20 x 1.84 = 36.8 -> 37"),
        pytest.param("90", "50", "20", "37", id="CrCl 50 bottom of 50-79: 37"),
        pytest.param("91", "49", "15", "28", id="CrCl 49 top of 40-49: 15 x 1.84 = 27.6 -> 28"),
        pytest.param("100", "40", "15", "28", id="CrCl 40 bottom of 40-49: 28"),
    ],
)
def test_fludarabine_renal_band_edges(age: str, crcl: str, per_m2: str, expected_mg: str) -> None:
    result = plan(center(), weight_kg="72", height_cm="170", age=age, scr="1.0")
    calc = result.agents[1]
    assert calc.renal is not None
    assert calc.renal.crcl.crcl == ml_per_min(crcl)
    assert calc.dose_per_unit == mg_per_m2(per_m2)
    assert calc.dose == mg(expected_mg)
    assert calc.protocol_dose_per_unit == mg_per_m2(25)
    assert f"CrCl {crcl} mL/min" in calc.renal.rule


def test_crcl_below_lowest_band_is_refused() -> None:
    # CrCl = 140 − 101 = 39 mL/min, below the center's lowest band (40)
    with pytest.raises(CrClBelowLowestBand) as refused:
        plan(center(), weight_kg="72", height_cm="170", age="101", scr="1.0")
    assert str(refused.value).startswith(
        "CrCl 39 mL/min is below the lowest band the center set (40 mL/min)"
    )


def test_crcl_uses_the_center_weight_basis() -> None:
    # Ideal weight for CrCl: male 180 cm -> 75.0 kg; (140 − 50) × 75 / 72 = 93.75 -> 94
    result = plan(center(crcl_weight_basis="ideal"), weight_kg="120", height_cm="180")
    renal = result.agents[1].renal
    assert renal is not None
    assert renal.crcl.weight_basis is WeightBasis.IDEAL
    assert renal.crcl.weight_kg == Decimal("75.0")
    assert renal.crcl.crcl == ml_per_min(94)


def test_mesna_is_noted_with_the_center_dose() -> None:
    result = plan(center())
    assert result.mesna is not None
    assert result.mesna.dose == mg_per_kg(60)
    assert result.mesna.days == (-7, -6)
    assert result.mesna.setting_key == "mesna_dose"
    assert "60 mg/kg as set by the center" in result.mesna.note


def test_lines_are_in_day_order() -> None:
    result = plan(center())
    assert [(line.day, line.agent) for line in result.lines] == [
        (-7, "cyclophosphamide"),
        (-6, "cyclophosphamide"),
        (-5, "fludarabine"),
        (-4, "fludarabine"),
        (-3, "fludarabine"),
        (-2, "fludarabine"),
        (-1, "fludarabine"),
    ]


@pytest.mark.parametrize(
    ("day", "label"), [(-7, "Day −7"), (0, "Day 0"), (3, "Day +3")], ids=["minus", "zero", "plus"]
)
def test_day_label(day: int, label: str) -> None:
    assert day_label(day) == label


@pytest.mark.parametrize(
    ("dose", "increment", "expected"),
    [
        ("4215", "10", "4220"),  # exactly half: up
        ("4214.99", "10", "4210"),
        ("45.25", "0.5", "45.5"),  # exactly half of 0.5: up
        ("45.24", "0.5", "45.0"),
        ("36.8", "1", "37"),
    ],
    ids=["half up", "below half", "half of 0.5", "below half of 0.5", "whole mg"],
)
def test_round_dose_to_increment(dose: str, increment: str, expected: str) -> None:
    assert round_dose_to_increment(Decimal(dose), Decimal(increment)) == Decimal(expected)


# Center settings: each unset one is refused by name --------------------------------------------

UNSET_CASES: list[tuple[SettingSpec, dict[str, object]]] = [
    (CY_BASIS, {}),
    (CY_FACTOR, {"cyclophosphamide_weight_basis": "adjusted"}),
    (CY_ROUNDING, {}),
    (MESNA, {}),
    (BSA_FORMULA, {}),
    (BSA_CAP, {}),
    (BANDS, {}),
    (CRCL_BASIS, {}),
    (CRCL_FACTOR, {"crcl_weight_basis": "adjusted"}),
    (FLU_ROUNDING, {}),
]


@pytest.mark.parametrize(("spec", "needed"), UNSET_CASES, ids=[spec.key for spec, _ in UNSET_CASES])
def test_each_unset_setting_is_refused_by_name(
    spec: SettingSpec, needed: dict[str, object]
) -> None:
    settings = center(**{**needed, spec.key: None})
    with pytest.raises(MissingCenterSetting) as refused:
        plan(settings)
    assert refused.value.key == spec.key
    assert str(refused.value) == missing_message(spec)


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"cyclophosphamide_weight_basis": "lean"}, "'lean' is not one of the options"),
        ({"cyclophosphamide_rounding_increment_mg": Decimal(10)}, "expected a quantity in mg"),
        ({"cyclophosphamide_rounding_increment_mg": Quantity.of(1, Unit.g)}, "expected mg, got g"),
        ({"cyclophosphamide_rounding_increment_mg": mg(0)}, "below the allowed minimum 0.1 mg"),
        ({"bsa_cap_m2": m2("3.5")}, "3.5 m² is above the allowed maximum 3 m²"),
        ({"bsa_cap_m2": "none"}, "expected a quantity in m² or “no cap”"),
        (
            {
                "cyclophosphamide_weight_basis": "adjusted",
                "cyclophosphamide_adjusted_weight_factor": Decimal("1.5"),
            },
            "above the allowed maximum 1",
        ),
        (
            {
                "fludarabine_renal_bands": (
                    RenalBand(ml_per_min(40), ml_per_min(48), mg_per_m2(15)),
                    RenalBand(ml_per_min(50), ml_per_min(79), mg_per_m2(20)),
                )
            },
            "the next band must start at 49 mL/min",
        ),
        (
            {
                "fludarabine_renal_bands": (
                    RenalBand(ml_per_min(40), ml_per_min(79), mg_per_m2(30)),
                )
            },
            "the dose must lie between 1 and 25 mg/m²",
        ),
        (
            {
                "fludarabine_renal_bands": (
                    RenalBand(ml_per_min("39.5"), ml_per_min(79), mg_per_m2(20)),
                )
            },
            "must be a whole number",
        ),
        (
            {
                "fludarabine_renal_bands": (
                    RenalBand(ml_per_min(40), ml_per_min(79), mg_per_kg(20)),
                )
            },
            "the dose must be in mg/m², not mg/kg",
        ),
        ({"fludarabine_renal_bands": ()}, "expected at least one renal band"),
    ],
    ids=[
        "choice not offered",
        "decimal without unit",
        "increment in g",
        "increment 0",
        "cap above range",
        "cap text not the none option",
        "factor above 1",
        "gap between bands",
        "band dose above declared max",
        "fractional CrCl limit",
        "band dose per kg",
        "no bands",
    ],
)
def test_invalid_center_values_are_refused_naming_the_setting(
    changes: dict[str, object], fragment: str
) -> None:
    with pytest.raises(InvalidCenterSetting) as refused:
        plan(center(**changes))
    assert fragment in str(refused.value)
    assert str(refused.value).startswith("Center setting 'label of ")


# Wrong units and floats ------------------------------------------------------------------------


def test_weight_in_grams_is_refused() -> None:
    with pytest.raises(UnitMismatch):
        plan(center(), weight=g(80000))


@given(value=st.floats(allow_nan=False, allow_infinity=False))
def test_a_float_setting_is_always_refused(value: float) -> None:
    with pytest.raises(FloatNotAllowed):
        CenterSettings({"cyclophosphamide_adjusted_weight_factor": value})


@given(unit=st.sampled_from([u for u in Unit if u is not Unit.kg]))
def test_a_weight_in_any_other_unit_is_always_refused(unit: Unit) -> None:
    with pytest.raises(UnitMismatch):
        plan(center(), weight=Quantity.of(80, unit))


# Property: a per-kg dose scales exactly with the weight, before rounding ------------------------


@given(
    weight_kg=st.decimals(min_value=20, max_value=150, places=1),
    factor=st.decimals(min_value=1, max_value="2.3", places=2),
)
def test_per_kg_dose_scales_exactly_with_weight(weight_kg: Decimal, factor: Decimal) -> None:
    # Bands from CrCl 0 so that fludarabine never refuses a light patient here.
    settings = center(
        fludarabine_renal_bands=(RenalBand(ml_per_min(0), ml_per_min(79), mg_per_m2(20)),)
    )
    base = plan(settings, weight_kg=str(weight_kg)).agents[0]
    scaled = plan(settings, weight_kg=str(weight_kg * factor)).agents[0]
    assert scaled.unrounded_dose_mg == base.unrounded_dose_mg * factor
    assert base.unrounded_dose_mg == Decimal(60) * weight_kg


# Regimens built by hand are held to the same rules as protocol files ---------------------------


def test_a_band_cannot_raise_the_dose_above_the_protocol() -> None:
    # A declaration allowing band doses up to 30 mg/m² on a 25 mg/m² protocol dose.
    loose = dataclasses.replace(BANDS, dose_maximum=Decimal(30))
    assert FLUDARABINE.renal is not None
    fludarabine = dataclasses.replace(
        FLUDARABINE, renal=dataclasses.replace(FLUDARABINE.renal, bands=loose)
    )
    regimen = dataclasses.replace(LYMPHODEPLETION, agents=(CYCLOPHOSPHAMIDE, fludarabine))
    settings = center(
        fludarabine_renal_bands=(RenalBand(ml_per_min(40), ml_per_min(79), mg_per_m2(30)),)
    )
    with pytest.raises(InvalidCenterSetting, match="cannot raise the dose above the protocol"):
        plan(settings, regimen=regimen)


@pytest.mark.parametrize(
    ("build", "fragment"),
    [
        (
            lambda: WeightBasisSettings(CY_BASIS, None),
            "factor setting is needed exactly when the adjusted weight is offered",
        ),
        (
            lambda: WeightBasisSettings(dataclasses.replace(CY_BASIS, options=("lean",)), None),
            "offers lean",
        ),
        (lambda: dataclasses.replace(CYCLOPHOSPHAMIDE, weight=None), "needs weight-basis"),
        (lambda: dataclasses.replace(CYCLOPHOSPHAMIDE, dose=mg(60)), "must be in mg/kg or mg/m²"),
        (lambda: DaySchedule((-1, 0), confirmed=True, source="x"), "must all be before day 0"),
        (lambda: DaySchedule((-6, -7), confirmed=True, source="x"), "distinct and in order"),
        (
            lambda: dataclasses.replace(LYMPHODEPLETION, agents=(FLUDARABINE,)),
            "Mesna is given with 'cyclophosphamide', not an agent",
        ),
    ],
    ids=[
        "adjusted without factor",
        "unknown weight basis",
        "mg/kg without weight basis",
        "dose in mg",
        "day 0",
        "days out of order",
        "mesna with a missing agent",
    ],
)
def test_invalid_regimens_are_refused(build: Callable[[], object], fragment: str) -> None:
    with pytest.raises(InvalidQuantity) as refused:
        build()
    assert fragment in str(refused.value)
