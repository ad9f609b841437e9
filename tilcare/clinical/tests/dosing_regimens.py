"""Regimens and center settings for the dosing tests, built by hand in the clinical core's terms.

They mirror the lifileucel US label 2024 protocol and the NKI phase 3 protocol
(clinical-reference.md sections 1, 2 and 9) without reading the protocol files: the clinical core
must not depend on `tilcare.protocols`. The center values in `CENTER_VALUES` are examples a center
might enter for the tests, not recommendations; the renal bands are the reference notes'
secondary-source values, entered here as a center would have to.
"""

from __future__ import annotations

from decimal import Decimal

from tilcare.clinical.dosing.lymphodepletion import LymphodepletionPlan, lymphodepletion_doses
from tilcare.clinical.dosing.regimens import (
    BsaSettings,
    CellDoseRange,
    DaySchedule,
    Fixed,
    FromCenter,
    Il2Regimen,
    InfusionWindow,
    LymphodepletionAgent,
    LymphodepletionRegimen,
    MesnaNote,
    Narrowable,
    ProtocolRef,
    RenalAdjustment,
    WeightBasisSettings,
)
from tilcare.clinical.dosing.settings import (
    CenterSettings,
    ChoiceSetting,
    DecimalSetting,
    RenalBand,
    RenalBandsSetting,
    SettingSpec,
)
from tilcare.clinical.units import (
    Quantity,
    Unit,
    cells_1e9,
    cm,
    iu_per_kg,
    kg,
    mg,
    mg_per_dl,
    mg_per_kg,
    mg_per_m2,
    ml_per_min,
    years,
)

LABEL = "Amtagvi US prescribing information 2024, section 2"
MEDINA = "Medina et al., JITC 2023;11(Suppl 1):A873"
C144 = (
    "C-144-01 regimen summaries: “Three to 24 hours after infusion, patients received IL-2 … "
    "600,000 IU/kg every 8 to 12 hours for up to 6 doses”"
)
ESMO = "ESMO 2018 trial-design abstract (NKI phase 3)"
LIFILEUCEL = ProtocolRef("lifileucel_us", "2024")
NKI = ProtocolRef("nki_phase3", "2022")
BASES = ("actual", "ideal", "adjusted")


def hours(value: str | int) -> Quantity:
    return Quantity.of(value, Unit.hours)


def _choice(key: str, options: tuple[str, ...]) -> ChoiceSetting:
    return ChoiceSetting(key, f"label of {key}", f"why {key} is unconfirmed.", options)


def _decimal(
    key: str, unit: Unit | None, low: str, high: str, none_option: str | None = None
) -> DecimalSetting:
    return DecimalSetting(
        key,
        f"label of {key}",
        f"why {key} is unconfirmed.",
        unit,
        Decimal(low),
        Decimal(high),
        "test limits",
        none_option,
    )


CY_BASIS = _choice("cyclophosphamide_weight_basis", BASES)
CY_FACTOR = _decimal("cyclophosphamide_adjusted_weight_factor", None, "0", "1")
CY_ROUNDING = _decimal("cyclophosphamide_rounding_increment_mg", Unit.mg, "0.1", "100")
MESNA = _decimal("mesna_dose", Unit.mg_per_kg, "1", "120")
BSA_FORMULA = _choice("bsa_formula", ("mosteller", "dubois"))
BSA_CAP = _decimal("bsa_cap_m2", Unit.m2, "1", "3", none_option="no cap")
BANDS = RenalBandsSetting(
    "fludarabine_renal_bands",
    "label of fludarabine_renal_bands",
    "why fludarabine_renal_bands is unconfirmed.",
    Unit.mg_per_m2,
    Decimal(1),
    Decimal(25),
    Decimal(0),
    Decimal(200),
    "test limits",
)
CRCL_BASIS = _choice("crcl_weight_basis", BASES)
CRCL_FACTOR = _decimal("crcl_adjusted_weight_factor", None, "0", "1")
FLU_ROUNDING = _decimal("fludarabine_rounding_increment_mg", Unit.mg, "0.1", "10")
IL2_BASIS = _choice("il2_weight_basis", BASES)
IL2_FACTOR = _decimal("il2_adjusted_weight_factor", None, "0", "1")
# Lifileucel: the protocol's 8–12 h interval and 3–24 h start window, which a center may narrow.
IL2_INTERVAL_MIN = _decimal("il2_interval_min_hours", Unit.hours, "8", "12")
IL2_INTERVAL_MAX = _decimal("il2_interval_max_hours", Unit.hours, "8", "12")
IL2_START_MIN = _decimal("il2_start_min_hours", Unit.hours, "3", "24")
IL2_START_MAX = _decimal("il2_start_max_hours", Unit.hours, "3", "24")
# NKI: every 8 hours; how late a dose may still be given and the start window are the center's.
NKI_INTERVAL_MAX = _decimal("il2_interval_max_hours", Unit.hours, "8", "24")
NKI_START_MIN = _decimal("il2_start_min_hours", Unit.hours, "0", "48")
NKI_START_MAX = _decimal("il2_start_max_hours", Unit.hours, "0", "48")
INFUSION_EARLIEST = _decimal("infusion_earliest_hours", Unit.hours, "0", "168")
INFUSION_LATEST = _decimal("infusion_latest_hours", Unit.hours, "0", "168")

ALL_SPECS: tuple[SettingSpec, ...] = (
    CY_BASIS,
    CY_FACTOR,
    CY_ROUNDING,
    MESNA,
    BSA_FORMULA,
    BSA_CAP,
    BANDS,
    CRCL_BASIS,
    CRCL_FACTOR,
    FLU_ROUNDING,
    IL2_BASIS,
    IL2_FACTOR,
    IL2_INTERVAL_MIN,
    IL2_INTERVAL_MAX,
    IL2_START_MIN,
    IL2_START_MAX,
    INFUSION_EARLIEST,
    INFUSION_LATEST,
)

CYCLOPHOSPHAMIDE = LymphodepletionAgent(
    agent="cyclophosphamide",
    route="IV",
    dose=mg_per_kg(60),
    source=f"{LABEL}: cyclophosphamide 60 mg/kg IV with mesna, daily for 2 days",
    days=DaySchedule((-7, -6), confirmed=False, source="C-144-01 and NKI trial schedule"),
    rounding_increment=CY_ROUNDING,
    weight=WeightBasisSettings(CY_BASIS, CY_FACTOR),
)
FLUDARABINE = LymphodepletionAgent(
    agent="fludarabine",
    route="IV",
    dose=mg_per_m2(25),
    source=f"{LABEL}: fludarabine 25 mg/m² IV daily for 5 days",
    days=DaySchedule((-5, -4, -3, -2, -1), confirmed=False, source="C-144-01 and NKI schedule"),
    rounding_increment=FLU_ROUNDING,
    bsa=BsaSettings(BSA_FORMULA, BSA_CAP),
    renal=RenalAdjustment(BANDS, WeightBasisSettings(CRCL_BASIS, CRCL_FACTOR)),
)
LYMPHODEPLETION = LymphodepletionRegimen(
    LIFILEUCEL,
    (CYCLOPHOSPHAMIDE, FLUDARABINE),
    MesnaNote("cyclophosphamide", MESNA, f"{LABEL}: with mesna"),
)

LIFILEUCEL_IL2 = Il2Regimen(
    protocol=LIFILEUCEL,
    dose_per_kg=iu_per_kg(600000),
    max_doses=6,
    source=f"{C144}; {MEDINA}: up to 6 doses of 600,000 IU/kg",
    weight=WeightBasisSettings(IL2_BASIS, IL2_FACTOR),
    interval_min_hours=Narrowable(hours(8), C144, IL2_INTERVAL_MIN, hours(8), hours(12)),
    interval_max_hours=Narrowable(hours(12), C144, IL2_INTERVAL_MAX, hours(8), hours(12)),
    start_min_hours=Narrowable(hours(3), C144, IL2_START_MIN, hours(3), hours(24)),
    start_max_hours=Narrowable(hours(24), C144, IL2_START_MAX, hours(3), hours(24)),
)
NKI_IL2 = Il2Regimen(
    protocol=NKI,
    dose_per_kg=iu_per_kg(600000),
    max_doses=15,
    source=f"{ESMO}: 600,000 IU/kg every 8 hours, maximum 15 doses",
    weight=WeightBasisSettings(IL2_BASIS, IL2_FACTOR),
    interval_min_hours=Fixed(hours(8), f"{ESMO}: every 8 hours"),
    interval_max_hours=FromCenter(NKI_INTERVAL_MAX),
    start_min_hours=FromCenter(NKI_START_MIN),
    start_max_hours=FromCenter(NKI_START_MAX),
)

LIFILEUCEL_CELLS = CellDoseRange(
    LIFILEUCEL, cells_1e9("7.5"), cells_1e9(72), f"{LABEL}: 7.5 to 72 × 10⁹ cells, 1–4 bags", 1, 4
)
NKI_CELLS = CellDoseRange(NKI, cells_1e9(5), None, "Rohaan et al., NEJM 2022: at least 5×10⁹")

LIFILEUCEL_WINDOW = InfusionWindow(
    LIFILEUCEL,
    Fixed(hours(24), f"{LABEL}: after 24 hours"),
    Fixed(hours(96), f"{LABEL}: no later than 4 days"),
)
NKI_WINDOW = InfusionWindow(NKI, FromCenter(INFUSION_EARLIEST), FromCenter(INFUSION_LATEST))

CENTER_VALUES: dict[str, object] = {
    CY_BASIS.key: "actual",
    CY_FACTOR.key: Decimal("0.4"),
    CY_ROUNDING.key: mg(10),
    MESNA.key: mg_per_kg(60),
    BSA_FORMULA.key: "mosteller",
    BSA_CAP.key: "no cap",
    BANDS.key: (
        RenalBand(ml_per_min(40), ml_per_min(49), mg_per_m2(15)),
        RenalBand(ml_per_min(50), ml_per_min(79), mg_per_m2(20)),
    ),
    CRCL_BASIS.key: "actual",
    CRCL_FACTOR.key: Decimal("0.4"),
    FLU_ROUNDING.key: mg(1),
    IL2_BASIS.key: "actual",
    IL2_FACTOR.key: Decimal("0.4"),
    IL2_INTERVAL_MIN.key: hours(8),
    IL2_INTERVAL_MAX.key: hours(12),
    IL2_START_MIN.key: hours(3),
    IL2_START_MAX.key: hours(24),
    INFUSION_EARLIEST.key: hours(24),
    INFUSION_LATEST.key: hours(72),
}


def center(**changes: object) -> CenterSettings:
    """The example center values with `changes`; a change to None removes that setting."""
    values = dict(CENTER_VALUES)
    for key, value in changes.items():
        if value is None:
            values.pop(key, None)
        else:
            values[key] = value
    return CenterSettings(values)


def plan(
    settings: CenterSettings,
    weight_kg: str = "80",
    height_cm: str = "180",
    sex: str = "male",
    age: str = "50",
    scr: str = "1.0",
    *,
    weight: Quantity | None = None,  # a weight in another unit, to be refused
    regimen: LymphodepletionRegimen = LYMPHODEPLETION,
) -> LymphodepletionPlan:
    """The lymphodepletion doses of a patient: by default 80 kg, 180 cm, a man of 50, SCr 1.0."""
    return lymphodepletion_doses(
        regimen,
        settings,
        weight=kg(weight_kg) if weight is None else weight,
        height=cm(height_cm),
        sex=sex,
        age=years(age),
        serum_creatinine=mg_per_dl(scr),
    )


def missing_message(spec: SettingSpec) -> str:
    return (
        f"Set '{spec.label}' ({spec.key}) in the center's protocol settings: {spec.why_unconfirmed}"
    )
