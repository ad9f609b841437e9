"""Filgrastim after the cells: the daily dose from the center's µg/kg, and the ANC stop rule.

Source: Amtagvi (lifileucel) US prescribing information 2024, boxed warning (openFDA label JSON;
drugs.com/monograph/lifileucel.html): “Filgrastim (or biosimilar) starting Day 1 after AMTAGVI,
daily until ANC > 1000/mm³ for 3 consecutive days, or per institutional standard”. The sources
give no dose: the 5 µg/kg used here is a test center's value, not a recommendation.
The regimen is built by hand here: the clinical core does not read the protocol files.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from tilcare.clinical.dosing.filgrastim import (
    day_label,
    filgrastim_dose,
    filgrastim_stop,
    round_dose_ug,
)
from tilcare.clinical.dosing.regimens import (
    AncStopRule,
    Filgrastim,
    ProtocolRef,
    RegimenNotInProtocol,
)
from tilcare.clinical.dosing.settings import (
    CenterSettings,
    DecimalSetting,
    InvalidCenterSetting,
    MissingCenterSetting,
)
from tilcare.clinical.units import (
    ImplausibleInput,
    InvalidQuantity,
    Quantity,
    Unit,
    UnitMismatch,
    g,
    kg,
    mg_per_kg,
    ug,
    ug_per_kg,
)

LIFILEUCEL = ProtocolRef("lifileucel_us", "2024")
KEY = "filgrastim_dose_ug_per_kg"
BOXED_WARNING = (
    "Amtagvi (lifileucel) US prescribing information 2024, boxed warning: “Filgrastim (or "
    "biosimilar) starting Day 1 after AMTAGVI, daily until ANC > 1000/mm³ for 3 consecutive "
    "days, or per institutional standard”"
)
STOP_SOURCE = (
    "Amtagvi US label 2024, boxed warning: “daily until ANC > 1000/mm³ for 3 consecutive days”"
)


def spec(unit: Unit | None = Unit.ug_per_kg, low: str = "1") -> DecimalSetting:
    return DecimalSetting(
        KEY,
        "Filgrastim dose (µg/kg, given daily from Day +1)",
        "the label gives no filgrastim dose; the center's pharmacist and treating physician "
        "enter it.",
        unit,
        Decimal(low),
        Decimal(20),
        "test limits",
    )


STOP = AncStopRule(Quantity.of(1000, Unit.per_mm3), 3, STOP_SOURCE)
REGIMEN = Filgrastim(
    protocol=LIFILEUCEL,
    agent="filgrastim (or a biosimilar)",
    start_day=1,
    interval_days=1,
    stop=STOP,
    institutional_alternative="or per institutional standard",
    dose=spec(),
    source=BOXED_WARNING,
)
FIVE = CenterSettings({KEY: ug_per_kg(5)})


def per_mm3(value: str | int) -> Quantity:
    return Quantity.of(value, Unit.per_mm3)


def e9_per_l(value: str) -> Quantity:
    return Quantity.of(value, Unit.e9_per_l)


# The dose --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("weight", "unrounded", "dose", "working"),
    [
        ("70", "350", 350, "5 µg/kg × 70 kg (actual weight) = 350 µg (a whole µg: no rounding)"),
        (
            "72.3",
            "361.5",
            362,
            "5 µg/kg × 72.3 kg (actual weight) = 361.5 µg, rounded to a whole µg (half up): 362 µg",
        ),
        (
            "72.29",
            "361.45",
            361,
            "5 µg/kg × 72.29 kg (actual weight) = 361.45 µg, rounded to a whole µg (half up): "
            "361 µg",
        ),
    ],
    ids=["whole", "half: up", "below half: down"],
)
def test_the_dose_is_the_center_s_per_kg_times_the_actual_weight_to_a_whole_ug(
    weight: str, unrounded: str, dose: int, working: str
) -> None:
    result = filgrastim_dose(REGIMEN, FIVE, kg(weight))

    assert result.unrounded_ug == Decimal(unrounded)
    assert result.dose == ug(dose)
    assert result.working == working


def test_the_dose_carries_its_inputs_formula_and_sources() -> None:
    result = filgrastim_dose(REGIMEN, FIVE, kg("72.3"))

    assert (result.protocol, result.dose_per_kg, result.weight) == (
        LIFILEUCEL,
        ug_per_kg(5),
        kg("72.3"),
    )
    assert (result.start_day, result.frequency) == (1, "daily")
    assert result.stop_rule == "ANC > 1000/mm³ for 3 consecutive days"
    assert result.institutional_alternative == "or per institutional standard"
    assert result.setting_key == KEY
    assert result.source == (
        f"Center setting 'Filgrastim dose (µg/kg, given daily from Day +1)' ({KEY}); "
        f"{BOXED_WARNING}"
    )
    assert result.formula == "dose (µg) = dose per kg (µg/kg, the center's) × actual weight (kg)"
    assert result.rounding == "round_dose_ug: whole µg, half up"
    assert result.dose.to(Unit.mg) == Quantity.of("0.362", Unit.mg)


def test_without_the_center_s_dose_the_calculation_refuses_saying_what_to_set() -> None:
    with pytest.raises(MissingCenterSetting) as refused:
        filgrastim_dose(REGIMEN, CenterSettings(), kg(70))
    assert str(refused.value) == (
        "Set 'Filgrastim dose (µg/kg, given daily from Day +1)' (filgrastim_dose_ug_per_kg) in "
        "the center's protocol settings: the label gives no filgrastim dose; the center's "
        "pharmacist and treating physician enter it."
    )


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (ug_per_kg(21), "21 µg/kg is above the allowed maximum 20 µg/kg."),
        (ug_per_kg("0.5"), "0.5 µg/kg is below the allowed minimum 1 µg/kg."),
        (mg_per_kg(5), "expected µg/kg, got mg/kg"),
    ],
    ids=["above 20", "below 1", "mg/kg, not µg/kg"],
)
def test_a_dose_setting_that_does_not_fit_its_declaration_is_refused(
    value: Quantity, fragment: str
) -> None:
    with pytest.raises(InvalidCenterSetting) as refused:
        filgrastim_dose(REGIMEN, CenterSettings({KEY: value}), kg(70))
    assert fragment in str(refused.value)


def test_a_weight_in_grams_or_an_implausible_weight_is_refused() -> None:
    with pytest.raises(UnitMismatch, match="g and kg"):
        filgrastim_dose(REGIMEN, FIVE, g(70000))
    with pytest.raises(ImplausibleInput, match="weight_kg 400 is above the plausible maximum"):
        filgrastim_dose(REGIMEN, FIVE, kg(400))


def test_half_up_rounding_is_named() -> None:
    assert round_dose_ug(Decimal("360.5")) == Decimal(361)
    assert round_dose_ug(Decimal("360.49")) == Decimal(360)


# The stop rule: ANC > 1000/mm³ for 3 consecutive days ------------------------------------------


def test_three_consecutive_days_above_1000_meet_the_rule_on_the_third() -> None:
    anc = {8: per_mm3(1200), 9: per_mm3(1500), 10: per_mm3(2100)}

    result = filgrastim_stop(REGIMEN, anc)

    assert (result.met, result.met_on, result.run) == (True, 10, (8, 9, 10))
    assert result.reason == (
        "Stop rule met on Day +10: ANC above 1000/mm³ on 3 consecutive days (Day +8 1200/mm³, "
        "Day +9 1500/mm³, Day +10 2100/mm³). The protocol gives filgrastim (or a biosimilar) "
        "daily until then, or per institutional standard."
    )


def test_exactly_1000_is_not_above() -> None:
    anc = {8: per_mm3(1000), 9: per_mm3(1500), 10: per_mm3(2000)}

    result = filgrastim_stop(REGIMEN, anc)

    assert [day.above for day in result.days] == [False, True, True]
    assert (result.met, result.met_on, result.run) == (False, None, (9, 10))
    assert result.reason == (
        "2 consecutive days above 1000/mm³ so far (Day +9, Day +10); 3 needed. Filgrastim (or a "
        "biosimilar) continues daily, or per institutional standard."
    )


def test_1001_on_the_third_day_meets_the_rule() -> None:
    anc = {8: per_mm3(1001), 9: per_mm3(1500), 10: per_mm3(2000)}
    assert filgrastim_stop(REGIMEN, anc).met_on == 10


def test_a_day_without_an_anc_breaks_the_run() -> None:
    anc = {8: per_mm3(1200), 9: per_mm3(1300), 11: per_mm3(1500)}

    result = filgrastim_stop(REGIMEN, anc)

    assert (result.met, result.run) == (False, (11,))
    assert result.reason == (
        "1 consecutive day above 1000/mm³ so far (Day +11); 3 needed. Day +10 has no ANC "
        "recorded, which broke the run. Filgrastim (or a biosimilar) continues daily, or per "
        "institutional standard."
    )
    # Two more days above after the gap meet the rule.
    later = filgrastim_stop(REGIMEN, {**anc, 12: per_mm3(1600), 13: per_mm3(1700)})
    assert (later.met, later.met_on, later.run) == (True, 13, (11, 12, 13))


def test_a_day_at_or_below_1000_starts_the_count_again() -> None:
    anc = {8: per_mm3(1200), 9: per_mm3(1300), 10: per_mm3(900)}

    result = filgrastim_stop(REGIMEN, anc)

    assert (result.met, result.run) == (False, ())
    assert result.reason == (
        "0 consecutive days above 1000/mm³ so far: the latest ANC, Day +10 900/mm³, is not above "
        "1000/mm³. Filgrastim (or a biosimilar) continues daily, or per institutional standard."
    )
    again = {**anc, 11: per_mm3(1100), 12: per_mm3(1200), 13: per_mm3(1300)}
    assert filgrastim_stop(REGIMEN, again).met_on == 13


def test_the_first_qualifying_run_is_reported_and_later_days_do_not_change_it() -> None:
    anc = {day: per_mm3(1500) for day in range(6, 12)} | {12: per_mm3(400)}

    result = filgrastim_stop(REGIMEN, anc)

    assert (result.met_on, result.run) == (8, (6, 7, 8))
    assert len(result.days) == 7  # every value is kept as an input


def test_no_anc_yet_says_how_long_filgrastim_continues() -> None:
    result = filgrastim_stop(REGIMEN, {})

    assert (result.met, result.days, result.run) == (False, (), ())
    assert result.reason == (
        "No ANC recorded yet: filgrastim (or a biosimilar) continues daily from Day +1 until "
        "ANC > 1000/mm³ for 3 consecutive days, or per institutional standard."
    )


def test_the_stop_result_carries_rule_and_source() -> None:
    result = filgrastim_stop(REGIMEN, {1: per_mm3(200)})

    assert result.protocol == LIFILEUCEL
    assert (result.threshold, result.consecutive_days) == (per_mm3(1000), 3)
    assert result.rule == (
        "stop filgrastim when ANC > 1000/mm³ for 3 consecutive days (strictly above the "
        "threshold; a day without an ANC breaks the run), or per institutional standard"
    )
    assert result.source == STOP_SOURCE
    assert result.institutional_alternative == "or per institutional standard"


# Units: ×10⁹/L converted explicitly ------------------------------------------------------------


def test_1_0_e9_per_l_is_1000_per_mm3_and_not_above() -> None:
    anc = {8: e9_per_l("1.0"), 9: e9_per_l("1.5"), 10: e9_per_l("2.0")}

    result = filgrastim_stop(REGIMEN, anc)

    first = result.days[0]
    assert first.anc == per_mm3(1000)
    assert first.given == e9_per_l("1.0")
    assert first.conversion == "1.0 ×10⁹/L converted with .to(/mm³): × 1000 = 1000.0 /mm³"
    assert first.above is False
    assert (result.met, result.run) == (False, (9, 10))


def test_units_may_be_mixed_day_by_day() -> None:
    anc = {8: e9_per_l("1.001"), 9: per_mm3(1500), 10: e9_per_l("2")}

    result = filgrastim_stop(REGIMEN, anc)

    assert [day.anc for day in result.days] == [per_mm3(1001), per_mm3(1500), per_mm3(2000)]
    assert result.days[1].conversion == "given in /mm³; no conversion"
    assert result.met_on == 10


@pytest.mark.parametrize(
    "value",
    [Quantity.of("1.5", Unit.g_per_dl), Quantity.of(1500, Unit.cells)],
    ids=["g/dL", "cells"],
)
def test_an_anc_in_another_unit_is_refused(value: Quantity) -> None:
    with pytest.raises(UnitMismatch) as refused:
        filgrastim_stop(REGIMEN, {9: value})
    assert "use the ANC of Day +9 given in" in str(refused.value)


def test_a_negative_anc_is_refused() -> None:
    with pytest.raises(ImplausibleInput, match=r"^The ANC of Day \+9, -1 /mm³, must not be"):
        filgrastim_stop(REGIMEN, {9: per_mm3(-1)})


# Calendar dates --------------------------------------------------------------------------------


def test_calendar_dates_count_consecutive_days_across_a_month_end() -> None:
    anc = {date(2024, 3, 30): per_mm3(1100), date(2024, 3, 31): per_mm3(1200)}
    anc[date(2024, 4, 1)] = per_mm3(1300)

    result = filgrastim_stop(REGIMEN, anc)

    assert (result.met_on, result.run) == (date(2024, 4, 1), tuple(anc))
    assert result.reason.startswith("Stop rule met on 2024-04-01: ANC above 1000/mm³ on 3 ")


def test_a_missing_date_breaks_the_run() -> None:
    anc = {date(2024, 3, 30): per_mm3(1100), date(2024, 4, 1): per_mm3(1300)}

    result = filgrastim_stop(REGIMEN, anc)

    assert (result.met, result.run) == (False, (date(2024, 4, 1),))
    assert "2024-03-31 has no ANC recorded, which broke the run." in result.reason


# Refusals --------------------------------------------------------------------------------------


def test_a_protocol_without_filgrastim_says_the_physician_orders_it() -> None:
    message = (
        "This protocol's sources give no filgrastim regimen; the treating physician orders it "
        "outside tilcare."
    )
    with pytest.raises(RegimenNotInProtocol) as refused:
        filgrastim_dose(None, FIVE, kg(70))
    assert str(refused.value) == message
    with pytest.raises(RegimenNotInProtocol) as refused:
        filgrastim_stop(None, {})
    assert str(refused.value) == message


@pytest.mark.parametrize(
    ("anc", "message"),
    [
        (
            {0: per_mm3(1500)},
            "ANC day 0 is before Day +1, when filgrastim starts; give study days from 1.",
        ),
        (
            {True: per_mm3(1500)},
            "ANC day True must be a study day number (Day +1 = 1) or a calendar date.",
        ),
        (
            {datetime(2024, 3, 4, 5, 30, tzinfo=UTC): per_mm3(1500)},
            "ANC day 2024-03-04T05:30:00+00:00 is a date-time; give the calendar date or the "
            "study day number.",
        ),
        (
            {8: per_mm3(1500), date(2024, 3, 4): per_mm3(1500)},
            "ANC days are all study day numbers or all calendar dates, not a mix of both.",
        ),
        ({8: Decimal(1500)}, "The ANC of Day +8 must be a quantity in /mm³ or ×10⁹/L."),
    ],
    ids=["day 0", "a boolean", "a date-time", "days and dates mixed", "a bare number"],
)
def test_days_and_values_that_cannot_be_read_are_refused(
    anc: dict[object, object], message: str
) -> None:
    with pytest.raises(InvalidQuantity) as refused:
        filgrastim_stop(REGIMEN, anc)  # type: ignore[arg-type]
    assert str(refused.value) == message


def test_day_labels() -> None:
    assert day_label(9) == "Day +9"
    assert day_label(date(2024, 3, 4)) == "2024-03-04"


# The regimen's own checks ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"start_day": 0}, "it starts after the infusion (day 0), from Day +1."),
        ({"interval_days": 0}, "the interval must be at least 1 day."),
        ({"dose": spec(unit=Unit.mg_per_kg)}, "must be in µg/kg, not mg/kg."),
        ({"dose": spec(low="0")}, "greater than 0 µg/kg"),
        ({"source": "  "}, "needs a source"),
    ],
    ids=["day 0", "interval 0", "dose in mg/kg", "dose from 0", "no source"],
)
def test_a_malformed_regimen_is_refused(changes: dict[str, object], fragment: str) -> None:
    fields: dict[str, object] = {
        "protocol": LIFILEUCEL,
        "agent": "filgrastim (or a biosimilar)",
        "start_day": 1,
        "interval_days": 1,
        "stop": STOP,
        "institutional_alternative": "or per institutional standard",
        "dose": spec(),
        "source": BOXED_WARNING,
        **changes,
    }
    with pytest.raises(InvalidQuantity) as refused:
        Filgrastim(**fields)  # type: ignore[arg-type]
    assert fragment in str(refused.value)


@pytest.mark.parametrize(
    ("threshold", "days", "fragment"),
    [
        (e9_per_l("1"), 3, "must be in /mm³, not ×10⁹/L."),
        (per_mm3(0), 3, "must be above 0."),
        (per_mm3(1000), 0, "must be at least 1."),
    ],
    ids=["threshold in ×10⁹/L", "threshold 0", "0 days"],
)
def test_a_malformed_stop_rule_is_refused(threshold: Quantity, days: int, fragment: str) -> None:
    with pytest.raises(InvalidQuantity) as refused:
        AncStopRule(threshold, days, STOP_SOURCE)
    assert fragment in str(refused.value)


def test_the_stop_rule_reads_as_the_label_writes_it() -> None:
    assert STOP.describe() == "ANC > 1000/mm³ for 3 consecutive days"
    assert STOP.threshold_text == "1000/mm³"
    assert REGIMEN.frequency == "daily"
