"""A product's total viable cells and bag count against the protocol's range.

Ranges: lifileucel 7.5 × 10⁹ to 72 × 10⁹ viable cells in 1 to 4 bags (Amtagvi US label 2024,
section 2); NKI phase 3 "at least 5×10⁹" TILs (Rohaan et al., NEJM 2022, abstract), with no
maximum and no bag count in its sources (the 5 × 10⁹ to 2 × 10¹¹ often quoted is a range observed
in the trial, not a limit): a limit the sources do not set is not checked, and the answer says so.
Limits are inclusive: a dose equal to a limit is within range.

Units: the total may be given in cells or in ×10⁹ cells; a total in cells is converted explicitly
with `.to(Unit.cells_1e9)` (exact: 1 ×10⁹ cells = 10⁹ cells) and the conversion is recorded. Any
other unit is refused. No rounding is applied.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from tilcare.clinical.dosing.regimens import CellDoseRange, ProtocolRef
from tilcare.clinical.units import ImplausibleInput, InvalidQuantity, Quantity, Unit, UnitMismatch

RULE = (
    "within range when minimum ≤ value ≤ maximum (limits inclusive); a limit the protocol's "
    "sources do not set is not checked"
)


class RangeStatus(Enum):
    WITHIN = "within"
    BELOW = "below"
    ABOVE = "above"
    NOT_SPECIFIED = "not_specified"  # the protocol's sources give no such limit


@dataclass(frozen=True)
class CellDoseCheck:
    protocol: ProtocolRef
    given: Quantity  # as entered
    conversion: str  # how `total` was obtained from `given`
    total: Quantity  # in ×10⁹ cells
    minimum: Quantity
    maximum: Quantity | None  # None: the protocol's sources set no maximum
    cells_status: RangeStatus
    cells_message: str
    bag_count: int
    minimum_bags: int | None
    maximum_bags: int | None
    bags_status: RangeStatus
    bags_message: str
    source: str
    rule: str = RULE
    rounding: str = "none"

    @property
    def within_range(self) -> bool:
        """True only when the cells are within range and the bags are within or not limited."""
        return self.cells_status is RangeStatus.WITHIN and self.bags_status in (
            RangeStatus.WITHIN,
            RangeStatus.NOT_SPECIFIED,
        )


def _total_e9(given: Quantity) -> tuple[Quantity, str]:
    if given.unit is Unit.cells_1e9:
        return given, "given in ×10⁹ cells; no conversion"
    if given.unit is Unit.cells:
        total = given.to(Unit.cells_1e9)
        return total, f"{given} converted with .to(×10⁹ cells): ÷ 10⁹ = {total}"
    raise UnitMismatch(given.unit, Unit.cells_1e9, "use total viable cells given in")


def check_cell_dose(
    cell_range: CellDoseRange, *, total_viable_cells: Quantity, bag_count: int
) -> CellDoseCheck:
    """Status of the cells and the bag count against the protocol range, limits named."""
    total, conversion = _total_e9(total_viable_cells)
    if total.magnitude <= 0:
        raise ImplausibleInput(
            f"total_viable_cells {total_viable_cells} must be greater than 0 cells."
        )
    if isinstance(bag_count, bool) or not isinstance(bag_count, int):
        raise InvalidQuantity(f"bag_count {bag_count!r} must be a whole number of bags.")
    if bag_count < 1:
        raise ImplausibleInput(f"bag_count {bag_count} must be at least 1 bag.")
    low, high = cell_range.minimum, cell_range.maximum
    if total < low:
        cells_status = RangeStatus.BELOW
        cells_message = f"{total} is below the protocol minimum of {low}."
    elif high is None:
        cells_status = RangeStatus.WITHIN
        cells_message = (
            f"{total} is at least the protocol minimum of {low}; the protocol's sources set no "
            "maximum, so the treating physician judges a high dose."
        )
    elif total > high:
        cells_status = RangeStatus.ABOVE
        cells_message = f"{total} is above the protocol maximum of {high}."
    else:
        cells_status = RangeStatus.WITHIN
        cells_message = f"{total} is within the protocol range {low} to {high}."
    bags_status, bags_message = _bags(cell_range, bag_count)
    return CellDoseCheck(
        protocol=cell_range.protocol,
        given=total_viable_cells,
        conversion=conversion,
        total=total,
        minimum=low,
        maximum=high,
        cells_status=cells_status,
        cells_message=cells_message,
        bag_count=bag_count,
        minimum_bags=cell_range.minimum_bags,
        maximum_bags=cell_range.maximum_bags,
        bags_status=bags_status,
        bags_message=bags_message,
        source=cell_range.source,
    )


def _bags(cell_range: CellDoseRange, bag_count: int) -> tuple[RangeStatus, str]:
    low, high = cell_range.minimum_bags, cell_range.maximum_bags
    if low is None or high is None:
        return (
            RangeStatus.NOT_SPECIFIED,
            f"{bag_count} bag(s): the protocol's sources give no bag count, so it is not checked.",
        )
    if bag_count < low:
        return RangeStatus.BELOW, f"{bag_count} bag(s) is below the protocol minimum of {low}."
    if bag_count > high:
        return RangeStatus.ABOVE, f"{bag_count} bag(s) is above the protocol maximum of {high}."
    return RangeStatus.WITHIN, f"{bag_count} bag(s) is within the protocol range {low} to {high}."
