"""CTCAE v5.0 clinician-question grades against the NCI CTEP workbook grade texts.

CTCAE v5.0 front matter, p. 1: "A Semi-colon indicates 'or' within the description of the
grade." Each grade below is met when any one of its ";"-separated parts is met, and the grade is
the highest one met. Expected grades restate the workbook texts (clinical-reference.md §4.2 and
§12) independently of the module's rule data; every combination of answers of every question set
is checked, and every part of every grade text in the catalogue is checked on its own.
"""

import dataclasses
import itertools
from collections.abc import Callable, Mapping

import pytest

from tilcare.clinical.grading.ctcae_v5_0 import MissingInput
from tilcare.clinical.grading.ctcae_v5_0_questions import (
    SEMICOLON_MEANS_OR,
    QuestionSet,
    UnknownAnswer,
    UnmatchedAnswers,
    grade_from_answers,
    question_set,
    question_sets,
)

SRC = "CTCAE v5.0 workbook"
FRONT_MATTER = "A Semi-colon indicates 'or' within the description of the grade."
Answers = Mapping[str, str]


def expected_hypotension(a: Answers) -> int | None:
    # 5 Death; 4 Life-threatening consequences and urgent intervention indicated;
    # 3 Medical intervention indicated; hospitalization indicated (either);
    # 2 Non-urgent medical intervention indicated (the non-urgent treatment, not grade 3's);
    # 1 Asymptomatic, intervention not indicated (a comma: both).
    if a["died"] == "yes":
        return 5
    if a["life_threatening"] == "yes":
        return 4
    if a["treatment"] == "urgent" or a["hospitalization"] == "yes":
        return 3
    if a["treatment"] == "non_urgent":
        return 2
    if a["treatment"] == "none" and a["symptoms"] == "no":
        return 1
    return None


def expected_capillary_leak(a: Answers) -> int | None:
    # 5 Death; 4 Life-threatening consequences; urgent intervention indicated (either);
    # 3 Severe symptoms; intervention indicated (either); 2 Symptomatic; medical intervention
    # indicated (either); 1 Asymptomatic.
    if a["died"] == "yes":
        return 5
    if a["life_threatening"] == "yes" or a["intervention"] == "urgent":
        return 4
    if a["symptoms"] == "severe" or a["intervention"] == "other":
        return 3
    if a["symptoms"] == "symptomatic" or a["intervention"] == "medical":
        return 2
    if a["symptoms"] == "none":
        return 1
    return None


def expected_hypoxia(a: Answers) -> int | None:
    # 5 Death; 4 Life-threatening airway compromise; urgent intervention indicated (either);
    # 3 Decreased oxygen saturation at rest; 2 Decreased oxygen saturation with exercise;
    # intermittent supplemental oxygen (either); no grade 1, so no desaturation and no oxygen
    # -> 0; continuous oxygen with saturation not decreased matches no text.
    if a["died"] == "yes":
        return 5
    if a["airway_compromise"] == "yes" or a["urgent_intervention"] == "yes":
        return 4
    if a["saturation"] == "at_rest":
        return 3
    if a["saturation"] == "with_exercise" or a["oxygen"] == "intermittent":
        return 2
    if a["saturation"] == "not_decreased" and a["oxygen"] == "none":
        return 0
    return None


def expected_sinus_tachycardia(a: Answers) -> int | None:
    # 3 Urgent medical intervention indicated; 2 Symptomatic; non-urgent medical intervention
    # indicated (either); 1 Asymptomatic, intervention not indicated; no grades 4 and 5.
    if a["treatment"] == "urgent":
        return 3
    if a["symptoms"] == "yes" or a["treatment"] == "non_urgent":
        return 2
    if a["symptoms"] == "no" and a["treatment"] == "none":
        return 1
    return None


EXPECTED: dict[str, Callable[[Answers], int | None]] = {
    "hypotension": expected_hypotension,
    "capillary_leak_syndrome": expected_capillary_leak,
    "hypoxia": expected_hypoxia,
    "sinus_tachycardia": expected_sinus_tachycardia,
}


def all_answer_paths(qs: QuestionSet) -> list[dict[str, str]]:
    ids = [q.id for q in qs.questions]
    choices = [[o.id for o in q.options] for q in qs.questions]
    return [dict(zip(ids, combo, strict=True)) for combo in itertools.product(*choices)]


PATHS = [
    pytest.param(qs.id, answers, id=f"{qs.id}-{'-'.join(answers.values())}-{SRC}")
    for qs in question_sets()
    for answers in all_answer_paths(qs)
]


def test_the_four_terms_are_offered_in_order() -> None:
    assert [(qs.id, qs.term.term) for qs in question_sets()] == [
        ("hypotension", "Hypotension"),
        ("capillary_leak_syndrome", "Capillary leak syndrome"),
        ("hypoxia", "Hypoxia"),
        ("sinus_tachycardia", "Sinus tachycardia"),
    ]
    assert sum(len(all_answer_paths(qs)) for qs in question_sets()) == 48 + 48 + 72 + 6


@pytest.mark.parametrize(("set_id", "answers"), PATHS)
def test_every_answer_path(set_id: str, answers: dict[str, str]) -> None:
    # Given a complete set of answers; when graded; then the highest grade any ";"-part of
    # whose workbook text the answers meet, or a refusal naming the answers when none is met.
    expected = EXPECTED[set_id](answers)
    if expected is None:
        with pytest.raises(UnmatchedAnswers, match="grade this case by clinical judgement"):
            grade_from_answers(set_id, answers)
        return
    result = grade_from_answers(set_id, answers)
    assert result.grade == expected
    qs = question_set(set_id)
    labels = {q.id: q.option(answers[q.id]).label for q in qs.questions}
    assert dict(result.values) == labels
    if expected:
        assert result.grade_text == qs.term.grade_text(expected)
        assert result.rule.startswith(f"'{result.grade_text}': grade {expected}, met by '")
    else:
        assert result.grade_text is None
        assert result.rule.startswith("no hypoxia: grade 0, met by ")


# Every ";"-part of every grade text, on its own ------------------------------------------------

# The mildest answer to every question: no death, nothing life-threatening, nothing given.
MILDEST: dict[str, dict[str, str]] = {
    "hypotension": {
        "died": "no",
        "life_threatening": "no",
        "treatment": "none",
        "hospitalization": "no",
        "symptoms": "no",
    },
    "capillary_leak_syndrome": {
        "died": "no",
        "life_threatening": "no",
        "symptoms": "none",
        "intervention": "none",
    },
    "hypoxia": {
        "died": "no",
        "airway_compromise": "no",
        "urgent_intervention": "no",
        "saturation": "not_decreased",
        "oxygen": "none",
    },
    "sinus_tachycardia": {"symptoms": "no", "treatment": "none"},
}
# The answers that state one part of a grade text, keyed by the part's verbatim workbook words.
PART_ANSWERS: dict[tuple[str, str], dict[str, str]] = {
    ("hypotension", "Death"): {"died": "yes"},
    ("hypotension", "Life-threatening consequences and urgent intervention indicated"): {
        "life_threatening": "yes"
    },
    ("hypotension", "Medical intervention indicated"): {"treatment": "urgent"},
    ("hypotension", "hospitalization indicated"): {"hospitalization": "yes"},
    ("hypotension", "Non-urgent medical intervention indicated"): {"treatment": "non_urgent"},
    ("hypotension", "Asymptomatic, intervention not indicated"): {},
    ("capillary_leak_syndrome", "Death"): {"died": "yes"},
    ("capillary_leak_syndrome", "Life-threatening consequences"): {"life_threatening": "yes"},
    ("capillary_leak_syndrome", "urgent intervention indicated"): {"intervention": "urgent"},
    ("capillary_leak_syndrome", "Severe symptoms"): {"symptoms": "severe"},
    ("capillary_leak_syndrome", "intervention indicated"): {"intervention": "other"},
    ("capillary_leak_syndrome", "Symptomatic"): {"symptoms": "symptomatic"},
    ("capillary_leak_syndrome", "medical intervention indicated"): {"intervention": "medical"},
    ("capillary_leak_syndrome", "Asymptomatic"): {},
    ("hypoxia", "Death"): {"died": "yes"},
    ("hypoxia", "Life-threatening airway compromise"): {"airway_compromise": "yes"},
    ("hypoxia", "urgent intervention indicated (e.g., tracheotomy or intubation)"): {
        "urgent_intervention": "yes"
    },
    (
        "hypoxia",
        "Decreased oxygen saturation at rest (e.g., pulse oximeter <88% or PaO2 <=55 mm Hg)",
    ): {"saturation": "at_rest"},
    ("hypoxia", "Decreased oxygen saturation with exercise (e.g., pulse oximeter <88%)"): {
        "saturation": "with_exercise"
    },
    ("hypoxia", "intermittent supplemental oxygen"): {"oxygen": "intermittent"},
    ("sinus_tachycardia", "Urgent medical intervention indicated"): {"treatment": "urgent"},
    ("sinus_tachycardia", "Symptomatic"): {"symptoms": "yes"},
    ("sinus_tachycardia", "non-urgent medical intervention indicated"): {"treatment": "non_urgent"},
    ("sinus_tachycardia", "Asymptomatic, intervention not indicated"): {},
}
CATALOGUE_PARTS = [
    pytest.param(qs.id, grade, part.strip(), id=f"{qs.id}-grade{grade}-{part.strip()}-{SRC}")
    for qs in question_sets()
    for grade in qs.term.available_grades
    for part in qs.term.grade_text(grade).split(";")
]


def test_the_walk_covers_every_part_of_every_grade_text() -> None:
    # Given the catalogue's grade texts of the four terms, split at ";"; then each part has its
    # answers here and nothing else does (a new or changed workbook text fails this test).
    walked = {(set_id, part) for set_id, _, part in (p.values for p in CATALOGUE_PARTS)}
    assert walked == set(PART_ANSWERS)
    assert len(CATALOGUE_PARTS) == 6 + 8 + 6 + 4


@pytest.mark.parametrize(("set_id", "grade", "part"), CATALOGUE_PARTS)
def test_each_part_of_a_grade_text_alone_reaches_that_grade(
    set_id: str, grade: int, part: str
) -> None:
    # CTCAE v5.0 front matter, p. 1: "A Semi-colon indicates 'or' within the description of the
    # grade." Given the mildest answers with only this part of the grade text stated; when
    # graded; then that grade, or a higher one only where a higher grade's part is also met.
    answers = {**MILDEST[set_id], **PART_ANSWERS[(set_id, part)]}
    expected = EXPECTED[set_id](answers)
    assert expected is not None and expected >= grade

    result = grade_from_answers(set_id, answers)

    assert result.grade == expected
    if expected == grade:
        assert f"'{part}' (" in result.rule
    assert (SEMICOLON_MEANS_OR in result.notes) == (";" in (result.grade_text or ""))
    assert FRONT_MATTER in SEMICOLON_MEANS_OR


def test_module_clauses_are_the_workbook_parts_verbatim() -> None:
    # The module's clause texts, joined with "; ", give back each workbook grade text.
    for qs in question_sets():
        for rule in qs.rules:
            if rule.grade == 0:
                continue
            joined = "; ".join(clause.text for clause in rule.clauses)
            assert joined == qs.term.grade_text(rule.grade), (qs.id, rule.grade)


@pytest.mark.parametrize(
    ("set_id", "answers", "grade", "rule"),
    [
        pytest.param(
            "capillary_leak_syndrome",
            {**MILDEST["capillary_leak_syndrome"], "intervention": "medical"},
            2,
            "'Symptomatic; medical intervention indicated': grade 2, met by 'medical "
            "intervention indicated' (intervention = Non-urgent medical treatment (for example "
            "medicines or fluids))",
            id=f"capillary-leak-asymptomatic-medical-intervention-grade-2-{SRC}",
        ),
        pytest.param(
            "hypoxia",
            {**MILDEST["hypoxia"], "oxygen": "intermittent"},
            2,
            "'Decreased oxygen saturation with exercise (e.g., pulse oximeter <88%); "
            "intermittent supplemental oxygen': grade 2, met by 'intermittent supplemental "
            "oxygen' (oxygen = Intermittent supplemental oxygen)",
            id=f"hypoxia-intermittent-oxygen-grade-2-{SRC}",
        ),
        pytest.param(
            "sinus_tachycardia",
            {"symptoms": "no", "treatment": "non_urgent"},
            2,
            "'Symptomatic; non-urgent medical intervention indicated': grade 2, met by "
            "'non-urgent medical intervention indicated' (treatment = Non-urgent medical "
            "treatment)",
            id=f"sinus-tachycardia-treated-asymptomatic-grade-2-{SRC}",
        ),
    ],
)
def test_one_part_of_a_grade_is_enough(
    set_id: str, answers: dict[str, str], grade: int, rule: str
) -> None:
    # CTCAE v5.0 front matter: "A Semi-colon indicates 'or' within the description of the grade."
    result = grade_from_answers(set_id, answers)
    assert (result.grade, result.rule) == (grade, rule)
    assert result.notes == (SEMICOLON_MEANS_OR,)


def test_both_parts_met_are_both_named() -> None:
    # Given symptoms and medical intervention (CTCAE v5.0 capillary leak grade 2, both parts).
    answers = {**MILDEST["capillary_leak_syndrome"], "symptoms": "symptomatic"}
    result = grade_from_answers("capillary_leak_syndrome", {**answers, "intervention": "medical"})
    assert result.rule == (
        "'Symptomatic; medical intervention indicated': grade 2, met by 'Symptomatic' (symptoms "
        "= Symptoms, not severe) and 'medical intervention indicated' (intervention = "
        "Non-urgent medical treatment (for example medicines or fluids))"
    )


def test_every_grade_of_every_term_is_reachable() -> None:
    for qs in question_sets():
        reached = {EXPECTED[qs.id](a) for a in all_answer_paths(qs)} - {None}
        assert reached - {0} == set(qs.term.available_grades), qs.id
    assert question_set("sinus_tachycardia").term.available_grades == (1, 2, 3)


@pytest.mark.parametrize(
    ("set_id", "answers", "rule"),
    [
        pytest.param(
            "hypotension",
            {**MILDEST["hypotension"], "treatment": "non_urgent", "symptoms": "yes"},
            "'Non-urgent medical intervention indicated': grade 2, met by 'Non-urgent medical "
            "intervention indicated' (treatment = Non-urgent medical treatment)",
            id=f"hypotension-grade-2-{SRC}",
        ),
        pytest.param(
            "hypotension",
            MILDEST["hypotension"],
            "'Asymptomatic, intervention not indicated': grade 1, met by 'Asymptomatic, "
            "intervention not indicated' (symptoms = No symptoms; treatment = No treatment "
            "needed; hospitalization = No)",
            id=f"hypotension-grade-1-{SRC}",
        ),
        pytest.param(
            "hypotension",
            {**MILDEST["hypotension"], "hospitalization": "yes"},
            "'Medical intervention indicated; hospitalization indicated': grade 3, met by "
            "'hospitalization indicated' (hospitalization = Yes)",
            id=f"hypotension-hospitalization-grade-3-{SRC}",
        ),
        pytest.param(
            "hypoxia",
            MILDEST["hypoxia"],
            "no hypoxia: grade 0, met by 'no decreased oxygen saturation and no supplemental "
            "oxygen' "
            "(saturation = Not decreased, at rest or with exercise; oxygen = No supplemental "
            "oxygen)",
            id=f"hypoxia-grade-0-{SRC}",
        ),
        pytest.param(
            "capillary_leak_syndrome",
            {
                "died": "yes",
                "life_threatening": "yes",
                "symptoms": "severe",
                "intervention": "other",
            },
            "'Death': grade 5, met by 'Death' (died = Yes, died)",
            id=f"capillary-leak-grade-5-{SRC}",
        ),
    ],
)
def test_rule_names_grade_text_and_deciding_answers(
    set_id: str, answers: dict[str, str], rule: str
) -> None:
    result = grade_from_answers(set_id, answers)
    assert result.rule == rule
    assert result.version == "CTCAE v5.0"
    assert result.source.startswith("NCI CTEP")


HYPOTENSION_OK = MILDEST["hypotension"]


def test_missing_answer_is_refused_naming_the_question() -> None:
    answers = {k: v for k, v in HYPOTENSION_OK.items() if k != "treatment"}
    with pytest.raises(MissingInput) as error:
        grade_from_answers("hypotension", answers)
    assert str(error.value) == (
        "Answer question 'treatment': Which medical treatment was needed for the low blood "
        "pressure?"
    )


def test_unknown_option_is_refused_naming_the_question_and_options() -> None:
    with pytest.raises(UnknownAnswer) as error:
        grade_from_answers("hypotension", {**HYPOTENSION_OK, "treatment": "pressors"})
    assert str(error.value) == (
        "Answer 'pressors' to question 'treatment' (Which medical treatment was needed for the "
        "low blood pressure?) is not one of 'none', 'non_urgent', 'urgent'."
    )


@pytest.mark.parametrize(
    ("set_id", "answers", "message"),
    [
        ("hypotension", {**HYPOTENSION_OK, "pressors": "yes"}, "has no question 'pressors'"),
        ("hypertension", HYPOTENSION_OK, "No CTCAE v5.0 question set 'hypertension'"),
        ("hypotension", {**HYPOTENSION_OK, "died": True}, "question 'died' must be an option"),
    ],
    ids=[f"refusal-{i}-{SRC}" for i in range(3)],
)
def test_unknown_questions_sets_and_answer_types_are_refused(
    set_id: str, answers: dict[str, object], message: str
) -> None:
    with pytest.raises(UnknownAnswer, match=message):
        grade_from_answers(set_id, answers)  # type: ignore[arg-type]


def test_unmatched_answers_are_named() -> None:
    # Symptomatic hypotension with no treatment: no CTCAE v5.0 workbook text describes it.
    with pytest.raises(UnmatchedAnswers) as error:
        grade_from_answers("hypotension", {**HYPOTENSION_OK, "symptoms": "yes"})
    assert str(error.value) == (
        "No CTCAE v5.0 'Hypotension' grade text matches these answers (died = No, did not die; "
        "life_threatening = No; treatment = No treatment needed; hospitalization = No; "
        "symptoms = Yes, symptoms); grade this case by clinical judgement."
    )


def test_question_set_data_is_consistent_and_frozen() -> None:
    for qs in question_sets():
        question_ids = [q.id for q in qs.questions]
        assert len(set(question_ids)) == len(question_ids)
        options = {q.id: {o.id for o in q.options} for q in qs.questions}
        for q in qs.questions:
            assert len(options[q.id]) == len(q.options) >= 2
            assert q.text.endswith("?")
        grades = [rule.grade for rule in qs.rules]
        assert grades == sorted(grades, reverse=True)
        for rule in qs.rules:
            assert rule.grade == 0 or rule.grade in qs.term.available_grades
            for clause in rule.clauses:
                for question_id, option_ids in clause.when:
                    assert set(option_ids) <= options[question_id]
    with pytest.raises(dataclasses.FrozenInstanceError):
        question_sets()[0].id = "x"  # type: ignore[misc]
