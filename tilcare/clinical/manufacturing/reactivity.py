"""Tumor-reactivity metric used to rank pre-REP TIL cultures from a co-culture screen.

Per culture, measured against autologous tumor and against a control target:
  IFN-gamma difference (pg/mL) = IFN-gamma tumor − IFN-gamma control;
  IFN-gamma fold = IFN-gamma tumor ÷ IFN-gamma control, not computable when the control is 0;
  CD137 difference (percentage points) = CD137 % tumor − CD137 % control.
Reactive call: only against thresholds the center sets (minimum IFN-gamma difference in pg/mL,
minimum fold, minimum CD137 difference in percentage points). All three are required, no default:
there is no settled published source for them in the project's reference notes, and a missing one
raises ``MissingCenterSetting`` naming it. A culture is reactive when every assessable threshold is
met (value >= threshold, compared unrounded). When the fold is not computable (control 0 pg/mL)
the fold threshold is recorded as not assessable and the call rests on the other two.
Ranking: reactive cultures first, then IFN-gamma difference descending, then CD137 difference
descending, then culture id ascending, so that ties have a stable order. Every row carries its
values and which thresholds it met.

Use: a transparent screening aid. It does not select a culture; the person who selects the
culture(s) for rapid expansion makes and records that decision.

Units: IFN-gamma as a Quantity in pg/mL (0 to 10⁶, a plausibility limit, not a clinical fact),
CD137 as a Quantity in % (0 to 100). Floats are refused. Rounding: the fold is shown to 0.01 by
``round_fold`` (ROUND_HALF_UP); differences are exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal

from tilcare.clinical.manufacturing.expansion import MissingCenterSetting
from tilcare.clinical.units import (
    FloatNotAllowed,
    ImplausibleInput,
    InvalidQuantity,
    Quantity,
    Unit,
    to_decimal,
)

SOURCE = (
    "Screening thresholds set by the facility's QA reviewer (no published standard sets them); "
    "IFN-gamma release and CD137 upregulation against autologous tumor vs control"
)
FORMULA = (
    "IFN-gamma difference = tumor − control (pg/mL); fold = tumor ÷ control (none if control 0); "
    "CD137 difference = tumor % − control % (points); reactive = every assessable threshold met"
)
RANKING_RULE = (
    "reactive first; then IFN-gamma difference descending; then CD137 difference descending; "
    "then culture id ascending"
)
USE = "screening aid only; the culture selection is made and recorded by a person"
ROUNDING = "fold to 0.01, ROUND_HALF_UP (round_fold); comparisons on unrounded values"
MAX_IFN_GAMMA_PG_PER_ML = Decimal("1E+6")
MAX_PERCENT = Decimal(100)

IFN_DIFFERENCE = "minimum IFN-gamma difference (pg/mL)"
IFN_FOLD = "minimum IFN-gamma fold (tumor ÷ control)"
CD137_DIFFERENCE = "minimum CD137 difference (percentage points)"


def round_fold(value: Decimal) -> Decimal:
    """Fold change to 0.01, half up."""
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class CoCultureReadout:
    culture_id: str
    ifn_gamma_tumor: Quantity  # pg/mL
    ifn_gamma_control: Quantity  # pg/mL
    cd137_tumor: Quantity  # % of T cells
    cd137_control: Quantity  # % of T cells


@dataclass(frozen=True)
class ReactivityThresholds:
    min_ifn_gamma_difference_pg_per_ml: Decimal
    min_ifn_gamma_fold: Decimal
    min_cd137_difference_points: Decimal


@dataclass(frozen=True)
class ReactivityRow:
    rank: int
    culture_id: str
    ifn_gamma_tumor_pg_per_ml: Decimal
    ifn_gamma_control_pg_per_ml: Decimal
    ifn_gamma_difference_pg_per_ml: Decimal
    ifn_gamma_fold: Decimal | None  # round_fold; None when the control is 0 pg/mL
    ifn_gamma_fold_unrounded: Decimal | None
    cd137_tumor_percent: Decimal
    cd137_control_percent: Decimal
    cd137_difference_points: Decimal
    ifn_gamma_difference_met: bool
    ifn_gamma_fold_met: bool | None  # None: fold not computable, threshold not assessable
    cd137_difference_met: bool
    thresholds_met: tuple[str, ...]  # names of the thresholds met, in threshold order
    reactive: bool
    note: str


@dataclass(frozen=True)
class ReactivityRanking:
    readouts: tuple[CoCultureReadout, ...]
    thresholds: ReactivityThresholds
    rows: tuple[ReactivityRow, ...]
    formula: str = FORMULA
    ranking_rule: str = RANKING_RULE
    use: str = USE
    source: str = SOURCE
    rounding: str = ROUNDING


def _measure(value: object, unit: Unit, name: str, maximum: Decimal) -> Decimal:
    if isinstance(value, float):
        raise FloatNotAllowed(value, name)
    if not isinstance(value, Quantity):
        raise InvalidQuantity(f"{name} {value!r} must be a Quantity in {unit.value}.")
    magnitude = value.require(unit, name)
    if magnitude < 0 or magnitude > maximum:
        raise ImplausibleInput(
            f"{name} {magnitude} {unit.value} is outside 0 to {maximum} {unit.value}."
        )
    return magnitude


def _thresholds(
    ifn_difference: Quantity | None, fold: Decimal | int | None, cd137: Quantity | None
) -> ReactivityThresholds:
    missing = [
        f"'{label}' ({arg})"
        for label, arg, value in (
            (IFN_DIFFERENCE, "min_ifn_gamma_difference", ifn_difference),
            (IFN_FOLD, "min_ifn_gamma_fold", fold),
            (CD137_DIFFERENCE, "min_cd137_difference", cd137),
        )
        if value is None
    ]
    if missing:
        raise MissingCenterSetting(
            f"Set {', '.join(missing)} in the center's manufacturing settings; the reactivity "
            "call has no default thresholds."
        )
    assert ifn_difference is not None and fold is not None and cd137 is not None
    min_fold = to_decimal(fold, "min_ifn_gamma_fold")
    if min_fold <= 0:
        raise ImplausibleInput(f"min_ifn_gamma_fold {min_fold} must be greater than 0.")
    return ReactivityThresholds(
        _measure(
            ifn_difference, Unit.pg_per_ml, "min_ifn_gamma_difference", MAX_IFN_GAMMA_PG_PER_ML
        ),
        min_fold,
        _measure(cd137, Unit.percent, "min_cd137_difference", MAX_PERCENT),
    )


def _row(readout: CoCultureReadout, limits: ReactivityThresholds) -> ReactivityRow:
    cid = readout.culture_id
    ifn_tumor = _measure(
        readout.ifn_gamma_tumor, Unit.pg_per_ml, f"{cid} ifn_gamma_tumor", MAX_IFN_GAMMA_PG_PER_ML
    )
    ifn_control = _measure(
        readout.ifn_gamma_control,
        Unit.pg_per_ml,
        f"{cid} ifn_gamma_control",
        MAX_IFN_GAMMA_PG_PER_ML,
    )
    cd_tumor = _measure(readout.cd137_tumor, Unit.percent, f"{cid} cd137_tumor", MAX_PERCENT)
    cd_control = _measure(readout.cd137_control, Unit.percent, f"{cid} cd137_control", MAX_PERCENT)
    ifn_difference = ifn_tumor - ifn_control
    fold = ifn_tumor / ifn_control if ifn_control > 0 else None
    cd_difference = cd_tumor - cd_control
    difference_met = ifn_difference >= limits.min_ifn_gamma_difference_pg_per_ml
    fold_met = None if fold is None else fold >= limits.min_ifn_gamma_fold
    cd_met = cd_difference >= limits.min_cd137_difference_points
    met = tuple(
        label
        for label, ok in (
            (IFN_DIFFERENCE, difference_met),
            (IFN_FOLD, fold_met),
            (CD137_DIFFERENCE, cd_met),
        )
        if ok
    )
    reactive = difference_met and fold_met is not False and cd_met
    note = (
        "fold not computable (control 0 pg/mL): fold threshold not assessable; call on the "
        "IFN-gamma difference and CD137 thresholds"
        if fold is None
        else "all three thresholds assessed"
    )
    return ReactivityRow(  # rank 0 until ranked
        0, cid, ifn_tumor, ifn_control, ifn_difference,
        None if fold is None else round_fold(fold), fold, cd_tumor, cd_control, cd_difference,
        difference_met, fold_met, cd_met, met, reactive, note,
    )  # fmt: skip


def rank_cultures(
    readouts: Sequence[CoCultureReadout],
    *,
    min_ifn_gamma_difference: Quantity | None,
    min_ifn_gamma_fold: Decimal | int | None,
    min_cd137_difference: Quantity | None,
) -> ReactivityRanking:
    """Rank cultures by the reactivity metric; thresholds are the center's (None is refused).

    ``min_ifn_gamma_difference`` in pg/mL, ``min_cd137_difference`` in % (percentage points).
    """
    limits = _thresholds(min_ifn_gamma_difference, min_ifn_gamma_fold, min_cd137_difference)
    seen: set[str] = set()
    for readout in readouts:
        cid = readout.culture_id
        if not isinstance(cid, str) or not cid.strip():
            raise InvalidQuantity(f"culture_id {cid!r} must be a non-empty string.")
        if cid in seen:
            raise ImplausibleInput(f"culture_id {cid} appears twice; give one readout per culture.")
        seen.add(cid)
    rows = sorted(
        (_row(r, limits) for r in readouts),
        key=lambda row: (
            not row.reactive,
            -row.ifn_gamma_difference_pg_per_ml,
            -row.cd137_difference_points,
            row.culture_id,
        ),
    )
    ranked = tuple(replace(row, rank=i) for i, row in enumerate(rows, start=1))
    return ReactivityRanking(tuple(readouts), limits, ranked)
