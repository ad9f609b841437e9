"""Which center settings a protocol asks for, and its values read from plain text.

A center enters its protocol settings once (activation) and every calculation for its patients
reads them; a calculator page may take them as inputs instead. Both need the same three answers,
given here without Django:

* `specs_in(regimen)`: every setting a regimen (or a whole protocol) refers to, in order, once.
  A weight basis offering the ideal or adjusted weight brings the two settings every such weight
  shares (a height below 152.4 cm; a dosing weight above the actual weight).
* `optional_keys(regimen, chosen)`: the settings that may stay blank given the choices made:
  settings that only narrow a protocol range (blank: the protocol's value), an adjusted-weight
  factor whose basis is not "adjusted", and the shared weight settings while no basis chosen uses
  a derived weight. `needed_for_patients=True` is the calculator's reading, where the clinical
  core asks for the shared weight settings by name only for a patient who needs them.
* `settings_from_plain(specs, values)`: the values as stored or posted (decimal text, an option,
  a list of bands as mappings) in the types the clinical core reads, each checked against its
  declaration; `problems(...)` lists what is wrong, by key, in the core's own words.

Inputs: decimal values as `Decimal` or decimal text (never float); a band as a mapping with
`crcl_from_ml_per_min`, `crcl_to_ml_per_min` and `dose` (in the setting's dose unit).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from tilcare.clinical.dosing.regimens import (
    FromCenter,
    Il2Regimen,
    InfusionWindow,
    Narrowable,
    QuantityParam,
    WeightBasisSettings,
    resolve,
)
from tilcare.clinical.dosing.settings import (
    SHARED_WEIGHT_SETTINGS,
    CenterSettingError,
    CenterSettings,
    ChoiceSetting,
    DecimalSetting,
    InvalidCenterSetting,
    MissingCenterSetting,
    RenalBand,
    RenalBandsSetting,
    SettingSpec,
)
from tilcare.clinical.renal import WeightBasis
from tilcare.clinical.units import FloatNotAllowed, Quantity, Unit

BAND_FIELDS = ("crcl_from_ml_per_min", "crcl_to_ml_per_min", "dose")


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
    """Every center setting a regimen (or any nested dataclass) refers to, in order, once."""
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


def narrowables(obj: Any) -> list[Narrowable]:
    """Every protocol range of a regimen that a center setting may narrow, in order."""
    found: list[Narrowable] = []

    def walk(value: Any) -> None:
        if isinstance(value, Narrowable):
            found.append(value)
        else:
            _walk_inside(value, walk)

    walk(obj)
    return found


def _windows(obj: Any) -> list[tuple[QuantityParam, QuantityParam, str]]:
    """Every (earliest, latest) pair of a regimen, named as the schedule names it: a center may
    set either end, and the two must not cross."""
    found: list[tuple[QuantityParam, QuantityParam, str]] = []

    def walk(value: Any) -> None:
        if isinstance(value, InfusionWindow):
            found.append((value.earliest_hours, value.latest_hours, "infusion window"))
        elif isinstance(value, Il2Regimen):
            found.append((value.start_min_hours, value.start_max_hours, "IL-2 start"))
            found.append((value.interval_min_hours, value.interval_max_hours, "IL-2 interval"))
        else:
            _walk_inside(value, walk)

    walk(obj)
    return found


def _crossed(
    earliest: QuantityParam, latest: QuantityParam, what: str, settings: CenterSettings
) -> tuple[str, str] | None:
    """(key, problem) when the center's values make this window end before it starts, on the
    setting the schedule would name (the latest end when the center set it)."""
    try:
        low, high = resolve(earliest, settings), resolve(latest, settings)
    except (CenterSettingError, ValueError):
        return None  # an unset or unusable end is reported by key on its own
    if low.value.magnitude <= high.value.magnitude:
        return None
    spec = next(
        (
            param.setting
            for param, end in ((latest, high), (earliest, low))
            if isinstance(param, FromCenter | Narrowable) and end.setting_key is not None
        ),
        None,
    )
    if spec is None:
        return None  # both ends are the protocol's own: the protocol file answers for them
    problem = InvalidCenterSetting(
        spec,
        spec.key,
        f"the {what} starts at {low.value} but ends at {high.value}; "
        "the earliest must not be later than the latest.",
    )
    return spec.key, str(problem)


def _weight_bases(obj: Any) -> list[WeightBasisSettings]:
    found: list[WeightBasisSettings] = []

    def walk(value: Any) -> None:
        if isinstance(value, WeightBasisSettings):
            found.append(value)
        else:
            _walk_inside(value, walk)

    walk(obj)
    return found


def optional_keys(
    obj: Any, chosen: Mapping[str, object], *, needed_for_patients: bool = False
) -> set[str]:
    """Keys of the settings that may stay blank given the options `chosen` (see module doc)."""
    skipped = {param.setting.key for param in narrowables(obj)}
    derived = False
    for basis in _weight_bases(obj):
        picked = chosen.get(basis.basis.key)
        if picked is not None and picked != WeightBasis.ACTUAL.value:
            derived = True
        if basis.adjusted_factor is not None and picked != WeightBasis.ADJUSTED.value:
            skipped.add(basis.adjusted_factor.key)
    if needed_for_patients or not derived:
        skipped |= {spec.key for spec in SHARED_WEIGHT_SETTINGS}
    return skipped


def required_specs(obj: Any, chosen: Mapping[str, object]) -> list[SettingSpec]:
    """The settings a center must enter before it may activate `obj` with these choices."""
    skipped = optional_keys(obj, chosen)
    return [spec for spec in specs_in(obj) if spec.key not in skipped]


def _decimal(spec: SettingSpec, value: object, what: str = "") -> Decimal:
    if isinstance(value, float):
        raise FloatNotAllowed(value, f"center setting {spec.key}")
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise InvalidCenterSetting(spec, spec.key, f"{what}{value!r} is not a number.")
    try:
        number = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        raise InvalidCenterSetting(spec, spec.key, f"{what}“{value}” is not a number.") from None
    if not number.is_finite():
        raise InvalidCenterSetting(spec, spec.key, f"{what}“{value}” is not a number.")
    return number


def _band(spec: RenalBandsSetting, raw: object, position: int) -> RenalBand:
    what = f"band {position}: "
    if not isinstance(raw, Mapping) or set(raw) != set(BAND_FIELDS):
        raise InvalidCenterSetting(
            spec, spec.key, f"{what}a band has exactly {', '.join(BAND_FIELDS)}."
        )
    return RenalBand(
        crcl_from=Quantity.of(_decimal(spec, raw["crcl_from_ml_per_min"], what), Unit.ml_per_min),
        crcl_to=Quantity.of(_decimal(spec, raw["crcl_to_ml_per_min"], what), Unit.ml_per_min),
        dose=Quantity.of(_decimal(spec, raw["dose"], what), spec.dose_unit),
    )


def _typed(spec: SettingSpec, value: object) -> object:
    if isinstance(spec, RenalBandsSetting):
        if not isinstance(value, list | tuple):
            raise InvalidCenterSetting(spec, spec.key, "expected a list of renal bands.")
        return tuple(_band(spec, raw, i) for i, raw in enumerate(value, start=1))
    if isinstance(spec, ChoiceSetting):
        if not isinstance(value, str):
            raise InvalidCenterSetting(spec, spec.key, f"{value!r} is not one of the options.")
        return value
    if spec.none_option is not None and value == spec.none_option:
        return value
    number = _decimal(spec, value)
    return Quantity.of(number, spec.unit) if spec.unit is not None else number


def _check(spec: SettingSpec, settings: CenterSettings) -> None:
    if isinstance(spec, RenalBandsSetting):
        settings.renal_bands(spec)
    elif isinstance(spec, ChoiceSetting):
        settings.choice(spec)
    elif spec.unit is None:
        settings.number(spec)
    else:
        settings.optional_quantity(spec)


def problems(
    obj: Any, values: Mapping[str, object], *, required: Iterable[SettingSpec] = ()
) -> dict[str, str]:
    """What is wrong with `values` as settings of `obj`, by key: unknown keys, values that do
    not fit their declaration, a narrowing value outside the protocol's range, a window whose
    earliest end the center's values put after its latest, and each of `required` left blank.
    Empty when they can be used."""
    specs = {spec.key: spec for spec in specs_in(obj)}
    found: dict[str, str] = {}
    for key in values:
        if key not in specs:
            found[key] = f"“{key}” is not a center setting of this protocol."
    typed: dict[str, object] = {}
    for key, spec in specs.items():
        if key not in values or values[key] is None:
            continue
        try:
            typed[key] = _typed(spec, values[key])
            _check(spec, CenterSettings({key: typed[key]}))
        # A float is a TypeError in the core (FloatNotAllowed): refused by key like the rest.
        except (CenterSettingError, ValueError, FloatNotAllowed) as error:
            found[key] = str(error)
            typed.pop(key, None)
    settings = CenterSettings(typed)
    for param in narrowables(obj):
        if param.setting.key in typed:
            try:
                resolve(param, settings)
            except (CenterSettingError, ValueError) as error:
                found[param.setting.key] = str(error)
    # Each end may lie within its own range and still cross the other: refuse it here, not at
    # every patient's schedule once the version is signed.
    usable = CenterSettings({key: value for key, value in typed.items() if key not in found})
    for earliest, latest, what in _windows(obj):
        crossed = _crossed(earliest, latest, what, usable)
        if crossed is not None:
            found[crossed[0]] = crossed[1]
    for spec in required:
        if spec.key not in typed and spec.key not in found:
            found[spec.key] = str(MissingCenterSetting(spec))
    return found


def settings_from_plain(
    specs: Iterable[SettingSpec], values: Mapping[str, object]
) -> CenterSettings:
    """The values of `specs` found in `values`, typed as the clinical core reads them.

    Blank (absent or None) values stay absent, so the core names them when it needs them.
    """
    typed: dict[str, object] = {}
    for spec in specs:
        value = values.get(spec.key)
        if value is not None:
            typed[spec.key] = _typed(spec, value)
    return CenterSettings(typed)


def plain_value(value: object) -> object:
    """A typed setting value as stored: decimal text, the option, or a list of band mappings."""
    if isinstance(value, tuple):
        return [
            {
                "crcl_from_ml_per_min": str(band.crcl_from.magnitude),
                "crcl_to_ml_per_min": str(band.crcl_to.magnitude),
                "dose": str(band.dose.magnitude),
            }
            for band in value
        ]
    if isinstance(value, Quantity):
        return str(value.magnitude)
    if isinstance(value, Decimal):
        return str(value)
    return value


def shown(spec: SettingSpec, value: object) -> str:
    """A stored value as a pharmacist reads it: an option, "2 m²", or the bands one by one."""
    if value is None:
        return "—"
    typed = _typed(spec, value)
    if isinstance(typed, tuple):
        return "; ".join(str(band) for band in typed)
    return str(typed)
