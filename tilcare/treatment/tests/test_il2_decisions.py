"""IL-2 dose by dose after the cells: the nurse's assessment, the physician's decision, the dose.

Lifileucel: IL-2 600,000 IU/kg “every 8 to 12 hours for up to 6 doses”, the first 3 to 24 hours
after the infusion (Amtagvi US label 2024, section 2, and the C-144-01 regimen). Before each dose
the protocol's two rule sets are evaluated together and the strictest wins:

- Dutcher et al., JITC 2014;2:26, Table 3 “Criteria for holding and stopping IL2”: relative
  criteria hold, absolute criteria stop; both tachycardia criteria need the persistence finding;
  “Creatinine 2.5–2.9 mg/dL” holds and “≥ 3 mg/dL” stops; oxygen by mask below 40% is a gap the
  table leaves (clinician review).
- Betof Warner et al., JITC 2024;12:e008735, Table 2 (blood pressure and kidney function only):
  urine output < 4 mL/kg over 8 h (mean < 0.5 mL/kg/h), persistently low urine output or
  creatinine 2.5–2.9 mg/dL hold; persistent hypotension or persistently low creatinine clearance
  discontinue.

A nurse gives only a dose the rules clear; the treating physician, another person, decides
finally: give is refused on a stop, needs a note when the rules did not clear the dose; hold
records the dose held now (the next dose is counted from it); stop ends IL-2 for the course.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tilcare.audit.models import AuditEvent
from tilcare.core.errors import Conflict, InvalidInput, PermissionDenied
from tilcare.journey.tests.factories import CareTeam
from tilcare.protocols.rulesets import load_rule_set
from tilcare.treatment.choices import (
    AdministrationOutcome,
    Il2DecisionStatus,
    OrderKind,
    OrderStatus,
)
from tilcare.treatment.models import Administration, Il2Decision, Order
from tilcare.treatment.selectors import il2_standing
from tilcare.treatment.services.administrations import record_administration
from tilcare.treatment.services.il2 import assess_il2_dose, decide_il2_dose
from tilcare.treatment.services.orders import order_il2
from tilcare.treatment.tests.factories import (
    HOUR,
    MIN,
    InfusionDay,
    il2_ordered,
    infused,
    infusion_day,
)

pytestmark = pytest.mark.django_db

DUTCHER, BETOF = "dutcher-2014", "betof-warner-2024"
# The infusion of these tests ends 25 h 30 min after the last fludarabine dose (15 Dec 15:00 UTC).
END = dt.datetime(2026, 12, 16, 16, 30, tzinfo=dt.UTC)

# What the nurse enters when nothing meets a criterion of either table: every finding "no", every
# measurement inside its normal range, as text, as the decision screen sends them.
CLEAR: dict[str, str] = {
    **{o.key: "no" for o in load_rule_set(DUTCHER).observations if o.is_finding},
    "sinus_rhythm": "yes",
    "heart_rate_per_min": "80",
    "diarrhea_ml_per_shift": "0",
    "bilirubin_mg_per_dl": "0.8",
    "phenylephrine_max_ug_per_kg_per_min": "0",
    "phenylephrine_min_ug_per_kg_per_min": "0",
    "platelets_per_mm3": "150000",
    "weight_gain_percent": "2",
    "nasal_cannula_o2_l_per_min": "0",
    "mask_o2_percent": "0",
    "urine_output_ml_per_shift": "400",
    "serum_creatinine_mg_per_dl": "1.0",
    "bicarbonate_meq_per_l": "24",
    "hypotension_persisting_despite_fluids": "no",
    "urine_output_persistently_low_despite_boluses": "no",
    "urine_output_ml_per_kg_per_h_over_8h": "1.0",
    "creatinine_clearance_persistently_low": "no",
}

SINUS_HOLD = "cardiovascular-sinus-tachycardia-hold"
SINUS_STOP = "cardiovascular-sinus-tachycardia-stop"
PHE_MAX_HOLD = "hemodynamic-phenylephrine-max-hold"
PHE_MAX_STOP = "hemodynamic-phenylephrine-max-stop"
PHE_MIN_HOLD = "hemodynamic-phenylephrine-min-hold"
PHE_MIN_STOP = "hemodynamic-phenylephrine-min-stop"
CR_HOLD = "renal-creatinine-hold"
GIVE, HOLD, STOP = "give", "hold", "stop"
REVIEW = "between criteria: clinician review"


def d(*rules: str) -> dict[str, tuple[str, ...]]:
    """Rules of Dutcher 2014 Table 3 that fired (and none of Betof Warner 2024 Table 2)."""
    return {DUTCHER: rules, BETOF: ()}


def b(*rules: str) -> dict[str, tuple[str, ...]]:
    """Rules of Betof Warner 2024 Table 2 that fired (and none of Dutcher 2014 Table 3)."""
    return {DUTCHER: (), BETOF: rules}


def hr(rate: str) -> dict[str, str]:
    return {"heart_rate_per_min": rate, "tachycardia_persisting_after_correction": "yes"}


# (the criterion and the side of its threshold, the changes to CLEAR, the combined decision, the
# rules that fired in each set). Each threshold on both sides, every other observation normal.
EDGES: list[tuple[str, dict[str, str], str, dict[str, tuple[str, ...]]]] = [
    ("nothing met: give", {}, GIVE, d()),
    # Dutcher 2014 Table 3, measurements.
    ("sinus tachycardia 99 persisting", hr("99"), GIVE, d()),
    ("sinus tachycardia 100–130 holds (100)", hr("100"), HOLD, d(SINUS_HOLD)),
    ("sinus tachycardia 100–130 holds (130)", hr("130"), HOLD, d(SINUS_HOLD)),
    ("sinus tachycardia > 130 stops (131)", hr("131"), STOP, d(SINUS_HOLD, SINUS_STOP)),
    ("sinus tachycardia 135 not persisting", {"heart_rate_per_min": "135"}, GIVE, d()),
    ("diarrhea 999 mL/shift", {"diarrhea_ml_per_shift": "999"}, GIVE, d()),
    (
        "diarrhea 1000 mL/shift holds",
        {"diarrhea_ml_per_shift": "1000"},
        HOLD,
        d("gi-diarrhea-hold"),
    ),
    ("bilirubin 7 mg/dL", {"bilirubin_mg_per_dl": "7"}, GIVE, d()),
    (
        "bilirubin > 7 mg/dL holds (7.01)",
        {"bilirubin_mg_per_dl": "7.01"},
        HOLD,
        d("gi-bilirubin-hold"),
    ),
    ("max phenylephrine 0.99", {"phenylephrine_max_ug_per_kg_per_min": "0.99"}, GIVE, d()),
    (
        "max phenylephrine 1–1.5 holds (1)",
        {"phenylephrine_max_ug_per_kg_per_min": "1"},
        HOLD,
        d(PHE_MAX_HOLD),
    ),
    (
        "max phenylephrine 1.49 holds",
        {"phenylephrine_max_ug_per_kg_per_min": "1.49"},
        HOLD,
        d(PHE_MAX_HOLD),
    ),
    (
        "max phenylephrine 1.5–2.0 stops (1.5)",
        {"phenylephrine_max_ug_per_kg_per_min": "1.5"},
        STOP,
        d(PHE_MAX_HOLD, PHE_MAX_STOP),
    ),
    (
        "max phenylephrine above 2.0 stops (2.01)",
        {"phenylephrine_max_ug_per_kg_per_min": "2.01"},
        STOP,
        d(PHE_MAX_HOLD, PHE_MAX_STOP),
    ),
    ("min phenylephrine 0.5", {"phenylephrine_min_ug_per_kg_per_min": "0.5"}, GIVE, d()),
    (
        "min phenylephrine > 0.5 holds (0.51)",
        {"phenylephrine_min_ug_per_kg_per_min": "0.51"},
        HOLD,
        d(PHE_MIN_HOLD),
    ),
    (
        "min phenylephrine 0.8 holds only",
        {"phenylephrine_min_ug_per_kg_per_min": "0.8"},
        HOLD,
        d(PHE_MIN_HOLD),
    ),
    (
        "min phenylephrine > 0.8 stops (0.81)",
        {"phenylephrine_min_ug_per_kg_per_min": "0.81"},
        STOP,
        d(PHE_MIN_HOLD, PHE_MIN_STOP),
    ),
    ("platelets 50,001/mm³", {"platelets_per_mm3": "50001"}, GIVE, d()),
    (
        "platelets 30,000–50,000 hold (50,000)",
        {"platelets_per_mm3": "50000"},
        HOLD,
        d("hemorrhagic-platelets-hold"),
    ),
    (
        "platelets 30,000–50,000 hold (30,000)",
        {"platelets_per_mm3": "30000"},
        HOLD,
        d("hemorrhagic-platelets-hold"),
    ),
    (
        "platelets < 30,000 stop (29,999)",
        {"platelets_per_mm3": "29999"},
        STOP,
        d("hemorrhagic-platelets-hold", "hemorrhagic-platelets-stop"),
    ),
    ("weight gain 15%", {"weight_gain_percent": "15"}, GIVE, d()),
    (
        "weight gain > 15% holds (15.01)",
        {"weight_gain_percent": "15.01"},
        HOLD,
        d("musculoskeletal-weight-gain-hold"),
    ),
    ("O₂ 2.99 L by nasal cannula", {"nasal_cannula_o2_l_per_min": "2.99"}, GIVE, d()),
    (
        "3–4 L O₂ by nasal cannula holds (3)",
        {"nasal_cannula_o2_l_per_min": "3"},
        HOLD,
        d("pulmonary-oxygen-hold"),
    ),
    (
        "3–4 L O₂ by nasal cannula holds (4)",
        {"nasal_cannula_o2_l_per_min": "4"},
        HOLD,
        d("pulmonary-oxygen-hold"),
    ),
    (
        "> 4 L O₂ by nasal cannula stops (4.01)",
        {"nasal_cannula_o2_l_per_min": "4.01"},
        STOP,
        d("pulmonary-oxygen-hold", "pulmonary-oxygen-stop"),
    ),
    ("O₂ 39% by mask: a gap of the table", {"mask_o2_percent": "39"}, REVIEW, d()),
    ("40% O₂ by mask stops", {"mask_o2_percent": "40"}, STOP, d("pulmonary-oxygen-stop")),
    ("urine output 161 mL/shift", {"urine_output_ml_per_shift": "161"}, GIVE, d()),
    (
        "urine output 80–160 mL/shift holds (160)",
        {"urine_output_ml_per_shift": "160"},
        HOLD,
        d("renal-urine-output-hold"),
    ),
    (
        "urine output 80–160 mL/shift holds (80)",
        {"urine_output_ml_per_shift": "80"},
        HOLD,
        d("renal-urine-output-hold"),
    ),
    (
        "urine < 80 mL/shift stops (79)",
        {"urine_output_ml_per_shift": "79"},
        STOP,
        d("renal-urine-output-hold", "renal-urine-output-stop"),
    ),
    ("HCO₃ 18.01 mEq/L", {"bicarbonate_meq_per_l": "18.01"}, GIVE, d()),
    (
        "HCO₃ ≤ 18 mEq/L stops (18)",
        {"bicarbonate_meq_per_l": "18"},
        STOP,
        d("renal-bicarbonate-stop"),
    ),
    # Serum creatinine: read by both tables.
    ("creatinine 2.49 mg/dL", {"serum_creatinine_mg_per_dl": "2.49"}, GIVE, d()),
    (
        "creatinine 2.5–2.9 holds in both (2.5)",
        {"serum_creatinine_mg_per_dl": "2.5"},
        HOLD,
        {DUTCHER: (CR_HOLD,), BETOF: (CR_HOLD,)},
    ),
    (
        "creatinine 2.99 holds in both",
        {"serum_creatinine_mg_per_dl": "2.99"},
        HOLD,
        {DUTCHER: (CR_HOLD,), BETOF: (CR_HOLD,)},
    ),
    (
        "creatinine ≥ 3 stops (Dutcher), holds (Betof Warner)",
        {"serum_creatinine_mg_per_dl": "3.0"},
        STOP,
        {DUTCHER: (CR_HOLD, "renal-creatinine-stop"), BETOF: (CR_HOLD,)},
    ),
    # Betof Warner 2024 Table 2.
    (
        "urine output 4 mL/kg over 8 h (0.5 mL/kg/h)",
        {"urine_output_ml_per_kg_per_h_over_8h": "0.5"},
        GIVE,
        d(),
    ),
    (
        "urine output < 4 mL/kg over 8 h holds (0.49)",
        {"urine_output_ml_per_kg_per_h_over_8h": "0.49"},
        HOLD,
        b("urine-output-8h-hold"),
    ),
    (
        "persistently low urine output despite boluses holds",
        {"urine_output_persistently_low_despite_boluses": "yes"},
        HOLD,
        b("urine-output-persistently-low-hold"),
    ),
    (
        "hypotension persisting despite fluids discontinues",
        {"hypotension_persisting_despite_fluids": "yes"},
        STOP,
        b("blood-pressure-persistent-hypotension-stop"),
    ),
    (
        "persistently low creatinine clearance discontinues",
        {"creatinine_clearance_persistently_low": "yes"},
        STOP,
        b("renal-creatinine-clearance-persistently-low-stop"),
    ),
]

# Dutcher 2014 Table 3, clinician findings (each "no" in CLEAR: the other side of the threshold).
FINDINGS: list[tuple[str, str, str]] = [
    ("ecg_ischemia", STOP, "cardiovascular-ecg-ischemia-stop"),
    ("atrial_fibrillation", STOP, "cardiovascular-af-stop"),
    ("supraventricular_tachycardia", STOP, "cardiovascular-svt-stop"),
    ("ventricular_arrhythmia", STOP, "cardiovascular-ventricular-arrhythmia-stop"),
    ("ck_mb_elevated", STOP, "cardiovascular-cardiac-enzymes-stop"),
    ("troponin_elevated", STOP, "cardiovascular-cardiac-enzymes-stop"),
    ("moist_desquamation", STOP, "dermatologic-moist-desquamation-stop"),
    ("diarrhea_1000_ml_per_shift_on_two_shifts", STOP, "gi-diarrhea-two-shifts-stop"),
    ("ileus_or_abdominal_distension", HOLD, "gi-ileus-distension-hold"),
    ("vomiting_not_responsive_to_medication", STOP, "gi-vomiting-stop"),
    ("severe_abdominal_distension_affecting_breathing", STOP, "gi-severe-distension-stop"),
    ("severe_unrelenting_abdominal_pain", STOP, "gi-abdominal-pain-stop"),
    ("heme_positive_sputum_emesis_or_stool", HOLD, "hemorrhagic-heme-positive-hold"),
    ("frank_blood_in_sputum_emesis_or_stool", STOP, "hemorrhagic-frank-blood-stop"),
    ("strong_clinical_suspicion_of_infection", STOP, "infectious-infection-stop"),
    ("documented_infection", STOP, "infectious-infection-stop"),
    ("extreme_tightness", HOLD, "musculoskeletal-extreme-tightness-hold"),
    ("extreme_paresthesias", STOP, "musculoskeletal-extreme-paresthesias-stop"),
    ("vivid_dreams", HOLD, "neurologic-vivid-dreams-hold"),
    ("mild_anxiety", HOLD, "neurologic-mild-anxiety-hold"),
    ("hallucinations", STOP, "neurologic-hallucinations-stop"),
    ("persistent_crying", STOP, "neurologic-persistent-crying-stop"),
    ("mental_status_changes_not_reversible_within_2_h", STOP, "neurologic-mental-status-stop"),
    ("unable_to_subtract_serial_7s", STOP, "neurologic-serial-sevens-world-stop"),
    ("unable_to_spell_world_backward", STOP, "neurologic-serial-sevens-world-stop"),
    ("resting_shortness_of_breath", HOLD, "pulmonary-resting-dyspnea-hold"),
    ("rales_one_third_up_chest", HOLD, "pulmonary-rales-hold"),
    ("intubation", STOP, "pulmonary-intubation-stop"),
    ("moist_rales_half_up_chest", STOP, "pulmonary-moist-rales-stop"),
]


@pytest.fixture
def day(team: CareTeam, time_machine: Any) -> InfusionDay:
    """A Riverside course infused (ended 16 Dec 16:30 UTC, 11:30 in New York)."""
    ready = infusion_day(team, time_machine)
    infused(ready, time_machine)
    return ready


@pytest.fixture
def order(day: InfusionDay, time_machine: Any) -> Order:
    """The course's IL-2 order, verified at the infusion's end; the clock 3 h later, when the
    first dose's window opens."""
    time_machine.move_to(END, tick=False)
    ordered = il2_ordered(day)
    time_machine.move_to(END + 3 * HOUR, tick=False)
    return ordered


def seq() -> int:
    last = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
    return last or 0


def actions_since(before: int) -> list[str]:
    events = AuditEvent.objects.filter(seq__gt=before).order_by("seq")
    return list(events.values_list("action", flat=True))


def rows() -> tuple[int, int, int]:
    return (
        Il2Decision.objects.count(),
        Administration.objects.filter(dose__order__kind=OrderKind.IL2).count(),
        Order.objects.filter(status=OrderStatus.STOPPED).count(),
    )


def assess(order: Order, day: InfusionDay, choice: str, note: str = "", **changes: str):
    return assess_il2_dose(
        order, observations=CLEAR | changes, choice=choice, note=note, actor=day.team.nurse
    )


def fired_of(decision: Il2Decision) -> dict[str, tuple[str, ...]]:
    return {
        e["rule_set_id"]: tuple(f["rule_id"] for f in e["fired"])
        for e in decision.evaluation["evaluations"]
    }


def as_stored(entered: dict[str, str]) -> dict[str, str | bool]:
    """The observations as the decision keeps them: findings true or false, measurements as the
    decimal text entered."""
    return {k: v == "yes" if v in ("yes", "no") else v for k, v in entered.items()}


def nurse_choice_for(decision: str) -> tuple[str, str]:
    """What the nurse decides without a note (a review is held for the physician, saying why)."""
    if decision in (GIVE, HOLD, STOP):
        return decision, ""
    return HOLD, "Oxygen by mask below 40%: for the physician's review."


@pytest.mark.parametrize(
    ("changes", "decision", "fired"),
    [pytest.param(c, dec, f, id=f"{name} -> {dec}") for name, c, dec, f in EDGES],
)
def test_each_threshold_of_both_tables_decides_the_dose(order, day, changes, decision, fired):
    # Given every observation normal but this one
    choice, note = nurse_choice_for(decision)

    # When the nurse assesses the first dose
    assessed = assess_il2_dose(
        order, observations=CLEAR | changes, choice=choice, note=note, actor=day.team.nurse
    )

    # Then the two tables together decide it (the strictest wins), each fired rule kept
    assert assessed.evaluated_decision == decision
    assert fired_of(assessed) == fired
    assert assessed.evaluation["missing_observations"] == []
    assert assessed.observations == as_stored(CLEAR | changes)
    assert (assessed.nurse_choice, assessed.status) == (
        choice,
        Il2DecisionStatus.AWAITING_PHYSICIAN,
    )


@pytest.mark.parametrize(
    ("finding", "decision", "rule"),
    [pytest.param(f, dec, r, id=f"Dutcher 2014 Table 3: {f} -> {dec}") for f, dec, r in FINDINGS],
)
def test_each_clinician_finding_of_dutcher_table_3_decides_the_dose(
    order, day, finding, decision, rule
):
    # Given every observation normal but this finding
    # When the nurse assesses the first dose with the finding present
    assessed = assess(order, day, decision, **{finding: "yes"})

    # Then its relative criterion holds or its absolute criterion stops, naming the finding
    assert assessed.evaluated_decision == decision
    assert fired_of(assessed) == d(rule)
    (dutcher,) = [e for e in assessed.evaluation["evaluations"] if e["rule_set_id"] == DUTCHER]
    (fired,) = dutcher["fired"]
    assert [v["observation"] for v in fired["triggering_values"]] == [finding]


def test_a_nurse_may_not_give_a_dose_the_rules_do_not_clear(order, day):
    # Given creatinine 2.6 mg/dL (Dutcher 2014 Table 3 and Betof Warner 2024 Table 2: hold)
    before, counts = seq(), rows()

    # When the nurse decides to give
    with pytest.raises(InvalidInput) as refused:
        assess(order, day, GIVE, serum_creatinine_mg_per_dl="2.6")

    # Then it is refused on the decision, and nothing is written
    assert refused.value.errors == {
        "choice": [
            "The rules do not clear this dose (Hold: Renal: creatinine 2.5–2.9 mg/dL; Renal: "
            "serum creatinine 2.5–2.9 mg/dL.) A nurse may hold it for the physician's decision "
            "or stop; only the physician may give it."
        ]
    }
    assert (actions_since(before), rows()) == ([], counts)


def test_a_nurse_gives_a_cleared_dose_for_the_physician_s_decision(order, day):
    # Given every observation normal
    # When the nurse decides to give
    assessed = assess(order, day, GIVE)

    # Then it awaits the physician, with the dose's window (3 to 24 h after the infusion's end)
    assert (assessed.evaluated_decision, assessed.nurse_choice) == (GIVE, GIVE)
    assert assessed.status == Il2DecisionStatus.AWAITING_PHYSICIAN
    assert assessed.dose.sequence == 1
    assert assessed.window["allowed_from"] == (END + 3 * HOUR).isoformat()
    assert assessed.window["allowed_until"] == (END + 24 * HOUR).isoformat()


def test_a_nurse_deciding_other_than_the_rules_says_why(order, day):
    # Given every observation normal
    before, counts = seq(), rows()

    # When the nurse holds without a note
    with pytest.raises(InvalidInput) as refused:
        assess(order, day, HOLD)

    # Then the note is asked for, and nothing is written
    assert refused.value.errors == {"note": ["The rules say give: say why you decide hold."]}
    assert (actions_since(before), rows()) == ([], counts)


def test_a_physician_may_not_decide_a_dose_they_assessed(order, day):
    # Given the physician's own assessment
    assessed = assess_il2_dose(order, observations=CLEAR, choice=GIVE, actor=day.team.physician)
    before, counts = seq(), rows()

    # When the same physician decides it
    with pytest.raises(PermissionDenied) as refused:
        decide_il2_dose(assessed, choice=GIVE, actor=day.team.physician)

    # Then it is refused, and nothing is written
    assert refused.value.message == (
        "Only a treating physician of this center decides an IL-2 dose awaiting the decision, "
        "and never one they assessed themselves."
    )
    assert (actions_since(before), rows()) == ([], counts)
    assert Il2Decision.objects.get(pk=assessed.pk).status == Il2DecisionStatus.AWAITING_PHYSICIAN


@pytest.mark.parametrize("role", ["nurse", "pharmacist"])
def test_only_a_physician_decides(order, day, role):
    # Given the nurse's assessment
    assessed = assess(order, day, GIVE)
    before, counts = seq(), rows()

    # When a nurse or a pharmacist decides it
    with pytest.raises(PermissionDenied):
        decide_il2_dose(assessed, choice=GIVE, actor=day.team.by_role(role))

    # Then nothing is written
    assert (actions_since(before), rows()) == ([], counts)


def test_give_is_refused_when_a_stop_criterion_is_met(order, day):
    # Given the nurse's stop: creatinine 3.0 mg/dL (Dutcher 2014 Table 3: ≥ 3 mg/dL stops)
    assessed = assess(order, day, STOP, serum_creatinine_mg_per_dl="3.0")
    before, counts = seq(), rows()

    # When the physician gives it, even with a note
    with pytest.raises(InvalidInput) as refused:
        decide_il2_dose(assessed, choice=GIVE, note="Recovering.", actor=day.team.physician)

    # Then it is refused on the decision, and nothing is written
    reason = assessed.evaluation["reason"]
    assert refused.value.errors == {
        "choice": [f"A stop criterion is met: IL-2 is not given. {reason}"]
    }
    assert (actions_since(before), rows()) == ([], counts)


def test_the_physician_gives_a_dose_not_cleared_only_with_a_note(order, day, time_machine):
    # Given the nurse's hold: weight gain 16% (Dutcher 2014 Table 3: > 15% holds)
    assessed = assess(order, day, HOLD, weight_gain_percent="16")

    # When the physician gives it without a note, then with one
    with pytest.raises(InvalidInput) as refused:
        decide_il2_dose(assessed, choice=GIVE, actor=day.team.physician)
    decided = decide_il2_dose(
        assessed,
        choice=GIVE,
        note="Weight gain from fluids; lungs clear.",
        actor=day.team.physician,
    )

    # Then the note is asked for first; with it the dose is decided and may be given in its window
    reason = assessed.evaluation["reason"]
    assert refused.value.errors == {
        "note": [f"The rules did not clear this dose: say why you give it. {reason}"]
    }
    assert (decided.physician, decided.physician_choice) == (day.team.physician, GIVE)
    assert decided.status == Il2DecisionStatus.DECIDED
    time_machine.move_to(END + 3 * HOUR + 10 * MIN, tick=False)
    given = record_administration(
        assessed.dose, outcome=AdministrationOutcome.GIVEN, at=END + 3 * HOUR + 5 * MIN,
        actor=day.team.nurse,
    )  # fmt: skip
    assert (given.outcome, given.at) == (AdministrationOutcome.GIVEN, END + 3 * HOUR + 5 * MIN)


def test_a_hold_records_the_dose_held_and_the_next_is_counted_from_it(order, day, time_machine):
    # Given the nurse's hold (mild anxiety: Dutcher 2014 Table 3 holds), the physician deciding
    # 4 h after the infusion's end
    assessed = assess(order, day, HOLD, mild_anxiety="yes")
    held_at = END + 4 * HOUR
    time_machine.move_to(held_at, tick=False)

    # When the physician holds it
    decide_il2_dose(assessed, choice=HOLD, actor=day.team.physician)

    # Then dose 1 is recorded held now, and dose 2 is allowed 8 to 12 h after the hold
    held = Administration.objects.get(dose=assessed.dose)
    assert (held.outcome, held.at, held.recorded_by) == (
        AdministrationOutcome.HELD,
        held_at,
        day.team.physician,
    )
    assert held.reason.startswith("Held on the physician's decision: ")
    standing = il2_standing(order, held_at)
    assert (standing.given, standing.held, standing.not_given) == (0, 1, 0)
    assert standing.next_dose is not None and standing.next_dose.sequence == 2
    assert standing.schedule is not None
    assert standing.schedule.next_dose_number == 2
    assert standing.schedule.allowed_from == held_at + 8 * HOUR
    assert standing.schedule.allowed_until == held_at + 12 * HOUR


def test_a_held_dose_cannot_be_recorded_held_at_the_bedside(order, day):
    # Given the nurse's hold awaiting the physician
    assessed = assess(order, day, HOLD, mild_anxiety="yes")
    before, counts = seq(), rows()

    # When the nurse records the dose held directly
    with pytest.raises(Conflict) as refused:
        record_administration(
            assessed.dose, outcome=AdministrationOutcome.HELD, at=END + 3 * HOUR,
            reason="Anxious.", actor=day.team.nurse,
        )  # fmt: skip

    # Then it is refused: a dose is held by the physician's decision
    assert refused.value.errors == {
        "outcome": [
            "IL-2 dose 1 is held by the physician's decision after the nurse's assessment, on "
            "the IL-2 decision screen."
        ]
    }
    assert (actions_since(before), rows()) == ([], counts)


def test_stop_ends_il2_for_the_course(order, day, time_machine):
    # Given the nurse's stop: hypotension persisting despite fluids (Betof Warner 2024 Table 2)
    assessed = assess(order, day, STOP, hypotension_persisting_despite_fluids="yes")
    stopped_at = END + 3 * HOUR + 20 * MIN
    time_machine.move_to(stopped_at, tick=False)

    # When the physician stops IL-2
    decide_il2_dose(
        assessed, choice=STOP, note="Hypotension despite two boluses.", actor=day.team.physician
    )

    # Then all six doses are recorded not given, the order is stopped, no dose is assessed and
    # no IL-2 order is written again
    outcomes = list(
        Administration.objects.filter(dose__order=order)
        .order_by("dose__sequence")
        .values_list("dose__sequence", "outcome", "at")
    )
    assert outcomes == [(n, AdministrationOutcome.NOT_GIVEN, stopped_at) for n in range(1, 7)]
    assert Order.objects.get(pk=order.pk).status == OrderStatus.STOPPED
    with pytest.raises(Conflict) as no_assessment:
        assess(order, day, GIVE)
    assert no_assessment.value.errors == {
        "__all__": ["IL-2 was stopped for this course: no dose is assessed."]
    }
    with pytest.raises(Conflict) as no_order:
        order_il2(day.course, actor=day.team.physician)
    assert no_order.value.errors == {
        "__all__": ["IL-2 was stopped for this course: no IL-2 order is written again."]
    }


def test_stop_needs_the_physician_s_reason(order, day):
    # Given the nurse's stop
    assessed = assess(order, day, STOP, intubation="yes")
    before, counts = seq(), rows()

    # When the physician stops without a note
    with pytest.raises(InvalidInput) as refused:
        decide_il2_dose(assessed, choice=STOP, actor=day.team.physician)

    # Then the note is asked for, and nothing is written
    assert refused.value.errors == {"note": ["Say why IL-2 is stopped."]}
    assert (actions_since(before), rows()) == ([], counts)


def give_next(order: Order, day: InfusionDay, time_machine: Any, at: dt.datetime) -> None:
    """The next dose assessed, decided and given at `at` (the clock moved there)."""
    time_machine.move_to(at, tick=False)
    assessed = assess(order, day, GIVE)
    decide_il2_dose(assessed, choice=GIVE, actor=day.team.physician)
    record_administration(
        assessed.dose, outcome=AdministrationOutcome.GIVEN, at=at, actor=day.team.nurse
    )


def test_after_the_sixth_dose_no_dose_is_assessed(order, day, time_machine):
    # Given six doses given: 3 h after the infusion's end, then every 8 h (label: up to 6 doses)
    times = [END + 3 * HOUR + n * 8 * HOUR for n in range(6)]
    for at in times:
        give_next(order, day, time_machine, at)
    time_machine.move_to(times[-1] + 8 * HOUR, tick=False)
    before, counts = seq(), rows()

    # When the nurse assesses another dose
    with pytest.raises(Conflict) as refused:
        assess(order, day, GIVE)

    # Then it is refused: the maximum is reached; nothing is written
    assert refused.value.errors == {"__all__": ["Every IL-2 dose of this order is recorded."]}
    assert (actions_since(before), rows()) == ([], counts)
    standing = il2_standing(order, times[-1] + 8 * HOUR)
    assert (standing.given, standing.next_dose) == (6, None)
    assert standing.schedule is not None and standing.schedule.next_dose_number is None


# The window of dose 1 on the center's clock (New York, EST): 3 h after the end (16 Dec 11:30) at
# 14:30, 24 h after it at 11:30 the next day.
TOO_EARLY = (
    "Too early for IL-2 dose 1: it may be given from Wed 16 Dec 2026 14:30 EST, 3 h after the "
    "cell infusion ended."
)
TOO_LATE = (
    "Too late for IL-2 dose 1: it had to be given by Thu 17 Dec 2026 11:30 EST, 24 h after the "
    "cell infusion ended. Do not give it without the physician's decision."
)


@pytest.mark.parametrize(
    ("decided_at", "given_at", "message"),
    [
        pytest.param(
            END + 2 * HOUR, END + 3 * HOUR - MIN, TOO_EARLY, id="a-minute-before-it-opens"
        ),
        pytest.param(
            END + 20 * HOUR, END + 24 * HOUR + MIN, TOO_LATE, id="a-minute-after-it-closes"
        ),
    ],
)
def test_a_dose_given_outside_its_window_is_refused(
    order, day, time_machine, decided_at, given_at, message
):
    # Given the first dose assessed and decided "give" inside the time the record allows
    time_machine.move_to(decided_at, tick=False)
    assessed = assess(order, day, GIVE)
    decide_il2_dose(assessed, choice=GIVE, actor=day.team.physician)
    time_machine.move_to(given_at + MIN, tick=False)
    before, counts = seq(), rows()

    # When the nurse records it given a minute before its window opens (3 h after the end) or a
    # minute after it closes (24 h after the end)
    with pytest.raises(Conflict) as refused:
        record_administration(
            assessed.dose, outcome=AdministrationOutcome.GIVEN, at=given_at, actor=day.team.nurse
        )

    # Then it is refused on the time, and nothing is written
    assert refused.value.errors == {"at": [message]}
    assert (actions_since(before), rows()) == ([], counts)


@pytest.mark.parametrize("at", [END + 3 * HOUR, END + 24 * HOUR], ids=["opens-3h", "closes-24h"])
def test_a_dose_given_at_the_edges_of_its_window_is_recorded(order, day, time_machine, at):
    # Given the first dose decided "give" before its window opens
    time_machine.move_to(END + 2 * HOUR, tick=False)
    assessed = assess(order, day, GIVE)
    decide_il2_dose(assessed, choice=GIVE, actor=day.team.physician)
    time_machine.move_to(at, tick=False)

    # When the nurse records it given at the window's edge
    given = record_administration(
        assessed.dose, outcome=AdministrationOutcome.GIVEN, at=at, actor=day.team.nurse
    )

    # Then it is recorded (both edges are inside)
    assert (given.outcome, given.at) == (AdministrationOutcome.GIVEN, at)


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        pytest.param(
            {"blood_pressure_systolic": "90"},
            {
                "blood_pressure_systolic": [
                    "“blood_pressure_systolic” is not an observation this protocol's IL-2 rules "
                    "read."
                ]
            },
            id="unknown-key",
        ),
        pytest.param(
            {"serum_creatinine_mg_per_dl": True},
            {
                "serum_creatinine_mg_per_dl": [
                    "Serum creatinine must be a number in mg/dL, not true/false."
                ]
            },
            id="true-for-a-measurement",
        ),
        pytest.param(
            {"platelets_per_mm3": "2000001"},
            {"platelets_per_mm3": ["Platelet count must be between 0 and 2000000 /mm³."]},
            id="platelets-above-the-plausible-range",
        ),
        pytest.param(
            {"bicarbonate_meq_per_l": "-1"},
            {"bicarbonate_meq_per_l": ["Serum bicarbonate (HCO₃) must be between 0 and 60 mEq/L."]},
            id="bicarbonate-below-the-plausible-range",
        ),
        pytest.param(
            {"mild_anxiety": "maybe"},
            {"mild_anxiety": ["Mild anxiety: answer yes or no, or leave it not assessed."]},
            id="finding-not-yes-or-no",
        ),
    ],
)
def test_observations_the_rules_cannot_read_are_refused_naming_them(order, day, changes, errors):
    # Given nothing assessed
    before, counts = seq(), rows()

    # When the nurse enters an observation the rules cannot read
    with pytest.raises(InvalidInput) as refused:
        assess(order, day, GIVE, **changes)

    # Then it is refused on that key, and nothing is written
    assert refused.value.errors == errors
    assert (actions_since(before), rows()) == ([], counts)


def test_a_dose_recorded_given_before_the_physician_s_decision_is_refused(order, day, time_machine):
    # Given the first dose assessed when its window opened (14:30 New York time) and decided
    # "give" by the physician an hour later (15:30)
    assessed = assess(order, day, GIVE)
    decided_at = END + 4 * HOUR
    time_machine.move_to(decided_at, tick=False)
    decide_il2_dose(assessed, choice=GIVE, actor=day.team.physician)
    time_machine.move_to(decided_at + 10 * MIN, tick=False)
    before, counts = seq(), rows()

    # When the nurse records it given at 15:29, inside its window but a minute before the decision
    with pytest.raises(Conflict) as refused:
        record_administration(
            assessed.dose,
            outcome=AdministrationOutcome.GIVEN,
            at=decided_at - MIN,
            actor=day.team.nurse,
        )

    # Then it is refused on the time, naming the decision on the center's clock; nothing is
    # written
    assert refused.value.errors == {
        "at": [
            "IL-2 dose 1 cannot be given before the physician decided to give it "
            "(Wed 16 Dec 2026 15:30 EST)."
        ]
    }
    assert (actions_since(before), rows()) == ([], counts)


# Dose 1 given at 16:30 New York time (5 h after the infusion's end).
DOSE_1_AT = END + 5 * HOUR


@pytest.mark.parametrize(
    ("decided_at", "given_at"),
    [
        pytest.param(DOSE_1_AT, DOSE_1_AT, id="the-same-minute-as-dose-1"),
        # The server's clock corrected back ten minutes after dose 1 was recorded: dose 2 is
        # decided at 16:20 and typed given at 16:25, both before dose 1.
        pytest.param(
            DOSE_1_AT - 10 * MIN, DOSE_1_AT - 5 * MIN, id="before-dose-1-the-clock-set-back"
        ),
    ],
)
def test_a_dose_recorded_given_before_the_previous_dose_is_refused(
    order, day, time_machine, decided_at, given_at
):
    # Given dose 1 given at 16:30 New York time, then dose 2 assessed and decided "give"
    give_next(order, day, time_machine, DOSE_1_AT)
    time_machine.move_to(decided_at, tick=False)
    assessed = assess(order, day, GIVE)
    decide_il2_dose(assessed, choice=GIVE, actor=day.team.physician)
    assert assessed.dose.sequence == 2
    time_machine.move_to(given_at, tick=False)
    before, counts = seq(), rows()

    # When the nurse records dose 2 given at the time of dose 1, or before it
    with pytest.raises(Conflict) as refused:
        record_administration(
            assessed.dose, outcome=AdministrationOutcome.GIVEN, at=given_at, actor=day.team.nurse
        )

    # Then it is refused on the time, naming dose 1's time on the center's clock (the schedule
    # does not count dose 2 as dose 1); nothing is written
    assert refused.value.errors == {
        "at": [
            "IL-2 dose 2 must be given after the last dose recorded (Wed 16 Dec 2026 16:30 EST)."
        ]
    }
    assert (actions_since(before), rows()) == ([], counts)
    given = Administration.objects.filter(dose__order=order).values_list("dose__sequence", "at")
    assert list(given) == [(1, DOSE_1_AT)]
