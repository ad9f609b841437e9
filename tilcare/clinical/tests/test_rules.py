"""The hold/stop rule evaluator: three-valued logic, the safe decision rule, refusals.

The rule set below is built in Python from the renal, hemorrhagic and pulmonary (oxygen by mask)
rows of Dutcher et al., JITC 2014;2:26, Table 3 (relative criteria hold, absolute criteria stop),
so that the evaluator is tested apart from the TOML loader. The shipped rule-set files are tested
in tilcare/protocols/tests/test_rulesets.py.
"""

import re
from decimal import Decimal

import pytest

from tilcare.clinical.rule_evaluation import TriggeringValue, evaluate, evaluate_all
from tilcare.clinical.rules import (
    Action,
    AllOf,
    AnyOf,
    Comparison,
    Condition,
    CountMetaRule,
    CriteriaGap,
    Decision,
    InvalidObservation,
    ObservationSpec,
    Operator,
    Rule,
    RuleSet,
    RuleSetInvalid,
    Worse,
)
from tilcare.clinical.units import (
    FloatNotAllowed,
    ImplausibleInput,
    Quantity,
    Unit,
    UnitMismatch,
    mg_per_dl,
    umol_per_l,
)

SRC = "Dutcher 2014 Table 3"
CREATININE = "serum_creatinine_mg_per_dl"
PLATELETS = "platelets_per_mm3"
FRANK_BLOOD = "frank_blood_in_sputum_emesis_or_stool"
MASK = "mask_o2_percent"
D = Decimal
HIGHER, LOWER = Worse.HIGHER, Worse.LOWER


def compare(key: str, op: str, value: str) -> Comparison:
    return Comparison(key, Operator(op), value=D(value))


def between(key: str, low: str, high: str) -> Comparison:
    return Comparison(key, Operator.BETWEEN, low=D(low), high=D(high))


def finding(key: str) -> Comparison:
    return Comparison(key, Operator.IS_TRUE)


OBSERVATIONS = (
    ObservationSpec(CREATININE, "Serum creatinine", Unit.mg_per_dl, D(0), D(30), HIGHER),
    ObservationSpec(PLATELETS, "Platelet count", Unit.per_mm3, D(0), D(2000000), LOWER),
    ObservationSpec(FRANK_BLOOD, "Frank blood in sputum, emesis or stool", None),
    ObservationSpec("heme_positive_sputum_emesis_or_stool", "Heme-positive", None),
    ObservationSpec(MASK, "O₂ by mask, percent", Unit.percent, D(0), D(100), HIGHER),
)
RULES = (
    Rule(
        "cr-hold",
        "Renal",
        Action.HOLD,
        "creatinine 2.5–2.9 mg/dL",
        between(CREATININE, "2.5", "2.9"),
    ),
    Rule("cr-stop", "Renal", Action.STOP, "creatinine ≥ 3 mg/dL", compare(CREATININE, ">=", "3")),
    Rule(
        "plt-hold",
        "Hemorrhagic",
        Action.HOLD,
        "platelets 30,000–50,000/mm³",
        between(PLATELETS, "30000", "50000"),
    ),
    Rule(
        "bleed-stop",
        "Hemorrhagic",
        Action.STOP,
        "Frank blood in sputum, emesis or stool; platelets < 30,000/mm³",
        AnyOf((finding(FRANK_BLOOD), compare(PLATELETS, "<", "30000"))),
    ),
    Rule(
        "heme-hold",
        "Hemorrhagic",
        Action.HOLD,
        "Heme-positive sputum, emesis or stool",
        finding("heme_positive_sputum_emesis_or_stool"),
    ),
    Rule("mask-stop", "Pulmonary", Action.STOP, "40% by mask", compare(MASK, ">=", "40")),
)
GAP = CriteriaGap(
    "mask-gap",
    "Pulmonary",
    "O₂ by mask below 40%: the table names only '40% by mask'",
    AllOf((compare(MASK, ">", "0"), compare(MASK, "<", "40"))),
)
RULE_SET = RuleSet(
    "test-dutcher-rows", "1", "Renal and hemorrhagic rows", SRC, OBSERVATIONS, RULES, gaps=(GAP,)
)


def clear(**changes: Quantity | bool | None) -> dict[str, Quantity | bool]:
    """Observations meeting no criterion, with `changes` applied (None removes a key)."""
    values: dict[str, Quantity | bool | None] = {
        CREATININE: mg_per_dl("1.0"),
        PLATELETS: Quantity.of(150000, Unit.per_mm3),
        FRANK_BLOOD: False,
        "heme_positive_sputum_emesis_or_stool": False,
        MASK: Quantity.of(0, Unit.percent),
    }
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


# Platelets 30,000–50,000/mm³ meet the hemorrhagic hold criterion (Dutcher 2014 Table 3).
HOLD_PLATELETS = Quantity.of(40000, Unit.per_mm3)


@pytest.mark.parametrize(
    ("creatinine", "decision", "fired"),
    [
        pytest.param("2.4", Decision.GIVE, (), id="Dutcher2014-T3: creatinine 2.4 fires no rule"),
        pytest.param(
            "2.5",
            Decision.HOLD,
            ("cr-hold",),
            id="Dutcher2014-T3: creatinine 2.5–2.9 holds (low edge)",
        ),
        pytest.param(
            "2.9",
            Decision.HOLD,
            ("cr-hold",),
            id="Dutcher2014-T3: creatinine 2.5–2.9 holds (high edge)",
        ),
        # Corrected reading (Dutcher 2014 Table 3): "Creatinine 2.5-2.9 mg/dL" and "≥ 3 mg/dL"
        # are one-decimal bands, so the hold band is [2.5, 3.0): 2.95 holds (it used to be
        # "between criteria: clinician review").
        pytest.param(
            "2.95",
            Decision.HOLD,
            ("cr-hold",),
            id="Dutcher2014-T3: creatinine 2.95 is past the hold band's far end and holds",
        ),
        pytest.param(
            "2.99",
            Decision.HOLD,
            ("cr-hold",),
            id="Dutcher2014-T3: creatinine 2.99 holds ([2.5, 3.0))",
        ),
        pytest.param(
            "3.0",
            Decision.STOP,
            ("cr-hold", "cr-stop"),
            id="Dutcher2014-T3: creatinine ≥ 3 stops",
        ),
    ],
)
def test_creatinine_bands(creatinine: str, decision: Decision, fired: tuple[str, ...]) -> None:
    result = evaluate(RULE_SET, clear(serum_creatinine_mg_per_dl=mg_per_dl(creatinine)))
    assert result.decision is decision
    assert tuple(f.rule_id for f in result.fired) == fired
    assert result.not_assessed == ()


def test_fired_rule_reports_value_and_criterion_text() -> None:
    # Dutcher 2014 Table 3: "creatinine ≥ 3 mg/dL" is absolute (stop).
    result = evaluate(RULE_SET, clear(serum_creatinine_mg_per_dl=mg_per_dl("3.0")))
    hold, stop = result.fired
    assert hold.triggering_values == (
        TriggeringValue(
            CREATININE,
            mg_per_dl("3.0"),
            "above 2.5–2.9 mg/dL: past the band's far end, so it meets it",
        ),
    )
    assert stop.action is Action.STOP
    assert stop.source_text == "creatinine ≥ 3 mg/dL"
    assert stop.triggering_values == (TriggeringValue(CREATININE, mg_per_dl("3.0"), "≥ 3 mg/dL"),)
    assert result.reason == "Stop: Renal: creatinine ≥ 3 mg/dL."
    assert result.minimum_action is Action.STOP
    assert result.rule_set_id == "test-dutcher-rows"
    assert result.source == SRC


def test_between_criteria_names_the_gap_and_the_value() -> None:
    # Dutcher 2014 Table 3 names only "40% by mask" (stop): 30% by mask meets no criterion.
    thirty = Quantity.of(30, Unit.percent)
    result = evaluate(RULE_SET, clear(mask_o2_percent=thirty))
    (gap,) = result.between_criteria
    assert gap.gap_id == "mask-gap"
    assert [v.value for v in gap.values] == [thirty, thirty]
    assert result.decision is Decision.CLINICIAN_REVIEW
    assert result.minimum_action is None
    assert result.reason == (
        "Between criteria: clinician review. "
        "Pulmonary: O₂ by mask below 40%: the table names only '40% by mask'"
    )


@pytest.mark.parametrize(
    ("platelets", "decision", "fired"),
    [
        pytest.param(50001, Decision.GIVE, (), id="Dutcher2014-T3: platelets 50,001 no rule"),
        pytest.param(
            50000, Decision.HOLD, ("plt-hold",), id="Dutcher2014-T3: platelets 50,000 holds"
        ),
        pytest.param(
            30000, Decision.HOLD, ("plt-hold",), id="Dutcher2014-T3: platelets 30,000 holds"
        ),
        pytest.param(
            # Below the hold band's far end the hold band is met too; the stop prevails.
            29999,
            Decision.STOP,
            ("plt-hold", "bleed-stop"),
            id="Dutcher2014-T3: platelets 29,999 stops",
        ),
    ],
)
def test_platelet_bands(platelets: int, decision: Decision, fired: tuple[str, ...]) -> None:
    result = evaluate(RULE_SET, clear(platelets_per_mm3=Quantity.of(platelets, Unit.per_mm3)))
    assert result.decision is decision
    assert tuple(f.rule_id for f in result.fired) == fired


def test_any_of_reports_only_the_parts_that_fired() -> None:
    # Dutcher 2014 Table 3, hemorrhagic absolute: frank blood with normal platelets.
    result = evaluate(RULE_SET, clear(frank_blood_in_sputum_emesis_or_stool=True))
    (stop,) = result.fired
    assert stop.triggering_values == (TriggeringValue(FRANK_BLOOD, True, "is true"),)


# Missing observations: never read as "fine" ---------------------------------------------------


def test_nothing_given_cannot_decide_and_names_every_observation() -> None:
    result = evaluate(RULE_SET, {})
    assert result.decision is Decision.CANNOT_DECIDE
    assert result.minimum_action is None
    assert result.fired == ()
    assert len(result.not_assessed) == len(RULES)
    assert result.missing_observations == tuple(sorted(o.key for o in OBSERVATIONS))
    assert result.decisive_missing_observations == result.missing_observations


def test_missing_creatinine_blocks_give() -> None:
    # Dutcher 2014 Table 3: creatinine can hold or stop, so without it the dose cannot be given.
    result = evaluate(RULE_SET, clear(serum_creatinine_mg_per_dl=None))
    assert result.decision is Decision.CANNOT_DECIDE
    assert [u.rule_id for u in result.not_assessed] == ["cr-hold", "cr-stop"]
    assert result.not_assessed[0].missing_observations == (CREATININE,)
    assert result.decisive_missing_observations == (CREATININE,)
    assert result.between_criteria == ()
    assert result.reason == (
        "Cannot decide: 2 criteria that could hold or stop were not assessed. "
        "Missing: serum_creatinine_mg_per_dl."
    )


def test_hold_met_and_stop_unassessed_cannot_decide_but_never_give() -> None:
    # Dutcher 2014 Table 3: platelets 40,000 hold; creatinine (which can stop) missing.
    result = evaluate(
        RULE_SET,
        clear(platelets_per_mm3=HOLD_PLATELETS, serum_creatinine_mg_per_dl=None),
    )
    assert result.decision is Decision.CANNOT_DECIDE
    assert result.minimum_action is Action.HOLD
    assert result.decisive_missing_observations == (CREATININE,)
    assert "Cannot decide: 1 criterion that could stop was not assessed." in result.reason
    assert result.reason.endswith(
        "Hold criteria met (Hemorrhagic: platelets 30,000–50,000/mm³): do not give."
    )


def test_hold_met_and_only_a_hold_rule_unassessed_holds() -> None:
    # Dutcher 2014 Table 3: heme-positive finding missing cannot make a hold any stricter.
    result = evaluate(
        RULE_SET, clear(platelets_per_mm3=HOLD_PLATELETS, heme_positive_sputum_emesis_or_stool=None)
    )
    assert result.decision is Decision.HOLD
    assert result.missing_observations == ("heme_positive_sputum_emesis_or_stool",)
    assert result.decisive_missing_observations == ()
    assert [u.rule_id for u in result.not_assessed] == ["heme-hold"]


def test_stop_met_stands_with_missing_data_still_reported() -> None:
    # Dutcher 2014 Table 3: frank blood is absolute; missing creatinine cannot change a stop.
    result = evaluate(
        RULE_SET,
        clear(frank_blood_in_sputum_emesis_or_stool=True, serum_creatinine_mg_per_dl=None),
    )
    assert result.decision is Decision.STOP
    assert result.missing_observations == (CREATININE,)
    assert result.decisive_missing_observations == ()


@pytest.mark.parametrize(
    ("changes", "state"),
    [
        # Kleene logic: a missing part only matters when it could change the outcome.
        pytest.param(
            {PLATELETS: 20000, FRANK_BLOOD: None}, "fired", id="any_of true despite missing part"
        ),
        pytest.param({PLATELETS: 150000, FRANK_BLOOD: None}, "not assessed", id="any_of unknown"),
        pytest.param({PLATELETS: None, FRANK_BLOOD: True}, "fired", id="any_of true other part"),
    ],
)
def test_three_valued_any_of(changes: dict[str, int | bool | None], state: str) -> None:
    values = clear()
    for key, value in changes.items():
        values.pop(key, None)
        if isinstance(value, bool):
            values[key] = value
        elif value is not None:
            values[key] = Quantity.of(value, Unit.per_mm3)
    result = evaluate(RULE_SET, values)
    fired = "bleed-stop" in [f.rule_id for f in result.fired]
    unassessed = "bleed-stop" in [u.rule_id for u in result.not_assessed]
    assert (fired, unassessed) == (state == "fired", state == "not assessed")


def test_all_of_false_part_settles_it_despite_missing_part() -> None:
    # Gap condition: creatinine 1.0 is not > 2.9, so the gap is false whatever else is missing.
    rule_set = RuleSet(
        "t",
        "1",
        "t",
        SRC,
        OBSERVATIONS,
        (
            Rule(
                "r",
                "Renal",
                Action.HOLD,
                "t",
                AllOf((compare(CREATININE, ">", "2.9"), finding(FRANK_BLOOD))),
            ),
        ),
    )
    result = evaluate(rule_set, {CREATININE: mg_per_dl("1.0")})
    assert result.decision is Decision.GIVE
    assert result.not_assessed == ()


# Count meta-rules -------------------------------------------------------------------------------

# Fixture shaped like the SpringerPlus 2015 meta-rule ("stops therapy for ≥ 3 relative criteria"),
# applied to the Dutcher rows above with a threshold of 2 so that two hold rules can reach it.
META = CountMetaRule("two-holds-stop", Action.STOP, "≥ 2 relative criteria", 2, Action.HOLD)
META_SET = RuleSet("t-meta", "1", "t", SRC, OBSERVATIONS, RULES, meta_rules=(META,))


def test_count_meta_rule_fires_and_names_the_counted_rules() -> None:
    result = evaluate(
        META_SET, clear(platelets_per_mm3=HOLD_PLATELETS, heme_positive_sputum_emesis_or_stool=True)
    )
    assert result.decision is Decision.STOP
    assert result.fired[-1].rule_id == "two-holds-stop"
    assert result.fired[-1].counted_rule_ids == ("plt-hold", "heme-hold")
    assert result.fired[-1].system == "all systems"


def test_count_meta_rule_unassessed_when_missing_holds_could_reach_the_count() -> None:
    result = evaluate(
        META_SET,
        clear(platelets_per_mm3=HOLD_PLATELETS, serum_creatinine_mg_per_dl=None),
    )
    assert result.decision is Decision.CANNOT_DECIDE
    assert "two-holds-stop" in [u.rule_id for u in result.not_assessed]


def test_count_meta_rule_below_count_with_nothing_missing_holds() -> None:
    result = evaluate(META_SET, clear(platelets_per_mm3=HOLD_PLATELETS))
    assert result.decision is Decision.HOLD


# Refusals ---------------------------------------------------------------------------------------


def test_creatinine_in_umol_per_l_is_refused_not_converted() -> None:
    with pytest.raises(UnitMismatch, match="µmol/L and mg/dL"):
        evaluate(RULE_SET, clear(serum_creatinine_mg_per_dl=umol_per_l("265")))


def test_platelets_in_e9_per_l_are_refused_not_converted() -> None:
    with pytest.raises(UnitMismatch, match="×10⁹/L and /mm³"):
        evaluate(RULE_SET, clear(platelets_per_mm3=Quantity.of(40, Unit.e9_per_l)))


def test_float_observation_is_refused() -> None:
    values: dict[str, object] = {**clear(), CREATININE: 2.5}
    with pytest.raises(
        FloatNotAllowed, match=re.escape("serum_creatinine_mg_per_dl 2.5 is a float")
    ):
        evaluate(RULE_SET, values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        (CREATININE, D("2.5"), "must be a Quantity in mg/dL"),
        (CREATININE, True, "must be a Quantity in mg/dL"),
        (FRANK_BLOOD, mg_per_dl("1"), "is a finding: give True or False"),
        (FRANK_BLOOD, 1, "is a finding: give True or False"),
        ("serum_creatinine", mg_per_dl("1"), "Unknown observation 'serum_creatinine'"),
    ],
)
def test_wrong_kind_or_unknown_observation_is_refused(
    key: str, value: object, message: str
) -> None:
    with pytest.raises(InvalidObservation, match=message):
        evaluate(RULE_SET, {**clear(), key: value})  # type: ignore[dict-item]


def test_negative_value_is_implausible_and_names_field_and_limit() -> None:
    with pytest.raises(
        ImplausibleInput, match=r"serum_creatinine_mg_per_dl -1 mg/dL is below the minimum 0 mg/dL"
    ):
        evaluate(RULE_SET, clear(serum_creatinine_mg_per_dl=mg_per_dl("-1")))


def _one_hold_rule(condition: Condition) -> RuleSet:
    """A rule set over the test observations whose only rule holds on `condition`."""
    return RuleSet("t", "1", "t", SRC, OBSERVATIONS, (Rule("r", "R", Action.HOLD, "t", condition),))


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: ObservationSpec("creatinine", "x", Unit.mg_per_dl),
            "must contain its unit name 'mg_per_dl'",
        ),
        (lambda: ObservationSpec("Creatinine_mg_per_dl", "x", Unit.mg_per_dl), "lower_snake_case"),
        (lambda: ObservationSpec("sob", "x", None, minimum=D(0)), "cannot have a minimum"),
        (lambda: Comparison(CREATININE, Operator.BETWEEN, low=D(1)), r"needs \['high', 'low'\]"),
        (lambda: Comparison(CREATININE, Operator.GE, value=D(3), low=D(1)), r"needs \['value'\]"),
        (
            lambda: Comparison(CREATININE, Operator.BETWEEN, low=D(3), high=D(2)),
            "low is above high",
        ),
        (lambda: Comparison(CREATININE, Operator.IS_TRUE, value=D(1)), "no threshold"),
        (lambda: AllOf(()), "AllOf needs at least one condition"),
        (lambda: CountMetaRule("m", Action.STOP, "t", 0, Action.HOLD), "at least 1"),
        (
            lambda: RuleSet("t", "1", "t", SRC, OBSERVATIONS, (RULES[0], RULES[0])),
            r"duplicate rule id \['cr-hold'\]",
        ),
        (
            lambda: RuleSet("t", "1", "t", SRC, OBSERVATIONS[1:], RULES),
            "cr-hold: unknown observation 'serum_creatinine_mg_per_dl'",
        ),
        (
            lambda: _one_hold_rule(finding(CREATININE)),
            "'is_true' cannot be used on the measurement",
        ),
        (
            lambda: _one_hold_rule(compare(FRANK_BLOOD, ">", "1")),
            "'>' cannot be used on the finding",
        ),
        (lambda: RuleSet("t", "1", "t", SRC, OBSERVATIONS, ()), "has no rules"),
        (
            lambda: ObservationSpec(CREATININE, "x", Unit.mg_per_dl, minimum=D(0)),
            "needs a plausible minimum and maximum .* missing: maximum, worse",
        ),
        (
            lambda: ObservationSpec(FRANK_BLOOD, "x", None, worse=HIGHER),
            "cannot have a minimum, maximum or worse direction",
        ),
        (
            # Platelets get worse as they fall (Dutcher 2014 Table 3: "platelets < 30,000/mm³"
            # stops), so a rule reading "platelets > x" would soften as the count falls.
            lambda: _one_hold_rule(compare(PLATELETS, ">", "50000")),
            "does not read it in the direction it gets worse \\(lower\\)",
        ),
        (
            lambda: _one_hold_rule(compare(CREATININE, "==", "3")),
            "'==' on 'serum_creatinine_mg_per_dl' does not read it in the direction",
        ),
    ],
)
def test_malformed_rule_set_parts_are_refused(build: object, message: str) -> None:
    assert callable(build)
    with pytest.raises(RuleSetInvalid, match=message):
        build()


def test_float_threshold_is_refused() -> None:
    with pytest.raises(FloatNotAllowed):
        Comparison(CREATININE, Operator.GE, value=3.0)  # type: ignore[arg-type]


def test_hold_met_and_value_between_criteria_asks_for_review_and_never_give() -> None:
    # Dutcher 2014 Table 3: platelets 40,000 hold; 30% O₂ by mask meets no pulmonary criterion.
    result = evaluate(
        RULE_SET,
        clear(platelets_per_mm3=HOLD_PLATELETS, mask_o2_percent=Quantity.of(30, Unit.percent)),
    )
    assert result.decision is Decision.CLINICIAN_REVIEW
    assert result.minimum_action is Action.HOLD
    assert result.reason == (
        "Between criteria: clinician review. Pulmonary: O₂ by mask below 40%: the table names "
        "only '40% by mask' Hold criteria met (Hemorrhagic: platelets 30,000–50,000/mm³): "
        "do not give."
    )


def test_hold_reason_names_the_criteria_met() -> None:
    # Dutcher 2014 Table 3: two relative (hold) criteria.
    result = evaluate(
        RULE_SET, clear(platelets_per_mm3=HOLD_PLATELETS, heme_positive_sputum_emesis_or_stool=True)
    )
    assert result.decision is Decision.HOLD
    assert result.reason == (
        "Hold: Hemorrhagic: platelets 30,000–50,000/mm³; "
        "Hemorrhagic: Heme-positive sputum, emesis or stool."
    )


# A set covering only some organ systems never clears a dose alone ---------------------------------

# Shaped like Betof Warner et al., JITC 2024;12:e008735, Table 2, which "covers blood pressure and
# kidney only, so it cannot decide a dose alone": the renal row of the fixture, marked partial.
RENAL_ONLY = RuleSet(
    "t-renal",
    "1",
    "Renal rows",
    SRC,
    OBSERVATIONS[:1],
    RULES[:2],
    covers_only="kidney function",
)


def test_partial_set_with_nothing_met_cannot_decide_and_says_why() -> None:
    result = evaluate(RENAL_ONLY, {CREATININE: mg_per_dl("1.0")})
    assert result.decision is Decision.CANNOT_DECIDE
    assert result.minimum_action is None
    assert result.missing_observations == ()
    assert result.covers_only == "kidney function"
    assert result.reason == (
        "Cannot decide from these criteria alone: every one was assessed and none is met, but "
        "Renal rows covers only kidney function. Check the dose against the criteria for the "
        "other organ systems before giving it."
    )


def test_partial_set_still_holds_and_stops() -> None:
    # Dutcher 2014 Table 3 renal rows: 2.6 mg/dL holds, 3.1 mg/dL stops.
    hold = evaluate(RENAL_ONLY, {CREATININE: mg_per_dl("2.6")})
    stop = evaluate(RENAL_ONLY, {CREATININE: mg_per_dl("3.1")})
    assert (hold.decision, stop.decision) == (Decision.HOLD, Decision.STOP)


# A protocol's decision over several rule sets --------------------------------------------------


def _stops_on_finding(
    set_id: str,
    title: str,
    source: str,
    spec: ObservationSpec,
    rule_id: str,
    system: str,
    covers_only: str,
) -> RuleSet:
    """A partial rule set (version 1) of one yes/no finding whose presence stops."""
    rule = Rule(rule_id, system, Action.STOP, "t", finding(spec.key))
    return RuleSet(set_id, "1", title, source, (spec,), (rule,), covers_only=covers_only)


def test_all_sets_give_only_when_every_criterion_is_assessed_and_a_complete_set_clears() -> None:
    result = evaluate_all((RULE_SET, RENAL_ONLY), clear())
    assert result.decision is Decision.GIVE
    assert [e.decision for e in result.evaluations] == [Decision.GIVE, Decision.CANNOT_DECIDE]
    assert result.reason == "Give: every criterion of every rule set was assessed and none is met."
    assert result.rule_set_ids == ("test-dutcher-rows", "t-renal")


def test_only_partial_sets_never_give() -> None:
    result = evaluate_all((RENAL_ONLY,), {CREATININE: mg_per_dl("1.0")})
    assert result.decision is Decision.CANNOT_DECIDE
    assert result.reason.startswith("Cannot decide from these criteria alone")


def test_the_strictest_set_decides() -> None:
    # Dutcher 2014 Table 3: platelets 40,000 hold; Betof Warner 2024 Table 2: "If persistent low
    # creatinine clearance, we generally recommend discontinuation of IL-2" stops, and prevails.
    crcl = ObservationSpec("creatinine_clearance_persistently_low", "CrCl persistently low", None)
    stop_set = _stops_on_finding(
        "t-stop", "t", "Betof Warner 2024 Table 2", crcl, "crcl-stop", "Renal", "kidney function"
    )
    result = evaluate_all(
        (RULE_SET, stop_set),
        {**clear(platelets_per_mm3=HOLD_PLATELETS), crcl.key: True},
    )
    assert [e.decision for e in result.evaluations] == [Decision.HOLD, Decision.STOP]
    assert result.decision is Decision.STOP
    assert result.minimum_action is Action.STOP
    assert result.reason == "Stop: Renal: t."


def test_an_unanswered_criterion_of_any_set_keeps_cannot_decide() -> None:
    # The complete set has every value; the partial set's creatinine is shared, but a criterion
    # only the second set reads (a finding) is missing.
    extra = ObservationSpec("hypotension_persisting_despite_fluids", "Hypotension persists", None)
    bp_set = _stops_on_finding("t-bp", "Blood pressure", SRC, extra, "bp", "BP", "blood pressure")
    result = evaluate_all((RULE_SET, bp_set), clear())
    assert result.decision is Decision.CANNOT_DECIDE
    assert result.decisive_missing_observations == ("hypotension_persisting_despite_fluids",)


def test_all_sets_refuse_an_observation_no_set_declares() -> None:
    with pytest.raises(InvalidObservation, match="Unknown observation 'heart_rate_per_min'"):
        evaluate_all((RULE_SET,), {"heart_rate_per_min": Quantity.of(90, Unit.per_min)})


def test_all_sets_refuse_one_key_declared_two_ways() -> None:
    other = ObservationSpec(CREATININE, "Serum creatinine", Unit.mg_per_dl, D(0), D(20), HIGHER)
    rule = Rule("r", "Renal", Action.STOP, "t", compare(CREATININE, ">=", "3"))
    differing = RuleSet("t-other", "1", "t", SRC, (other,), (rule,))
    with pytest.raises(RuleSetInvalid, match="declared with a different unit, range"):
        evaluate_all((RULE_SET, differing), clear())
