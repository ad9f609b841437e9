"""CTCAE v5.0 calculators: grades from values, grades from clinician answers, term lookup.

The clinician-question calculators are generated from the clinical core's question sets, so the
page asks exactly the questions the grade texts need and the API documents the same choices.

Every number has the clinical core's plausible range (counts, LLN, hemoglobin, creatinine and its
ULN and baseline, temperatures, hours, weights and the weight change); a refusal is returned on
the input field it is about, naming the value and the limit. A grade that a missing input could
raise (creatinine without a baseline, anemia without the transfusion answer) is headlined
"at least grade N" with what would settle it.

(No `from __future__ import annotations`: ninja and pydantic read these annotations at import.)
"""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from typing import Any, Literal

from ninja import Field, Schema
from pydantic import create_model

from tilcare.calculators.registry import Calculator, FieldRefusal, Outcome, Tone, register
from tilcare.clinical.body_size import WEIGHT_MAX_KG, WEIGHT_MIN_KG
from tilcare.clinical.grading.ctcae_v5_0 import CtcaeGrade, MissingInput, search_terms, within
from tilcare.clinical.grading.ctcae_v5_0_labs import (
    DURATION_ABOVE_40_NAME,
    DURATION_MAX_H,
    LYMPHOCYTES,
    NEUTROPHILS,
    PLATELETS,
    SUSTAINED_DURATION_NAME,
    TRANSFUSION_NAME,
    ULN_NAME,
    WHITE_BLOOD_CELLS,
    grade_anemia,
    grade_creatinine_increased,
    grade_febrile_neutropenia,
    grade_fever,
    grade_lymphocyte_count_decreased,
    grade_neutrophil_count_decreased,
    grade_platelet_count_decreased,
    grade_weight_gain,
    grade_white_blood_cell_decreased,
)
from tilcare.clinical.grading.ctcae_v5_0_questions import (
    UnmatchedAnswers,
    grade_from_answers,
    question_sets,
)
from tilcare.clinical.renal import SCR_MIN_MG_PER_DL
from tilcare.clinical.units import Quantity, Unit
from tilcare.core.api_support import checked_range
from tilcare.core.errors import InvalidInput

GROUP = "Toxicity grading and early warning"

# The API document's range of each number: the widest of the clinical core's plausible ranges over
# the units the field takes (the core refuses, in the unit given, anything outside its own range,
# so nothing outside these is ever accepted). Counts: /mm³ or ×10⁹/L; hemoglobin: g/dL or g/L;
# creatinine: mg/dL or µmol/L.
_SCALES = (NEUTROPHILS, PLATELETS, LYMPHOCYTES, WHITE_BLOOD_CELLS)
_PER_MM3_IN_E9_PER_L = Decimal(1000)
COUNT_RANGE = checked_range(0, max(scale.max_per_mm3 for scale in _SCALES))
COUNT_LLN_RANGE = checked_range(
    min(scale.lln_min_per_mm3 for scale in _SCALES) / _PER_MM3_IN_E9_PER_L,
    max(scale.lln_max_per_mm3 for scale in _SCALES),
)
# Hemoglobin above 0 up to 25.0 g/dL (250 g/L); its LLN 10.0 g/dL to 20.0 g/dL (200 g/L).
HEMOGLOBIN_RANGE = checked_range(0, 250, above_minimum=True)
HEMOGLOBIN_LLN_RANGE = checked_range(10, 200)


def _creatinine_umol_per_l(mg_per_dl: str) -> Decimal:
    return Quantity.of(mg_per_dl, Unit.mg_per_dl).to(Unit.umol_per_l).magnitude


# Creatinine (and a baseline) from 0.2 mg/dL up to 30 mg/dL; its ULN 0.3 to 3.0 mg/dL.
CREATININE_RANGE = checked_range(SCR_MIN_MG_PER_DL, _creatinine_umol_per_l("30"))
CREATININE_ULN_RANGE = checked_range(Decimal("0.3"), _creatinine_umol_per_l("3.0"))
_TEMPERATURE_C = (Decimal("30.0"), Decimal("45.0"))
TEMPERATURE_RANGE = checked_range(*_TEMPERATURE_C)
HOURS_RANGE = checked_range(0, DURATION_MAX_H)
WEIGHT_RANGE = checked_range(WEIGHT_MIN_KG, WEIGHT_MAX_KG)

_COUNT_GRADERS = {
    "neutrophil_count_decreased": grade_neutrophil_count_decreased,
    "platelet_count_decreased": grade_platelet_count_decreased,
    "lymphocyte_count_decreased": grade_lymphocyte_count_decreased,
    "white_blood_cell_decreased": grade_white_blood_cell_decreased,
}
_COUNT_UNITS = {"per_mm3": Unit.per_mm3, "e9_per_l": Unit.e9_per_l}
_HGB_UNITS = {"g_per_dl": Unit.g_per_dl, "g_per_l": Unit.g_per_l}
_CREATININE_UNITS = {"mg_per_dl": Unit.mg_per_dl, "umol_per_l": Unit.umol_per_l}


def _outcome(result: CtcaeGrade) -> Outcome:
    tone: Tone = "ok" if result.grade == 0 else "warn" if result.grade <= 2 else "danger"
    text = f" — {result.grade_text}" if result.grade_text else ""
    if result.at_least:
        # Not final: a missing input could raise it, so never "ok".
        tone = "danger" if tone == "danger" else "warn"
        headline = f"{result.term.term}: at least grade {result.grade}{text}. {result.at_least}"
        return Outcome(headline, result, tone)
    return Outcome(f"{result.term.term}: grade {result.grade}{text}", result, tone)


@contextmanager
def _refusals_on(fields: Mapping[str, str]) -> Iterator[None]:
    """The clinical core's refusals on the input field they are about.

    The core's messages begin with its own name of the input ("platelet count lower limit of
    normal (LLN) ..."); `fields` maps those names to the API's field names. The longest name
    that begins the message wins; a message about several inputs is the whole form's.
    """
    try:
        yield
    except (ValueError, TypeError, ArithmeticError) as error:
        message = str(error)
        for name in sorted(fields, key=len, reverse=True):
            if message.startswith(name):
                raise FieldRefusal(fields[name], message) from error
        raise FieldRefusal("__all__", message) from error


def _count_fields(field: str) -> dict[str, str]:
    return {field: "count", f"{field} lower limit of normal (LLN)": "lln"}


_COUNT_FIELDS = {
    name: _count_fields(scale.field)
    for name, scale in (
        ("neutrophil_count_decreased", NEUTROPHILS),
        ("platelet_count_decreased", PLATELETS),
        ("lymphocyte_count_decreased", LYMPHOCYTES),
        ("white_blood_cell_decreased", WHITE_BLOOD_CELLS),
    )
}


class BloodCountIn(Schema):
    term: Literal[
        "neutrophil_count_decreased",
        "platelet_count_decreased",
        "lymphocyte_count_decreased",
        "white_blood_cell_decreased",
    ] = Field(..., title="CTCAE term")
    count: Decimal = Field(..., title="Count", json_schema_extra=COUNT_RANGE)
    lln: Decimal = Field(
        ...,
        title="Lower limit of normal",
        description="the lab's LLN",
        json_schema_extra=COUNT_LLN_RANGE,
    )
    unit: Literal["per_mm3", "e9_per_l"] = Field(
        ..., title="Unit of count and LLN", description="per_mm3 (/mm³) or e9_per_l (×10⁹/L)"
    )


def run_blood_count(data: BloodCountIn) -> Outcome:
    unit = _COUNT_UNITS[data.unit]
    grader = _COUNT_GRADERS[data.term]
    with _refusals_on(_COUNT_FIELDS[data.term]):
        result = grader(count=Quantity.of(data.count, unit), lln=Quantity.of(data.lln, unit))
    return _outcome(result)


class AnemiaIn(Schema):
    hemoglobin: Decimal = Field(..., title="Hemoglobin", json_schema_extra=HEMOGLOBIN_RANGE)
    lln: Decimal = Field(
        ...,
        title="Lower limit of normal",
        description="the lab's LLN",
        json_schema_extra=HEMOGLOBIN_LLN_RANGE,
    )
    unit: Literal["g_per_dl", "g_per_l"] = Field(..., title="Unit", description="g/dL or g/L")
    transfusion_indicated: bool | None = Field(
        None,
        title="Transfusion indicated?",
        description="CTCAE v5.0 anemia grade 3 includes 'transfusion indicated'; left blank, a "
        "grade below 3 is only 'at least' that grade",
    )


_ANEMIA_FIELDS = {
    "hemoglobin": "hemoglobin",
    "hemoglobin lower limit of normal (LLN)": "lln",
    TRANSFUSION_NAME: "transfusion_indicated",
}


def run_anemia(data: AnemiaIn) -> Outcome:
    unit = _HGB_UNITS[data.unit]
    with _refusals_on(_ANEMIA_FIELDS):
        result = grade_anemia(
            hemoglobin=Quantity.of(data.hemoglobin, unit),
            lln=Quantity.of(data.lln, unit),
            transfusion_indicated=data.transfusion_indicated,
        )
    return _outcome(result)


class CreatinineIn(Schema):
    creatinine: Decimal = Field(..., title="Serum creatinine", json_schema_extra=CREATININE_RANGE)
    uln: Decimal = Field(
        ...,
        title="Upper limit of normal",
        description="the lab's ULN",
        json_schema_extra=CREATININE_ULN_RANGE,
    )
    baseline: Decimal | None = Field(
        None,
        title="Baseline creatinine",
        description="the patient's own baseline; without it a grade below 3 is only 'at least' "
        "that grade",
        json_schema_extra=CREATININE_RANGE,
    )
    unit: Literal["mg_per_dl", "umol_per_l"] = Field(
        ..., title="Unit", description="mg_per_dl or umol_per_l, the same for all three"
    )


def run_creatinine(data: CreatinineIn) -> Outcome:
    unit = _CREATININE_UNITS[data.unit]
    baseline = Quantity.of(data.baseline, unit) if data.baseline is not None else None
    fields = {"creatinine": "creatinine", ULN_NAME: "uln", "baseline creatinine": "baseline"}
    with _refusals_on(fields):
        result = grade_creatinine_increased(
            creatinine=Quantity.of(data.creatinine, unit),
            uln=Quantity.of(data.uln, unit),
            baseline=baseline,
        )
    return _outcome(result)


class FeverIn(Schema):
    temperature_c: Decimal = Field(
        ..., title="Temperature (°C)", json_schema_extra=TEMPERATURE_RANGE
    )
    hours_above_40_c: Decimal | None = Field(
        None,
        title="Hours above 40.0 °C",
        description="needed only above 40.0 °C",
        json_schema_extra=HOURS_RANGE,
    )


def run_fever(data: FeverIn) -> Outcome:
    duration = (
        Quantity.of(data.hours_above_40_c, Unit.hours)
        if data.hours_above_40_c is not None
        else None
    )
    fields = {"temperature": "temperature_c", DURATION_ABOVE_40_NAME: "hours_above_40_c"}
    try:
        with _refusals_on(fields):
            result = grade_fever(
                temperature=Quantity.of(data.temperature_c, Unit.celsius),
                duration_above_40_c=duration,
            )
    except FieldRefusal as refusal:
        # Above 40.0 °C the refusal asks for the hours: it belongs to that field.
        if isinstance(refusal.__cause__, MissingInput):
            raise FieldRefusal("hours_above_40_c", str(refusal)) from refusal.__cause__
        raise
    return _outcome(result)


class WeightGainIn(Schema):
    weight_kg: Decimal = Field(..., title="Weight now (kg)", json_schema_extra=WEIGHT_RANGE)
    baseline_weight_kg: Decimal = Field(
        ..., title="Baseline weight (kg)", json_schema_extra=WEIGHT_RANGE
    )


def run_weight_gain(data: WeightGainIn) -> Outcome:
    with _refusals_on({"weight": "weight_kg", "baseline weight": "baseline_weight_kg"}):
        result = grade_weight_gain(
            weight=Quantity.of(data.weight_kg, Unit.kg),
            baseline_weight=Quantity.of(data.baseline_weight_kg, Unit.kg),
        )
    return _outcome(result)


class FebrileNeutropeniaIn(Schema):
    anc_per_mm3: Decimal = Field(
        ...,
        title="ANC (/mm³)",
        json_schema_extra=checked_range(0, NEUTROPHILS.max_per_mm3),
    )
    single_temperature_c: Decimal | None = Field(
        None,
        title="Highest single temperature (°C)",
        description="or give a sustained one",
        json_schema_extra=TEMPERATURE_RANGE,
    )
    sustained_temperature_c: Decimal | None = Field(
        None,
        title="Sustained temperature (°C)",
        description="with the hours it lasted",
        json_schema_extra=TEMPERATURE_RANGE,
    )
    sustained_hours: Decimal | None = Field(
        None,
        title="Sustained for (hours)",
        description="with the sustained temperature",
        json_schema_extra=HOURS_RANGE,
    )


_FEBRILE_NEUTROPENIA_FIELDS = {
    "ANC": "anc_per_mm3",
    "single temperature": "single_temperature_c",
    "sustained temperature": "sustained_temperature_c",
    SUSTAINED_DURATION_NAME: "sustained_hours",
}


def _febrile_neutropenia_pairs(data: FebrileNeutropeniaIn) -> None:
    """Refuse a missing temperature on the field(s) that must be given, in CTCAE's words.

    CTCAE v5.0 febrile neutropenia: "a single temperature of >38.3 degrees C (101 degrees F) or
    a sustained temperature of >=38 degrees C (100.4 degrees F) for more than one hour".
    """
    sustained, hours = data.sustained_temperature_c, data.sustained_hours
    # A value out of its range is the first thing to fix (a typing slip), before what is missing.
    with _refusals_on(_FEBRILE_NEUTROPENIA_FIELDS):
        for name, value, unit, (low, high) in (
            ("single temperature", data.single_temperature_c, Unit.celsius, _TEMPERATURE_C),
            ("sustained temperature", sustained, Unit.celsius, _TEMPERATURE_C),
            (SUSTAINED_DURATION_NAME, hours, Unit.hours, (Decimal(0), DURATION_MAX_H)),
        ):
            if value is not None:
                within(name, Quantity.of(value, unit), low, high, low_open=False)
    if sustained is not None and hours is None:
        raise InvalidInput(
            {
                "sustained_hours": [
                    "Give how many hours the sustained temperature lasted: CTCAE v5.0 counts a "
                    "sustained temperature of >=38 degrees C for more than one hour."
                ]
            }
        )
    if hours is not None and sustained is None:
        raise InvalidInput(
            {
                "sustained_temperature_c": [
                    "Give the sustained temperature these hours are for: CTCAE v5.0 counts a "
                    "sustained temperature of >=38 degrees C for more than one hour."
                ]
            }
        )
    if data.single_temperature_c is None and sustained is None:
        message = (
            "Give the highest single temperature, or a sustained temperature with its hours: "
            "CTCAE v5.0 febrile neutropenia needs a single temperature of >38.3 degrees C or a "
            "sustained temperature of >=38 degrees C for more than one hour."
        )
        raise InvalidInput(
            {"single_temperature_c": [message], "sustained_temperature_c": [message]}
        )


def run_febrile_neutropenia(data: FebrileNeutropeniaIn) -> Outcome:
    def maybe(value: Decimal | None, unit: Unit) -> Quantity | None:
        return Quantity.of(value, unit) if value is not None else None

    _febrile_neutropenia_pairs(data)
    with _refusals_on(_FEBRILE_NEUTROPENIA_FIELDS):
        result = grade_febrile_neutropenia(
            anc=Quantity.of(data.anc_per_mm3, Unit.per_mm3),
            single_temperature=maybe(data.single_temperature_c, Unit.celsius),
            sustained_temperature=maybe(data.sustained_temperature_c, Unit.celsius),
            sustained_duration=maybe(data.sustained_hours, Unit.hours),
        )
    return _outcome(result)


class TermLookupIn(Schema):
    text: str = Field(..., title="Term contains", min_length=2, max_length=80)


def run_term_lookup(data: TermLookupIn) -> Outcome:
    terms = search_terms(data.text)[:25]
    if not terms:
        return Outcome(f"No CTCAE v5.0 term contains “{data.text}”", {"terms": []}, "warn")
    rows = [
        {
            "term": found.term,
            "meddra_code": str(found.meddra_code),
            "soc": found.soc,
            **{f"grade_{n}": found.grades[n - 1] or "—" for n in range(1, 6)},
        }
        for found in terms
    ]
    result = {"terms": rows, "source": "NCI CTCAE v5.0 (2017-11-27), term catalogue"}
    return Outcome(f"{len(rows)} CTCAE v5.0 terms contain “{data.text}”", result)


for slug, title, purpose, schema, run, example in (
    (
        "ctcae-blood-count",
        "CTCAE v5.0 blood count grade",
        "Neutrophil, platelet, lymphocyte or white-cell count decreased, against the lab's LLN.",
        BloodCountIn,
        run_blood_count,
        {"term": "neutrophil_count_decreased", "count": "800", "lln": "2000", "unit": "per_mm3"},
    ),
    (
        "ctcae-anemia",
        "CTCAE v5.0 anemia grade",
        "Anemia grade from hemoglobin against the lab's LLN.",
        AnemiaIn,
        run_anemia,
        {"hemoglobin": "7.9", "lln": "12.0", "unit": "g_per_dl", "transfusion_indicated": False},
    ),
    (
        "ctcae-creatinine",
        "CTCAE v5.0 creatinine increased grade",
        "Against the ULN and, if given, the patient's baseline.",
        CreatinineIn,
        run_creatinine,
        {"creatinine": "2.1", "uln": "1.2", "baseline": "0.9", "unit": "mg_per_dl"},
    ),
    (
        "ctcae-fever",
        "CTCAE v5.0 fever grade",
        "Fever from temperature, with its duration above 40.0 °C.",
        FeverIn,
        run_fever,
        {"temperature_c": "39.4"},
    ),
    (
        "ctcae-weight-gain",
        "CTCAE v5.0 weight gain grade",
        "Percent gain from baseline weight (capillary leak watch during IL-2).",
        WeightGainIn,
        run_weight_gain,
        {"weight_kg": "79.2", "baseline_weight_kg": "72.0"},
    ),
    (
        "ctcae-febrile-neutropenia",
        "CTCAE v5.0 febrile neutropenia",
        "ANC with a single or sustained temperature.",
        FebrileNeutropeniaIn,
        run_febrile_neutropenia,
        {"anc_per_mm3": "400", "single_temperature_c": "38.6"},
    ),
    (
        "ctcae-term",
        "CTCAE v5.0 term lookup",
        "Find a term and read its grade definitions, as published by NCI.",
        TermLookupIn,
        run_term_lookup,
        {"text": "capillary leak"},
    ),
):
    register(
        Calculator(
            slug=slug,
            title=title,
            group=GROUP,
            purpose=purpose,
            input_schema=schema,
            run=run,
            example=example,
        )
    )


def _question_schema(question_set: Any) -> type[Schema]:
    fields: dict[str, Any] = {}
    for question in question_set.questions:
        choices = tuple(option.id for option in question.options)
        labels = {option.id: option.label for option in question.options}
        fields[question.id] = (
            Literal[choices],
            Field(
                ...,
                title=question.text,
                description="; ".join(f"{key}: {text}" for key, text in labels.items()),
                json_schema_extra={"choice_labels": labels},
            ),
        )
    name = "".join(part.title() for part in question_set.id.split("_")) + "AnswersIn"
    model: type[Schema] = create_model(name, __base__=Schema, **fields)
    return model


def _question_runner(question_set_id: str) -> Any:
    def run(data: Schema) -> Outcome:
        try:
            return _outcome(grade_from_answers(question_set_id, data.model_dump()))
        except UnmatchedAnswers as error:
            # No grade text fits the answers together: the whole form's refusal.
            raise FieldRefusal("__all__", str(error)) from error

    return run


for _set in question_sets():
    register(
        Calculator(
            slug=f"ctcae-{_set.id.replace('_', '-')}",
            title=f"CTCAE v5.0 {_set.term_name.lower()} grade",
            group=GROUP,
            purpose=f"{_set.term_name}: the grade from the questions its definitions need.",
            input_schema=_question_schema(_set),
            run=_question_runner(_set.id),
            example={question.id: question.options[0].id for question in _set.questions},
        )
    )
