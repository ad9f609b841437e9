"""The observation catalogue: every kind coded (a LOINC code in form, with its check digit, or
tilcare's local code), in its UCUM unit, with a plausible range the graders accept."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from tilcare.clinical.grading.news2 import (
    Consciousness,
    News2InputError,
    SpO2Scale,
    score_news2,
)
from tilcare.clinical.observations import (
    BY_KEY,
    KINDS,
    LOCAL,
    LOINC,
    NEWS2_KINDS,
    News2Parameter,
    is_loinc_code,
    loinc_check_digit,
)
from tilcare.clinical.units import Unit

# The UCUM codes of the catalogue, with the tilcare unit each is computed in.
UCUM_UNITS = {
    "/min": Unit.per_min,
    "mm[Hg]": Unit.mm_hg,
    "Cel": Unit.celsius,
    "%": Unit.percent,
    "kg": Unit.kg,
    "mL": Unit.ml,
    "10*9/L": Unit.e9_per_l,
    "g/dL": Unit.g_per_dl,
    "mg/dL": Unit.mg_per_dl,
    "U/L": Unit.u_per_l,
}


def test_the_catalogue_holds_the_kinds_tilcare_takes():
    assert list(BY_KEY) == [
        "heart_rate",
        "respiratory_rate",
        "systolic_bp",
        "diastolic_bp",
        "temperature",
        "spo2",
        "supplemental_oxygen",
        "consciousness",
        "weight",
        "fluid_intake",
        "urine_output",
        "anc",
        "platelets",
        "wbc",
        "lymphocytes",
        "hemoglobin",
        "creatinine",
        "albumin",
        "alt",
        "ast",
        "bilirubin",
    ]


@pytest.mark.parametrize("kind", KINDS, ids=[k.key for k in KINDS])
def test_every_code_is_a_loinc_code_with_its_check_digit_or_the_local_code(kind):
    if kind.system == LOINC:
        assert is_loinc_code(kind.code), kind.code
        assert kind.code_source
    else:
        assert kind.system == LOCAL
        assert kind.code == f"urn:tilcare:observation|{kind.key}"


@pytest.mark.parametrize("kind", KINDS, ids=[k.key for k in KINDS])
def test_every_quantity_has_its_ucum_unit_range_and_places(kind):
    if kind.is_categorical:
        assert (kind.ucum, kind.unit, kind.minimum, kind.maximum) == (None, None, None, None)
        assert len(kind.answers) >= 2
        return
    assert UCUM_UNITS[kind.ucum] is kind.unit
    assert re.fullmatch(r"[A-Za-z0-9*/%\[\]]+", kind.ucum)
    assert kind.minimum is not None and kind.maximum is not None
    assert kind.minimum < kind.maximum
    assert 0 <= kind.places <= 2


def test_the_codes_confirmed_in_published_material():
    codes = {kind.key: kind.code for kind in KINDS if kind.system == LOINC}
    assert codes == {
        "heart_rate": "8867-4",
        "respiratory_rate": "9279-1",
        "systolic_bp": "8480-6",
        "diastolic_bp": "8462-4",
        "temperature": "8310-5",
        "spo2": "59408-5",
        "weight": "29463-7",
        "anc": "751-8",
        "platelets": "777-3",
        "wbc": "6690-2",
        "lymphocytes": "731-0",
        "hemoglobin": "718-7",
        "creatinine": "2160-0",
        "alt": "1742-6",
        "ast": "1920-8",
        "bilirubin": "1975-2",
    }


@pytest.mark.parametrize(
    ("number", "check"), [("8867", 4), ("9279", 1), ("59408", 5), ("2708", 6), ("731", 0)]
)
def test_the_loinc_check_digit_is_luhn_mod_10(number, check):
    """LOINC's mod 10: 8867-4 (heart rate), 9279-1, 59408-5, 2708-6, 731-0."""
    assert loinc_check_digit(number) == check


@pytest.mark.parametrize("code", ["8867-5", "8867", "8867-44", "a867-4", "12345678-9", ""])
def test_a_malformed_or_wrongly_checked_code_is_not_a_loinc_code(code):
    assert is_loinc_code(code) is False


def test_the_seven_news2_parameters_each_have_one_kind():
    assert set(NEWS2_KINDS) == set(News2Parameter)
    assert {p: k.key for p, k in NEWS2_KINDS.items()} == {
        News2Parameter.RESPIRATION_RATE: "respiratory_rate",
        News2Parameter.SPO2: "spo2",
        News2Parameter.AIR_OR_OXYGEN: "supplemental_oxygen",
        News2Parameter.SYSTOLIC_BP: "systolic_bp",
        News2Parameter.PULSE: "heart_rate",
        News2Parameter.CONSCIOUSNESS: "consciousness",
        News2Parameter.TEMPERATURE: "temperature",
    }


def test_news2_scores_every_value_the_catalogue_takes_at_its_limits():
    # Given the catalogue's limits of each NEWS2 quantity
    rr, spo2, sbp, pulse, temp = (
        BY_KEY[k] for k in ("respiratory_rate", "spo2", "systolic_bp", "heart_rate", "temperature")
    )
    for limit in ("minimum", "maximum"):
        # When NEWS2 scores a set at that limit
        try:
            score_news2(
                respiration_rate_per_min=int(getattr(rr, limit)),
                spo2_percent=int(getattr(spo2, limit)),
                spo2_scale=SpO2Scale.SCALE_1,
                on_oxygen=False,
                systolic_bp_mmhg=int(getattr(sbp, limit)),
                pulse_per_min=int(getattr(pulse, limit)),
                consciousness=Consciousness.ALERT,
                temperature_c=Decimal(getattr(temp, limit)).quantize(Decimal("0.1")),
            )
        # Then it is scored, never refused
        except News2InputError as refused:  # pragma: no cover - the assertion says which
            pytest.fail(f"NEWS2 refused the catalogue's {limit}: {refused}")
