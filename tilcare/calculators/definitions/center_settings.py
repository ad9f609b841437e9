"""A protocol's center settings as calculator inputs.

A setting the sources do not settle has no default anywhere: here it is an optional input, and
when it is left out the clinical core refuses with the message naming it ("Set '…' (key) in the
center's protocol settings: …"). The page shows each setting's label and why it is unconfirmed.

(No `from __future__ import annotations`: pydantic reads these annotations at import.)
"""

from decimal import Decimal
from typing import Annotated, Any, Literal

from ninja import Field, Schema
from pydantic import create_model

from tilcare.calculators.definitions.limits import checker, within
from tilcare.clinical.dosing.protocol_settings import (
    narrowables,
    optional_keys,
    settings_from_plain,
)
from tilcare.clinical.dosing.settings import (
    CenterSettings,
    ChoiceSetting,
    DecimalSetting,
    MissingCenterSetting,
    RenalBandsSetting,
    SettingSpec,
)
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


def require_settings(obj: Any, specs: list[SettingSpec], data: dict[str, Any]) -> None:
    """Refuse at once, naming every unset setting this request needs (not one per attempt)."""
    skipped = optional_keys(obj, data, needed_for_patients=True)
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
    return settings_from_plain(specs, data)
