"""NEWS2 (Royal College of Physicians, 2017): Chart 1 scoring and Chart 4 clinical response.

Source: RCP NEWS2 Chart 1 and Chart 4 (2017). Aggregate 0-20 = sum of seven sub-scores.
Units: respiration_rate_per_min, spo2_percent, systolic_bp_mmhg, pulse_per_min (int);
temperature_c (Decimal, one decimal place). SpO2 Scale 2 is ONLY for patients with a prescribed
target SpO2 of 88-92% (hypercapnic respiratory failure); everyone else uses Scale 1.
Scale 2: <=83 ->3, 84-85 ->2, 86-87 ->1, 88-92 ->0, >=93 on air ->0, on oxygen 93-94 ->1,
95-96 ->2, >=97 ->3. Response: 0 low (12-hourly); 1-4 low (4-6-hourly); any single 3 with
total < 5 low-medium (1-hourly); 5-6 medium (urgent); >=7 high (emergency).
Implausible inputs are refused naming the limit.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal

SOURCE = "RCP NEWS2 (Royal College of Physicians 2017), Chart 1 and Chart 4"
FORMULA = "sum of sub-scores for RR, SpO2, air/oxygen, SBP, pulse, consciousness, temperature"


class News2InputError(ValueError):
    """An implausible or wrongly typed NEWS2 input."""


class SpO2Scale(enum.Enum):
    SCALE_1 = "Scale 1"
    SCALE_2 = "Scale 2 (only for prescribed target SpO2 88-92%)"


class Consciousness(enum.Enum):
    ALERT = "Alert"
    NEW_CONFUSION = "New confusion"
    VOICE = "Voice"
    PAIN = "Pain"
    UNRESPONSIVE = "Unresponsive"


@dataclass(frozen=True)
class SubScore:
    name: str
    value: str
    score: int
    band: str


@dataclass(frozen=True)
class News2Result:
    sub_scores: tuple[SubScore, ...]
    aggregate: int
    any_single_3: bool
    clinical_risk: str
    monitoring_frequency: str
    response: str
    rule: str
    formula: str = FORMULA
    source: str = SOURCE


def _check_int(name: str, value: int, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise News2InputError(f"{name} must be an integer, got {value!r}.")
    if not low <= value <= high:
        raise News2InputError(f"{name} must be between {low} and {high}, got {value}.")


def _band(value: int, bands: list[tuple[int, int, int, str]]) -> tuple[int, str]:
    for low, high, score, text in bands:
        if low <= value <= high:
            return score, text
    raise AssertionError("unreachable: value checked against limits")


def score_news2(
    *,
    respiration_rate_per_min: int,
    spo2_percent: int,
    spo2_scale: SpO2Scale,
    on_oxygen: bool,
    systolic_bp_mmhg: int,
    pulse_per_min: int,
    consciousness: Consciousness,
    temperature_c: Decimal,
) -> News2Result:
    """Score NEWS2 (RCP 2017) and give the Chart 4 clinical response."""
    _check_int("respiration_rate_per_min", respiration_rate_per_min, 0, 80)
    _check_int("spo2_percent", spo2_percent, 50, 100)
    _check_int("systolic_bp_mmhg", systolic_bp_mmhg, 40, 300)
    _check_int("pulse_per_min", pulse_per_min, 20, 250)
    if not isinstance(on_oxygen, bool):
        raise News2InputError(f"on_oxygen must be True or False, got {on_oxygen!r}.")
    if not isinstance(temperature_c, Decimal):
        raise News2InputError(
            f"temperature_c must be a Decimal (never float), got {temperature_c!r}."
        )
    if not Decimal("30.0") <= temperature_c <= Decimal("44.0"):
        raise News2InputError(f"temperature_c must be between 30.0 and 44.0, got {temperature_c}.")
    if temperature_c != temperature_c.quantize(Decimal("0.1")):
        raise News2InputError(f"temperature_c must have one decimal place, got {temperature_c}.")

    rr = _band(
        respiration_rate_per_min,
        [
            (0, 8, 3, "<= 8"),
            (9, 11, 1, "9-11"),
            (12, 20, 0, "12-20"),
            (21, 24, 2, "21-24"),
            (25, 80, 3, ">= 25"),
        ],
    )
    if spo2_scale is SpO2Scale.SCALE_1:
        sp = _band(
            spo2_percent,
            [
                (50, 91, 3, "<= 91"),
                (92, 93, 2, "92-93"),
                (94, 95, 1, "94-95"),
                (96, 100, 0, ">= 96"),
            ],
        )
    elif spo2_percent >= 93 and not on_oxygen:
        sp = (0, ">= 93 on air (Scale 2)")
    else:
        sp = _band(
            spo2_percent,
            [
                (50, 83, 3, "<= 83"),
                (84, 85, 2, "84-85"),
                (86, 87, 1, "86-87"),
                (88, 92, 0, "88-92"),
                (93, 94, 1, "93-94 on oxygen"),
                (95, 96, 2, "95-96 on oxygen"),
                (97, 100, 3, ">= 97 on oxygen"),
            ],
        )
    air = (2, "oxygen") if on_oxygen else (0, "air")
    sbp = _band(
        systolic_bp_mmhg,
        [
            (40, 90, 3, "<= 90"),
            (91, 100, 2, "91-100"),
            (101, 110, 1, "101-110"),
            (111, 219, 0, "111-219"),
            (220, 300, 3, ">= 220"),
        ],
    )
    pulse = _band(
        pulse_per_min,
        [
            (20, 40, 3, "<= 40"),
            (41, 50, 1, "41-50"),
            (51, 90, 0, "51-90"),
            (91, 110, 1, "91-110"),
            (111, 130, 2, "111-130"),
            (131, 250, 3, ">= 131"),
        ],
    )
    acvpu = (0, "Alert") if consciousness is Consciousness.ALERT else (3, "CVPU")
    tenths = int(temperature_c * 10)
    temp = _band(
        tenths,
        [
            (300, 350, 3, "<= 35.0"),
            (351, 360, 1, "35.1-36.0"),
            (361, 380, 0, "36.1-38.0"),
            (381, 390, 1, "38.1-39.0"),
            (391, 440, 2, ">= 39.1"),
        ],
    )
    subs = (
        SubScore("respiration_rate_per_min", str(respiration_rate_per_min), *rr),
        SubScore("spo2_percent", f"{spo2_percent} ({spo2_scale.name})", *sp),
        SubScore("air_or_oxygen", "oxygen" if on_oxygen else "air", *air),
        SubScore("systolic_bp_mmhg", str(systolic_bp_mmhg), *sbp),
        SubScore("pulse_per_min", str(pulse_per_min), *pulse),
        SubScore("consciousness", consciousness.value, *acvpu),
        SubScore("temperature_c", str(temperature_c), *temp),
    )
    total = sum(s.score for s in subs)
    single3 = any(s.score == 3 for s in subs)
    if total >= 7:
        risk, freq, resp, rule = (
            "High",
            "Continuous monitoring of vital signs",
            (
                "Emergency response: RN immediately informs the medical team (at least specialist "
                "registrar level); emergency assessment by a critical-care team; consider HDU/ICU"
            ),
            "total >= 7",
        )
    elif total >= 5:
        risk, freq, resp, rule = (
            "Medium",
            "Minimum 1-hourly",
            (
                "Urgent response: RN immediately informs the medical team and requests urgent "
                "assessment by a clinician with core competencies in acute illness"
            ),
            "total 5-6",
        )
    elif single3:
        risk, freq, resp, rule = (
            "Low-medium",
            "Minimum 1-hourly",
            (
                "Registered nurse informs the medical team, who review and decide whether "
                "escalation is necessary"
            ),
            "3 in a single parameter with total < 5",
        )
    elif total >= 1:
        risk, freq, resp, rule = (
            "Low",
            "Minimum 4-6-hourly",
            (
                "Inform registered nurse, who must assess the patient and decide whether "
                "monitoring should increase and/or care be escalated"
            ),
            "total 1-4",
        )
    else:
        risk, freq, resp, rule = (
            "Low",
            "Minimum 12-hourly",
            "Continue routine NEWS monitoring",
            ("total 0"),
        )
    return News2Result(subs, total, single3, risk, freq, resp, rule)
