"""RECIST 1.1 response over a series of assessments.

(No `from __future__ import annotations`: ninja and pydantic read these annotations at import.)
"""

from decimal import Decimal
from typing import Annotated, Any, Literal

from ninja import Field, Schema

from tilcare.calculators.registry import Calculator, Outcome, Tone, refusals_name, register
from tilcare.clinical.response.recist_1_1 import (
    MAX_PLAUSIBLE_MM,
    MIN_SD_DAYS_HIGHEST,
    MIN_SD_DAYS_LOWEST,
    NonTargetStatus,
    OverallResponse,
    TargetLesion,
    TimePoint,
    checked_min_sd_days,
    evaluate_series,
    validate_targets,
)

_NON_TARGET = {
    "CR": NonTargetStatus.CR,
    "non-CR/non-PD": NonTargetStatus.NON_CR_NON_PD,
    "PD": NonTargetStatus.PD,
    "NE": NonTargetStatus.NOT_EVALUATED,
}


# A diameter or short axis in mm, 0 to 1000 mm (the clinical core refuses the same range).
Millimetres = Annotated[Decimal, Field(ge=0, le=MAX_PLAUSIBLE_MM)]
# Assessments within ten years of baseline.
MAX_DAYS_SINCE_BASELINE = 3650


class TargetLesionIn(Schema):
    lesion_id: str = Field(..., max_length=40)
    organ: str = Field(
        ..., max_length=60, description="for a lymph node any station: all nodes are one organ"
    )
    is_lymph_node: bool
    baseline_mm: Millimetres = Field(
        ..., description="longest diameter, or short axis for a node; mm, 0–1000"
    )


class TimePointIn(Schema):
    days_since_baseline: int = Field(..., ge=1, le=MAX_DAYS_SINCE_BASELINE)
    non_target: Literal["CR", "non-CR/non-PD", "PD", "NE"]
    new_lesions: bool
    measurements_mm: list[Millimetres] | None = Field(
        None, description="one per target lesion, in baseline order; leave out if not all seen"
    )
    non_target_nodes_mm: list[Millimetres] = Field(
        default_factory=list, description="short axes of pathological non-target nodes"
    )


class RecistIn(Schema):
    targets: list[TargetLesionIn] = Field(
        ...,
        title="Target lesions at baseline",
        description="At most 5, at most 2 per organ; all lymph nodes count as one organ.",
    )
    time_points: list[TimePointIn] = Field(
        ...,
        title="Follow-up assessments",
        description="In order. Measurements separated by spaces, in target order.",
    )
    min_sd_days: int | None = Field(
        None,
        ge=MIN_SD_DAYS_LOWEST,
        le=MIN_SD_DAYS_HIGHEST,
        title="Minimum days after study entry for stable disease",
        description=(
            "Required, no default: stable disease counts as the best response only once met at "
            "this interval (days since baseline, as the assessments). The study protocol sets "
            "it (in general not less than 6–8 weeks, 42–56 days); outside a trial the center's "
            "treating physicians decide it."
        ),
    )


_TONE: dict[OverallResponse, Tone] = {
    OverallResponse.CR: "ok",
    OverallResponse.PR: "ok",
    OverallResponse.SD: "info",
    OverallResponse.PD: "danger",
    OverallResponse.NE: "warn",
}


def run_recist(data: RecistIn) -> Outcome:
    with refusals_name("targets"):
        selection = validate_targets(_targets(data))
    with refusals_name("min_sd_days"):
        checked_min_sd_days(data.min_sd_days)
    with refusals_name("time_points"):
        series = evaluate_series(selection, _time_points(data), min_sd_days=data.min_sd_days)
    best = series.best.response
    return Outcome(
        f"Best overall response: {best.value}", series, _TONE[best], chart=_sum_chart(series)
    )


def _sum_chart(series: Any) -> dict[str, Any] | None:
    """Sum of target diameters over time with the PR line (−30 % of baseline); display only."""
    points = [(0, series.baseline.baseline_sum_mm)] + [
        (tp.days_since_baseline, tp.target.sum_mm)
        for tp in series.time_points
        if tp.target is not None
    ]
    if len(points) < 2:
        return None
    pr_line = str(series.baseline.baseline_sum_mm * Decimal("0.7"))
    return {
        "x": [str(day) for day, _ in points],
        "x_label": "Days since baseline",
        "y_label": "Target sum (mm)",
        "y_log": False,
        "series": [
            {
                "label": "Sum of diameters",
                "kind": "line",
                "values": [str(total) for _, total in points],
            },
            {
                "label": "PR: −30 % from baseline",
                "kind": "limit",
                "values": [pr_line] * len(points),
            },
        ],
    }


def _targets(data: RecistIn) -> tuple[TargetLesion, ...]:
    return tuple(
        TargetLesion(
            lesion_id=row.lesion_id,
            organ=row.organ,
            is_lymph_node=row.is_lymph_node,
            baseline_mm=row.baseline_mm,
        )
        for row in data.targets
    )


def _time_points(data: RecistIn) -> tuple[TimePoint, ...]:
    return tuple(
        TimePoint(
            days_since_baseline=row.days_since_baseline,
            measurements_mm=(
                tuple(row.measurements_mm) if row.measurements_mm is not None else None
            ),
            non_target=_NON_TARGET[row.non_target],
            new_lesions=row.new_lesions,
            non_target_nodes_mm=tuple(row.non_target_nodes_mm),
        )
        for row in data.time_points
    )


register(
    Calculator(
        slug="recist-1-1",
        title="Tumour response (RECIST 1.1)",
        group="Response",
        purpose="Sums, change from baseline and nadir, response per assessment and best response.",
        input_schema=RecistIn,
        run=run_recist,
        example={
            "targets": [
                {"lesion_id": "T1", "organ": "liver", "is_lymph_node": False, "baseline_mm": "40"},
                {"lesion_id": "T2", "organ": "lung", "is_lymph_node": False, "baseline_mm": "20"},
                {"lesion_id": "N1", "organ": "axilla", "is_lymph_node": True, "baseline_mm": "18"},
            ],
            "time_points": [
                {
                    "days_since_baseline": 42,
                    "non_target": "non-CR/non-PD",
                    "new_lesions": False,
                    "measurements_mm": ["25", "12", "9"],
                },
                {
                    "days_since_baseline": 84,
                    "non_target": "non-CR/non-PD",
                    "new_lesions": False,
                    "measurements_mm": ["22", "10", "8"],
                },
            ],
            "min_sd_days": 42,
        },
    )
)
