"""CTCAE v5.0 clinician-question grades against the NCI CTEP workbook grade texts.

Expected grades restate the workbook texts (clinical-reference.md §4.2) independently of the
module's rule data; every combination of answers of every question set is checked.
"""

import dataclasses
import itertools
from collections.abc import Callable, Mapping

import pytest

from tilcare.clinical.grading.ctcae_v5_0 import MissingInput
from tilcare.clinical.grading.ctcae_v5_0_questions import (
    QuestionSet,
    UnknownAnswer,
    UnmatchedAnswers,
    grade_from_answers,
    question_set,
    question_sets,
)

SRC = "CTCAE v5.0 workbook"
Answers = Mapping[str, str]


def expected_hypotension(a: Answers) -> int | None:
    # 5 Death; 4 Life-threatening consequences and urgent intervention indicated;
    # 3 Medical intervention indicated; hospitalization indicated;
    # 2 Non-urgent medical intervention indicated; 1 Asymptomatic, intervention not indicated.
    if a["died"] == "yes":
        return 5
    if a["life_threatening"] == "yes":
        return 4
    if a["treatment"] == "with_hospitalization":
        return 3
    if a["treatment"] == "non_urgent":
        return 2
    if a["treatment"] == "none" and a["symptoms"] == "no":
        return 1
    return None


def expected_capillary_leak(a: Answers) -> int | None:
    # 5 Death; 4 Life-threatening consequences; urgent intervention indicated;
    # 3 Severe symptoms; intervention indicated; 2 Symptomatic; medical intervention indicated;
    # 1 Asymptomatic.
    if a["died"] == "yes":
        return 5
    if a["life_threatening"] == "yes":
        return 4
    if a["symptoms"] == "severe" and a["intervention"] != "none":
        return 3
    if a["symptoms"] == "symptomatic" and a["intervention"] == "medical":
        return 2
    if a["symptoms"] == "none":
        return 1
    return None


def expected_hypoxia(a: Answers) -> int | None:
    # 5 Death; 4 Life-threatening airway compromise; urgent intervention indicated;
    # 3 Decreased oxygen saturation at rest; 2 Decreased oxygen saturation with exercise;
    # intermittent supplemental oxygen; no grade 1, so no desaturation and no oxygen -> 0.
    if a["died"] == "yes":
        return 5
    if a["airway_compromise"] == "yes":
        return 4
    if a["saturation"] == "at_rest":
        return 3
    if a["saturation"] == "with_exercise" and a["oxygen"] == "intermittent":
        return 2
    if a["saturation"] == "not_decreased" and a["oxygen"] == "none":
        return 0
    return None


def expected_sinus_tachycardia(a: Answers) -> int | None:
    # 3 Urgent medical intervention indicated; 2 Symptomatic; non-urgent medical intervention
    # indicated; 1 Asymptomatic, intervention not indicated; no grades 4 and 5.
    if a["treatment"] == "urgent":
        return 3
    if a["symptoms"] == "yes" and a["treatment"] == "non_urgent":
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
    assert sum(len(all_answer_paths(qs)) for qs in question_sets()) == 24 + 36 + 36 + 6


@pytest.mark.parametrize(("set_id", "answers"), PATHS)
def test_every_answer_path(set_id: str, answers: dict[str, str]) -> None:
    # Given a complete set of answers; when graded; then the grade the workbook text gives,
    # or a refusal naming the answers when no grade text describes them.
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
        assert result.rule.startswith(f"'{result.grade_text}': grade {expected}, set by ")
    else:
        assert result.grade_text is None
        assert result.rule.startswith("no hypoxia: grade 0, set by ")


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
            {"died": "no", "life_threatening": "no", "treatment": "non_urgent", "symptoms": "yes"},
            "'Non-urgent medical intervention indicated': grade 2, set by treatment = "
            "Non-urgent medical treatment",
            id=f"hypotension-grade-2-{SRC}",
        ),
        pytest.param(
            "hypotension",
            {"died": "no", "life_threatening": "no", "treatment": "none", "symptoms": "no"},
            "'Asymptomatic, intervention not indicated': grade 1, set by treatment = "
            "No treatment needed; symptoms = No symptoms",
            id=f"hypotension-grade-1-{SRC}",
        ),
        pytest.param(
            "hypoxia",
            {
                "died": "no",
                "airway_compromise": "no",
                "saturation": "with_exercise",
                "oxygen": "intermittent",
            },
            "'Decreased oxygen saturation with exercise (e.g., pulse oximeter <88%); "
            "intermittent supplemental oxygen': grade 2, set by saturation = Decreased with "
            "exercise; oxygen = Intermittent supplemental oxygen",
            id=f"hypoxia-grade-2-{SRC}",
        ),
        pytest.param(
            "capillary_leak_syndrome",
            {
                "died": "yes",
                "life_threatening": "yes",
                "symptoms": "severe",
                "intervention": "other",
            },
            "'Death': grade 5, set by died = Yes, died",
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


HYPOTENSION_OK = {"died": "no", "life_threatening": "no", "treatment": "none", "symptoms": "no"}


def test_missing_answer_is_refused_naming_the_question() -> None:
    answers = {k: v for k, v in HYPOTENSION_OK.items() if k != "treatment"}
    with pytest.raises(MissingInput) as error:
        grade_from_answers("hypotension", answers)
    assert str(error.value) == (
        "Answer question 'treatment': Which treatment was needed for the low blood pressure?"
    )


def test_unknown_option_is_refused_naming_the_question_and_options() -> None:
    with pytest.raises(UnknownAnswer) as error:
        grade_from_answers("hypotension", {**HYPOTENSION_OK, "treatment": "pressors"})
    assert str(error.value) == (
        "Answer 'pressors' to question 'treatment' (Which treatment was needed for the low "
        "blood pressure?) is not one of 'none', 'non_urgent', 'with_hospitalization'."
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
    assert "treatment = No treatment needed; symptoms = Yes, symptoms" in str(error.value)


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
            for question_id, option_ids in rule.when:
                assert set(option_ids) <= options[question_id]
    with pytest.raises(dataclasses.FrozenInstanceError):
        question_sets()[0].id = "x"  # type: ignore[misc]
