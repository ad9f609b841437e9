"""Protocol files: the shipped ones load with their sourced facts; malformed ones are refused.

Facts checked against clinical-reference.md: lifileucel (Amtagvi US label 2024 §2; Medina et al.,
JITC 2023) and NKI phase 3 (ESMO 2018 design; Rohaan et al., NEJM 2022).
"""

from __future__ import annotations

import copy
import dataclasses
import tomllib
from collections.abc import Callable, Iterator
from decimal import Decimal
from importlib import resources
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tilcare.clinical.dosing.regimens import (
    Fixed,
    FromCenter,
    Narrowable,
    PremedicationGroup,
    ProtocolRef,
)
from tilcare.clinical.dosing.settings import ChoiceSetting, DecimalSetting, RenalBandsSetting
from tilcare.clinical.units import Quantity, Unit, cells_1e9, iu_per_kg, mg_per_kg, mg_per_m2
from tilcare.protocols.loader import (
    ProtocolNotFound,
    available_protocols,
    load_protocol,
    parse_file,
)
from tilcare.protocols.reader import ProtocolError
from tilcare.protocols.rulesets import available_rule_sets
from tilcare.protocols.schema import Protocol, parse_protocol

FILES = ("lifileucel_us_2024.toml", "nki_phase3_2022.toml")


def shipped_text(name: str) -> str:
    return resources.files("tilcare.protocols").joinpath("data", name).read_text("utf-8")


def shipped_data(name: str = "lifileucel_us_2024.toml") -> dict[str, Any]:
    return tomllib.loads(shipped_text(name))


# The shipped files -----------------------------------------------------------------------------


def test_both_shipped_protocols_are_available_and_load() -> None:
    assert available_protocols() == (
        ProtocolRef("lifileucel_us", "2024"),
        ProtocolRef("nki_phase3", "2022"),
    )
    for ref in available_protocols():
        protocol = load_protocol(ref.protocol_id, ref.version)
        assert protocol.ref == ref
        assert load_protocol(ref.protocol_id) is protocol  # latest version, cached


def test_lifileucel_facts_from_the_label() -> None:
    protocol = load_protocol("lifileucel_us", "2024")
    cyclophosphamide, fludarabine = protocol.lymphodepletion.agents
    # Amtagvi label 2024: cyclophosphamide 60 mg/kg daily × 2; fludarabine 25 mg/m² daily × 5
    assert cyclophosphamide.dose == mg_per_kg(60)
    assert cyclophosphamide.days.day_numbers == (-7, -6)
    assert cyclophosphamide.days.confirmed is False  # trial numbering, not label wording
    assert fludarabine.dose == mg_per_m2(25)
    assert fludarabine.days.day_numbers == (-5, -4, -3, -2, -1)
    assert fludarabine.renal is not None
    assert protocol.lymphodepletion.mesna is not None
    assert protocol.lymphodepletion.mesna.dose.key == "mesna_dose"
    # 7.5 × 10⁹ to 72 × 10⁹ viable cells, 1 to 4 bags
    cells = protocol.cell_dose
    assert (cells.minimum, cells.maximum) == (cells_1e9("7.5"), cells_1e9(72))
    assert (cells.minimum_bags, cells.maximum_bags) == (1, 4)
    # Infusion 24 h to 4 days after the last fludarabine dose
    window = protocol.infusion_window
    assert isinstance(window.earliest_hours, Fixed) and isinstance(window.latest_hours, Fixed)
    assert window.earliest_hours.value == Quantity.of(24, Unit.hours)
    assert window.latest_hours.value == Quantity.of(96, Unit.hours)
    # C-144-01: "Three to 24 hours after infusion, patients received IL-2 … 600,000 IU/kg every 8
    # to 12 hours for up to 6 doses"; ONS (US PI): "3–24 hours post infusion … every 8–12 hours
    # for a maximum of six doses". The center may narrow the ranges, never widen them.
    assert protocol.il2.dose_per_kg == iu_per_kg(600000)
    assert protocol.il2.max_doses == 6
    expected = {
        "interval_min_hours": ("8", "8", "12"),
        "interval_max_hours": ("12", "8", "12"),
        "start_min_hours": ("3", "3", "24"),
        "start_max_hours": ("24", "3", "24"),
    }
    for name, (value, low, high) in expected.items():
        param = getattr(protocol.il2, name)
        assert isinstance(param, Narrowable)
        assert (param.value, param.low, param.high) == (
            Quantity.of(value, Unit.hours),
            Quantity.of(low, Unit.hours),
            Quantity.of(high, Unit.hours),
        )
        assert (param.setting.minimum, param.setting.maximum) == (Decimal(low), Decimal(high))
        assert "Three to 24 hours after infusion" in param.source
        assert "every 8–12 hours for a maximum of six doses" in param.source
    assert protocol.il2_rule_sets == ("dutcher-2014", "betof-warner-2024")


def test_lifileucel_center_settings_are_the_unconfirmed_values() -> None:
    protocol = load_protocol("lifileucel_us")
    assert [spec.key for spec in protocol.center_settings] == [
        "cyclophosphamide_weight_basis",
        "cyclophosphamide_adjusted_weight_factor",
        "cyclophosphamide_rounding_increment_mg",
        "mesna_dose",
        "bsa_formula",
        "bsa_cap_m2",
        "fludarabine_renal_bands",
        "crcl_weight_basis",
        "crcl_adjusted_weight_factor",
        "fludarabine_rounding_increment_mg",
        "il2_weight_basis",
        "il2_adjusted_weight_factor",
        "il2_interval_min_hours",
        "il2_interval_max_hours",
        "il2_start_min_hours",
        "il2_start_max_hours",
        "thaw_to_infusion_limit_minutes",
        "filgrastim_dose_ug_per_kg",
    ]
    bsa_cap = protocol.setting("bsa_cap_m2")
    assert isinstance(bsa_cap, DecimalSetting) and bsa_cap.none_option == "no cap"
    bands = protocol.setting("fludarabine_renal_bands")
    assert isinstance(bands, RenalBandsSetting)
    # The secondary-source bands are quoted in the explanation, never as values.
    assert "50–79 mL/min → 20 mg/m²" in bands.why_unconfirmed
    basis = protocol.setting("cyclophosphamide_weight_basis")
    assert isinstance(basis, ChoiceSetting)
    assert basis.options == ("actual", "ideal", "adjusted")


@pytest.mark.parametrize("name", FILES)
def test_the_thaw_to_infusion_limit_is_the_center_s_own_in_minutes(name: str) -> None:
    # Neither source gives the limit: the lifileucel label's thaw and hold-time instructions
    # (section 2.2) are not reproduced, the NKI publications give none. No value, no default.
    protocol = parse_file(name, shipped_text(name))
    limit = protocol.thaw.setting
    assert limit is protocol.setting("thaw_to_infusion_limit_minutes")
    assert (limit.unit, limit.minimum, limit.maximum) == (Unit.minutes, Decimal(10), Decimal(720))
    assert limit.none_option is None
    assert limit.limits_source == (
        "Plausibility limits of this file; not a clinical recommendation."
    )
    assert "pharmacist and treating physician enter the limit in minutes" in limit.why_unconfirmed
    assert "NOT CONFIRMED" not in limit.why_unconfirmed + protocol.thaw.source
    assert ".md" not in limit.why_unconfirmed + protocol.thaw.source
    assert protocol.thaw.protocol == protocol.ref


def test_the_thaw_limit_sources_say_who_sets_it() -> None:
    lifileucel = load_protocol("lifileucel_us").thaw.source
    assert "section 2.2" in lifileucel
    assert "the center enters its own limit from the label it holds" in lifileucel
    nki = load_protocol("nki_phase3").thaw.source
    assert "give no time limit from thawing the cells to infusing them" in nki
    assert "the trial protocol's own product-handling instructions govern it" in nki


def test_lifileucel_premedication_from_the_label() -> None:
    # Label section 2: “Acetaminophen and diphenhydramine or another H1-antihistamine, ~30 to 60
    # minutes before infusion”.
    premedication = load_protocol("lifileucel_us").premedication
    assert premedication is not None
    assert premedication.groups == (
        PremedicationGroup("acetaminophen", ("acetaminophen",)),
        PremedicationGroup("H1 antihistamine", ("diphenhydramine",), "another H1-antihistamine"),
    )
    assert (premedication.minutes_before_min, premedication.minutes_before_max) == (
        Quantity.of(30, Unit.minutes),
        Quantity.of(60, Unit.minutes),
    )
    assert premedication.approximate is True  # the label's “~”
    assert "~30 to 60 minutes before infusion" in premedication.source
    assert "rxreasoner.com/monographs/amtagvi/usage" in premedication.source


def test_lifileucel_filgrastim_from_the_boxed_warning_with_the_dose_the_center_s() -> None:
    # Boxed warning: “Filgrastim (or biosimilar) starting Day 1 after AMTAGVI, daily until
    # ANC > 1000/mm³ for 3 consecutive days, or per institutional standard”; no dose.
    protocol = load_protocol("lifileucel_us")
    filgrastim = protocol.filgrastim
    assert filgrastim is not None
    assert (filgrastim.start_day, filgrastim.interval_days) == (1, 1)
    assert (filgrastim.stop.anc_above, filgrastim.stop.consecutive_days) == (
        Quantity.of(1000, Unit.per_mm3),
        3,
    )
    assert filgrastim.institutional_alternative == "or per institutional standard"
    assert "daily until ANC > 1000/mm³ for 3 consecutive days" in filgrastim.source
    assert "daily until ANC > 1000/mm³ for 3" in filgrastim.stop.source
    dose = filgrastim.dose
    assert dose is protocol.setting("filgrastim_dose_ug_per_kg")
    assert (dose.unit, dose.minimum, dose.maximum, dose.none_option) == (
        Unit.ug_per_kg,
        Decimal(1),
        Decimal(20),
        None,
    )
    assert dose.limits_source == "Plausibility limits of this file; not a clinical recommendation."
    assert "but no filgrastim dose" in dose.why_unconfirmed
    assert "pharmacist and treating physician enter the dose per kg" in dose.why_unconfirmed


def test_nki_sources_give_neither_premedication_nor_filgrastim() -> None:
    protocol = load_protocol("nki_phase3")
    assert (protocol.premedication, protocol.filgrastim) == (None, None)
    assert not {"premedication", "filgrastim"} & set(shipped_data("nki_phase3_2022.toml"))


def test_nki_facts_from_the_trial_design() -> None:
    protocol = load_protocol("nki_phase3")
    # Rohaan 2022 abstract: "at least 5×10⁹" TILs; 2 × 10¹¹ was observed, not a limit.
    assert protocol.cell_dose.minimum == cells_1e9(5)
    assert protocol.cell_dose.maximum is None
    assert "at least 5×10⁹" in protocol.cell_dose.source
    assert protocol.cell_dose.minimum_bags is None  # no bag count in the sources
    assert protocol.il2.max_doses == 15
    interval = protocol.il2.interval_min_hours
    assert isinstance(interval, Fixed) and interval.value == Quantity.of(8, Unit.hours)
    assert "ESMO 2018" in interval.source
    assert isinstance(protocol.il2.interval_max_hours, FromCenter)
    assert isinstance(protocol.infusion_window.earliest_hours, FromCenter)
    assert isinstance(protocol.infusion_window.latest_hours, FromCenter)
    assert isinstance(protocol.il2.start_min_hours, FromCenter)


def test_nki_day_numbers_cite_the_nki_design_not_another_trial() -> None:
    # NCT01995344 is a Christie (Manchester) phase II with up to 12 IL-2 doses, not the NKI
    # trial (NCT02278887); the ESMO 2018 design says "× 2 days" and "× 5 days" only.
    protocol = load_protocol("nki_phase3")
    for agent in protocol.lymphodepletion.agents:
        assert "NCT01995344" not in agent.days.source
        assert "ESMO 2018 trial-design abstract" in agent.days.source
        assert "give no day numbers" in agent.days.source
        assert agent.days.confirmed is False


def test_lifileucel_day_numbers_name_the_trial_they_come_from() -> None:
    # The quoted numbering is the Christie (Manchester) phase II's, not the NKI trial's.
    protocol = load_protocol("lifileucel_us")
    for agent in protocol.lymphodepletion.agents:
        assert "NKI" not in agent.days.source
        assert "Christie (Manchester) phase II TIL protocol NCT01995344" in agent.days.source


def _numbers_without_source(value: object, path: str) -> Iterator[str]:
    """Paths of dataclasses that hold a number but no non-empty source."""
    if isinstance(value, tuple):
        for i, item in enumerate(value):
            yield from _numbers_without_source(item, f"{path}[{i}]")
        return
    if not dataclasses.is_dataclass(value) or isinstance(value, Quantity | type):
        return
    fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}

    def is_number(item: object) -> bool:
        if isinstance(item, tuple):
            return any(is_number(part) for part in item)
        number = isinstance(item, int | Decimal) and not isinstance(item, bool)
        return number or isinstance(item, Quantity)

    if any(is_number(item) for item in fields.values()):
        source = fields.get("source") or fields.get("limits_source")
        if not (isinstance(source, str) and source.strip()):
            yield path
    for name, item in fields.items():
        yield from _numbers_without_source(item, f"{path}.{name}")


@pytest.mark.parametrize("name", FILES)
def test_every_number_has_a_source(name: str) -> None:
    protocol = parse_file(name, shipped_text(name))
    assert list(_numbers_without_source(protocol, "protocol")) == []


def test_the_source_walker_finds_a_number_without_source() -> None:
    protocol = load_protocol("lifileucel_us")
    broken = dataclasses.replace(
        protocol, cell_dose=dataclasses.replace(protocol.cell_dose, source=" ")
    )
    assert list(_numbers_without_source(broken, "protocol")) == ["protocol.cell_dose"]


@pytest.mark.parametrize("name", FILES)
def test_no_center_setting_has_a_value_or_default(name: str) -> None:
    for setting in shipped_data(name)["center_settings"]:
        assert not {"value", "default"} & set(setting)


# Malformed files: refused with the key path ----------------------------------------------------

Edit = Callable[[dict[str, Any]], None]


def _agent(i: int) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda d: d["lymphodepletion"]["agents"][i]


def _setting(key: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda d: next(s for s in d["center_settings"] if s["key"] == key)


MALFORMED: list[Any] = [
    pytest.param(
        lambda d: d.update(author="x"), "author", "unknown key", id="unknown top-level key"
    ),
    pytest.param(
        lambda d: d["cell_dose"].update(colour="red"),
        "cell_dose.colour",
        "unknown key",
        id="unknown key in a table",
    ),
    pytest.param(
        lambda d: _agent(0)(d).update(dose_units="mg/kg"),
        "lymphodepletion.agents[0].dose_units",
        "unknown key",
        id="misspelt key",
    ),
    pytest.param(
        lambda d: _agent(1)(d).update(dose=25.0),
        "lymphodepletion.agents[1].dose",
        "expected a decimal string, got the TOML float 25.0",
        id="float dose",
    ),
    pytest.param(
        lambda d: d["il2"].update(max_doses=6),
        "il2.max_doses",
        "expected a decimal string, got the TOML integer 6",
        id="integer max doses",
    ),
    pytest.param(
        lambda d: _agent(0)(d).update(dose="sixty"),
        "lymphodepletion.agents[0].dose",
        "expected a decimal string, got 'sixty'",
        id="not a number",
    ),
    pytest.param(
        lambda d: _agent(0)(d).pop("source"),
        "lymphodepletion.agents[0].source",
        "missing",
        id="agent without source",
    ),
    pytest.param(
        lambda d: d["cell_dose"].pop("source"),
        "cell_dose.source",
        "missing",
        id="cell dose without source",
    ),
    pytest.param(
        lambda d: d["infusion_window"].pop("source"),
        "infusion_window.source",
        "missing: every number needs its source",
        id="window value without source",
    ),
    pytest.param(
        lambda d: _agent(0)(d)["days"].pop("source"),
        "lymphodepletion.agents[0].days.source",
        "missing",
        id="days without source",
    ),
    pytest.param(
        lambda d: _setting("bsa_cap_m2")(d).pop("limits_source"),
        "center_settings[5].limits_source",
        "missing",
        id="setting limits without source",
    ),
    pytest.param(
        lambda d: d["il2"].update(dose_unit="MIU/kg"),
        "il2.dose_unit",
        "unit “MIU/kg” is not allowed here; expected “IU/kg”",
        id="IL-2 dose in MIU/kg",
    ),
    pytest.param(
        lambda d: _agent(1)(d).update(dose_unit="mg/m2"),
        "lymphodepletion.agents[1].dose_unit",
        "expected “mg/kg” or “mg/m²”",
        id="ASCII m2 unit",
    ),
    pytest.param(
        lambda d: _setting("il2_interval_min_hours")(d).update(unit="min"),
        "il2.interval_min_hours.narrowing_setting",
        "is in “min”; expected h",
        id="interval setting in minutes",
    ),
    pytest.param(
        lambda d: _setting("il2_interval_max_hours")(d).update(max="14"),
        "il2.interval_max_hours.narrowing_setting",
        "must have a max of at most 12",
        id="narrowing setting wider than the protocol's range",
    ),
    pytest.param(
        lambda d: d["il2"].update(interval_max_hours="12"),
        "il2.interval_max_hours",
        "both ends of a range a center may narrow",
        id="one end of a narrowable range fixed",
    ),
    pytest.param(
        lambda d: d["il2"]["start_min_hours"].update(value="30"),
        "il2.start_min_hours",
        "30 is greater than start_max_hours 24",
        id="narrowable range low above high",
    ),
    pytest.param(
        lambda d: _setting("cyclophosphamide_rounding_increment_mg")(d).update(unit="g"),
        "lymphodepletion.agents[0].rounding_setting",
        "is in “g”; expected mg",
        id="rounding in g",
    ),
    pytest.param(
        lambda d: _setting("mesna_dose")(d).update(unit="furlong"),
        "center_settings[3].unit",
        "unknown unit “furlong”",
        id="unknown unit",
    ),
    pytest.param(
        lambda d: d["cell_dose"].update(min_cells_1e9="80"),
        "cell_dose.min_cells_1e9",
        "80 is greater than max_cells_1e9 72",
        id="cells min above max",
    ),
    pytest.param(
        lambda d: d["cell_dose"].update(min_bags="5"),
        "cell_dose.min_bags",
        "5 is greater than max_bags 4",
        id="bags min above max",
    ),
    pytest.param(
        lambda d: d["infusion_window"].update(earliest_hours="100"),
        "infusion_window.earliest_hours",
        "100 is greater than latest_hours 96",
        id="window earliest after latest",
    ),
    pytest.param(
        lambda d: _setting("il2_start_min_hours")(d).update(min="60"),
        "center_settings[14].min",
        "60 is greater than max 24",
        id="setting min above max",
    ),
    pytest.param(
        lambda d: _agent(0)(d).update(dose="0"),
        "lymphodepletion.agents[0].dose",
        "0 must be greater than 0",
        id="zero dose",
    ),
    pytest.param(
        lambda d: _agent(0)(d).update(daily_doses="3"),
        "lymphodepletion.agents[0].days.numbers",
        "lists 2 days but daily_doses is 3",
        id="day count mismatch",
    ),
    pytest.param(
        lambda d: _agent(1)(d)["days"].update(numbers=["-5", "-4", "-3", "-2", "0"]),
        "lymphodepletion.agents[1].days.numbers",
        "before day 0",
        id="day 0 in lymphodepletion",
    ),
    pytest.param(
        lambda d: _setting("mesna_dose")(d).update(default="60"),
        "center_settings[3].default",
        "a center setting has no value or default",
        id="setting with a default",
    ),
    pytest.param(
        lambda d: _setting("mesna_dose")(d).update(value="60"),
        "center_settings[3].value",
        "a center setting has no value or default",
        id="setting with a value",
    ),
    pytest.param(
        lambda d: _agent(0)(d).update(weight_basis_setting="cy_basis"),
        "lymphodepletion.agents[0].weight_basis_setting",
        "“cy_basis” is not declared in center_settings",
        id="undeclared setting",
    ),
    pytest.param(
        lambda d: d["center_settings"].append(dict(_setting("mesna_dose")(d), key="spare")),
        "center_settings[18].key",
        "“spare” is declared but nothing uses it",
        id="unused setting",
    ),
    pytest.param(
        lambda d: d["center_settings"].append(dict(_setting("mesna_dose")(d))),
        "center_settings[18].key",
        "“mesna_dose” is declared twice",
        id="duplicate setting",
    ),
    pytest.param(
        lambda d: _setting("il2_weight_basis")(d).update(options=["actual", "lean"]),
        "il2.weight_basis_setting",
        "offers lean",
        id="weight basis option not known",
    ),
    pytest.param(
        lambda d: _setting("bsa_cap_m2")(d).pop("none_option"),
        "lymphodepletion.agents[1].bsa_cap_setting",
        "needs a none_option",
        id="BSA cap without no-cap choice",
    ),
    pytest.param(
        lambda d: _setting("bsa_formula")(d).update(kind="list"),
        "center_settings[4].kind",
        "“list” is not one of decimal, choice, renal_bands",
        id="unknown setting kind",
    ),
    pytest.param(
        lambda d: _agent(0)(d).update(weight_basis_setting="mesna_dose"),
        "lymphodepletion.agents[0].weight_basis_setting",
        "must be a choice setting",
        id="setting of the wrong kind",
    ),
    pytest.param(
        lambda d: _setting("fludarabine_renal_bands")(d).update(dose_max="30"),
        "lymphodepletion.agents[1].renal_bands_setting",
        "at most the protocol dose 25 mg/m²",
        id="band dose above protocol dose",
    ),
    pytest.param(
        lambda d: d.update(il2_rule_sets=["Dutcher 2014"]),
        "il2_rule_sets[0]",
        "is not a rule-set id",
        id="rule-set id",
    ),
    pytest.param(
        lambda d: d.update(version="v2024"),
        "version",
        "must be numbers separated by dots",
        id="version format",
    ),
    pytest.param(lambda d: d.pop("thaw"), "thaw", "missing", id="no thaw-to-infusion section"),
    pytest.param(
        lambda d: d["thaw"].pop("source"), "thaw.source", "missing", id="thaw limit without source"
    ),
    pytest.param(
        lambda d: d["thaw"].update(limit_minutes="60"),
        "thaw.limit_minutes",
        "unknown key",
        id="thaw limit given a value",
    ),
    pytest.param(
        lambda d: _setting("thaw_to_infusion_limit_minutes")(d).update(unit="h"),
        "thaw.limit_setting",
        "is in “h”; expected min",
        id="thaw limit in hours",
    ),
    pytest.param(
        lambda d: _setting("thaw_to_infusion_limit_minutes")(d).update(min="0"),
        "thaw.limit_setting",
        "must have a min greater than 0",
        id="thaw limit allowing 0 min",
    ),
    pytest.param(
        lambda d: _setting("thaw_to_infusion_limit_minutes")(d).update(none_option="no limit"),
        "thaw.limit_setting",
        "cannot offer “no limit” here",
        id="thaw limit with a no-limit option",
    ),
    pytest.param(
        lambda d: d["thaw"].update(limit_setting="mesna_dose"),
        "thaw.limit_setting",
        "is in “mg/kg”; expected min",
        id="thaw limit naming another setting",
    ),
    pytest.param(
        lambda d: d["premedication"].update(approximate="yes"),
        "premedication.approximate",
        "expected true or false",
        id="premedication approximate as text",
    ),
    pytest.param(
        lambda d: d["premedication"].update(minutes_before_min="90"),
        "premedication.minutes_before_min",
        "90 is greater than minutes_before_max 60",
        id="premedication window backwards",
    ),
    pytest.param(
        lambda d: d["premedication"].pop("source"),
        "premedication.source",
        "missing",
        id="premedication without source",
    ),
    pytest.param(
        lambda d: d["premedication"]["groups"][1].pop("agents"),
        "premedication.groups[1].agents",
        "missing",
        id="premedication group without agents",
    ),
    pytest.param(
        lambda d: d["premedication"]["groups"][1].update(group="Acetaminophen"),
        "premedication.groups[1].group",
        "“Acetaminophen” is listed twice",
        id="premedication group twice",
    ),
    pytest.param(
        lambda d: d["premedication"]["groups"][0].update(dose="650"),
        "premedication.groups[0].dose",
        "unknown key",
        id="premedication dose not in the sources",
    ),
    pytest.param(
        lambda d: d["filgrastim"].update(start_day="0"),
        "filgrastim.start_day",
        "0 must be at least 1 (Day +1, after the infusion)",
        id="filgrastim on day 0",
    ),
    pytest.param(
        lambda d: d["filgrastim"].update(dose="5"),
        "filgrastim.dose",
        "unknown key",
        id="filgrastim dose given a value",
    ),
    pytest.param(
        lambda d: _setting("filgrastim_dose_ug_per_kg")(d).update(unit="mg/kg"),
        "filgrastim.dose_setting",
        "is in “mg/kg”; expected µg/kg",
        id="filgrastim dose in mg/kg",
    ),
    pytest.param(
        lambda d: _setting("filgrastim_dose_ug_per_kg")(d).update(none_option="none"),
        "filgrastim.dose_setting",
        "cannot offer “none” here",
        id="filgrastim dose with a none option",
    ),
    pytest.param(
        lambda d: d["filgrastim"]["stop"].pop("source"),
        "filgrastim.stop.source",
        "missing",
        id="stop rule without source",
    ),
    pytest.param(
        lambda d: d["filgrastim"]["stop"].update(anc_above_per_mm3="0"),
        "filgrastim.stop.anc_above_per_mm3",
        "0 must be greater than 0",
        id="stop threshold 0",
    ),
    pytest.param(
        lambda d: d["filgrastim"]["stop"].update(consecutive_days="0"),
        "filgrastim.stop.consecutive_days",
        "0 must be at least 1",
        id="stop after 0 days",
    ),
    pytest.param(
        lambda d: d.pop("filgrastim"),
        "center_settings[17].key",
        "“filgrastim_dose_ug_per_kg” is declared but nothing uses it",
        id="filgrastim dose declared without the section",
    ),
]


@pytest.mark.parametrize(("edit", "path", "fragment"), MALFORMED)
def test_malformed_protocol_is_refused_with_the_key_path(
    edit: Edit, path: str, fragment: str
) -> None:
    data = shipped_data()
    edit(data)
    with pytest.raises(ProtocolError) as refused:
        parse_protocol(data)
    assert refused.value.path == path
    assert fragment in refused.value.problem
    assert str(refused.value).startswith(f"{path}: ")


def test_a_protocol_without_premedication_or_filgrastim_loads_with_none() -> None:
    data = shipped_data()
    del data["premedication"], data["filgrastim"]
    data["center_settings"] = [
        s for s in data["center_settings"] if s["key"] != "filgrastim_dose_ug_per_kg"
    ]
    protocol = parse_protocol(data)
    assert (protocol.premedication, protocol.filgrastim) == (None, None)


def test_a_toml_float_in_the_file_is_refused_naming_the_key() -> None:
    text = shipped_text("lifileucel_us_2024.toml").replace(
        'max_cells_1e9 = "72"', "max_cells_1e9 = 72.0"
    )
    with pytest.raises(ProtocolError) as refused:
        parse_file("lifileucel_us_2024.toml", text)
    assert str(refused.value) == (
        "lifileucel_us_2024.toml: cell_dose.max_cells_1e9: expected a decimal string, got the "
        'TOML float 72.0 (write "72.0"); numbers are strings'
    )


def _decimal_string_paths(value: object, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _decimal_string_paths(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _decimal_string_paths(item, (*path, i))
    elif isinstance(value, str):
        try:
            Decimal(value)
        except ArithmeticError:
            return
        yield path


NUMERIC_PATHS = [
    (name, path) for name in FILES for path in _decimal_string_paths(shipped_data(name))
]


def _path_text(path: tuple[Any, ...]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


@given(case=st.sampled_from(NUMERIC_PATHS), number=st.floats(allow_nan=False, allow_infinity=False))
def test_any_number_written_as_a_float_is_refused_at_its_path(
    case: tuple[str, tuple[Any, ...]], number: float
) -> None:
    name, path = case
    data = copy.deepcopy(shipped_data(name))
    parent: Any = data
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = number
    with pytest.raises(ProtocolError) as refused:
        parse_protocol(data)
    assert refused.value.path == _path_text(path)
    assert "got the TOML float" in refused.value.problem


# The loader ------------------------------------------------------------------------------------


def test_file_whose_id_disagrees_with_its_name_is_refused() -> None:
    text = shipped_text("lifileucel_us_2024.toml")
    with pytest.raises(ProtocolError) as refused:
        parse_file("lifileucel_us_2025.toml", text)
    assert str(refused.value) == (
        "lifileucel_us_2025.toml: the file holds id “lifileucel_us” version “2024”, but its name "
        "says id “lifileucel_us” version “2025”"
    )


def test_file_name_without_version_is_refused() -> None:
    with pytest.raises(ProtocolError, match=r"named <id>_<version>\.toml"):
        parse_file("lifileucel.toml", shipped_text("lifileucel_us_2024.toml"))


def test_invalid_toml_is_refused_naming_the_file() -> None:
    with pytest.raises(ProtocolError, match=r"^nki_phase3_2022\.toml: not valid TOML"):
        parse_file("nki_phase3_2022.toml", "id = ")


@pytest.mark.parametrize(
    ("protocol_id", "version", "fragment"),
    [
        ("lifileucel", None, "No protocol “lifileucel”; available: lifileucel_us, nki_phase3."),
        ("lifileucel_us", "2023", "has no version “2023”; available: 2024."),
    ],
    ids=["unknown id", "unknown version"],
)
def test_unknown_protocol_or_version_is_refused(
    protocol_id: str, version: str | None, fragment: str
) -> None:
    with pytest.raises(ProtocolNotFound) as refused:
        load_protocol(protocol_id, version)
    assert fragment in str(refused.value)


def test_protocol_setting_lookup() -> None:
    protocol: Protocol = load_protocol("nki_phase3")
    assert protocol.setting("infusion_latest_hours").key == "infusion_latest_hours"
    with pytest.raises(KeyError, match="declares no center setting 'nope'"):
        protocol.setting("nope")


@pytest.mark.parametrize("name", FILES)
def test_referenced_il2_rule_sets_exist(name: str) -> None:
    protocol = parse_file(name, shipped_text(name))
    assert set(protocol.il2_rule_sets) <= set(available_rule_sets())
