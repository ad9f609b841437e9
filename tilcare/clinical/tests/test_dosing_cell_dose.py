"""A product's viable cells and bag count against the protocol range, limits inclusive.

Lifileucel: 7.5 × 10⁹ to 72 × 10⁹ viable cells in 1 to 4 bags (Amtagvi US label 2024, §2).
NKI phase 3: 5 × 10⁹ to 2 × 10¹¹ TIL (Rohaan et al., NEJM 2022), no bag count in the sources.
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tilcare.clinical.dosing.cell_dose import RangeStatus, check_cell_dose
from tilcare.clinical.tests.dosing_regimens import LIFILEUCEL, LIFILEUCEL_CELLS, NKI_CELLS
from tilcare.clinical.units import (
    FloatNotAllowed,
    ImplausibleInput,
    InvalidQuantity,
    Quantity,
    Unit,
    UnitMismatch,
    cells,
    cells_1e9,
)

WITHIN, BELOW, ABOVE = RangeStatus.WITHIN, RangeStatus.BELOW, RangeStatus.ABOVE


RANGE = "is within the protocol range 7.5 ×10⁹ cells to 72 ×10⁹ cells."
MINIMUM = "is below the protocol minimum of 7.5 ×10⁹ cells."
MAXIMUM = "is above the protocol maximum of 72 ×10⁹ cells."


@pytest.mark.parametrize(
    ("total", "status", "message"),
    [
        (cells_1e9("7.5"), WITHIN, f"7.5 ×10⁹ cells {RANGE}"),
        (cells_1e9("7.49"), BELOW, f"7.49 ×10⁹ cells {MINIMUM}"),
        (cells_1e9("72"), WITHIN, f"72 ×10⁹ cells {RANGE}"),
        (cells_1e9("72.01"), ABOVE, f"72.01 ×10⁹ cells {MAXIMUM}"),
        (cells("7500000000"), WITHIN, f"7.5 ×10⁹ cells {RANGE}"),
        (cells("7499999999"), BELOW, f"7.499999999 ×10⁹ cells {MINIMUM}"),
        (cells("72000000000"), WITHIN, f"72 ×10⁹ cells {RANGE}"),
        (cells("72000000001"), ABOVE, f"72.000000001 ×10⁹ cells {MAXIMUM}"),
    ],
    ids=[
        "label: 7.5e9 minimum within",
        "label: just below 7.5e9",
        "label: 72e9 maximum within",
        "label: just above 72e9",
        "label: 7.5e9 given in cells",
        "label: 1 cell below minimum",
        "label: 72e9 given in cells",
        "label: 1 cell above maximum",
    ],
)
def test_lifileucel_cell_range_edges(total: Quantity, status: RangeStatus, message: str) -> None:
    result = check_cell_dose(LIFILEUCEL_CELLS, total_viable_cells=total, bag_count=2)
    assert result.cells_status is status
    assert result.cells_message == message
    assert result.total.unit is Unit.cells_1e9
    assert result.protocol == LIFILEUCEL
    assert result.within_range is (status is WITHIN)


def test_conversion_from_cells_is_recorded() -> None:
    result = check_cell_dose(LIFILEUCEL_CELLS, total_viable_cells=cells("20000000000"), bag_count=1)
    assert result.given == cells("20000000000")
    assert result.total == cells_1e9(20)
    assert (
        result.conversion
        == "20000000000 cells converted with .to(×10⁹ cells): ÷ 10⁹ = 20 ×10⁹ cells"
    )
    direct = check_cell_dose(LIFILEUCEL_CELLS, total_viable_cells=cells_1e9(20), bag_count=1)
    assert direct.conversion == "given in ×10⁹ cells; no conversion"


@pytest.mark.parametrize(
    ("bags", "status", "message"),
    [
        (1, WITHIN, "1 bag(s) is within the protocol range 1 to 4."),
        (4, WITHIN, "4 bag(s) is within the protocol range 1 to 4."),
        (5, ABOVE, "5 bag(s) is above the protocol maximum of 4."),
    ],
    ids=["label: 1 bag minimum", "label: 4 bags maximum", "label: 5 bags above"],
)
def test_lifileucel_bag_edges(bags: int, status: RangeStatus, message: str) -> None:
    result = check_cell_dose(LIFILEUCEL_CELLS, total_viable_cells=cells_1e9(30), bag_count=bags)
    assert result.bags_status is status
    assert result.bags_message == message
    assert result.within_range is (status is WITHIN)


# Rohaan et al., NEJM 2022, abstract: "at least 5×10⁹" TILs. The 5 × 10⁹ to 2 × 10¹¹ reported in
# congress news is the range observed in the trial, not a limit: a larger dose is no longer
# "above the protocol maximum" (it used to be, above 2 × 10¹¹).
@pytest.mark.parametrize(
    ("total", "status"),
    [
        (cells_1e9("5"), WITHIN),
        (cells_1e9("4.99"), BELOW),
        (cells_1e9("200"), WITHIN),
        (cells("200000000001"), WITHIN),
    ],
    ids=["NKI: 5e9 within", "NKI: below 5e9", "NKI: 2e11 within", "NKI: above 2e11 not a limit"],
)
def test_nki_cell_range_edges(total: Quantity, status: RangeStatus) -> None:
    result = check_cell_dose(NKI_CELLS, total_viable_cells=total, bag_count=6)
    assert result.cells_status is status
    assert result.maximum is None
    assert result.bags_status is RangeStatus.NOT_SPECIFIED
    assert "give no bag count" in result.bags_message


def test_nki_has_no_maximum_and_says_who_judges_a_high_dose() -> None:
    # Rohaan et al., NEJM 2022, abstract: "at least 5×10⁹" TILs, no maximum.
    result = check_cell_dose(NKI_CELLS, total_viable_cells=cells_1e9("250"), bag_count=6)
    assert result.cells_message == (
        "250 ×10⁹ cells is at least the protocol minimum of 5 ×10⁹ cells; the protocol's "
        "sources set no maximum, so the treating physician judges a high dose."
    )


@pytest.mark.parametrize(
    ("total", "bags", "error", "fragment"),
    [
        (cells(0), 1, ImplausibleInput, "must be greater than 0 cells"),
        (cells_1e9(30), 0, ImplausibleInput, "bag_count 0 must be at least 1 bag"),
        (cells_1e9(30), True, InvalidQuantity, "must be a whole number of bags"),
        (Quantity.of(30, Unit.mg), 1, UnitMismatch, "mg and ×10⁹ cells"),
    ],
    ids=["zero cells", "zero bags", "boolean bag count", "cells in mg"],
)
def test_implausible_inputs_are_refused(
    total: Quantity, bags: int, error: type[Exception], fragment: str
) -> None:
    with pytest.raises(error) as refused:
        check_cell_dose(LIFILEUCEL_CELLS, total_viable_cells=total, bag_count=bags)
    assert fragment in str(refused.value)


@given(unit=st.sampled_from([u for u in Unit if u not in (Unit.cells, Unit.cells_1e9)]))
def test_any_other_unit_is_always_refused(unit: Unit) -> None:
    with pytest.raises(UnitMismatch):
        check_cell_dose(LIFILEUCEL_CELLS, total_viable_cells=Quantity.of(30, unit), bag_count=1)


@given(value=st.floats(allow_nan=False, allow_infinity=False))
def test_a_float_cell_count_is_always_refused(value: float) -> None:
    with pytest.raises(FloatNotAllowed):
        cells_1e9(value)  # type: ignore[arg-type]
