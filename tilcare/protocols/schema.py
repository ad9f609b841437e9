"""The protocol file schema: a parsed TOML mapping → a validated, frozen `Protocol`.

`parse_protocol(data)` checks the whole structure and raises `ProtocolError` whose message starts
with the key path ("lymphodepletion.agents[1].dose: expected a decimal string ..."):
  * unknown keys are refused (a misspelt key is never ignored);
  * numbers are decimal strings and become Decimal; a TOML float or integer is refused;
  * units are checked against what each field allows (mg/kg or mg/m² for an agent, IU/kg for
    IL-2, h for windows, min for the thaw-to-infusion limit, µg/kg for the filgrastim dose);
    ranges are checked (doses > 0, minimum ≤ maximum, days before day 0, filgrastim from Day +1);
  * every table holding a number has a `source`;
  * values the sources do not settle are declared in `[[center_settings]]` with a key, a label,
    a kind (decimal with unit and min/max, choice among options, or renal bands), why they are
    unconfirmed, and no value or default; every setting a regimen refers to must be declared with
    the right kind, and every declared setting must be used;
  * `[premedication]` and `[filgrastim]` are optional: a protocol whose sources give neither leaves
    them out, and `Protocol.premedication` / `Protocol.filgrastim` are None.
The regimen parts are the clinical core's dataclasses (`tilcare.clinical.dosing.regimens`), so the
calculators never depend on the file format. Layout of the sections: see `sections.py`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from tilcare.clinical.dosing.regimens import (
    CellDoseRange,
    Filgrastim,
    Il2Regimen,
    InfusionWindow,
    LymphodepletionRegimen,
    Premedication,
    ProtocolRef,
    ThawLimit,
)
from tilcare.clinical.dosing.settings import (
    ChoiceSetting,
    DecimalSetting,
    RenalBandsSetting,
    SettingSpec,
)
from tilcare.clinical.units import Unit
from tilcare.protocols.reader import ProtocolError, Table
from tilcare.protocols.sections import (
    Declared,
    cell_dose,
    filgrastim,
    il2,
    infusion_window,
    lymphodepletion,
    premedication,
    thaw,
)

__all__ = ["Protocol", "ProtocolError", "parse_protocol"]

PROTOCOL_ID = re.compile(r"^[a-z][a-z0-9_]*[a-z0-9]$")
VERSION = re.compile(r"^[0-9]+(\.[0-9]+)*$")
SETTING_KEY = re.compile(r"^[a-z][a-z0-9_]*$")
RULE_SET_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_KINDS = ("decimal", "choice", "renal_bands")


@dataclass(frozen=True)
class Protocol:
    ref: ProtocolRef
    title: str
    summary: str
    lymphodepletion: LymphodepletionRegimen
    cell_dose: CellDoseRange
    infusion_window: InfusionWindow
    thaw: ThawLimit  # the center's thaw-to-infusion limit, apart from the infusion window
    premedication: Premedication | None  # None: the protocol's sources give none
    il2: Il2Regimen
    filgrastim: Filgrastim | None  # None: the protocol's sources give none
    il2_rule_sets: tuple[str, ...]  # hold/stop rule sets, by id
    il2_rule_sets_note: str | None
    center_settings: tuple[SettingSpec, ...]

    @property
    def protocol_id(self) -> str:
        return self.ref.protocol_id

    @property
    def version(self) -> str:
        return self.ref.version

    def setting(self, key: str) -> SettingSpec:
        for spec in self.center_settings:
            if spec.key == key:
                return spec
        raise KeyError(f"{self.ref} declares no center setting {key!r}")


def parse_protocol(data: Mapping[str, object]) -> Protocol:
    """Validate a parsed protocol file and build the `Protocol`; refuse with the key path."""
    top = Table(data, "")
    protocol_id = _matching(top, "id", PROTOCOL_ID, "lower-case letters, digits and _")
    version = _matching(top, "version", VERSION, 'numbers separated by dots, e.g. "2024"')
    ref = ProtocolRef(protocol_id, version)
    specs = tuple(_setting(t) for t in top.tables("center_settings"))
    declared = Declared(specs, "center_settings")
    title = top.text("title")
    summary = top.text("summary")
    premedication_table = top.optional_table("premedication")
    filgrastim_table = top.optional_table("filgrastim")
    protocol = Protocol(
        ref=ref,
        title=title,
        summary=summary,
        lymphodepletion=lymphodepletion(top.table("lymphodepletion"), ref, declared),
        cell_dose=cell_dose(top.table("cell_dose"), ref),
        infusion_window=infusion_window(top.table("infusion_window"), ref, declared),
        thaw=thaw(top.table("thaw"), ref, declared),
        premedication=(
            premedication(premedication_table, ref) if premedication_table is not None else None
        ),
        il2=il2(top.table("il2"), ref, declared),
        filgrastim=(
            filgrastim(filgrastim_table, ref, declared) if filgrastim_table is not None else None
        ),
        il2_rule_sets=_rule_sets(top),
        il2_rule_sets_note=top.optional_text("il2_rule_sets_note"),
        center_settings=specs,
    )
    top.finish()
    declared.finish()
    return protocol


def _matching(table: Table, key: str, pattern: re.Pattern[str], rule: str) -> str:
    value = table.text(key)
    if not pattern.match(value):
        raise ProtocolError(table.path(key), f"“{value}” must be {rule}")
    return value


def _rule_sets(top: Table) -> tuple[str, ...]:
    ids = top.text_list("il2_rule_sets")
    for i, rule_set in enumerate(ids):
        if not RULE_SET_ID.match(rule_set):
            raise ProtocolError(
                f"il2_rule_sets[{i}]",
                f"“{rule_set}” is not a rule-set id (lower-case words joined by -)",
            )
    return ids


# Center settings -------------------------------------------------------------------------------


def _setting(t: Table) -> SettingSpec:
    for forbidden in ("value", "default"):
        if forbidden in t:
            raise ProtocolError(
                t.path(forbidden),
                "a center setting has no value or default in the protocol file: "
                "each center enters its own",
            )
    key = _matching(t, "key", SETTING_KEY, "lower-case letters, digits and _")
    label = t.text("label")
    why = t.text("why_unconfirmed")
    kind = t.text("kind")
    spec: SettingSpec
    if kind == "decimal":
        minimum, maximum = t.decimal("min"), t.decimal("max")
        _ordered(t, "min", "max", minimum, maximum)
        spec = DecimalSetting(
            key=key,
            label=label,
            why_unconfirmed=why,
            unit=t.any_unit("unit"),
            minimum=minimum,
            maximum=maximum,
            limits_source=t.text("limits_source"),
            none_option=t.optional_text("none_option"),
        )
    elif kind == "choice":
        options = t.text_list("options")
        if len(options) < 2:
            raise ProtocolError(t.path("options"), "a choice needs at least two options")
        spec = ChoiceSetting(key=key, label=label, why_unconfirmed=why, options=options)
    elif kind == "renal_bands":
        dose_min, dose_max = t.decimal("dose_min"), t.decimal("dose_max")
        _ordered(t, "dose_min", "dose_max", dose_min, dose_max)
        crcl_min = t.decimal("crcl_min_ml_per_min")
        crcl_max = t.decimal("crcl_max_ml_per_min")
        _ordered(t, "crcl_min_ml_per_min", "crcl_max_ml_per_min", crcl_min, crcl_max)
        spec = RenalBandsSetting(
            key=key,
            label=label,
            why_unconfirmed=why,
            dose_unit=t.unit("dose_unit", (Unit.mg_per_m2, Unit.mg_per_kg)),
            dose_minimum=dose_min,
            dose_maximum=dose_max,
            crcl_minimum_ml_per_min=crcl_min,
            crcl_maximum_ml_per_min=crcl_max,
            limits_source=t.text("limits_source"),
        )
    else:
        raise ProtocolError(t.path("kind"), f"“{kind}” is not one of {', '.join(_KINDS)}")
    t.finish()
    return spec


def _ordered(t: Table, low_key: str, high_key: str, low: Decimal, high: Decimal) -> None:
    if low > high:
        raise ProtocolError(t.path(low_key), f"{low} is greater than {high_key} {high}")
