"""CTCAE v5.0 grades that follow from measured values (NCI CTEP workbook CTCAE_v5.0.xlsx).

Every grader takes `Quantity` inputs with explicit units and returns a `CtcaeGrade` naming the
workbook band that set the grade ("<1000 - 500/mm3: grade 3"). Grade 0 = not an adverse event
for the term (within normal, or the criteria are not met).

Band edges (reference notes §4.2, implementation notes): "<1500 - 1000/mm3" means below 1500 down
to and including 1000, so exactly 1000/mm3 is grade 2 and exactly 1500/mm3 grade 1; ">1.5 - 3.0"
means above 1.5 up to and including 3.0. Blood counts in ×10⁹/L are converted to /mm³ with
`.to(Unit.per_mm3)` (×1000, exact) and hemoglobin in g/L to g/dL with `.to(Unit.g_per_dl)`
(÷10, exact); each conversion is recorded in the result's notes. Hemoglobin in mmol/L is not
accepted (the units module has no mmol/L unit). Creatinine is graded in the unit given (mg/dL or
µmol/L); its ULN and baseline must be in that same unit, never converted.

Required lower limit of normal (LLN): grade 1 is "<LLN - 1500/mm3" (neutrophils), the grades
below it have fixed edges ("<1500 - 1000/mm3"). A count below the grade 1 lower edge takes the
grade of its fixed band whatever the LLN; a count at or above that edge is grade 1 below the LLN
and grade 0 at or above it. A laboratory LLN below the grade 1 lower edge (e.g. 1400/mm3 for
neutrophils) is graded, not refused: grade 1 then cannot occur, and a count from the LLN up to
the edge (1400 to 1499/mm3) is within the laboratory's range yet grade 2 by the workbook text.
The result says so in its notes; whether such a count is reported as an adverse event is for the
center's principal investigator to decide.

Anemia grade 3 reads "Hgb <8.0 g/dL; <4.9 mmol/L; <80 g/L; transfusion indicated" and a
semicolon means "or" (CTCAE v5.0 front matter): a transfusion indication alone makes grade 3.
`grade_anemia` takes `transfusion_indicated`; left unanswered, a grade below 3 is only "at least"
that grade (`CtcaeGrade.at_least`). Creatinine without a baseline likewise: grade 2 ">1.5 - 3.0 x
baseline" and grade 3 ">3.0 x baseline" may apply, so a grade below 3 is "at least" that grade.

Plausibility limits (this module's, to catch entry slips; not CTCAE facts), refused with
`ImplausibleInput` naming the field and the limit, checked in the unit given: counts >= 0 and at
most neutrophils 200,000, platelets 5,000,000, lymphocytes 1,000,000, white blood cells
1,000,000 /mm³; LLN from 1,000, 100,000, 500, 2,000 up to 10,000, 500,000, 5,000, 20,000 /mm³;
hemoglobin > 0 and <= 25.0 g/dL, its LLN 10.0–20.0 g/dL; creatinine and baseline 0.2–30 mg/dL
(the renal module's minimum: lower is taken for a unit error), ULN 0.3–3.0 mg/dL (µmol/L limits
= ×88.4, so 2.1 µmol/L, a value typed in mg/dL, is refused);
temperature 30.0–45.0 °C; durations 0–720 h; weights 20–350 kg, and a weight more than 50 %
above or below the baseline weight (a pound typed as a kilogram is +120 %).

Rounding: grades come from exact Decimal comparisons. Only the ratios and percentages shown in
`values` are rounded, through `round_ratio` (0.01) and `round_percent` (0.1), ROUND_HALF_UP.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from tilcare.clinical.body_size import WEIGHT_MAX_KG, WEIGHT_MIN_KG
from tilcare.clinical.grading.ctcae_v5_0 import (
    CtcaeGrade,
    CtcaeTerm,
    CtcaeUnitError,
    MissingInput,
    checked_quantity,
    in_unit,
    term,
    within,
)
from tilcare.clinical.renal import SCR_MIN_MG_PER_DL
from tilcare.clinical.units import ImplausibleInput, Quantity, Unit

COUNT_UNITS = (Unit.per_mm3, Unit.e9_per_l)
HEMOGLOBIN_UNITS = (Unit.g_per_dl, Unit.g_per_l)
CREATININE_UNITS = (Unit.mg_per_dl, Unit.umol_per_l)
DURATION_MAX_H = Decimal(720)


def round_ratio(value: Decimal) -> Decimal:
    """A ratio shown to 0.01, half up (display only; grades use exact comparisons)."""
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def round_percent(value: Decimal) -> Decimal:
    """A percentage shown to 0.1, half up (display only; grades use exact comparisons)."""
    return value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _result(
    the_term: CtcaeTerm,
    grade: int,
    rule: str,
    values: dict[str, Quantity | str],
    notes: list[str],
    rounding: str = "none",
    *,
    at_least: str | None = None,
) -> CtcaeGrade:
    text = the_term.grade_text(grade) if grade else None
    return CtcaeGrade(the_term, grade, rule, values, text, tuple(notes), rounding, at_least)


# Blood counts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _CountScale:
    term_name: str
    field: str
    # Inclusive lower edges of grades 1, 2 and 3 in /mm³ (grade 4 is below the last).
    edges_per_mm3: tuple[Decimal, Decimal, Decimal]
    max_per_mm3: Decimal
    lln_min_per_mm3: Decimal
    lln_max_per_mm3: Decimal
    note: str | None = None


NEUTROPHILS = _CountScale(
    "Neutrophil count decreased",
    "neutrophil count",
    (Decimal(1500), Decimal(1000), Decimal(500)),
    Decimal(200_000),
    Decimal(1_000),
    Decimal(10_000),
)
PLATELETS = _CountScale(
    "Platelet count decreased",
    "platelet count",
    (Decimal(75_000), Decimal(50_000), Decimal(25_000)),
    Decimal(5_000_000),
    Decimal(100_000),
    Decimal(500_000),
)
LYMPHOCYTES = _CountScale(
    "Lymphocyte count decreased",
    "lymphocyte count",
    (Decimal(800), Decimal(500), Decimal(200)),
    Decimal(1_000_000),
    Decimal(500),
    Decimal(5_000),
    note="Graded as 'Lymphocyte count decreased' only; 'Lymphocyte count increased' is a "
    "separate CTCAE v5.0 term, not graded here.",
)
WHITE_BLOOD_CELLS = _CountScale(
    "White blood cell decreased",
    "white blood cell count",
    (Decimal(3000), Decimal(2000), Decimal(1000)),
    Decimal(1_000_000),
    Decimal(2_000),
    Decimal(20_000),
)
# Which "; "-separated part of the workbook grade text quotes the band in the unit given.
_BAND_PART = {Unit.per_mm3: 0, Unit.e9_per_l: 1, Unit.g_per_dl: 0, Unit.g_per_l: 2}


def _band_rule(the_term: CtcaeTerm, grade: int, unit: Unit) -> str:
    """The workbook's own band text for the unit given, e.g. "<1000 - 500/mm3: grade 3"."""
    return f"{the_term.grade_text(grade).split('; ')[_BAND_PART[unit]]}: grade {grade}"


def _below_lln(
    the_term: CtcaeTerm, value: Quantity, lln: Quantity, edges: tuple[Decimal, ...], unit: Unit
) -> tuple[int, str]:
    # Below the grade 1 lower edge the fixed bands decide: one grade more for each inclusive
    # lower edge the value falls below, whatever the LLN ("<1500 - 1000/mm3" is grade 2).
    below_edges = sum(1 for edge in edges if value.magnitude < edge)
    if below_edges:
        grade = 1 + below_edges
        return grade, _band_rule(the_term, grade, unit)
    if value >= lln:
        return 0, f"not below LLN ({lln}): grade 0"
    return 1, _band_rule(the_term, 1, unit)


def _low_lln_note(name: str, lln: Quantity, edge: Decimal, the_term: CtcaeTerm) -> str:
    grade_2 = the_term.grade_text(2).split("; ")[0]
    return (
        f"The laboratory's {name} ({lln}) is below {edge} {lln.unit.value}, where CTCAE v5.0 "
        f"grade 2 begins ('{grade_2}'): grade 1 cannot occur, and a value from the LLN up to "
        f"below {edge} {lln.unit.value} is within the laboratory's range yet grade 2 by the "
        "CTCAE v5.0 text. Whether such a value is reported as an adverse event is for the "
        "center's principal investigator to decide."
    )


def _within_as_given(
    name: str, value: object, low: Quantity, high: Quantity, *, low_open: bool
) -> None:
    """Refuse a value outside [low, high], with the limits in the unit the value was given in."""
    given = checked_quantity(value, name)
    within(
        name, given, low.to(given.unit).magnitude, high.to(given.unit).magnitude, low_open=low_open
    )


def _grade_count(scale: _CountScale, count: object, lln: object) -> CtcaeGrade:
    notes: list[str] = []
    lln_name = f"{scale.field} lower limit of normal (LLN)"
    given_unit = checked_quantity(count, scale.field).unit
    value = in_unit(count, scale.field, Unit.per_mm3, COUNT_UNITS, notes)
    limit = in_unit(lln, lln_name, Unit.per_mm3, COUNT_UNITS, notes)
    per_mm3 = Unit.per_mm3
    _within_as_given(
        scale.field,
        count,
        Quantity(Decimal(0), per_mm3),
        Quantity(scale.max_per_mm3, per_mm3),
        low_open=False,
    )
    _within_as_given(
        lln_name,
        lln,
        Quantity(scale.lln_min_per_mm3, per_mm3),
        Quantity(scale.lln_max_per_mm3, per_mm3),
        low_open=False,
    )
    the_term = term(scale.term_name)
    grade, rule = _below_lln(the_term, value, limit, scale.edges_per_mm3, given_unit)
    if limit.magnitude < scale.edges_per_mm3[0]:
        lln_given = checked_quantity(lln, lln_name)
        edge = Quantity(scale.edges_per_mm3[0], per_mm3).to(lln_given.unit).magnitude
        notes.append(_low_lln_note("LLN", lln_given, edge, the_term))
    if scale.note:
        notes.append(scale.note)
    values: dict[str, Quantity | str] = {scale.field: value, lln_name: limit}
    return _result(the_term, grade, rule, values, notes)


def grade_neutrophil_count_decreased(*, count: Quantity, lln: Quantity) -> CtcaeGrade:
    """Neutrophil count decreased from the count (/mm³ or ×10⁹/L) and the laboratory's LLN."""
    return _grade_count(NEUTROPHILS, count, lln)


def grade_platelet_count_decreased(*, count: Quantity, lln: Quantity) -> CtcaeGrade:
    """Platelet count decreased from the count (/mm³ or ×10⁹/L) and the laboratory's LLN."""
    return _grade_count(PLATELETS, count, lln)


def grade_lymphocyte_count_decreased(*, count: Quantity, lln: Quantity) -> CtcaeGrade:
    """Lymphocyte count decreased from the count (/mm³ or ×10⁹/L) and the laboratory's LLN."""
    return _grade_count(LYMPHOCYTES, count, lln)


def grade_white_blood_cell_decreased(*, count: Quantity, lln: Quantity) -> CtcaeGrade:
    """White blood cell decreased from the count (/mm³ or ×10⁹/L) and the laboratory's LLN."""
    return _grade_count(WHITE_BLOOD_CELLS, count, lln)


# Anemia -----------------------------------------------------------------------------------------

_HGB_EDGES_G_PER_DL = (Decimal("10.0"), Decimal("8.0"))
TRANSFUSION_NAME = "transfusion indicated"
TRANSFUSION_NOTE = (
    "CTCAE v5.0 Anemia grade 3 reads 'Hgb <8.0 g/dL; <4.9 mmol/L; <80 g/L; transfusion "
    "indicated', and a semicolon there means 'or': a transfusion indication alone makes it "
    "grade 3, whatever the hemoglobin."
)
ANEMIA_CONTEXT_NOTE = (
    "From the hemoglobin and the transfusion question the grade is at most 3: grade 4 "
    "(Life-threatening consequences; urgent intervention indicated) and grade 5 need clinical "
    "context and are not derived here."
)
ANEMIA_AT_LEAST = (
    "Whether a transfusion is indicated was not answered: a transfusion indication makes this "
    "grade 3 (CTCAE v5.0 Anemia grade 3: 'transfusion indicated'). Answer it to settle the grade."
)


def grade_anemia(
    *, hemoglobin: Quantity, lln: Quantity, transfusion_indicated: bool | None = None
) -> CtcaeGrade:
    """Anemia from hemoglobin (g/dL or g/L), the laboratory's LLN and the transfusion question.

    `transfusion_indicated` True makes the grade at least 3; None (not answered) leaves a grade
    below 3 as "at least" that grade.
    """
    notes: list[str] = []
    given_unit = checked_quantity(hemoglobin, "hemoglobin").unit
    value = in_unit(hemoglobin, "hemoglobin", Unit.g_per_dl, HEMOGLOBIN_UNITS, notes)
    lln_name = "hemoglobin lower limit of normal (LLN)"
    limit = in_unit(lln, lln_name, Unit.g_per_dl, HEMOGLOBIN_UNITS, notes)
    g_per_dl = Unit.g_per_dl
    _within_as_given(
        "hemoglobin",
        hemoglobin,
        Quantity(Decimal(0), g_per_dl),
        Quantity(Decimal("25.0"), g_per_dl),
        low_open=True,
    )
    _within_as_given(
        lln_name,
        lln,
        Quantity(_HGB_EDGES_G_PER_DL[0], g_per_dl),
        Quantity(Decimal("20.0"), g_per_dl),
        low_open=False,
    )
    if transfusion_indicated is not None and not isinstance(transfusion_indicated, bool):
        raise TypeError(f"{TRANSFUSION_NAME} {transfusion_indicated!r} must be yes or no.")
    the_term = term("Anemia")
    grade, rule = _below_lln(the_term, value, limit, _HGB_EDGES_G_PER_DL, given_unit)
    at_least = None
    if transfusion_indicated:
        rule = f"{rule}; '{TRANSFUSION_NAME}': grade 3"
        if grade < 3:
            rule, grade = f"{rule}; grade 3 set by '{TRANSFUSION_NAME}'", 3
    elif transfusion_indicated is None and grade < 3:
        rule = f"{rule}; {TRANSFUSION_NAME} not answered: at least grade {grade}"
        at_least = ANEMIA_AT_LEAST
    notes += [TRANSFUSION_NOTE, ANEMIA_CONTEXT_NOTE]
    answered = {True: "yes", False: "no", None: "not answered"}[transfusion_indicated]
    values: dict[str, Quantity | str] = {
        "hemoglobin": value,
        lln_name: limit,
        TRANSFUSION_NAME: answered,
    }
    return _result(the_term, grade, rule, values, notes, at_least=at_least)


# Creatinine -------------------------------------------------------------------------------------

_Bands = tuple[tuple[Decimal, int, str], ...]
# (factor, grade, workbook band): the grade applies up to and including factor × reference.
_ULN_BANDS: _Bands = (
    (Decimal(1), 0, "<=ULN"),
    (Decimal("1.5"), 1, ">ULN - 1.5 x ULN"),
    (Decimal("3.0"), 2, ">1.5 - 3.0 x ULN"),
    (Decimal("6.0"), 3, ">3.0 - 6.0 x ULN"),
    (Decimal("Infinity"), 4, ">6.0 x ULN"),
)
_BASELINE_BANDS: _Bands = (
    (Decimal("1.5"), 0, "<=1.5 x baseline"),
    (Decimal("3.0"), 2, ">1.5 - 3.0 x baseline"),
    (Decimal("Infinity"), 3, ">3.0 x baseline"),
)
ULN_NAME = "creatinine upper limit of normal (ULN)"
_BASELINE_MAX_GRADE = _BASELINE_BANDS[-1][1]


def _creatinine_at_least(grade: int) -> str:
    higher = [(band_grade, band) for _, band_grade, band in _BASELINE_BANDS if band_grade > grade]
    could = " or ".join(f"'{band}' (grade {band_grade})" for band_grade, band in higher)
    return (
        f"No baseline creatinine given: against the patient's baseline CTCAE v5.0 also grades "
        f"{could}, so this is at least grade {grade}. Give the baseline creatinine to settle "
        "the grade."
    )


def _creatinine_limit(unit: Unit, mg_per_dl: str) -> Decimal:
    # Limits are set in mg/dL; the µmol/L limits follow by the exact ×88.4 direction.
    return Quantity.of(mg_per_dl, Unit.mg_per_dl).to(unit).magnitude


def _compare(value: Decimal, reference: Decimal, bands: _Bands) -> tuple[int, str]:
    for factor, grade, band in bands:
        if value <= factor * reference:
            return grade, band
    raise AssertionError("unreachable: the last band is unbounded")


def grade_creatinine_increased(
    *, creatinine: Quantity, uln: Quantity, baseline: Quantity | None = None
) -> CtcaeGrade:
    """Creatinine increased: the higher grade of the ULN and (if given) baseline comparisons."""
    notes: list[str] = []
    value = checked_quantity(creatinine, "creatinine")
    if value.unit not in CREATININE_UNITS:
        raise CtcaeUnitError("creatinine", value.unit, CREATININE_UNITS)
    unit = value.unit
    low, high = _creatinine_limit(unit, str(SCR_MIN_MG_PER_DL)), _creatinine_limit(unit, "30")
    within("creatinine", value, low, high, low_open=False)
    upper = in_unit(uln, ULN_NAME, unit, (unit,), notes)
    low_uln, high_uln = _creatinine_limit(unit, "0.3"), _creatinine_limit(unit, "3.0")
    within(ULN_NAME, upper, low_uln, high_uln, low_open=False)
    values: dict[str, Quantity | str] = {
        "creatinine": value,
        ULN_NAME: upper,
        "creatinine / ULN": str(round_ratio(value.magnitude / upper.magnitude)),
    }
    grade, band = _compare(value.magnitude, upper.magnitude, _ULN_BANDS)
    parts = [f"ULN comparison {band}: grade {grade}"]
    setter = "ULN comparison"
    at_least = None
    if baseline is None and grade >= _BASELINE_MAX_GRADE:
        parts.append(f"no baseline given (a baseline gives at most grade {_BASELINE_MAX_GRADE})")
    elif baseline is None:
        parts.append("no baseline given")
        at_least = _creatinine_at_least(grade)
    else:
        base = in_unit(baseline, "baseline creatinine", unit, (unit,), notes)
        within("baseline creatinine", base, low, high, low_open=False)
        values["baseline creatinine"] = base
        values["creatinine / baseline"] = str(round_ratio(value.magnitude / base.magnitude))
        base_grade, base_band = _compare(value.magnitude, base.magnitude, _BASELINE_BANDS)
        parts.append(f"baseline comparison {base_band}: grade {base_grade}")
        if base_grade > grade:
            grade, setter = base_grade, "baseline comparison"
        elif base_grade == grade:
            setter = "ULN and baseline comparisons"
    minimum = "at least " if at_least else ""
    rule = "; ".join(parts) + f"; {minimum}grade {grade} set by the {setter}"
    rounding = "round_ratio: ratios shown to 0.01, half up; grade from exact comparisons"
    the_term = term("Creatinine increased")
    return _result(the_term, grade, rule, values, notes, rounding, at_least=at_least)


# Fever ------------------------------------------------------------------------------------------

DURATION_ABOVE_40_NAME = "duration above 40.0 °C"
_TEMPERATURE_RANGE_C = (Decimal("30.0"), Decimal("45.0"))


def _temperature(value: object, name: str) -> Quantity:
    temperature = in_unit(value, name, Unit.celsius, (Unit.celsius,), [])
    within(name, temperature, *_TEMPERATURE_RANGE_C, low_open=False)
    return temperature


def grade_fever(
    *, temperature: Quantity, duration_above_40_c: Quantity | None = None
) -> CtcaeGrade:
    """Fever from the temperature (°C); above 40.0 °C the hours above 40.0 °C are required."""
    celsius = _temperature(temperature, "temperature")
    values: dict[str, Quantity | str] = {"temperature": celsius}
    notes = ["Grade 5 (Death) is not derived from values."]
    hours = None
    if duration_above_40_c is not None:
        name = DURATION_ABOVE_40_NAME
        duration = in_unit(duration_above_40_c, name, Unit.hours, (Unit.hours,), notes)
        within(name, duration, Decimal(0), DURATION_MAX_H, low_open=False)
        values[name], hours = duration, duration.magnitude
    t = celsius.magnitude
    if t < Decimal("38.0"):
        grade = 0
    elif t <= Decimal("39.0"):
        grade = 1
    elif t <= Decimal("40.0"):
        grade = 2
    elif hours is None:
        raise MissingInput(
            f"temperature {celsius} is above 40.0 °C: give the '{DURATION_ABOVE_40_NAME}' "
            "in hours to separate grade 3 (<=24 hrs) from grade 4 (>24 hrs)."
        )
    else:
        grade = 3 if hours <= 24 else 4
    if grade < 3 and hours is not None:
        notes.append(f"'{DURATION_ABOVE_40_NAME}' is used only above 40.0 °C; not used here.")
    fever = term("Fever")
    # Each fever grade text is a single band, quoted whole.
    band = fever.grade_text(grade) if grade else "<38.0 degrees C"
    return _result(fever, grade, f"{band}: grade {grade}", values, notes)


# Weight gain ------------------------------------------------------------------------------------

# (percent from baseline lower edge, inclusive; grade; workbook band), highest first.
_WEIGHT_GAIN_BANDS = (
    (Decimal(20), 3, ">=20% from baseline"),
    (Decimal(10), 2, "10 - <20% from baseline"),
    (Decimal(5), 1, "5 - <10% from baseline"),
)


def _weight(value: object, name: str) -> Quantity:
    weight = in_unit(value, name, Unit.kg, (Unit.kg,), [])
    within(name, weight, WEIGHT_MIN_KG, WEIGHT_MAX_KG, low_open=False)
    return weight


WEIGHT_CHANGE_MAX_PERCENT = Decimal(50)


def grade_weight_gain(*, weight: Quantity, baseline_weight: Quantity) -> CtcaeGrade:
    """Weight gain from the current and baseline weights in kg (percent from baseline)."""
    current = _weight(weight, "weight")
    base = _weight(baseline_weight, "baseline weight")
    gain_kg = current.magnitude - base.magnitude
    percent = round_percent(gain_kg * 100 / base.magnitude)
    if abs(gain_kg) * 100 > WEIGHT_CHANGE_MAX_PERCENT * base.magnitude:
        direction = "above" if gain_kg > 0 else "below"
        raise ImplausibleInput(
            f"weight {current} is {abs(percent)} % {direction} the baseline weight {base}; a "
            f"change of more than {WEIGHT_CHANGE_MAX_PERCENT} % from baseline is implausible: "
            "check both weights and their unit (kg)."
        )
    values: dict[str, Quantity | str] = {
        "weight": current,
        "baseline weight": base,
        "change from baseline": Quantity(percent, Unit.percent),
    }
    notes: list[str] = []
    grade, rule = 0, "<5% from baseline: grade 0"
    for edge, band_grade, band in _WEIGHT_GAIN_BANDS:
        # gain / baseline >= edge % compared without division, so no rounding enters the grade.
        if gain_kg * 100 >= edge * base.magnitude:
            grade, rule = band_grade, f"{band}: grade {band_grade}"
            break
    if gain_kg < 0:
        notes.append("Weight is below baseline: see the CTCAE v5.0 term 'Weight loss'.")
    rounding = "round_percent: change shown to 0.1 %, half up; grade from exact comparison"
    return _result(term("Weight gain"), grade, rule, values, notes, rounding)


# Febrile neutropenia ----------------------------------------------------------------------------

FEBRILE_NEUTROPENIA_NOTE = (
    "From values the grade is 0 or 3: grade 4 (Life-threatening consequences; urgent "
    "intervention indicated) and grade 5 need clinical context."
)
SUSTAINED_DURATION_NAME = "sustained temperature duration"


def grade_febrile_neutropenia(
    *,
    anc: Quantity,
    single_temperature: Quantity | None = None,
    sustained_temperature: Quantity | None = None,
    sustained_duration: Quantity | None = None,
) -> CtcaeGrade:
    """Febrile neutropenia: ANC <1000/mm3 with a single >38.3 °C or >=38 °C sustained >1 h."""
    notes: list[str] = []
    count = in_unit(anc, "ANC", Unit.per_mm3, COUNT_UNITS, notes)
    within("ANC", count, Decimal(0), NEUTROPHILS.max_per_mm3, low_open=False)
    values: dict[str, Quantity | str] = {"ANC": count}
    if (sustained_temperature is None) != (sustained_duration is None):
        raise MissingInput(
            f"'sustained temperature' and '{SUSTAINED_DURATION_NAME}' go together: give both."
        )
    if single_temperature is None and sustained_temperature is None:
        raise MissingInput("give a 'single temperature' or a 'sustained temperature'.")
    single_met = sustained_met = False
    if single_temperature is not None:
        single = _temperature(single_temperature, "single temperature")
        values["single temperature"] = single
        single_met = single.magnitude > Decimal("38.3")
    if sustained_temperature is not None:
        sustained = _temperature(sustained_temperature, "sustained temperature")
        minutes = in_unit(
            sustained_duration,
            SUSTAINED_DURATION_NAME,
            Unit.minutes,
            (Unit.hours, Unit.minutes),
            notes,
        )
        _within_as_given(
            SUSTAINED_DURATION_NAME,
            sustained_duration,
            Quantity(Decimal(0), Unit.hours),
            Quantity(DURATION_MAX_H, Unit.hours),
            low_open=False,
        )
        values["sustained temperature"] = sustained
        values[SUSTAINED_DURATION_NAME] = minutes
        sustained_met = sustained.magnitude >= Decimal(38) and minutes.magnitude > 60
    single_text = "a single temperature of >38.3 degrees C"
    sustained_text = "a sustained temperature of >=38 degrees C for more than one hour"
    if count.magnitude >= 1000:
        grade, rule = 0, "ANC not <1000/mm3: grade 0 (no febrile neutropenia)"
    elif single_met or sustained_met:
        grade = 3
        rule = f"ANC <1000/mm3 with {single_text if single_met else sustained_text}: grade 3"
    else:
        grade = 0
        rule = f"ANC <1000/mm3 without {single_text} or {sustained_text}: grade 0"
    notes.append(FEBRILE_NEUTROPENIA_NOTE)
    return _result(term("Febrile neutropenia"), grade, rule, values, notes)
