"""Center settings: the values a protocol's sources do not settle, entered by each center.

A protocol declares each unsettled value as a setting (`DecimalSetting`, `ChoiceSetting`,
`RenalBandsSetting`) with a key, a label a pharmacist understands, the allowed range or options
and why the sources do not settle it, and never a value or default (DESIGN.md section 4 rule 4).
The center enters the values; `CenterSettings` holds them as an immutable mapping of key → value.

Reading a setting goes through `CenterSettings.quantity` / `.number` / `.optional_quantity` /
`.choice` / `.renal_bands`, which check the value against its declaration:
  * a setting with no value raises `MissingCenterSetting`: "Set '<label>' (<key>) in the
    center's protocol settings: <why unconfirmed>";
  * a value of the wrong kind, unit, outside the declared range or not among the options raises
    `InvalidCenterSetting`, naming the setting and the limit.

Value types: a `Quantity` in the declared unit for a decimal setting with a unit; a Decimal or
int for a dimensionless decimal setting (unit "1", e.g. a weight factor); the declared
`none_option` text (e.g. "no cap") where the declaration allows it; one of the option strings for
a choice; a tuple of `RenalBand` for renal bands. Floats are refused when the mapping is built.

Renal bands are compared with creatinine clearance rounded to a whole mL/min, so their limits are
whole numbers, inclusive at both ends, and contiguous (each band starts 1 mL/min above the end of
the one below), so that every CrCl from the lowest limit up falls in exactly one band or above
them all. At least one band is required: the lowest limit is where dosing is refused.
No rounding happens in this module.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from types import MappingProxyType
from typing import NoReturn

from tilcare.clinical.body_size import (
    SHORT_STATURE_KEY,
    SHORT_STATURE_LABEL,
    SHORT_STATURE_WHY,
    ShortStature,
)
from tilcare.clinical.units import FloatNotAllowed, Quantity, Unit, to_decimal

CENTER_SOURCE = "Center setting"


class CenterSettingError(ValueError):
    """A center setting is missing or unusable."""


@dataclass(frozen=True)
class DecimalSetting:
    """A number the center enters, in `unit` (None: dimensionless), within [minimum, maximum]."""

    key: str
    label: str
    why_unconfirmed: str
    unit: Unit | None
    minimum: Decimal
    maximum: Decimal
    limits_source: str
    none_option: str | None = None  # e.g. "no cap": an explicit choice of no number

    @property
    def unit_text(self) -> str:
        return self.unit.value if self.unit is not None else ""


@dataclass(frozen=True)
class ChoiceSetting:
    """One of the listed options, chosen by the center."""

    key: str
    label: str
    why_unconfirmed: str
    options: tuple[str, ...]


@dataclass(frozen=True)
class RenalBandsSetting:
    """Creatinine-clearance bands with the reduced dose the center gives in each."""

    key: str
    label: str
    why_unconfirmed: str
    dose_unit: Unit
    dose_minimum: Decimal
    dose_maximum: Decimal
    crcl_minimum_ml_per_min: Decimal
    crcl_maximum_ml_per_min: Decimal
    limits_source: str


SettingSpec = DecimalSetting | ChoiceSetting | RenalBandsSetting


@dataclass(frozen=True)
class RenalBand:
    """CrCl from `crcl_from` to `crcl_to` mL/min inclusive (whole numbers) → `dose`."""

    crcl_from: Quantity
    crcl_to: Quantity
    dose: Quantity

    def __str__(self) -> str:
        return f"CrCl {self.crcl_from.magnitude}–{self.crcl_to.magnitude} mL/min → {self.dose}"


CenterValue = Quantity | Decimal | str | tuple[RenalBand, ...]


class MissingCenterSetting(CenterSettingError):
    """The center has not set a value the calculation needs."""

    def __init__(self, spec: SettingSpec, patient_case: str = "") -> None:
        self.key = spec.key
        self.label = spec.label
        case = f" {patient_case}" if patient_case else ""
        super().__init__(
            f"Set '{spec.label}' ({spec.key}) in the center's protocol settings: "
            f"{spec.why_unconfirmed}{case}"
        )


class InvalidCenterSetting(CenterSettingError):
    """A center setting's value does not fit its declaration; the message names both."""

    def __init__(self, spec: SettingSpec | None, key: str, problem: str) -> None:
        self.key = key
        name = f"'{spec.label}' ({key})" if spec is not None else f"({key})"
        super().__init__(f"Center setting {name}: {problem}")


def _check_value(key: str, value: object) -> CenterValue:
    if isinstance(value, float):
        raise FloatNotAllowed(value, f"center setting {key}")
    if isinstance(value, bool):
        raise InvalidCenterSetting(None, key, f"{value!r} is a boolean, not a setting value.")
    if isinstance(value, Quantity | Decimal | str):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, tuple | list):
        bands = tuple(value)
        for band in bands:
            if not isinstance(band, RenalBand):
                raise InvalidCenterSetting(
                    None, key, f"a list of values must hold renal bands only, not {band!r}."
                )
        return bands
    raise InvalidCenterSetting(
        None, key, f"{value!r} ({type(value).__name__}) is not a setting value."
    )


class CenterSettings(Mapping[str, CenterValue]):
    """The values one center has set: an immutable mapping of setting key → value."""

    __slots__ = ("_values",)
    _values: Mapping[str, CenterValue]

    def __init__(self, values: Mapping[str, object] | None = None) -> None:
        checked: dict[str, CenterValue] = {}
        for key, value in (values or {}).items():
            if not isinstance(key, str) or not key:
                raise InvalidCenterSetting(None, repr(key), "setting keys are non-empty text.")
            checked[key] = _check_value(key, value)
        object.__setattr__(self, "_values", MappingProxyType(checked))

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError("CenterSettings is immutable; build a new one.")

    def __getitem__(self, key: str) -> CenterValue:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"CenterSettings({dict(self._values)!r})"

    def missing(self, specs: Iterable[SettingSpec]) -> tuple[SettingSpec, ...]:
        """The declared settings this center has not set yet, in declaration order."""
        return tuple(spec for spec in specs if spec.key not in self._values)

    def _value(self, spec: SettingSpec) -> CenterValue:
        if spec.key not in self._values:
            raise MissingCenterSetting(spec)
        return self._values[spec.key]

    # Decimal settings ---------------------------------------------------------------------

    def _in_range(self, spec: DecimalSetting, magnitude: Decimal) -> Decimal:
        unit = f" {spec.unit_text}" if spec.unit is not None else ""
        if magnitude < spec.minimum:
            raise InvalidCenterSetting(
                spec,
                spec.key,
                f"{magnitude}{unit} is below the allowed minimum {spec.minimum}{unit}.",
            )
        if magnitude > spec.maximum:
            raise InvalidCenterSetting(
                spec,
                spec.key,
                f"{magnitude}{unit} is above the allowed maximum {spec.maximum}{unit}.",
            )
        return magnitude

    def optional_quantity(self, spec: DecimalSetting) -> Quantity | None:
        """The quantity, or None where the center chose the declared `none_option` explicitly."""
        value = self._value(spec)
        if spec.unit is None:
            raise InvalidCenterSetting(spec, spec.key, "is dimensionless; read it with .number().")
        if spec.none_option is not None and value == spec.none_option:
            return None
        if not isinstance(value, Quantity):
            allowed = f" or “{spec.none_option}”" if spec.none_option is not None else ""
            raise InvalidCenterSetting(
                spec, spec.key, f"expected a quantity in {spec.unit_text}{allowed}, got {value!r}."
            )
        if value.unit is not spec.unit:
            raise InvalidCenterSetting(
                spec,
                spec.key,
                f"expected {spec.unit_text}, got {value.unit.value}; "
                "enter it in the declared unit (no conversion is made).",
            )
        self._in_range(spec, value.magnitude)
        return value

    def quantity(self, spec: DecimalSetting) -> Quantity:
        """The quantity in the declared unit; a declared none option is not accepted here."""
        value = self.optional_quantity(spec)
        if value is None:
            raise InvalidCenterSetting(spec, spec.key, "a quantity is required here.")
        return value

    def number(self, spec: DecimalSetting) -> Decimal:
        """A dimensionless setting (unit "1"), such as a weight factor."""
        value = self._value(spec)
        if spec.unit is not None:
            raise InvalidCenterSetting(
                spec, spec.key, f"has a unit ({spec.unit_text}); read it with .quantity()."
            )
        if not isinstance(value, Decimal):
            raise InvalidCenterSetting(spec, spec.key, f"expected a number, got {value!r}.")
        return self._in_range(spec, to_decimal(value, spec.key))

    # Choices and bands --------------------------------------------------------------------

    def choice(self, spec: ChoiceSetting) -> str:
        value = self._value(spec)
        if not isinstance(value, str) or value not in spec.options:
            options = ", ".join(spec.options)
            raise InvalidCenterSetting(
                spec, spec.key, f"{value!r} is not one of the options: {options}."
            )
        return value

    def renal_bands(self, spec: RenalBandsSetting) -> tuple[RenalBand, ...]:
        """The bands, sorted from the lowest CrCl, checked against the declaration."""
        value = self._value(spec)
        if not isinstance(value, tuple) or not value:
            raise InvalidCenterSetting(
                spec, spec.key, "expected at least one renal band (CrCl from, to, dose)."
            )
        bands = sorted(
            (_checked_band(spec, band) for band in value), key=lambda b: b.crcl_from.magnitude
        )
        for lower, upper in itertools.pairwise(bands):
            if upper.crcl_from.magnitude != lower.crcl_to.magnitude + 1:
                raise InvalidCenterSetting(
                    spec,
                    spec.key,
                    f"bands must follow on without gap or overlap: {lower} is followed by "
                    f"{upper}; the next band must start at {lower.crcl_to.magnitude + 1} mL/min.",
                )
        return tuple(bands)


def _checked_band(spec: RenalBandsSetting, band: object) -> RenalBand:
    if not isinstance(band, RenalBand):
        raise InvalidCenterSetting(spec, spec.key, f"{band!r} is not a renal band.")
    low = _whole_ml_per_min(spec, band.crcl_from, "from")
    high = _whole_ml_per_min(spec, band.crcl_to, "to")
    if low > high:
        raise InvalidCenterSetting(
            spec, spec.key, f"band {band}: CrCl from {low} is above CrCl to {high} mL/min."
        )
    for limit in (low, high):
        if not spec.crcl_minimum_ml_per_min <= limit <= spec.crcl_maximum_ml_per_min:
            raise InvalidCenterSetting(
                spec,
                spec.key,
                f"band {band}: CrCl {limit} mL/min is outside the allowed "
                f"{spec.crcl_minimum_ml_per_min}–{spec.crcl_maximum_ml_per_min} mL/min.",
            )
    if band.dose.unit is not spec.dose_unit:
        raise InvalidCenterSetting(
            spec,
            spec.key,
            f"band {band}: the dose must be in {spec.dose_unit.value}, not {band.dose.unit.value}.",
        )
    if not spec.dose_minimum <= band.dose.magnitude <= spec.dose_maximum:
        raise InvalidCenterSetting(
            spec,
            spec.key,
            f"band {band}: the dose must lie between {spec.dose_minimum} and "
            f"{spec.dose_maximum} {spec.dose_unit.value}.",
        )
    return band


def _whole_ml_per_min(spec: RenalBandsSetting, value: Quantity, end: str) -> Decimal:
    if value.unit is not Unit.ml_per_min:
        raise InvalidCenterSetting(
            spec, spec.key, f"CrCl {end} must be in mL/min, not {value.unit.value}."
        )
    if value.magnitude != value.magnitude.to_integral_value():
        raise InvalidCenterSetting(
            spec,
            spec.key,
            f"CrCl {end} {value.magnitude} mL/min must be a whole number "
            "(CrCl is compared rounded to a whole mL/min).",
        )
    return value.magnitude


def center_source(spec: SettingSpec) -> str:
    """How a value taken from a center setting is cited in results."""
    return f"{CENTER_SOURCE} '{spec.label}' ({spec.key})"


# Settings every ideal or adjusted dosing weight shares ------------------------------------------
# Declared here rather than in each protocol file: they concern the body-size formulas, not a
# regimen, and are asked for only when a patient needs them (a height below 152.4 cm; a dosing
# weight above the actual weight). Like every center setting they have no value until entered.

IDEAL_WEIGHT_BELOW_60_IN = ChoiceSetting(
    key=SHORT_STATURE_KEY,
    label=SHORT_STATURE_LABEL,
    why_unconfirmed=SHORT_STATURE_WHY,
    options=tuple(rule.value for rule in ShortStature),
)


class AboveActual(Enum):
    """What the center does when the ideal or adjusted weight is above the actual weight."""

    USE_ACTUAL_WEIGHT = "use_actual_weight"  # the lower of the actual and the dosing weight
    USE_DOSING_WEIGHT = "use_dosing_weight"  # dose on the ideal or adjusted weight anyway
    REFUSE = "refuse"


DOSING_WEIGHT_ABOVE_ACTUAL = ChoiceSetting(
    key="dosing_weight_above_actual",
    label="Dosing weight above the actual weight (ideal or adjusted weight of an underweight "
    "patient)",
    why_unconfirmed=(
        "in an underweight patient the ideal or adjusted weight is above the measured weight, "
        "and dosing on it gives more drug per kg of the patient (and a higher creatinine "
        "clearance) than the basis intends. The sources do not settle it: use the lower of the "
        "actual and the dosing weight, use the dosing weight anyway, or refuse so that the "
        "prescriber decides for each such patient. The center's pharmacists and physicians "
        "choose one; there is no default."
    ),
    options=tuple(rule.value for rule in AboveActual),
)
SHARED_WEIGHT_SETTINGS = (IDEAL_WEIGHT_BELOW_60_IN, DOSING_WEIGHT_ABOVE_ACTUAL)
