"""CTCAE v5.0 grades that need clinical context, from structured clinician answers.

Hypotension, capillary leak syndrome, hypoxia and sinus tachycardia have no numeric thresholds
in CTCAE v5.0 (reference notes §4.2: "the platform cannot derive these grades from vitals
alone"). Each is declared here as data: a `QuestionSet` with ordered questions (plain-language
text and answer options) and `GradeRule`s that restate the workbook grade texts as conditions on
the answers. A form can be rendered generically from `question_sets()`.

`grade_from_answers` applies the rules from the highest grade down; the first rule whose every
condition holds sets the grade. All questions must be answered; a missing or unknown answer is
refused naming the question. Where the answers match no grade text (e.g. symptomatic hypotension
with no intervention indicated: CTCAE v5.0 grade 1 reads "Asymptomatic, intervention not
indicated" and grade 2 "Non-urgent medical intervention indicated") the answers are refused,
naming them, rather than guessing a grade; the clinician grades that case by judgement.
Compound grade texts are read as all parts holding ("Medical intervention indicated;
hospitalization indicated" needs both). Grade 0 exists only for hypoxia, which has no grade 1:
saturation not decreased and no supplemental oxygen means no hypoxia by CTCAE v5.0.
Source: NCI CTEP CTCAE v5.0 workbook (see ctcae_v5_0.SOURCE). No rounding.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tilcare.clinical.grading.ctcae_v5_0 import CtcaeGrade, CtcaeTerm, MissingInput, term


class UnknownAnswer(ValueError):
    """An answer (or question set) that the question set does not offer; the message names it."""


class UnmatchedAnswers(ValueError):
    """Answers that no CTCAE v5.0 grade text describes; the message names the answers."""


@dataclass(frozen=True)
class AnswerOption:
    id: str
    label: str


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    options: tuple[AnswerOption, ...]

    def option(self, option_id: str) -> AnswerOption:
        for option in self.options:
            if option.id == option_id:
                return option
        offered = ", ".join(f"'{o.id}'" for o in self.options)
        raise UnknownAnswer(
            f"Answer '{option_id}' to question '{self.id}' ({self.text}) is not one of {offered}."
        )


@dataclass(frozen=True)
class GradeRule:
    """`grade` applies when each (question id, option ids) pair holds: the answer is one of them."""

    grade: int
    when: tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True)
class QuestionSet:
    id: str
    term_name: str
    questions: tuple[Question, ...]
    rules: tuple[GradeRule, ...]  # highest grade first; the first matching rule wins

    @property
    def term(self) -> CtcaeTerm:
        return term(self.term_name)


def _yes_no(question_id: str, text: str, yes: str, no: str) -> Question:
    return Question(question_id, text, (AnswerOption("no", no), AnswerOption("yes", yes)))


def _died(event: str) -> Question:
    return _yes_no(
        "died", f"Did the patient die because of the {event}?", "Yes, died", "No, did not die"
    )


def _urgent(question_id: str, text: str) -> Question:
    return _yes_no(question_id, text, "Yes", "No")


_HYPOTENSION = QuestionSet(
    id="hypotension",
    term_name="Hypotension",
    questions=(
        _died("low blood pressure"),
        _urgent(
            "life_threatening",
            "Did the low blood pressure have life-threatening consequences, with urgent "
            "intervention needed?",
        ),
        Question(
            "treatment",
            "Which treatment was needed for the low blood pressure?",
            (
                AnswerOption("none", "No treatment needed"),
                AnswerOption("non_urgent", "Non-urgent medical treatment"),
                AnswerOption("with_hospitalization", "Medical treatment and hospitalization"),
            ),
        ),
        _yes_no(
            "symptoms",
            "Did the low blood pressure cause symptoms?",
            "Yes, symptoms",
            "No symptoms",
        ),
    ),
    rules=(
        GradeRule(5, (("died", ("yes",)),)),
        GradeRule(4, (("life_threatening", ("yes",)),)),
        GradeRule(3, (("treatment", ("with_hospitalization",)),)),
        GradeRule(2, (("treatment", ("non_urgent",)),)),
        GradeRule(1, (("treatment", ("none",)), ("symptoms", ("no",)))),
    ),
)

_CAPILLARY_LEAK = QuestionSet(
    id="capillary_leak_syndrome",
    term_name="Capillary leak syndrome",
    questions=(
        _died("capillary leak"),
        _urgent(
            "life_threatening",
            "Did the capillary leak have life-threatening consequences, with urgent "
            "intervention needed?",
        ),
        Question(
            "symptoms",
            "How bad were the symptoms of the capillary leak?",
            (
                AnswerOption("none", "No symptoms"),
                AnswerOption("symptomatic", "Symptoms, not severe"),
                AnswerOption("severe", "Severe symptoms"),
            ),
        ),
        Question(
            "intervention",
            "Which intervention was needed for the capillary leak?",
            (
                AnswerOption("none", "No intervention needed"),
                AnswerOption("medical", "Medical treatment (for example medicines or fluids)"),
                AnswerOption("other", "Another intervention (for example a procedure)"),
            ),
        ),
    ),
    rules=(
        GradeRule(5, (("died", ("yes",)),)),
        GradeRule(4, (("life_threatening", ("yes",)),)),
        GradeRule(3, (("symptoms", ("severe",)), ("intervention", ("medical", "other")))),
        GradeRule(2, (("symptoms", ("symptomatic",)), ("intervention", ("medical",)))),
        GradeRule(1, (("symptoms", ("none",)),)),
    ),
)

_HYPOXIA = QuestionSet(
    id="hypoxia",
    term_name="Hypoxia",
    questions=(
        _died("lack of oxygen"),
        _urgent(
            "airway_compromise",
            "Was the airway compromised in a life-threatening way, with urgent intervention "
            "needed (for example tracheotomy or intubation)?",
        ),
        Question(
            "saturation",
            "When is the oxygen saturation decreased (for example pulse oximeter below 88%)?",
            (
                AnswerOption("not_decreased", "Not decreased, at rest or with exercise"),
                AnswerOption("with_exercise", "Decreased with exercise"),
                AnswerOption("at_rest", "Decreased at rest (or PaO2 55 mm Hg or lower)"),
            ),
        ),
        Question(
            "oxygen",
            "Is supplemental oxygen given?",
            (
                AnswerOption("none", "No supplemental oxygen"),
                AnswerOption("intermittent", "Intermittent supplemental oxygen"),
                AnswerOption("continuous", "Continuous supplemental oxygen"),
            ),
        ),
    ),
    rules=(
        GradeRule(5, (("died", ("yes",)),)),
        GradeRule(4, (("airway_compromise", ("yes",)),)),
        GradeRule(3, (("saturation", ("at_rest",)),)),
        GradeRule(2, (("saturation", ("with_exercise",)), ("oxygen", ("intermittent",)))),
        GradeRule(0, (("saturation", ("not_decreased",)), ("oxygen", ("none",)))),
    ),
)

_SINUS_TACHYCARDIA = QuestionSet(
    id="sinus_tachycardia",
    term_name="Sinus tachycardia",
    questions=(
        _yes_no(
            "symptoms",
            "Did the fast heart rate cause symptoms?",
            "Yes, symptoms",
            "No symptoms",
        ),
        Question(
            "treatment",
            "Which medical treatment was needed for the fast heart rate?",
            (
                AnswerOption("none", "No treatment needed"),
                AnswerOption("non_urgent", "Non-urgent medical treatment"),
                AnswerOption("urgent", "Urgent medical treatment"),
            ),
        ),
    ),
    rules=(
        GradeRule(3, (("treatment", ("urgent",)),)),
        GradeRule(2, (("symptoms", ("yes",)), ("treatment", ("non_urgent",)))),
        GradeRule(1, (("symptoms", ("no",)), ("treatment", ("none",)))),
    ),
)

_QUESTION_SETS = (_HYPOTENSION, _CAPILLARY_LEAK, _HYPOXIA, _SINUS_TACHYCARDIA)


def question_sets() -> tuple[QuestionSet, ...]:
    """Every question set, in a stable order, for a form to render."""
    return _QUESTION_SETS


def question_set(question_set_id: str) -> QuestionSet:
    for candidate in _QUESTION_SETS:
        if candidate.id == question_set_id:
            return candidate
    offered = ", ".join(f"'{q.id}'" for q in _QUESTION_SETS)
    raise UnknownAnswer(f"No CTCAE v5.0 question set '{question_set_id}' (offered: {offered}).")


def grade_from_answers(question_set_id: str, answers: Mapping[str, str]) -> CtcaeGrade:
    """Derive the CTCAE v5.0 grade from a complete set of answers (question id → option id)."""
    questions = question_set(question_set_id)
    asked = {q.id for q in questions.questions}
    extra = sorted(set(answers) - asked)
    if extra:
        raise UnknownAnswer(
            f"Question set '{questions.id}' has no question {', '.join(map(repr, extra))}."
        )
    chosen: dict[str, AnswerOption] = {}
    for question in questions.questions:
        if question.id not in answers:
            raise MissingInput(f"Answer question '{question.id}': {question.text}")
        answer = answers[question.id]
        if not isinstance(answer, str):
            raise UnknownAnswer(f"Answer to question '{question.id}' must be an option id text.")
        chosen[question.id] = question.option(answer)
    given = "; ".join(f"{qid} = {option.label}" for qid, option in chosen.items())
    the_term = questions.term
    for rule in questions.rules:
        if all(chosen[qid].id in option_ids for qid, option_ids in rule.when):
            text = the_term.grade_text(rule.grade) if rule.grade else None
            deciding = "; ".join(f"{qid} = {chosen[qid].label}" for qid, _ in rule.when)
            described = f"'{text}'" if text else f"no {the_term.term.lower()}"
            return CtcaeGrade(
                term=the_term,
                grade=rule.grade,
                rule=f"{described}: grade {rule.grade}, set by {deciding}",
                values={qid: option.label for qid, option in chosen.items()},
                grade_text=text,
            )
    raise UnmatchedAnswers(
        f"No CTCAE v5.0 '{the_term.term}' grade text matches these answers ({given}); "
        "grade this case by clinical judgement."
    )
