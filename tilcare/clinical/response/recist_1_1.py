"""RECIST 1.1 target-lesion arithmetic and response categories.

Source: Eisenhauer EA et al., New response evaluation criteria in solid tumours: revised RECIST
guideline (version 1.1). Eur J Cancer 2009;45:228-247 (clinical-reference.md section 7).

Units: every measurement is a Decimal in millimetres (longest diameter for non-nodal lesions,
short axis for lymph nodes). Floats are refused.

Formulae:
  sum_mm = sum of target measurements (node short axes included);
  change from baseline % = (sum - baseline) / baseline x 100; from nadir likewise,
  nadir = smallest sum on study, baseline included; rounded to 0.1 % by ``round_percent``.
Target response: CR if every non-nodal target is 0 mm and every target node < 10 mm;
PR if decrease vs baseline >= 30 %; PD if increase vs nadir >= 20 % AND >= 5 mm; else SD.
Percentages are compared unrounded (exact Decimal), so exactly 30 % is PR and exactly 20 % is PD.
Series (``evaluate_series``): time points in order; each is compared with the nadir before it
(smallest sum on study, baseline included); overall CR also needs every non-target node short axis
< 10 mm (a reader's non-target CR with a node >= 10 mm becomes non-CR/non-PD); the best overall
response counts time points up to and including the first PD.

Target selection: at most 5 targets, at most 2 per organ, and all lymph nodes together count as
one organ ("Nodes are considered to be one organ", EORTC RECIST 1.1 questions and
clarifications), whatever station the reader names.

Stable disease counts for the best overall response only once met at a minimum interval after
study entry that the protocol sets: "In the case of SD, measurements must have met the SD
criteria at least once after study entry at a minimum interval (in general not less than 6-8
weeks) that is defined in the study protocol" (Eisenhauer 2009, best overall response). The
interval (``min_sd_days``, in the days the time points are counted in) has no default.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum

SOURCE = "RECIST 1.1, Eisenhauer et al., Eur J Cancer 2009;45:228-247"
MAX_TARGETS_TOTAL = 5
MAX_TARGETS_PER_ORGAN = 2
MIN_NON_NODAL_TARGET_MM = Decimal(10)
MIN_NODAL_TARGET_MM = Decimal(15)
NORMAL_NODE_BELOW_MM = Decimal(10)
MAX_PLAUSIBLE_MM = Decimal(1000)
MIN_SD_DAYS_LOWEST = 1
MIN_SD_DAYS_HIGHEST = 365
NODES_ORGAN = "lymph nodes"
NODES_ONE_ORGAN_SOURCE = (
    "EORTC RECIST 1.1 questions and clarifications: 'Nodes are considered to be one organ'"
)
MIN_SD_SOURCE = (
    "Eisenhauer 2009, best overall response: SD met 'at least once after study entry at a "
    "minimum interval (in general not less than 6-8 weeks) that is defined in the study protocol'"
)
MIN_SD_NOT_SET = (
    "Set min_sd_days, the minimum number of days after study entry at which stable disease must "
    "be met to count as the best overall response. RECIST 1.1 leaves it to the study protocol (in "
    "general not less than 6-8 weeks, 42-56 days); outside a trial the center's treating "
    "physicians decide it for their program."
)


class RecistInputError(ValueError):
    """An input that RECIST 1.1 arithmetic refuses (float, negative, implausible, invalid set)."""


def _mm(name: str, value: object) -> Decimal:
    if isinstance(value, float) or not isinstance(value, Decimal):
        raise RecistInputError(f"{name} must be a Decimal in mm, not {type(value).__name__}")
    if not value.is_finite() or value < 0 or value > MAX_PLAUSIBLE_MM:
        raise RecistInputError(f"{name} = {value} mm is outside 0 to {MAX_PLAUSIBLE_MM} mm")
    return value


def round_percent(value: Decimal) -> Decimal:
    """Round a percentage to one decimal, half away from zero."""
    return value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class TargetLesion:
    lesion_id: str
    organ: str
    is_lymph_node: bool
    baseline_mm: Decimal


@dataclass(frozen=True)
class TargetSelection:
    lesions: tuple[TargetLesion, ...]
    baseline_sum_mm: Decimal
    source: str = SOURCE
    selection_rule: str = (
        f"at most {MAX_TARGETS_TOTAL} targets, at most {MAX_TARGETS_PER_ORGAN} per organ, all "
        f"lymph nodes one organ ({NODES_ONE_ORGAN_SOURCE})"
    )


def validate_targets(lesions: tuple[TargetLesion, ...]) -> TargetSelection:
    """Refuse target sets breaking RECIST 1.1 selection rules; return the baseline sum."""
    if not lesions:
        raise RecistInputError("at least one target lesion is required")
    if len(lesions) > MAX_TARGETS_TOTAL:
        raise RecistInputError(
            f"max {MAX_TARGETS_TOTAL} target lesions total; got {len(lesions)}"
            f" ({', '.join(x.lesion_id for x in lesions)})"
        )
    per_organ: dict[str, list[str]] = {}  # every lymph node under one organ, NODES_ORGAN
    for les in lesions:
        mm = _mm(f"{les.lesion_id} baseline_mm", les.baseline_mm)
        if les.is_lymph_node and mm < MIN_NODAL_TARGET_MM:
            kind = "pathological non-target" if mm >= NORMAL_NODE_BELOW_MM else "normal"
            raise RecistInputError(
                f"lesion {les.lesion_id}: nodal target short axis must be >= "
                f"{MIN_NODAL_TARGET_MM} mm; {mm} mm is {kind}"
            )
        if not les.is_lymph_node and mm < MIN_NON_NODAL_TARGET_MM:
            raise RecistInputError(
                f"lesion {les.lesion_id}: non-nodal target longest diameter must be >= "
                f"{MIN_NON_NODAL_TARGET_MM} mm; got {mm} mm"
            )
        organ = NODES_ORGAN if les.is_lymph_node else les.organ
        per_organ.setdefault(organ, []).append(les.lesion_id)
    for organ, ids in per_organ.items():
        if len(ids) > MAX_TARGETS_PER_ORGAN:
            nodes = " (all lymph nodes count as one organ)" if organ == NODES_ORGAN else ""
            raise RecistInputError(
                f"max {MAX_TARGETS_PER_ORGAN} target lesions per organ; organ {organ} has"
                f" {len(ids)} ({', '.join(ids)}){nodes}"
            )
    return TargetSelection(lesions, sum((x.baseline_mm for x in lesions), Decimal(0)))


class TargetResponse(Enum):
    CR = "CR"
    PR = "PR"
    SD = "SD"
    PD = "PD"


@dataclass(frozen=True)
class TargetAssessment:
    baseline_sum_mm: Decimal
    nadir_sum_mm: Decimal
    sum_mm: Decimal
    change_from_baseline_percent: Decimal
    change_from_nadir_percent: Decimal
    change_from_nadir_mm: Decimal
    response: TargetResponse
    rule: str
    formula: str = "sum of diameters; % change vs baseline (PR) and vs nadir (PD)"
    source: str = SOURCE


def target_response(
    *,
    baseline_sum_mm: Decimal,
    nadir_sum_mm: Decimal,
    measurements_mm: tuple[tuple[bool, Decimal], ...],
) -> TargetAssessment:
    """Classify one time point. ``measurements_mm`` is (is_lymph_node, mm) per target lesion.

    ``nadir_sum_mm`` is the smallest sum before this time point, baseline included.
    """
    base = _mm("baseline_sum_mm", baseline_sum_mm)
    nadir = _mm("nadir_sum_mm", nadir_sum_mm)
    if base == 0:
        raise RecistInputError("baseline_sum_mm must be > 0 mm")
    if nadir > base:
        raise RecistInputError(f"nadir_sum_mm {nadir} mm exceeds baseline_sum_mm {base} mm")
    if not measurements_mm:
        raise RecistInputError("measurements_mm must contain the target lesions")
    vals = [(node, _mm("measurement_mm", v)) for node, v in measurements_mm]
    total = sum((v for _, v in vals), Decimal(0))
    pct_base = (total - base) / base * 100
    delta_nadir = total - nadir
    pct_nadir = delta_nadir / nadir * 100 if nadir > 0 else Decimal(0)
    pd_pct = delta_nadir > 0 if nadir == 0 else pct_nadir >= 20
    if pd_pct and delta_nadir >= 5:
        resp, rule = TargetResponse.PD, "PD: >= 20% increase vs nadir and >= 5 mm absolute"
    elif all((v < NORMAL_NODE_BELOW_MM) if node else (v == 0) for node, v in vals):
        resp, rule = TargetResponse.CR, "CR: non-nodal targets 0 mm, target nodes < 10 mm"
    elif pct_base <= -30:
        resp, rule = TargetResponse.PR, "PR: >= 30% decrease vs baseline"
    else:
        resp, rule = TargetResponse.SD, "SD: neither PR nor PD criteria met"
    return TargetAssessment(
        base,
        nadir,
        total,
        round_percent(pct_base),
        round_percent(pct_nadir),
        delta_nadir,
        resp,
        rule,
    )


class NonTargetStatus(Enum):
    CR = "CR"
    NON_CR_NON_PD = "non-CR/non-PD"
    PD = "PD"
    NOT_EVALUATED = "not evaluated"


class OverallResponse(Enum):
    CR = "CR"
    PR = "PR"
    SD = "SD"
    PD = "PD"
    NE = "NE"


@dataclass(frozen=True)
class OverallAssessment:
    target: TargetResponse | None
    non_target: NonTargetStatus
    new_lesions: bool
    response: OverallResponse
    rule: str
    source: str = SOURCE + ", Table 1 (patients with target disease)"


def overall_response(
    *, target: TargetResponse | None, non_target: NonTargetStatus, new_lesions: bool
) -> OverallAssessment:
    """Combine target, non-target and new-lesion status (``target=None`` = not all evaluated).

    The matrix is marked NOT CONFIRMED in the reference notes; this implements the standard
    Eisenhauer 2009 Table 1 logic and the center must validate it against Table 1 before use.
    """

    def out(r: OverallResponse, rule: str) -> OverallAssessment:
        return OverallAssessment(target, non_target, new_lesions, r, rule)

    if new_lesions:
        return out(OverallResponse.PD, "any new lesion -> PD")
    if target is TargetResponse.PD:
        return out(OverallResponse.PD, "target PD -> PD")
    if non_target is NonTargetStatus.PD:
        return out(OverallResponse.PD, "unequivocal non-target PD -> PD")
    if target is None:
        return out(OverallResponse.NE, "targets not all evaluated, non-PD -> NE")
    if target is TargetResponse.CR:
        if non_target is NonTargetStatus.CR:
            return out(OverallResponse.CR, "target CR + non-target CR + no new -> CR")
        return out(OverallResponse.PR, "target CR + non-target non-CR/non-PD or NE -> PR")
    if target is TargetResponse.PR:
        return out(OverallResponse.PR, "target PR + non-target non-PD or not all evaluated -> PR")
    return out(OverallResponse.SD, "target SD + non-target non-PD or not all evaluated -> SD")


_RANK = {
    OverallResponse.CR: 4,
    OverallResponse.PR: 3,
    OverallResponse.SD: 2,
    OverallResponse.PD: 1,
    OverallResponse.NE: 0,
}


@dataclass(frozen=True)
class BestOverallResponse:
    time_points: tuple[tuple[int, OverallResponse], ...]
    min_sd_days: int
    response: OverallResponse
    rule: str
    source: str = SOURCE
    min_sd_source: str = MIN_SD_SOURCE


def checked_min_sd_days(min_sd_days: int | None) -> int:
    """The protocol's minimum interval for SD; refused when unset (no default) or implausible."""
    if min_sd_days is None:
        raise RecistInputError(MIN_SD_NOT_SET)
    if isinstance(min_sd_days, bool) or not isinstance(min_sd_days, int):
        raise RecistInputError(f"min_sd_days must be a whole number of days, not {min_sd_days!r}")
    if not MIN_SD_DAYS_LOWEST <= min_sd_days <= MIN_SD_DAYS_HIGHEST:
        raise RecistInputError(
            f"min_sd_days {min_sd_days} is outside {MIN_SD_DAYS_LOWEST} to "
            f"{MIN_SD_DAYS_HIGHEST} days (in general not less than 6-8 weeks, 42-56 days)"
        )
    return min_sd_days


def best_overall_response(
    time_points: tuple[tuple[int, OverallResponse], ...], *, min_sd_days: int | None
) -> BestOverallResponse:
    """Best of CR > PR > SD > PD over (days_since_baseline, response) time points.

    No confirmation is required here: RECIST 1.1 requires CR/PR confirmation only when response
    is the primary endpoint in non-randomised trials. SD counts only at or after ``min_sd_days``,
    the protocol's minimum interval (required: None is refused with what to set and who decides).
    An SD before it leaves the best response NE unless another time point counts.
    """
    minimum = checked_min_sd_days(min_sd_days)
    best = OverallResponse.NE
    for day, resp in time_points:
        if day < 0:
            raise RecistInputError(f"days_since_baseline = {day} must be >= 0")
        if resp is OverallResponse.SD and day < minimum:
            continue
        if _RANK[resp] > _RANK[best]:
            best = resp
    rule = (
        f"best of CR > PR > SD > PD over {len(time_points)} time points; "
        f"SD counted only at day >= {minimum}"
    )
    return BestOverallResponse(time_points, minimum, best, rule)


# Series over time -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimePoint:
    """One follow-up assessment.

    ``measurements_mm``: one value per target lesion, in the order of the baseline selection
    (None = not all targets evaluated). ``non_target`` is the reader's non-target status;
    ``non_target_nodes_mm`` the short axes of the pathological non-target nodes followed.
    """

    days_since_baseline: int
    measurements_mm: tuple[Decimal, ...] | None
    non_target: NonTargetStatus
    new_lesions: bool
    non_target_nodes_mm: tuple[Decimal, ...] = ()


@dataclass(frozen=True)
class TimePointAssessment:
    days_since_baseline: int
    nadir_before_mm: Decimal  # smallest sum before this time point, baseline included
    target: TargetAssessment | None  # None when not all targets were evaluated
    non_target_given: NonTargetStatus
    non_target_nodes_mm: tuple[Decimal, ...]
    non_target: NonTargetStatus  # after the node rule
    non_target_rule: str
    overall: OverallAssessment


@dataclass(frozen=True)
class SeriesAssessment:
    baseline: TargetSelection
    time_points: tuple[TimePointAssessment, ...]
    nadir_sum_mm: Decimal  # smallest sum on study after the last time point, baseline included
    first_pd_day: int | None  # later time points do not count for the best overall response
    best: BestOverallResponse
    rule: str = (
        "nadir = smallest sum on study incl. baseline; PD vs nadir before each time point; "
        "CR needs every target and non-target node < 10 mm; best response counted up to first PD"
    )
    source: str = SOURCE


def non_target_with_nodes(
    status: NonTargetStatus, nodes_mm: tuple[Decimal, ...]
) -> tuple[NonTargetStatus, str]:
    """Non-target CR needs every non-target node short axis < 10 mm (RECIST 1.1 CR definition)."""
    sizes = [_mm("non_target_nodes_mm", v) for v in nodes_mm]
    big = [v for v in sizes if v >= NORMAL_NODE_BELOW_MM]
    if status is NonTargetStatus.CR and big:
        return NonTargetStatus.NON_CR_NON_PD, (
            f"non-target CR not possible: node short axis {max(big)} mm >= "
            f"{NORMAL_NODE_BELOW_MM} mm -> non-CR/non-PD"
        )
    return status, "non-target status as assessed"


def evaluate_series(
    baseline: TargetSelection,
    time_points: tuple[TimePoint, ...],
    *,
    min_sd_days: int | None,
) -> SeriesAssessment:
    """Evaluate follow-up time points in order against the baseline target selection.

    The nadir for each time point is the smallest sum before it, baseline included; a time point
    with targets not all evaluated does not change the nadir. The best overall response counts
    time points up to and including the first PD (the response after progression is not a
    response to this treatment). ``min_sd_days`` is the protocol's minimum interval for SD
    (required, see ``best_overall_response``); it is checked before any time point.
    """
    checked_min_sd_days(min_sd_days)
    lesions = baseline.lesions
    nadir = _mm("baseline_sum_mm", baseline.baseline_sum_mm)
    previous_day = 0
    assessed: list[TimePointAssessment] = []
    first_pd_day: int | None = None
    for tp in time_points:
        day = tp.days_since_baseline
        if isinstance(day, bool) or not isinstance(day, int) or day <= previous_day:
            raise RecistInputError(
                f"days_since_baseline = {day!r} must be an int > {previous_day} "
                "(after baseline and the previous time point)"
            )
        previous_day = day
        target: TargetAssessment | None = None
        if tp.measurements_mm is not None:
            if len(tp.measurements_mm) != len(lesions):
                raise RecistInputError(
                    f"day {day}: measurements_mm has {len(tp.measurements_mm)} values for "
                    f"{len(lesions)} target lesions ({', '.join(x.lesion_id for x in lesions)})"
                )
            target = target_response(
                baseline_sum_mm=baseline.baseline_sum_mm,
                nadir_sum_mm=nadir,
                measurements_mm=tuple(
                    (les.is_lymph_node, v)
                    for les, v in zip(lesions, tp.measurements_mm, strict=True)
                ),
            )
        non_target, nt_rule = non_target_with_nodes(tp.non_target, tp.non_target_nodes_mm)
        overall = overall_response(
            target=None if target is None else target.response,
            non_target=non_target,
            new_lesions=tp.new_lesions,
        )
        assessed.append(
            TimePointAssessment(
                day,
                nadir,
                target,
                tp.non_target,
                tp.non_target_nodes_mm,
                non_target,
                nt_rule,
                overall,
            )
        )
        if target is not None:
            nadir = min(nadir, target.sum_mm)
        if first_pd_day is None and overall.response is OverallResponse.PD:
            first_pd_day = day
    counted = tuple(
        (a.days_since_baseline, a.overall.response)
        for a in assessed
        if first_pd_day is None or a.days_since_baseline <= first_pd_day
    )
    best = best_overall_response(counted, min_sd_days=min_sd_days)
    return SeriesAssessment(baseline, tuple(assessed), nadir, first_pd_day, best)
