"""Quantities with units, on Decimal, so that 1000× unit errors cannot happen silently.

A `Quantity` is a Decimal magnitude and a `Unit`. Rules (DESIGN.md section 4, rules 2-3):
  * floats are refused everywhere (`FloatNotAllowed`, a TypeError naming the value): build
    quantities from str, int or Decimal (`kg("70.5")`);
  * + and − only between quantities of the same unit; anything else raises `UnitMismatch`,
    naming both units — kg + g, IU + MIU, cells + 10⁹ cells are refused, never converted;
  * × and ÷ only by a plain Decimal or int scalar (never by another quantity, never by a float);
  * <, <=, >, >= only within one unit; == is True only for the same unit and equal magnitude;
  * conversion only through an explicit `.to(Unit)`, along the factor table below.

Conversion factors (exact by definition of the units unless stated):
  kg ↔ g ↔ mg (×1000 each step), mg ↔ µg (×1000), m ↔ cm (×100), IU ↔ MIU (1 MIU = 10⁶ IU),
  10⁹ cells ↔ cells (×10⁹), ×10⁹/L ↔ /mm³ (×1000), g/dL ↔ g/L (×10), days ↔ h (×24),
  h ↔ min (×60), serum creatinine 1 mg/dL = 88.4 µmol/L.
The creatinine factor is the conventional clinical-chemistry conversion for creatinine, derived
from its molar mass (113.12 g/mol: 10 mg/L ÷ 113.12 g/mol = 88.40 µmol/L, given to 3 significant
figures by convention). It is NOT an exact factor: mg/dL → µmol/L multiplies by 88.4 exactly, but
µmol/L → mg/dL divides by 88.4 and is rounded to the Decimal context precision (28 digits). It is
not among the values in the project's reference notes; the center should confirm its laboratory
uses the same factor. All other conversions are computed with the Inexact trap set: a conversion
that could not be represented exactly raises instead of rounding.
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import NamedTuple

SOURCE = "SI unit definitions; creatinine 88.4 µmol/L per mg/dL from molar mass 113.12 g/mol"


class Unit(Enum):
    """Units that clinical quantities may carry. The value is the printed symbol."""

    kg = "kg"
    g = "g"
    mg = "mg"
    ug = "µg"
    cm = "cm"
    m = "m"
    m2 = "m²"
    mg_per_kg = "mg/kg"
    ug_per_kg = "µg/kg"
    mg_per_m2 = "mg/m²"
    iu = "IU"
    miu = "MIU"
    iu_per_kg = "IU/kg"
    cells = "cells"
    cells_1e9 = "×10⁹ cells"
    ml = "mL"
    ml_per_min = "mL/min"
    mg_per_dl = "mg/dL"
    umol_per_l = "µmol/L"
    years = "years"
    # Counts per volume (blood counts): 1 ×10⁹/L = 1000 /mm³ exactly (1 L = 10⁶ mm³).
    per_mm3 = "/mm³"
    e9_per_l = "×10⁹/L"
    g_per_dl = "g/dL"
    g_per_l = "g/L"
    celsius = "°C"
    percent = "%"
    hours = "h"
    minutes = "min"
    days = "days"
    mm = "mm"
    mm_hg = "mm Hg"
    per_min = "/min"
    l_per_min = "L/min"
    ug_per_kg_per_min = "µg/kg/min"
    ml_per_h = "mL/h"
    ml_per_kg_per_h = "mL/kg/h"
    meq_per_l = "mEq/L"
    pg_per_ml = "pg/mL"
    # Enzyme activity (liver tests: ALT, AST).
    u_per_l = "U/L"


class FloatNotAllowed(TypeError):
    """A float was given where a clinical number is expected."""

    def __init__(self, value: object, name: str = "value") -> None:
        super().__init__(
            f"{name} {value!r} is a float; clinical numbers must be Decimal, int or a decimal "
            f'string (e.g. "{value}") so that no binary rounding creeps in.'
        )


class InvalidQuantity(ValueError):
    """A magnitude that is not a finite decimal number, or an operand of the wrong kind."""


class UnitMismatch(ValueError):
    """Two quantities of different units were combined, compared or passed where not allowed."""

    def __init__(self, left: Unit, right: Unit, operation: str) -> None:
        self.left = left
        self.right = right
        super().__init__(
            f"Cannot {operation} {left.value} and {right.value}: the units differ. "
            f"Convert explicitly with .to(Unit.{right.name}) or .to(Unit.{left.name}) first."
        )


class ImplausibleInput(ValueError):
    """A clinical input outside the range the calculation accepts; the message names the limit."""


class _Factor(NamedTuple):
    factor: Decimal
    exact: bool


# Forward factors: 1 <from> = factor <to>. The reverse direction divides by the same factor.
_FACTORS: dict[tuple[Unit, Unit], _Factor] = {
    (Unit.kg, Unit.g): _Factor(Decimal(1000), exact=True),
    (Unit.g, Unit.mg): _Factor(Decimal(1000), exact=True),
    (Unit.kg, Unit.mg): _Factor(Decimal(1_000_000), exact=True),
    (Unit.mg, Unit.ug): _Factor(Decimal(1000), exact=True),
    (Unit.m, Unit.cm): _Factor(Decimal(100), exact=True),
    (Unit.miu, Unit.iu): _Factor(Decimal(1_000_000), exact=True),
    (Unit.cells_1e9, Unit.cells): _Factor(Decimal(1_000_000_000), exact=True),
    (Unit.e9_per_l, Unit.per_mm3): _Factor(Decimal(1000), exact=True),
    (Unit.g_per_dl, Unit.g_per_l): _Factor(Decimal(10), exact=True),
    (Unit.days, Unit.hours): _Factor(Decimal(24), exact=True),
    (Unit.hours, Unit.minutes): _Factor(Decimal(60), exact=True),
    # Conventional creatinine conversion factor (molar mass 113.12 g/mol); see module docstring.
    (Unit.mg_per_dl, Unit.umol_per_l): _Factor(Decimal("88.4"), exact=False),
}


def to_decimal(value: object, name: str = "value") -> Decimal:
    """Turn a str, int or Decimal into a finite Decimal; refuse floats, bools and anything else."""
    if isinstance(value, float):
        raise FloatNotAllowed(value, name)
    if isinstance(value, bool):
        raise InvalidQuantity(f"{name} {value!r} is a boolean, not a number.")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except decimal.InvalidOperation:
            raise InvalidQuantity(f"{name} “{value}” is not a decimal number.") from None
    else:
        raise InvalidQuantity(
            f"{name} {value!r} must be a Decimal, an int or a decimal string, "
            f"not {type(value).__name__}."
        )
    if not result.is_finite():
        raise InvalidQuantity(f"{name} {value!r} is not a finite number.")
    return result


def check_plausible(
    value: Decimal,
    name: str,
    unit: str,
    *,
    minimum: Decimal | None = None,
    maximum: Decimal | None = None,
) -> Decimal:
    """`value` if it lies within the plausible limits given, else ImplausibleInput naming the limit
    ("weight_kg 400 is above the plausible maximum 350 kg.")."""
    if minimum is not None and value < minimum:
        raise ImplausibleInput(f"{name} {value} is below the plausible minimum {minimum} {unit}.")
    if maximum is not None and value > maximum:
        raise ImplausibleInput(f"{name} {value} is above the plausible maximum {maximum} {unit}.")
    return value


def _scalar(value: object) -> Decimal:
    if isinstance(value, float):
        raise FloatNotAllowed(value, "scalar")
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise InvalidQuantity(
            f"A quantity can only be multiplied or divided by a Decimal or int scalar, "
            f"not {value!r}."
        )
    return to_decimal(value, "scalar")


@dataclass(frozen=True)
class Quantity:
    """A Decimal magnitude with its unit. Build with `Quantity.of(...)` or `kg("70.5")` etc."""

    magnitude: Decimal
    unit: Unit

    def __post_init__(self) -> None:
        if isinstance(self.magnitude, float):
            raise FloatNotAllowed(self.magnitude, "magnitude")
        if not isinstance(self.magnitude, Decimal):
            raise InvalidQuantity(
                f"magnitude {self.magnitude!r} must be a Decimal; use Quantity.of() for str/int."
            )
        if not self.magnitude.is_finite():
            raise InvalidQuantity(f"magnitude {self.magnitude!r} is not a finite number.")
        if not isinstance(self.unit, Unit):
            raise InvalidQuantity(f"unit {self.unit!r} is not a Unit.")

    @classmethod
    def of(cls, value: str | int | Decimal, unit: Unit) -> Quantity:
        return cls(to_decimal(value, f"{unit.value} value"), unit)

    def __str__(self) -> str:
        return f"{self.magnitude} {self.unit.value}"

    # Arithmetic -----------------------------------------------------------------------------

    def _same_unit(self, other: object, operation: str) -> Quantity:
        if isinstance(other, float):
            raise FloatNotAllowed(other, "operand")
        if not isinstance(other, Quantity):
            raise InvalidQuantity(
                f"Cannot {operation} {self.unit.value} and {other!r}: both must be quantities."
            )
        if other.unit is not self.unit:
            raise UnitMismatch(self.unit, other.unit, operation)
        return other

    def __add__(self, other: object) -> Quantity:
        right = self._same_unit(other, "add")
        return Quantity(self.magnitude + right.magnitude, self.unit)

    def __sub__(self, other: object) -> Quantity:
        right = self._same_unit(other, "subtract")
        return Quantity(self.magnitude - right.magnitude, self.unit)

    def __mul__(self, other: object) -> Quantity:
        return Quantity(self.magnitude * _scalar(other), self.unit)

    def __rmul__(self, other: object) -> Quantity:
        return self.__mul__(other)

    def __truediv__(self, other: object) -> Quantity:
        divisor = _scalar(other)
        if divisor == 0:
            raise ZeroDivisionError(f"Cannot divide {self} by zero.")
        return Quantity(self.magnitude / divisor, self.unit)

    # Comparison (same unit only) ------------------------------------------------------------

    def __lt__(self, other: object) -> bool:
        return self.magnitude < self._same_unit(other, "compare").magnitude

    def __le__(self, other: object) -> bool:
        return self.magnitude <= self._same_unit(other, "compare").magnitude

    def __gt__(self, other: object) -> bool:
        return self.magnitude > self._same_unit(other, "compare").magnitude

    def __ge__(self, other: object) -> bool:
        return self.magnitude >= self._same_unit(other, "compare").magnitude

    # Conversion -----------------------------------------------------------------------------

    def to(self, unit: Unit) -> Quantity:
        """Convert explicitly along the factor table; refuse units with no defined factor."""
        if unit is self.unit:
            return self
        forward = _FACTORS.get((self.unit, unit))
        backward = _FACTORS.get((unit, self.unit))
        if forward is None and backward is None:
            raise UnitMismatch(self.unit, unit, "convert between")
        entry = forward if forward is not None else backward
        assert entry is not None
        with decimal.localcontext() as ctx:
            ctx.traps[decimal.Inexact] = entry.exact
            if forward is not None:
                magnitude = self.magnitude * entry.factor
            else:
                magnitude = self.magnitude / entry.factor
        return Quantity(magnitude, unit)

    def require(self, unit: Unit, name: str) -> Decimal:
        """Return the magnitude if this quantity is in `unit`; otherwise refuse, naming both."""
        if self.unit is not unit:
            raise UnitMismatch(self.unit, unit, f"use {name} given in")
        return self.magnitude


# Convenience constructors ----------------------------------------------------------------------


def kg(value: str | int | Decimal) -> Quantity:
    return Quantity.of(value, Unit.kg)


def g(value: str | int | Decimal) -> Quantity:
    return Quantity.of(value, Unit.g)


def mg(value: str | int | Decimal) -> Quantity:
    return Quantity.of(value, Unit.mg)


def ug(value: str | int | Decimal) -> Quantity:
    return Quantity.of(value, Unit.ug)


def cm(value: str | int | Decimal) -> Quantity:
    return Quantity.of(value, Unit.cm)


def m(value: str | int | Decimal) -> Quantity:
    return Quantity.of(value, Unit.m)


def m2(value: str | int | Decimal) -> Quantity:
    return Quantity.of(value, Unit.m2)


def mg_per_kg(value: str | int | Decimal) -> Quantity:
    return Quantity.of(value, Unit.mg_per_kg)


def ug_per_kg(value: str | int | Decimal) -> Quantity:
    return Quantity.of(value, Unit.ug_per_kg)


def mg_per_m2(value: str | int | Decimal) -> Quantity:
    return Quantity.of(value, Unit.mg_per_m2)


def iu(value: str | int | Decimal) -> Quantity:
    return Quantity.of(value, Unit.iu)


def miu(value: str | int | Decimal) -> Quantity:
    return Quantity.of(value, Unit.miu)


def iu_per_kg(value: str | int | Decimal) -> Quantity:
    return Quantity.of(value, Unit.iu_per_kg)


def cells(value: str | int | Decimal) -> Quantity:
    return Quantity.of(value, Unit.cells)


def cells_1e9(value: str | int | Decimal) -> Quantity:
    return Quantity.of(value, Unit.cells_1e9)


def ml(value: str | int | Decimal) -> Quantity:
    return Quantity.of(value, Unit.ml)


def ml_per_min(value: str | int | Decimal) -> Quantity:
    return Quantity.of(value, Unit.ml_per_min)


def mg_per_dl(value: str | int | Decimal) -> Quantity:
    return Quantity.of(value, Unit.mg_per_dl)


def umol_per_l(value: str | int | Decimal) -> Quantity:
    return Quantity.of(value, Unit.umol_per_l)


def years(value: str | int | Decimal) -> Quantity:
    return Quantity.of(value, Unit.years)


def quantity(value: str | int | Decimal, unit: Unit) -> Quantity:
    """Shorthand for `Quantity.of` used by callers that pick the unit at run time."""
    return Quantity.of(value, unit)
