"""The shipped IL-2 hold/stop rule sets, and the TOML loader's refusals.

Sources: Dutcher et al., JITC 2014;2:26, Table 3 "Criteria for holding and stopping IL2"
(relative criteria hold, absolute criteria stop; the footnote "*Persistent at the time of dosing
after correcting hypotension, fever, and tachycardia and discontinuing dopamine" marks both
tachycardia criteria), and Betof Warner et al., JITC 2024;12:e008735, Table 2: "Persistent low
urine output despite IV fluid boluses, urine output <4 mL/kg over 8 hours, or serum creatinine
2.5–2.9 mg/dL are indications to hold IL-2. If persistent low creatinine clearance, we generally
recommend discontinuation of IL-2"; "If hypotension persists despite IV fluid bolus, we recommend
IL-2 discontinuation". Table 2 covers blood pressure and kidney only, so it cannot decide a dose
alone.
"""

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tilcare.clinical.rule_evaluation import evaluate, evaluate_all
from tilcare.clinical.rules import (
    Action,
    Comparison,
    Decision,
    Operator,
    Rule,
    RuleSet,
    Worse,
    comparisons,
)
from tilcare.clinical.units import Quantity, Unit
from tilcare.protocols.rulesets import (
    RuleSetFileError,
    UnknownRuleSet,
    available_rule_sets,
    load_rule_set,
    parse_rule_set,
    read_rule_set,
)

DUTCHER = "dutcher-2014"
BETOF = "betof-warner-2024"
Obs = dict[str, Quantity | bool]


def q(value: str, unit: Unit) -> Quantity:
    return Quantity.of(value, unit)


# Observations meeting no criterion of Table 3 (every finding false, every value in range).
DUTCHER_FINDINGS_FALSE: Obs = {
    o.key: False for o in load_rule_set(DUTCHER).observations if o.is_finding
}
DUTCHER_CLEAR: Obs = DUTCHER_FINDINGS_FALSE | {
    "sinus_rhythm": True,
    "heart_rate_per_min": q("80", Unit.per_min),
    "diarrhea_ml_per_shift": q("0", Unit.ml),
    "bilirubin_mg_per_dl": q("0.8", Unit.mg_per_dl),
    "phenylephrine_max_ug_per_kg_per_min": q("0", Unit.ug_per_kg_per_min),
    "phenylephrine_min_ug_per_kg_per_min": q("0", Unit.ug_per_kg_per_min),
    "platelets_per_mm3": q("150000", Unit.per_mm3),
    "weight_gain_percent": q("2", Unit.percent),
    "nasal_cannula_o2_l_per_min": q("0", Unit.l_per_min),
    "mask_o2_percent": q("0", Unit.percent),
    "urine_output_ml_per_shift": q("400", Unit.ml),
    "serum_creatinine_mg_per_dl": q("1.0", Unit.mg_per_dl),
    "bicarbonate_meq_per_l": q("24", Unit.meq_per_l),
}
BETOF_CLEAR: Obs = {
    "hypotension_persisting_despite_fluids": False,
    "urine_output_persistently_low_despite_boluses": False,
    "urine_output_ml_per_kg_per_h_over_8h": q("1.0", Unit.ml_per_kg_per_h),
    "serum_creatinine_mg_per_dl": q("1.0", Unit.mg_per_dl),
    "creatinine_clearance_persistently_low": False,
}


def test_shipped_rule_sets_are_listed_and_cached() -> None:
    assert {DUTCHER, BETOF} <= set(available_rule_sets())
    assert load_rule_set(DUTCHER) is load_rule_set(DUTCHER)


def test_unknown_rule_set_is_refused_naming_the_available_ones() -> None:
    with pytest.raises(
        UnknownRuleSet, match=r"No rule set 'proleukin-label'; available: .*dutcher-2014"
    ):
        load_rule_set("proleukin-label")


def test_dutcher_clear_observations_give() -> None:
    result = evaluate(load_rule_set(DUTCHER), DUTCHER_CLEAR)
    assert result.decision is Decision.GIVE
    assert (result.fired, result.not_assessed, result.between_criteria) == ((), (), ())
    assert result.rule_set_id == DUTCHER
    assert result.rule_set_version == "2"


def test_betof_warner_alone_never_gives() -> None:
    # Betof Warner 2024 Table 2 covers blood pressure and kidney only: it cannot decide alone
    # (it used to answer "Give: every criterion was assessed").
    result = evaluate(load_rule_set(BETOF), BETOF_CLEAR)
    assert result.decision is Decision.CANNOT_DECIDE
    assert (result.fired, result.not_assessed, result.between_criteria) == ((), (), ())
    assert result.covers_only == "blood pressure and kidney function"
    assert result.rule_set_version == "2"
    assert result.reason == (
        "Cannot decide from these criteria alone: every one was assessed and none is met, but "
        "IL-2 hold and discontinue parameters after TIL (expert consensus, Table 2) covers only "
        "blood pressure and kidney function. Check the dose against the criteria for the other "
        "organ systems before giving it."
    )


def test_both_sets_together_give_when_every_criterion_of_both_is_assessed() -> None:
    rule_sets = (load_rule_set(DUTCHER), load_rule_set(BETOF))
    result = evaluate_all(rule_sets, DUTCHER_CLEAR | BETOF_CLEAR)
    assert result.decision is Decision.GIVE


def test_both_sets_together_cannot_decide_without_a_betof_warner_criterion() -> None:
    # "If persistent low creatinine clearance, we generally recommend discontinuation of IL-2"
    # is left unanswered: Dutcher 2014 alone would give, the protocol cannot.
    rule_sets = (load_rule_set(DUTCHER), load_rule_set(BETOF))
    values = DUTCHER_CLEAR | BETOF_CLEAR
    del values["creatinine_clearance_persistently_low"]
    result = evaluate_all(rule_sets, values)
    assert result.decision is Decision.CANNOT_DECIDE
    assert result.decisive_missing_observations == ("creatinine_clearance_persistently_low",)


def test_both_sets_together_stop_when_betof_warner_discontinues() -> None:
    rule_sets = (load_rule_set(DUTCHER), load_rule_set(BETOF))
    values = DUTCHER_CLEAR | BETOF_CLEAR | {"hypotension_persisting_despite_fluids": True}
    result = evaluate_all(rule_sets, values)
    assert result.decision is Decision.STOP
    assert result.reason == (
        "Stop: Blood pressure: If hypotension persists despite IV fluid bolus, we recommend IL-2 "
        "discontinuation."
    )


# Dutcher 2014 Table 3, verbatim and complete ------------------------------------------------------

# The table as transcribed in the clinical reference, section 3.3: system -> (relative, absolute).
# The footnote "*Persistent at the time of dosing after correcting hypotension, fever, and
# tachycardia and discontinuing dopamine" marks both tachycardia criteria, so the absolute one
# carries it too.
TABLE_3 = {
    "Cardiovascular": (
        "Sinus tachycardia 100–130 bpm, persisting after hypotension, fever and tachycardia are "
        "corrected and dopamine is stopped",
        "Sinus tachycardia > 130 bpm, persisting at the time of dosing after correcting "
        "hypotension, fever and tachycardia and discontinuing dopamine; ECG ischemia; AF; SVT; "
        "ventricular arrhythmias (incl. PVCs, bigeminy); elevated CK-MB or troponin",
    ),
    "Dermatologic": ("", "Moist desquamation"),
    "GI": (
        "Diarrhea 1000 mL/shift; ileus/abdominal distension; bilirubin > 7 mg/dL",
        "Diarrhea 1000 mL/shift × 2; vomiting not responsive to medication; severe abdominal "
        "distension affecting breathing; severe unrelenting abdominal pain",
    ),
    "Hemodynamic": (
        "Maximum phenylephrine 1–1.5 µg/kg/min (during the interval); minimum phenylephrine "
        "> 0.5 µg/kg/min (at dosing)",
        "Maximum phenylephrine 1.5–2.0 µg/kg/min; minimum phenylephrine > 0.8 µg/kg/min",
    ),
    "Hemorrhagic": (
        "Heme-positive sputum, emesis or stool; platelets 30,000–50,000/mm³",
        "Frank blood in sputum, emesis or stool; platelets < 30,000/mm³",
    ),
    "Infectious": ("", "Strong clinical suspicion or documented infection"),
    "Musculoskeletal": ("Weight gain > 15%; extreme tightness", "Extreme paresthesias"),
    "Neurologic": (
        "Vivid dreams; mild anxiety",
        "Hallucinations; persistent crying; mental status changes not reversible within 2 h; "
        'unable to subtract serial 7s or spell "WORLD" backward',
    ),
    "Pulmonary": (
        "Resting shortness of breath; 3–4 L O₂ by nasal cannula for SpO₂ ≥ 95%; rales 1/3 up the "
        "chest",
        "> 4 L O₂ by nasal cannula or 40% by mask to keep SpO₂ ≥ 95%; intubation; moist rales ½ up "
        "the chest",
    ),
    "Renal": (
        "Urine output 80–160 mL/shift; creatinine 2.5–2.9 mg/dL",
        "Urine < 80 mL/shift; creatinine ≥ 3 mg/dL; HCO₃ ≤ 18 mEq/L",
    ),
}


@pytest.mark.parametrize("system", sorted(TABLE_3))
def test_dutcher_rules_are_table_3_verbatim_relative_hold_absolute_stop(system: str) -> None:
    rules = load_rule_set(DUTCHER).rules
    for column, action in zip(TABLE_3[system], (Action.HOLD, Action.STOP), strict=True):
        texts = [r.source_text for r in rules if r.system == system and r.action is action]
        assert "; ".join(texts) == column


def test_dutcher_has_no_rule_outside_table_3() -> None:
    assert {r.system for r in load_rule_set(DUTCHER).rules} == set(TABLE_3)
    assert load_rule_set(DUTCHER).meta_rules == ()


def test_shared_observation_keys_have_the_same_unit_in_every_rule_set() -> None:
    units: dict[str, Unit | None] = {}
    for rule_set_id in available_rule_sets():
        for spec in load_rule_set(rule_set_id).observations:
            assert units.setdefault(spec.key, spec.unit) is spec.unit, spec.key


def cr(value: str) -> Obs:
    return {"serum_creatinine_mg_per_dl": q(value, Unit.mg_per_dl)}


def plt(value: str) -> Obs:
    return {"platelets_per_mm3": q(value, Unit.per_mm3)}


def hr(value: str, persisting: bool = True) -> Obs:
    return {
        "heart_rate_per_min": q(value, Unit.per_min),
        "tachycardia_persisting_after_correction": persisting,
    }


def one(key: str, value: str, unit: Unit) -> Obs:
    return {key: q(value, unit)}


def urine(value: str) -> Obs:
    return one("urine_output_ml_per_shift", value, Unit.ml)


def phe_max(value: str) -> Obs:
    return one("phenylephrine_max_ug_per_kg_per_min", value, Unit.ug_per_kg_per_min)


def phe_min(value: str) -> Obs:
    return one("phenylephrine_min_ug_per_kg_per_min", value, Unit.ug_per_kg_per_min)


def o2_nc(value: str) -> Obs:
    return one("nasal_cannula_o2_l_per_min", value, Unit.l_per_min)


GIVE, HOLD, STOP, REVIEW = Decision.GIVE, Decision.HOLD, Decision.STOP, Decision.CLINICIAN_REVIEW
PHE_MAX_HOLD = "hemodynamic-phenylephrine-max-hold"
PHE_MAX_STOP = "hemodynamic-phenylephrine-max-stop"
PHE_MIN_HOLD = "hemodynamic-phenylephrine-min-hold"
PHE_MIN_STOP = "hemodynamic-phenylephrine-min-stop"
SINUS_HOLD = "cardiovascular-sinus-tachycardia-hold"
SINUS_STOP = "cardiovascular-sinus-tachycardia-stop"
CR_HOLD = "renal-creatinine-hold"

# (case naming the Table 3 criterion, changes to the clear observations, decision, fired rules)
EDGES_DUTCHER: list[tuple[str, Obs, Decision, tuple[str, ...]]] = [
    ("creatinine 2.4 fires no rule", cr("2.4"), GIVE, ()),
    ("creatinine 2.5–2.9 mg/dL holds (2.5)", cr("2.5"), HOLD, ("renal-creatinine-hold",)),
    ("creatinine 2.5–2.9 mg/dL holds (2.9)", cr("2.9"), HOLD, ("renal-creatinine-hold",)),
    # "Creatinine 2.5-2.9 mg/dL" and "≥ 3 mg/dL" are one-decimal bands: hold is [2.5, 3.0).
    ("creatinine 2.95 holds", cr("2.95"), HOLD, ("renal-creatinine-hold",)),
    ("creatinine 2.99 holds", cr("2.99"), HOLD, ("renal-creatinine-hold",)),
    ("creatinine ≥ 3 mg/dL stops (3.0)", cr("3.0"), STOP, (CR_HOLD, "renal-creatinine-stop")),
    ("platelets 50,001 fires no rule", plt("50001"), GIVE, ()),
    ("platelets 30,000–50,000 holds (50,000)", plt("50000"), HOLD, ("hemorrhagic-platelets-hold",)),
    ("platelets 30,000–50,000 holds (30,000)", plt("30000"), HOLD, ("hemorrhagic-platelets-hold",)),
    (
        "platelets < 30,000 stops (29,999)",
        plt("29999"),
        STOP,
        ("hemorrhagic-platelets-hold", "hemorrhagic-platelets-stop"),
    ),
    ("sinus tachycardia 99 fires no rule", hr("99"), GIVE, ()),
    ("sinus tachycardia 100–130 persisting holds (100)", hr("100"), HOLD, (SINUS_HOLD,)),
    ("sinus tachycardia 100–130 persisting holds (130)", hr("130"), HOLD, (SINUS_HOLD,)),
    ("sinus tachycardia 120 not persisting", hr("120", persisting=False), GIVE, ()),
    ("sinus tachycardia > 130 stops (131)", hr("131"), STOP, (SINUS_HOLD, SINUS_STOP)),
    ("sinus tachycardia 135 not persisting", hr("135", persisting=False), GIVE, ()),
    ("urine output 161 mL/shift fires no rule", urine("161"), GIVE, ()),
    ("urine output 80–160 mL/shift holds (160)", urine("160"), HOLD, ("renal-urine-output-hold",)),
    ("urine output 80–160 mL/shift holds (80)", urine("80"), HOLD, ("renal-urine-output-hold",)),
    (
        "urine < 80 mL/shift stops (79)",
        urine("79"),
        STOP,
        ("renal-urine-output-hold", "renal-urine-output-stop"),
    ),
    ("HCO₃ 19 fires no rule", one("bicarbonate_meq_per_l", "19", Unit.meq_per_l), GIVE, ()),
    (
        "HCO₃ ≤ 18 mEq/L stops (18)",
        one("bicarbonate_meq_per_l", "18", Unit.meq_per_l),
        STOP,
        ("renal-bicarbonate-stop",),
    ),
    ("bilirubin 7 fires no rule", one("bilirubin_mg_per_dl", "7", Unit.mg_per_dl), GIVE, ()),
    (
        "bilirubin > 7 mg/dL holds (7.1)",
        one("bilirubin_mg_per_dl", "7.1", Unit.mg_per_dl),
        HOLD,
        ("gi-bilirubin-hold",),
    ),
    ("diarrhea 999 mL fires no rule", one("diarrhea_ml_per_shift", "999", Unit.ml), GIVE, ()),
    (
        "diarrhea 1000 mL/shift holds",
        one("diarrhea_ml_per_shift", "1000", Unit.ml),
        HOLD,
        ("gi-diarrhea-hold",),
    ),
    ("weight gain 15% fires no rule", one("weight_gain_percent", "15", Unit.percent), GIVE, ()),
    (
        "weight gain > 15% holds (15.1)",
        one("weight_gain_percent", "15.1", Unit.percent),
        HOLD,
        ("musculoskeletal-weight-gain-hold",),
    ),
    ("max phenylephrine 0.99 fires no rule", phe_max("0.99"), GIVE, ()),
    ("max phenylephrine 1–1.5 holds (1)", phe_max("1"), HOLD, (PHE_MAX_HOLD,)),
    (
        "max phenylephrine 1.5 in both bands: stop",
        phe_max("1.5"),
        STOP,
        (PHE_MAX_HOLD, PHE_MAX_STOP),
    ),
    ("max phenylephrine 1.5–2.0 stops (2.0)", phe_max("2.0"), STOP, (PHE_MAX_HOLD, PHE_MAX_STOP)),
    # "Maximum Phenylephrine 1.5-2.0 mcg/kg/min" is absolute: a higher requirement stops too.
    ("max phenylephrine 2.01 stops", phe_max("2.01"), STOP, (PHE_MAX_HOLD, PHE_MAX_STOP)),
    ("max phenylephrine 5 stops", phe_max("5"), STOP, (PHE_MAX_HOLD, PHE_MAX_STOP)),
    ("min phenylephrine 0.5 fires no rule", phe_min("0.5"), GIVE, ()),
    ("min phenylephrine > 0.5 holds (0.51)", phe_min("0.51"), HOLD, (PHE_MIN_HOLD,)),
    ("min phenylephrine 0.8 holds only", phe_min("0.8"), HOLD, (PHE_MIN_HOLD,)),
    ("min phenylephrine > 0.8 stops (0.81)", phe_min("0.81"), STOP, (PHE_MIN_HOLD, PHE_MIN_STOP)),
    ("O₂ 2.9 L by nasal cannula fires no rule", o2_nc("2.9"), GIVE, ()),
    ("3–4 L O₂ by nasal cannula holds (3)", o2_nc("3"), HOLD, ("pulmonary-oxygen-hold",)),
    ("3–4 L O₂ by nasal cannula holds (4)", o2_nc("4"), HOLD, ("pulmonary-oxygen-hold",)),
    (
        "> 4 L O₂ by nasal cannula stops (4.1)",
        o2_nc("4.1"),
        STOP,
        ("pulmonary-oxygen-hold", "pulmonary-oxygen-stop"),
    ),
    ("O₂ 39% by mask is not named", one("mask_o2_percent", "39", Unit.percent), REVIEW, ()),
    (
        "40% by mask stops",
        one("mask_o2_percent", "40", Unit.percent),
        STOP,
        ("pulmonary-oxygen-stop",),
    ),
]


@pytest.mark.parametrize(
    ("changes", "decision", "fired"),
    [pytest.param(c, d, f, id=f"Dutcher 2014 Table 3: {name}") for name, c, d, f in EDGES_DUTCHER],
)
def test_dutcher_band_edges(changes: Obs, decision: Decision, fired: tuple[str, ...]) -> None:
    result = evaluate(load_rule_set(DUTCHER), DUTCHER_CLEAR | changes)
    assert result.decision is decision
    assert tuple(f.rule_id for f in result.fired) == fired
    assert result.not_assessed == ()


def test_dutcher_creatinine_past_the_hold_band_says_so() -> None:
    # Dutcher 2014 Table 3: "Creatinine 2.5-2.9 mg/dL" (hold) is a one-decimal band, read as
    # [2.5, 3.0); 2.95 used to be "between criteria: clinician review" and now holds.
    changes: Obs = {"serum_creatinine_mg_per_dl": q("2.95", Unit.mg_per_dl)}
    result = evaluate(load_rule_set(DUTCHER), DUTCHER_CLEAR | changes)
    (hold,) = result.fired
    assert result.decision is Decision.HOLD
    assert hold.triggering_values[0].test == (
        "above 2.5–2.9 mg/dL: past the band's far end, so it meets it"
    )
    assert result.between_criteria == ()
    assert result.reason == "Hold: Renal: creatinine 2.5–2.9 mg/dL."


def test_dutcher_febrile_tachycardia_without_the_persistence_finding_is_not_a_stop() -> None:
    # Dutcher 2014 Table 3 footnote: "*Persistent at the time of dosing after correcting
    # hypotension, fever, and tachycardia and discontinuing dopamine" marks > 130 too. A
    # febrile patient at 135/min whose persistence is not yet answered used to get "stop".
    values = DUTCHER_CLEAR | {"heart_rate_per_min": q("135", Unit.per_min)}
    del values["tachycardia_persisting_after_correction"]
    result = evaluate(load_rule_set(DUTCHER), values)
    assert result.decision is Decision.CANNOT_DECIDE
    assert result.fired == ()
    assert [u.rule_id for u in result.not_assessed] == [SINUS_HOLD, SINUS_STOP]
    assert result.decisive_missing_observations == ("tachycardia_persisting_after_correction",)


FINDINGS = [
    ("ecg_ischemia", Decision.STOP),
    ("atrial_fibrillation", Decision.STOP),
    ("supraventricular_tachycardia", Decision.STOP),
    ("ventricular_arrhythmia", Decision.STOP),
    ("ck_mb_elevated", Decision.STOP),
    ("troponin_elevated", Decision.STOP),
    ("moist_desquamation", Decision.STOP),
    ("diarrhea_1000_ml_per_shift_on_two_shifts", Decision.STOP),
    ("ileus_or_abdominal_distension", Decision.HOLD),
    ("vomiting_not_responsive_to_medication", Decision.STOP),
    ("severe_abdominal_distension_affecting_breathing", Decision.STOP),
    ("severe_unrelenting_abdominal_pain", Decision.STOP),
    ("heme_positive_sputum_emesis_or_stool", Decision.HOLD),
    ("frank_blood_in_sputum_emesis_or_stool", Decision.STOP),
    ("strong_clinical_suspicion_of_infection", Decision.STOP),
    ("documented_infection", Decision.STOP),
    ("extreme_tightness", Decision.HOLD),
    ("extreme_paresthesias", Decision.STOP),
    ("vivid_dreams", Decision.HOLD),
    ("mild_anxiety", Decision.HOLD),
    ("hallucinations", Decision.STOP),
    ("persistent_crying", Decision.STOP),
    ("mental_status_changes_not_reversible_within_2_h", Decision.STOP),
    ("unable_to_subtract_serial_7s", Decision.STOP),
    ("unable_to_spell_world_backward", Decision.STOP),
    ("resting_shortness_of_breath", Decision.HOLD),
    ("rales_one_third_up_chest", Decision.HOLD),
    ("intubation", Decision.STOP),
    ("moist_rales_half_up_chest", Decision.STOP),
]


@pytest.mark.parametrize(
    ("finding", "decision"),
    [pytest.param(f, d, id=f"Dutcher 2014 Table 3: {f} -> {d.value}") for f, d in FINDINGS],
)
def test_dutcher_clinician_findings(finding: str, decision: Decision) -> None:
    result = evaluate(load_rule_set(DUTCHER), DUTCHER_CLEAR | {finding: True})
    assert result.decision is decision
    (fired,) = result.fired
    assert [v.observation for v in fired.triggering_values] == [finding]


def test_every_dutcher_finding_is_covered_by_the_findings_table() -> None:
    findings = {o.key for o in load_rule_set(DUTCHER).observations if o.is_finding}
    # sinus_rhythm and the persistence finding only act with a heart rate (edges above).
    assert findings - {f for f, _ in FINDINGS} == {
        "sinus_rhythm",
        "tachycardia_persisting_after_correction",
    }


def test_dutcher_missing_creatinine_cannot_decide_and_names_it() -> None:
    # Dutcher 2014 Table 3: creatinine may hold or stop; missing, the dose is not "give".
    clear = {k: v for k, v in DUTCHER_CLEAR.items() if k != "serum_creatinine_mg_per_dl"}
    result = evaluate(load_rule_set(DUTCHER), clear)
    assert result.decision is Decision.CANNOT_DECIDE
    assert [u.rule_id for u in result.not_assessed] == [
        "renal-creatinine-hold",
        "renal-creatinine-stop",
    ]
    assert result.decisive_missing_observations == ("serum_creatinine_mg_per_dl",)


def uo_8h(value: str) -> Obs:
    return one("urine_output_ml_per_kg_per_h_over_8h", value, Unit.ml_per_kg_per_h)


ALONE = Decision.CANNOT_DECIDE


EDGES_BETOF: list[tuple[str, Obs, Decision, tuple[str, ...]]] = [
    # The set covers blood pressure and kidney only: nothing met is "cannot decide alone".
    ("creatinine 2.4 fires no rule", cr("2.4"), ALONE, ()),
    ("serum creatinine 2.5–2.9 holds (2.5)", cr("2.5"), HOLD, ("renal-creatinine-hold",)),
    ("serum creatinine 2.5–2.9 holds (2.9)", cr("2.9"), HOLD, ("renal-creatinine-hold",)),
    # Past the hold band's far end: at least hold (these used to be "clinician review").
    ("creatinine 2.95 holds", cr("2.95"), HOLD, ("renal-creatinine-hold",)),
    ("creatinine 3.5 holds", cr("3.5"), HOLD, ("renal-creatinine-hold",)),
    (
        "persistent low creatinine clearance discontinues",
        {"creatinine_clearance_persistently_low": True},
        STOP,
        ("renal-creatinine-clearance-persistently-low-stop",),
    ),
    ("urine output 4 mL/kg over 8 h (0.5 mL/kg/h) fires no rule", uo_8h("0.5"), ALONE, ()),
    (
        "urine output < 4 mL/kg over 8 h holds (0.49)",
        uo_8h("0.49"),
        HOLD,
        ("urine-output-8h-hold",),
    ),
    (
        "persistently low urine output despite boluses holds",
        {"urine_output_persistently_low_despite_boluses": True},
        HOLD,
        ("urine-output-persistently-low-hold",),
    ),
    (
        "hypotension persisting despite fluids discontinues",
        {"hypotension_persisting_despite_fluids": True},
        STOP,
        ("blood-pressure-persistent-hypotension-stop",),
    ),
]


@pytest.mark.parametrize(
    ("changes", "decision", "fired"),
    [
        pytest.param(c, d, f, id=f"Betof Warner 2024 Table 2: {name}")
        for name, c, d, f in EDGES_BETOF
    ],
)
def test_betof_warner_edges(changes: Obs, decision: Decision, fired: tuple[str, ...]) -> None:
    result = evaluate(load_rule_set(BETOF), BETOF_CLEAR | changes)
    assert result.decision is decision
    assert tuple(f.rule_id for f in result.fired) == fired


def test_betof_warner_source_texts_are_table_2_wording() -> None:
    texts = {r.id: (r.action, r.source_text) for r in load_rule_set(BETOF).rules}
    assert texts == {
        "blood-pressure-persistent-hypotension-stop": (
            Action.STOP,
            "If hypotension persists despite IV fluid bolus, we recommend IL-2 discontinuation",
        ),
        "urine-output-persistently-low-hold": (
            Action.HOLD,
            "Persistent low urine output despite IV fluid boluses",
        ),
        "urine-output-8h-hold": (Action.HOLD, "urine output <4 mL/kg over 8 hours"),
        "renal-creatinine-hold": (Action.HOLD, "serum creatinine 2.5–2.9 mg/dL"),
        "renal-creatinine-clearance-persistently-low-stop": (
            Action.STOP,
            "If persistent low creatinine clearance, we generally recommend discontinuation "
            "of IL-2",
        ),
    }


@given(
    dropped=st.sets(st.sampled_from(sorted(DUTCHER_CLEAR))),
    creatinine=st.decimals(min_value=0, max_value=6, places=2),
    platelets=st.integers(min_value=0, max_value=300_000),
)
def test_give_only_when_every_criterion_was_assessed(
    dropped: set[str], creatinine: Decimal, platelets: int
) -> None:
    # Safety property of the decision rule, over Dutcher 2014 Table 3.
    values = DUTCHER_CLEAR | {
        "serum_creatinine_mg_per_dl": q(str(creatinine), Unit.mg_per_dl),
        "platelets_per_mm3": q(str(platelets), Unit.per_mm3),
    }
    result = evaluate(load_rule_set(DUTCHER), {k: v for k, v in values.items() if k not in dropped})
    if result.decision is Decision.GIVE:
        assert result.not_assessed == () and result.between_criteria == () and result.fired == ()
    if result.decision is Decision.STOP:
        assert any(f.action is Action.STOP for f in result.fired)
    if result.not_assessed and not any(f.action is Action.STOP for f in result.fired):
        assert result.decision is not Decision.GIVE


# A value past a band's far end never softens the answer -----------------------------------------

# Every comparison of every rule on a measurement, in every shipped rule set.
MEASURED_CRITERIA: list[tuple[str, Rule, Comparison]] = [
    (rule_set_id, rule, c)
    for rule_set_id in available_rule_sets()
    for rule in load_rule_set(rule_set_id).rules
    for c in comparisons(rule.condition)
    if not load_rule_set(rule_set_id).catalogue[c.observation].is_finding
]


def _at_or_past_far_end(rule_set_id: str, c: Comparison) -> st.SearchStrategy[Decimal]:
    """Values that meet the criterion at its far end or beyond, up to the plausible limit."""
    spec = load_rule_set(rule_set_id).catalogue[c.observation]
    assert spec.minimum is not None and spec.maximum is not None
    if spec.worse is Worse.HIGHER:
        edge = c.high if c.operator is Operator.BETWEEN else c.value
        values = st.decimals(min_value=edge, max_value=spec.maximum, places=3)
    else:
        edge = c.low if c.operator is Operator.BETWEEN else c.value
        values = st.decimals(min_value=spec.minimum, max_value=edge, places=3)
    strict = c.operator in (Operator.GT, Operator.LT)
    return values.filter(lambda v: not strict or v != edge)


@pytest.mark.parametrize(
    ("rule_set_id", "rule", "criterion"),
    [
        pytest.param(r, rule, c, id=f"{r}: {rule.id}: {c.observation}")
        for r, rule, c in MEASURED_CRITERIA
    ],
)
@settings(deadline=None)
@given(data=st.data())
def test_past_the_far_end_of_a_band_the_answer_is_at_least_its_action(
    rule_set_id: str, rule: Rule, criterion: Comparison, data: st.DataObject
) -> None:
    # Dutcher 2014 Table 3: "Maximum Phenylephrine 1.5-2.0 mcg/kg/min" is an absolute criterion,
    # so a higher requirement is too; "Creatinine 2.5-2.9 mg/dL" holds up to below 3.0. Checked
    # for every band and threshold of every shipped rule set (Betof Warner 2024 Table 2 too).
    rule_set = load_rule_set(rule_set_id)
    spec = rule_set.catalogue[criterion.observation]
    assert spec.unit is not None
    value = data.draw(_at_or_past_far_end(rule_set_id, criterion), label=criterion.observation)
    # The rule's other parts are met: its findings are present, its other measurements meet
    # their own comparison at its near end.
    observations: Obs = {}
    for part in comparisons(rule.condition):
        part_spec = rule_set.catalogue[part.observation]
        if part_spec.is_finding:
            observations[part.observation] = True
    observations[criterion.observation] = Quantity.of(value, spec.unit)
    result = evaluate(rule_set, observations)
    assert rule.id in [f.rule_id for f in result.fired]
    assert result.minimum_action is not None
    assert result.minimum_action.rank >= rule.action.rank
    assert result.decision is not Decision.GIVE
    if rule.action is Action.STOP:
        assert result.decision is Decision.STOP


def _complete_observations(rule_set: RuleSet) -> st.SearchStrategy[Obs]:
    fields: dict[str, st.SearchStrategy[Quantity | bool]] = {}
    for spec in rule_set.observations:
        if spec.unit is None:
            fields[spec.key] = st.booleans()
        else:
            unit = spec.unit
            fields[spec.key] = st.decimals(
                min_value=spec.minimum, max_value=spec.maximum, places=2
            ).map(lambda v, unit=unit: Quantity.of(v, unit))
    return st.fixed_dictionaries(fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("rule_set_id", available_rule_sets())
@settings(deadline=None)
@given(data=st.data())
def test_worsening_one_measurement_never_softens_the_answer(
    rule_set_id: str, data: st.DataObject
) -> None:
    # Monotone decision over Dutcher 2014 Table 3 and Betof Warner 2024 Table 2: a worse value
    # of any measurement (higher creatinine, lower platelets) never gives a milder action.
    rule_set = load_rule_set(rule_set_id)
    before = data.draw(_complete_observations(rule_set), label="observations")
    measured = [s for s in rule_set.observations if s.unit is not None]
    spec = data.draw(st.sampled_from(measured), label="measurement")
    assert spec.unit is not None and spec.minimum is not None and spec.maximum is not None
    old = before[spec.key]
    assert isinstance(old, Quantity)
    low, high = (
        (old.magnitude, spec.maximum)
        if spec.worse is Worse.HIGHER
        else (spec.minimum, old.magnitude)
    )
    worse_value = data.draw(st.decimals(min_value=low, max_value=high, places=2), label="worse")
    after = before | {spec.key: Quantity.of(worse_value, spec.unit)}
    assert _rank(evaluate(rule_set, after).minimum_action) >= _rank(
        evaluate(rule_set, before).minimum_action
    )


def _rank(action: Action | None) -> int:
    return action.rank if action is not None else 0


# The loader's refusals (TOML text written inline) ----------------------------------------------

VALID = """
id = "sample"
version = "1"
title = "Sample"
source = "Dutcher 2014 Table 3 (renal row)"

[observations.serum_creatinine_mg_per_dl]
label = "Serum creatinine"
kind = "measurement"
unit = "mg_per_dl"
minimum = "0"
maximum = "30"
worse = "higher"

[observations.intubation]
label = "Intubation"
kind = "finding"

[[rules]]
id = "cr-hold"
system = "Renal"
action = "hold"
source_text = "creatinine 2.5–2.9 mg/dL"
[rules.condition]
observation = "serum_creatinine_mg_per_dl"
operator = "between"
low = "2.5"
high = "2.9"

[[rules]]
id = "cr-stop"
system = "Renal"
action = "stop"
source_text = "creatinine ≥ 3 mg/dL"
[rules.condition]
any_of = [
  { observation = "serum_creatinine_mg_per_dl", operator = ">=", value = "3" },
  { observation = "intubation", operator = "is_true" },
]

[[meta_rules]]
id = "two-holds"
action = "stop"
source_text = "≥ 2 relative criteria"
count_at_least = 2
of_action = "hold"
"""


def test_valid_text_parses_with_exact_decimals() -> None:
    rule_set = parse_rule_set(VALID)
    assert isinstance(rule_set, RuleSet)
    hold = rule_set.rules[0].condition
    assert (getattr(hold, "low", None), getattr(hold, "high", None)) == (
        Decimal("2.5"),
        Decimal("2.9"),
    )
    assert rule_set.meta_rules[0].count_at_least == 2


def test_a_file_is_read_and_named_in_errors(tmp_path: Path) -> None:
    path = tmp_path / "sample.toml"
    path.write_text(VALID, encoding="utf-8")
    assert read_rule_set(path).id == "sample"
    path.write_text(VALID.replace('value = "3"', "value = 3.0"), encoding="utf-8")
    with pytest.raises(
        RuleSetFileError, match=r"^sample\.toml: rules\[1\]\.condition\.any_of\[0\]"
    ):
        read_rule_set(path)


# (text replaced in VALID, its replacement, key path named, problem named, case)
MALFORMED: list[tuple[str, str, str, str, str]] = [
    (
        'value = "3"',
        "value = 3.0",
        "rules[1].condition.any_of[0].value",
        "is a TOML float",
        "float threshold",
    ),
    (
        'minimum = "0"',
        "minimum = 0.0",
        "observations.serum_creatinine_mg_per_dl.minimum",
        "is a TOML float",
        "float minimum",
    ),
    (
        'version = "1"',
        'version = "1"\nauthor = "x"',
        "(top level)",
        "unknown key(s) ['author']",
        "unknown top-level key",
    ),
    (
        'action = "hold"',
        'action = "hold"\nseverity = 2',
        "rules[0]",
        "unknown key(s) ['severity']",
        "unknown rule key",
    ),
    (
        'operator = ">=", value = "3"',
        'operator = ">=", value = "3", unit = "x"',
        "rules[1].condition.any_of[0]",
        "unknown key(s) ['unit']",
        "unknown condition key",
    ),
    (
        'observation = "intubation"',
        'observation = "intubated"',
        "rules[1].condition.any_of[1].observation",
        "unknown observation 'intubated'",
        "unknown observation key",
    ),
    (
        'source_text = "creatinine 2.5–2.9 mg/dL"\n',
        "",
        "rules[0]",
        "missing required key(s) ['source_text']",
        "rule without source_text",
    ),
    (
        'source_text = "creatinine 2.5–2.9 mg/dL"',
        'source_text = ""',
        "rules[0].source_text",
        "non-empty string",
        "empty source_text",
    ),
    (
        'operator = ">="',
        'operator = "=>"',
        "rules[1].condition.any_of[0].operator",
        "not '=>'",
        "unknown operator",
    ),
    (
        'high = "2.9"\n',
        "",
        "rules[0].condition",
        "missing required key(s) ['high']",
        "between without high",
    ),
    (
        'low = "2.5"',
        'low = "2,5"',
        "rules[0].condition.low",
        "is not a decimal number",
        "not a decimal",
    ),
    (
        'low = "2.5"\nhigh = "2.9"',
        'low = "2.9"\nhigh = "2.5"',
        "rules[0].condition",
        "low is above high",
        "low above high",
    ),
    (
        'action = "hold"',
        'action = "withhold"',
        "rules[0].action",
        "'withhold' is not one of",
        "unknown action",
    ),
    (
        'unit = "mg_per_dl"',
        'unit = "mg/dL"',
        "observations.serum_creatinine_mg_per_dl.unit",
        "not a Unit name",
        "unit symbol, not name",
    ),
    (
        'unit = "mg_per_dl"',
        'unit = "umol_per_l"',
        "observations.serum_creatinine_mg_per_dl",
        "must contain its unit name 'umol_per_l'",
        "key without its unit",
    ),
    (
        'kind = "finding"',
        'kind = "flag"',
        "observations.intubation.kind",
        'must be "measurement"',
        "unknown kind",
    ),
    (
        'maximum = "30"\n',
        "",
        "observations.serum_creatinine_mg_per_dl",
        "missing required key(s) ['maximum']",
        "measurement without a plausible maximum",
    ),
    (
        'worse = "higher"',
        'worse = "up"',
        "observations.serum_creatinine_mg_per_dl.worse",
        "'up' is not one of ['higher', 'lower']",
        "unknown worse direction",
    ),
    (
        'worse = "higher"',
        'worse = "lower"',
        "(rule set)",
        "does not read it in the direction it gets worse (lower)",
        "rule reading a measurement against its worse direction",
    ),
    (
        'operator = "is_true"',
        'operator = "is_true", value = "1"',
        "rules[1].condition.any_of[1]",
        "unknown key(s) ['value']",
        "is_true with threshold",
    ),
    (
        "count_at_least = 2",
        'count_at_least = "2"',
        "meta_rules[0].count_at_least",
        "must be an integer",
        "count as string",
    ),
    (
        "count_at_least = 2",
        "count_at_least = 0",
        "meta_rules[0]",
        "at least 1",
        "count zero",
    ),
    (
        'id = "cr-stop"',
        'id = "cr-hold"',
        "(rule set)",
        "duplicate rule id ['cr-hold']",
        "duplicate rule id",
    ),
    (
        'version = "1"',
        'version = "1',
        "(TOML)",
        "malformed TOML",
        "unterminated string",
    ),
    (
        'title = "Sample"',
        'title = "Sample"\ntitle = "Again"',
        "(TOML)",
        "malformed TOML",
        "duplicate key",
    ),
    (
        'operator = ">=", value',
        'operator = ">=",\nvalue',
        "(TOML)",
        "malformed TOML",
        "inline table over two lines",
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "path", "problem"),
    [pytest.param(o, n, p, m, id=f"loader: {i}") for o, n, p, m, i in MALFORMED],
)
def test_malformed_rule_sets_are_refused_naming_the_key_path(
    old: str, new: str, path: str, problem: str
) -> None:
    assert old in VALID
    with pytest.raises(RuleSetFileError) as raised:
        parse_rule_set(VALID.replace(old, new, 1), origin="sample.toml")
    assert raised.value.path == path
    assert str(raised.value).startswith(f"sample.toml: {path}: ")
    assert problem in str(raised.value)


def test_measurement_compared_as_finding_is_refused() -> None:
    text = VALID.replace('operator = "between"\nlow = "2.5"\nhigh = "2.9"', 'operator = "is_true"')
    assert text != VALID
    with pytest.raises(RuleSetFileError) as raised:
        parse_rule_set(text)
    assert raised.value.path == "rules[0].condition.operator"
    assert "'is_true' cannot be used on the measurement" in str(raised.value)


HOLD_CONDITION = (
    'observation = "serum_creatinine_mg_per_dl"\noperator = "between"\nlow = "2.5"\nhigh = "2.9"\n'
)


def test_empty_all_of_is_refused() -> None:
    assert HOLD_CONDITION in VALID
    with pytest.raises(RuleSetFileError) as raised:
        parse_rule_set(VALID.replace(HOLD_CONDITION, "all_of = []\n"))
    assert raised.value.path == "rules[0].condition.all_of"
    assert str(raised.value).endswith("must be a non-empty array")


def test_condition_that_is_neither_group_nor_comparison_is_refused() -> None:
    with pytest.raises(RuleSetFileError) as raised:
        parse_rule_set(VALID.replace(HOLD_CONDITION, "none_of = []\n"))
    assert raised.value.path == "rules[0].condition.operator"
    assert "needs all_of, any_of or an operator" in str(raised.value)


@pytest.mark.parametrize("rule_set_id", [BETOF])
@settings(deadline=None)
@given(data=st.data())
def test_a_set_covering_some_organ_systems_never_gives(
    rule_set_id: str, data: st.DataObject
) -> None:
    # Betof Warner 2024 Table 2 covers blood pressure and kidney only, "so it cannot decide a
    # dose alone", whatever the values.
    rule_set = load_rule_set(rule_set_id)
    observations = data.draw(_complete_observations(rule_set), label="observations")
    assert evaluate(rule_set, observations).decision is not Decision.GIVE
