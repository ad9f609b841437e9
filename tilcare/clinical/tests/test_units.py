"""Quantity and Unit: float refusal, unit mismatch, scalar arithmetic, explicit conversion."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tilcare.clinical.units import (
    FloatNotAllowed,
    InvalidQuantity,
    Quantity,
    Unit,
    UnitMismatch,
    cells,
    cells_1e9,
    cm,
    g,
    iu,
    kg,
    m,
    mg,
    mg_per_dl,
    miu,
    to_decimal,
    umol_per_l,
)

finite_decimals = st.decimals(
    min_value=Decimal("-1000000"),
    max_value=Decimal("1000000"),
    places=6,
    allow_nan=False,
    allow_infinity=False,
)


@pytest.mark.parametrize(
    "value",
    ["70.5", 70, Decimal("70.5")],
    ids=["str", "int", "decimal"],
)
def test_constructor_accepts_str_int_decimal(value: str | int | Decimal) -> None:
    assert kg(value).magnitude == Decimal(value)
    assert kg(value).unit is Unit.kg


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("seventy", "not a decimal number"),
        ("NaN", "not a finite number"),
        ("Infinity", "not a finite number"),
        (True, "boolean"),
        ([70], "must be a Decimal"),
    ],
    ids=["word", "nan", "infinity", "bool", "list"],
)
def test_constructor_refuses_non_numbers(value: object, message: str) -> None:
    with pytest.raises(InvalidQuantity, match=message):
        to_decimal(value)


def test_dataclass_constructor_refuses_int_magnitude_without_of() -> None:
    with pytest.raises(InvalidQuantity, match="must be a Decimal"):
        Quantity(70, Unit.kg)  # type: ignore[arg-type]


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_a_float_is_always_refused_and_named(value: float) -> None:
    with pytest.raises(FloatNotAllowed, match="is a float"):
        kg(value)  # type: ignore[arg-type]
    with pytest.raises(FloatNotAllowed):
        Quantity(value, Unit.kg)  # type: ignore[arg-type]
    with pytest.raises(FloatNotAllowed):
        kg(1) * value
    with pytest.raises(FloatNotAllowed):
        kg(1) / value
    with pytest.raises(FloatNotAllowed):
        kg(1) + value


def test_float_error_is_a_type_error_naming_the_value() -> None:
    with pytest.raises(TypeError, match=r"0\.1"):
        kg(0.1)  # type: ignore[arg-type]


@given(
    left=st.sampled_from(list(Unit)),
    right=st.sampled_from(list(Unit)),
    a=finite_decimals,
    b=finite_decimals,
)
def test_adding_or_subtracting_different_units_always_raises(
    left: Unit, right: Unit, a: Decimal, b: Decimal
) -> None:
    if left is right:
        return
    with pytest.raises(UnitMismatch) as info:
        Quantity(a, left) + Quantity(b, right)
    assert left.value in str(info.value) and right.value in str(info.value)
    with pytest.raises(UnitMismatch):
        Quantity(a, left) - Quantity(b, right)
    with pytest.raises(UnitMismatch):
        _ = Quantity(a, left) < Quantity(b, right)


@pytest.mark.parametrize(
    ("left", "right"),
    [(kg(1), g(1)), (iu(1), miu(1)), (cells(1), cells_1e9(1)), (mg(1), g(1))],
    ids=["kg+g", "IU+MIU", "cells+1e9cells", "mg+g"],
)
def test_classic_thousandfold_mixes_are_refused_naming_both_units(
    left: Quantity, right: Quantity
) -> None:
    # Source: DESIGN.md section 4 rule 3 (IU vs MIU, mg vs g, cells vs 10⁹ cells).
    with pytest.raises(UnitMismatch, match=f"{left.unit.value} and {right.unit.value}"):
        left + right


def test_same_unit_arithmetic_and_scalars() -> None:
    assert kg("70.5") + kg("0.5") == kg(71)
    assert kg(71) - kg("0.5") == kg("70.5")
    assert kg(70) * 2 == kg(140)
    assert 2 * kg(70) == kg(140)
    assert kg(70) * Decimal("0.5") == kg(35)
    assert kg(70) / 4 == kg("17.5")


def test_multiplying_two_quantities_is_refused() -> None:
    with pytest.raises(InvalidQuantity, match="scalar"):
        kg(2) * kg(3)


def test_dividing_by_zero_is_refused() -> None:
    with pytest.raises(ZeroDivisionError):
        kg(2) / 0


def test_comparison_within_a_unit() -> None:
    assert kg(1) < kg(2) <= kg(2) < kg(3)
    assert kg(3) > kg(2) >= kg("2.0")
    assert kg(1) != g(1000)  # different units are never equal; convert first


@pytest.mark.parametrize(
    ("quantity", "target", "expected"),
    [
        (kg("70.5"), Unit.g, g(70500)),
        (g(70500), Unit.kg, kg("70.5")),
        (kg(1), Unit.mg, mg(1_000_000)),
        (mg(250), Unit.g, g("0.25")),
        (m("1.7"), Unit.cm, cm(170)),
        (cm(170), Unit.m, m("1.7")),
        (miu(600), Unit.iu, iu(600_000_000)),
        (iu(720_000), Unit.miu, miu("0.72")),
        (cells_1e9("7.5"), Unit.cells, cells(7_500_000_000)),
        (cells(7_500_000_000), Unit.cells_1e9, cells_1e9("7.5")),
        # Conventional creatinine factor: 1 mg/dL = 88.4 µmol/L.
        (mg_per_dl("1.2"), Unit.umol_per_l, umol_per_l("106.08")),
        (umol_per_l("88.4"), Unit.mg_per_dl, mg_per_dl(1)),
    ],
    ids=[
        "kg->g",
        "g->kg",
        "kg->mg",
        "mg->g",
        "m->cm",
        "cm->m",
        "MIU->IU",
        "IU->MIU",
        "1e9cells->cells",
        "cells->1e9cells",
        "creatinine mg/dL->umol/L",
        "creatinine umol/L->mg/dL",
    ],
)
def test_explicit_conversion_table(quantity: Quantity, target: Unit, expected: Quantity) -> None:
    assert quantity.to(target) == expected


def test_conversion_to_same_unit_is_identity() -> None:
    assert kg(70).to(Unit.kg) == kg(70)


@pytest.mark.parametrize(
    ("quantity", "target"),
    [(kg(70), Unit.cm), (iu(1), Unit.mg), (mg_per_dl(1), Unit.mg)],
    ids=["kg->cm", "IU->mg", "mg/dL->mg"],
)
def test_conversion_without_a_factor_is_refused(quantity: Quantity, target: Unit) -> None:
    with pytest.raises(UnitMismatch, match="convert"):
        quantity.to(target)


@given(finite_decimals)
def test_round_trip_kg_g_kg_is_exact(value: Decimal) -> None:
    original = Quantity(value, Unit.kg)
    assert original.to(Unit.g).to(Unit.kg) == original


@given(finite_decimals)
def test_round_trip_miu_iu_miu_is_exact(value: Decimal) -> None:
    original = Quantity(value, Unit.miu)
    assert original.to(Unit.iu).to(Unit.miu) == original


def test_require_refuses_the_wrong_unit() -> None:
    with pytest.raises(UnitMismatch, match="g and kg"):
        g(70000).require(Unit.kg, "weight")
    assert kg(70).require(Unit.kg, "weight") == Decimal(70)


def test_str_shows_unit_symbol() -> None:
    assert str(miu("600")) == "600 MIU"
