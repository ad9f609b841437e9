"""NEWS2 against RCP 2017 Chart 1 (bands) and Chart 4 (clinical response)."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tilcare.clinical.grading.news2 import (
    Consciousness,
    News2InputError,
    News2Result,
    SpO2Scale,
    score_news2,
)

BASE: dict[str, object] = {
    "respiration_rate_per_min": 16,
    "spo2_percent": 97,
    "spo2_scale": SpO2Scale.SCALE_1,
    "on_oxygen": False,
    "systolic_bp_mmhg": 120,
    "pulse_per_min": 70,
    "consciousness": Consciousness.ALERT,
    "temperature_c": Decimal("37.0"),
}


def run(**changes: object) -> News2Result:
    return score_news2(**{**BASE, **changes})  # type: ignore[arg-type]


def sub(result: News2Result, name: str) -> int:
    return next(s.score for s in result.sub_scores if s.name == name)


CHART_1 = (
    [
        ("respiration_rate_per_min", v, s)
        for v, s in [(8, 3), (9, 1), (11, 1), (12, 0), (20, 0), (21, 2), (24, 2), (25, 3)]
    ]
    + [
        ("systolic_bp_mmhg", v, s)
        for v, s in [(90, 3), (91, 2), (100, 2), (101, 1), (110, 1), (111, 0), (219, 0), (220, 3)]
    ]
    + [
        ("pulse_per_min", v, s)
        for v, s in [
            (40, 3),
            (41, 1),
            (50, 1),
            (51, 0),
            (90, 0),
            (91, 1),
            (110, 1),
            (111, 2),
            (130, 2),
            (131, 3),
        ]
    ]
    + [("spo2_percent", v, s) for v, s in [(91, 3), (92, 2), (93, 2), (94, 1), (95, 1), (96, 0)]]
    + [
        ("temperature_c", Decimal(v), s)
        for v, s in [
            ("35.0", 3),
            ("35.1", 1),
            ("36.0", 1),
            ("36.1", 0),
            ("38.0", 0),
            ("38.1", 1),
            ("39.0", 1),
            ("39.1", 2),
        ]
    ]
)


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    CHART_1,
    ids=[f"RCP NEWS2 Chart 1 {n}={v}" for n, v, _ in CHART_1],
)
def test_chart_1_band_edges(name: str, value: object, expected: int) -> None:
    assert sub(run(**{name: value}), name) == expected


SCALE_2 = [
    (83, False, 3),
    (84, False, 2),
    (85, False, 2),
    (86, False, 1),
    (87, False, 1),
    (88, False, 0),
    (92, False, 0),
    (93, False, 0),
    (100, False, 0),
    (92, True, 0),
    (93, True, 1),
    (94, True, 1),
    (95, True, 2),
    (96, True, 2),
    (97, True, 3),
]


@pytest.mark.parametrize(
    ("spo2", "oxygen", "expected"),
    SCALE_2,
    ids=[f"RCP NEWS2 Chart 1 Scale2 {s} O2={o}" for s, o, _ in SCALE_2],
)
def test_scale_2(spo2: int, oxygen: bool, expected: int) -> None:
    r = run(spo2_percent=spo2, on_oxygen=oxygen, spo2_scale=SpO2Scale.SCALE_2)
    assert sub(r, "spo2_percent") == expected


def test_oxygen_and_consciousness_score() -> None:
    # Source: RCP NEWS2 Chart 1 (oxygen 2; any of CVPU 3).
    assert sub(run(on_oxygen=True), "air_or_oxygen") == 2
    for c in list(Consciousness)[1:]:
        assert sub(run(consciousness=c), "consciousness") == 3


@pytest.mark.parametrize(
    ("changes", "total", "risk"),
    [
        pytest.param({}, 0, "Low", id="RCP NEWS2 Chart 4 zero"),
        pytest.param({"pulse_per_min": 95}, 1, "Low", id="RCP NEWS2 Chart 4 total 1"),
        pytest.param(
            {"respiration_rate_per_min": 25}, 3, "Low-medium", id="RCP NEWS2 Chart 4 single 3"
        ),
        pytest.param(
            {"respiration_rate_per_min": 25, "pulse_per_min": 115},
            5,
            "Medium",
            id="RCP NEWS2 Chart 4 total 5",
        ),
        pytest.param(
            {
                "on_oxygen": True,
                "pulse_per_min": 115,
                "systolic_bp_mmhg": 95,
                "temperature_c": Decimal("38.5"),
            },
            7,
            "High",
            id="RCP NEWS2 Chart 4 total 7",
        ),
    ],
)
def test_chart_4(changes: dict[str, object], total: int, risk: str) -> None:
    r = run(**changes)
    assert r.aggregate == total
    assert r.clinical_risk == risk


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("respiration_rate_per_min", 81),
        ("spo2_percent", 49),
        ("systolic_bp_mmhg", 301),
        ("pulse_per_min", 19),
        ("temperature_c", Decimal("44.1")),
        ("temperature_c", 37.0),
    ],
)
def test_refuses_implausible(name: str, value: object) -> None:
    with pytest.raises(News2InputError, match=name):
        run(**{name: value})


@given(
    rr=st.integers(0, 80),
    spo2=st.integers(50, 100),
    scale=st.sampled_from(SpO2Scale),
    o2=st.booleans(),
    sbp=st.integers(40, 300),
    pulse=st.integers(20, 250),
    c=st.sampled_from(Consciousness),
    t=st.integers(300, 440),
)
def test_aggregate_is_sum_within_0_20(
    rr: int, spo2: int, scale: SpO2Scale, o2: bool, sbp: int, pulse: int, c: Consciousness, t: int
) -> None:
    r = score_news2(
        respiration_rate_per_min=rr,
        spo2_percent=spo2,
        spo2_scale=scale,
        on_oxygen=o2,
        systolic_bp_mmhg=sbp,
        pulse_per_min=pulse,
        consciousness=c,
        temperature_c=Decimal(t) / 10,
    )
    assert r.aggregate == sum(s.score for s in r.sub_scores)
    assert 0 <= r.aggregate <= 20
