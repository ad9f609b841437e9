"""A protocol's center settings as calculator inputs.

A setting the sources do not settle has no default anywhere: here it is an optional input, and
when it is left out the clinical core refuses with the message naming it ("Set '…' (key) in the
center's protocol settings: …"). The page shows each setting's label and why it is unconfirmed.

(No `from __future__ import annotations`: pydantic reads these annotations at import.)
"""

import dataclasses
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any, Literal

from ninja import Field, Schema
from pydantic import create_model

from tilcare.calculators.definitions.limits import checker, within
from tilcare.clinical.dosing.regimens import Narrowable, WeightBasisSettings
from tilcare.clinical.dosing.settings import (
    SHARED_WEIGHT_SETTINGS,
    CenterSettings,
    ChoiceSetting,
    DecimalSetting,
    MissingCenterSetting,
    RenalBand,
    RenalBandsSetting,
    SettingSpec,
)
from tilcare.clinical.renal import WeightBasis
from tilcare.clinical.units import Quantity, Unit
from tilcare.core.api_support import checked_range
from tilcare.core.errors import InvalidInput

_BAND_SCHEMAS: dict[tuple[object, ...], type[Schema]] = {}


def _renal_band_schema(spec: RenalBandsSetting) -> type[Schema]:
    """One band of `spec`: each number within the setting's allowed range, refused by name.

    Settings with the same limits share one schema (one name in the API document).
    """
    limits = (
        spec.crcl_minimum_ml_per_min,
        spec.crcl_maximum_ml_per_min,
        spec.dose_minimum,
        spec.dose_maximum,
        spec.dose_unit,
    )
    if limits not in _BAND_SCHEMAS:
        suffix = str(len(_BAND_SCHEMAS) + 1) if _BAND_SCHEMAS else ""
        _BAND_SCHEMAS[limits] = _new_band_schema(f"RenalBandIn{suffix}", spec)
    return _BAND_SCHEMAS[limits]


def _new_band_schema(name: str, spec: RenalBandsSetting) -> type[Schema]:
    low, high = spec.crcl_minimum_ml_per_min, spec.crcl_maximum_ml_per_min
    crcl = f"mL/min, {low}–{high}"
    dose_unit = spec.dose_unit.value
    model: type[Schema] = create_model(
        name,
        __base__=Schema,
        crcl_from_ml_per_min=(
            within("crcl_from_ml_per_min", low, high, "mL/min", kind="allowed"),
            Field(..., description=crcl, json_schema_extra=checked_range(low, high)),
        ),
        crcl_to_ml_per_min=(
            within("crcl_to_ml_per_min", low, high, "mL/min", kind="allowed"),
            Field(..., description=crcl, json_schema_extra=checked_range(low, high)),
        ),
        dose=(
            within("dose", spec.dose_minimum, spec.dose_maximum, dose_unit, kind="allowed"),
            Field(
                ...,
                description=(
                    f"in the protocol's dose unit, {spec.dose_minimum}–{spec.dose_maximum} "
                    f"{dose_unit}"
                ),
                json_schema_extra=checked_range(spec.dose_minimum, spec.dose_maximum),
            ),
        ),
    )
    return model


def _walk_inside(value: Any, walk: Callable[[Any], None]) -> None:
    """Call `walk` on each field of a dataclass instance or each item of a list or tuple: a
    setting may sit at any depth of a regimen."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            walk(getattr(value, field.name))
    elif isinstance(value, list | tuple):
        for item in value:
            walk(item)


def _offers_a_derived_weight(value: Any) -> bool:
    return isinstance(value, WeightBasisSettings) and any(
        option != WeightBasis.ACTUAL.value for option in value.basis.options
    )


def specs_in(obj: Any) -> list[SettingSpec]:
    """Every center setting a regimen (or any nested dataclass) refers to, in order, once.

    A weight basis offering the ideal or adjusted weight brings the settings every such weight
    shares (below 152.4 cm; above the actual weight).
    """
    found: list[SettingSpec] = []

    def walk(value: Any) -> None:
        if isinstance(value, DecimalSetting | ChoiceSetting | RenalBandsSetting):
            if value not in found:
                found.append(value)
        elif _offers_a_derived_weight(value):
            _walk_inside(value, walk)
            for spec in SHARED_WEIGHT_SETTINGS:
                walk(spec)
        else:
            _walk_inside(value, walk)

    walk(obj)
    return found


def _optional_specs(obj: Any, data: dict[str, Any]) -> set[str]:
    """Settings this request may not need, so not demanded up front: adjusted-weight factors
    whose basis is not "adjusted", and the shared weight settings, which the clinical core asks
    for by name only for a patient who needs them (below 152.4 cm; a dosing weight above the
    actual weight); and settings that only narrow a protocol's range (the protocol's value
    applies while they are blank)."""
    skipped: set[str] = {spec.key for spec in SHARED_WEIGHT_SETTINGS}

    def walk(value: Any) -> None:
        if isinstance(value, Narrowable):
            skipped.add(value.setting.key)
        elif isinstance(value, WeightBasisSettings):
            factor = value.adjusted_factor
            if factor is not None and data.get(value.basis.key) != WeightBasis.ADJUSTED.value:
                skipped.add(factor.key)
        else:
            _walk_inside(value, walk)

    walk(obj)
    return skipped


def require_settings(obj: Any, specs: list[SettingSpec], data: dict[str, Any]) -> None:
    """Refuse at once, naming every unset setting this request needs (not one per attempt)."""
    skipped = _optional_specs(obj, data)
    errors = {
        spec.key: [str(MissingCenterSetting(spec))]
        for spec in specs
        if data.get(spec.key) is None and spec.key not in skipped
    }
    if errors:
        raise InvalidInput(errors)


def _help(spec: SettingSpec) -> str:
    return f"Center setting, no default: {spec.why_unconfirmed}"


def narrowing_specs(obj: Any) -> set[str]:
    """Keys of the settings that only narrow a protocol's range (blank: the protocol's value)."""
    return {param.setting.key for param in narrowables(obj)}


def narrowables(obj: Any) -> list[Narrowable]:
    """Every protocol range of a regimen that a center setting may narrow, in order."""
    found: list[Narrowable] = []

    def walk(value: Any) -> None:
        if isinstance(value, Narrowable):
            found.append(value)
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            for field in dataclasses.fields(value):
                walk(getattr(value, field.name))

    walk(obj)
    return found


def narrowing_field(spec: DecimalSetting) -> tuple[Any, Any]:
    """(annotation, Field) for a setting that narrows a protocol range: optional, said so."""
    # The clinical core refuses a value outside the protocol's range, saying it would widen it.
    return Decimal | None, Field(
        None,
        title=spec.label,
        description=(
            f"Center setting, optional: {spec.why_unconfirmed} Allowed {spec.minimum}–"
            f"{spec.maximum} {spec.unit_text}, the protocol's range."
        ),
        json_schema_extra=checked_range(spec.minimum, spec.maximum),
    )


def _within_spec(spec: DecimalSetting) -> Any:
    """Optional Decimal refused outside the setting's allowed range, naming its key and limit."""
    return within(
        spec.key, spec.minimum, spec.maximum, spec.unit_text, optional=True, kind="allowed"
    )


def setting_field(spec: SettingSpec) -> tuple[Any, Any]:
    """(annotation, Field) for one setting: always optional, so a blank is refused by name."""
    if isinstance(spec, ChoiceSetting):
        annotation: Any = Literal[spec.options] | None
        return annotation, Field(None, title=spec.label, description=_help(spec))
    if isinstance(spec, RenalBandsSetting):
        band = _renal_band_schema(spec)
        return list[band] | None, Field(  # type: ignore[valid-type]
            None, title=spec.label, description=_help(spec)
        )
    limits = f" Allowed {spec.minimum}–{spec.maximum} {spec.unit_text}".rstrip() + "."
    documented = checked_range(spec.minimum, spec.maximum)
    if spec.none_option is not None:
        option: Any = Literal[spec.none_option]
        checked = checker(spec.key, spec.minimum, spec.maximum, spec.unit_text, "allowed")
        return Annotated[Decimal | option | None, checked], Field(
            None,
            title=spec.label,
            description=f"{_help(spec)}{limits} Or “{spec.none_option}”.",
            json_schema_extra=documented,
        )
    return _within_spec(spec), Field(
        None, title=spec.label, description=_help(spec) + limits, json_schema_extra=documented
    )


def center_settings(specs: list[SettingSpec], data: dict[str, Any]) -> CenterSettings:
    """The request's setting values in the types the clinical core reads (units attached)."""
    values: dict[str, object] = {}
    for spec in specs:
        value = data.get(spec.key)
        if value is None:
            continue
        if isinstance(spec, RenalBandsSetting):
            values[spec.key] = tuple(
                RenalBand(
                    crcl_from=Quantity.of(band["crcl_from_ml_per_min"], Unit.ml_per_min),
                    crcl_to=Quantity.of(band["crcl_to_ml_per_min"], Unit.ml_per_min),
                    dose=Quantity.of(band["dose"], spec.dose_unit),
                )
                for band in value
            )
        elif isinstance(spec, DecimalSetting) and isinstance(value, Decimal):
            values[spec.key] = Quantity.of(value, spec.unit) if spec.unit else value
        else:
            values[spec.key] = value
    return CenterSettings(values)
