"""CTCAE v5.0 grades that need clinical context, from structured clinician answers.

Hypotension, capillary leak syndrome, hypoxia and sinus tachycardia have no numeric thresholds
in CTCAE v5.0 (reference notes §4.2: "the platform cannot derive these grades from vitals
alone"). Each is declared here as data: a `QuestionSet` with ordered questions (plain-language
text and answer options) and one `GradeRule` per grade whose `Clause`s restate the workbook
grade text, part by part, as conditions on the answers. A form can be rendered generically from
`question_sets()`.

Reading the grade texts. The CTCAE v5.0 front matter (p. 1) says: "A Semi-colon indicates 'or'
within the description of the grade." A grade text is therefore split at each ";" into clauses,
and the grade is met when ANY one clause is met ("Symptomatic; medical intervention indicated"
is met by symptoms alone, and by medical intervention alone). A comma does not split:
"Asymptomatic, intervention not indicated" is one clause needing both. The verbatim clause texts
are checked against the catalogue by the tests.

Where "or" makes two grades overlap, the question that separates them is asked, and the
highest grade met is the grade:
- hypotension grade 2 "Non-urgent medical intervention indicated" and grade 3 "Medical
  intervention indicated": the treatment question asks whether the medical treatment was
  non-urgent (grade 2) or urgent (grade 3); hospitalization is asked on its own (grade 3);
- capillary leak syndrome grade 2 "medical intervention indicated", grade 3 "intervention
  indicated" and grade 4 "urgent intervention indicated": the intervention question offers
  non-urgent medical treatment (2), another non-urgent intervention such as a procedure (3) and
  urgent intervention of any kind (4).

`grade_from_answers` evaluates every clause of every grade and returns the highest grade met,
naming each clause that met it. All questions must be answered; a missing or unknown answer is
refused naming the question. Where the answers meet no clause (symptomatic hypotension with no
treatment: grade 1 reads "Asymptomatic, intervention not indicated" and no other grade text
describes it) the answers are refused, naming them, rather than guessing a grade; the clinician
grades that case by judgement. Grade 0 exists only for hypoxia, which has no grade 1: saturation
not decreased and no supplemental oxygen means no hypoxia by CTCAE v5.0.
Source: NCI CTEP CTCAE v5.0 workbook (see ctcae_v5_0.SOURCE). No rounding.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tilcare.clinical.grading.ctcae_v5_0 import CtcaeGrade, CtcaeTerm, MissingInput, term

SEMICOLON_MEANS_OR = (
    "CTCAE v5.0 front matter: \"A Semi-colon indicates 'or' within the description of the "
    'grade." One part of a grade text separated by a semicolon is enough to meet the grade.'
)
NO_HYPOXIA = "no decreased oxygen saturation and no supplemental oxygen"


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


Condition = tuple[str, tuple[str, ...]]  # (question id, option ids: the answer is one of them)


@dataclass(frozen=True)
class Clause:
    """One ";"-separated part of a grade text (`text`, verbatim); met when every condition holds."""

    text: str
    when: tuple[Condition, ...]


@dataclass(frozen=True)
class GradeRule:
    """`grade` is met when any one of its clauses is met (CTCAE v5.0: ";" reads "or")."""

    grade: int
    clauses: tuple[Clause, ...]


@dataclass(frozen=True)
class QuestionSet:
    id: str
    term_name: str
    questions: tuple[Question, ...]
    rules: tuple[GradeRule, ...]  # highest grade first; the highest grade met is the grade

    @property
    def term(self) -> CtcaeTerm:
        return term(self.term_name)


def _yes_no(question_id: str, text: str, yes: str = "Yes", no: str = "No") -> Question:
    return Question(question_id, text, (AnswerOption("no", no), AnswerOption("yes", yes)))


def _died(event: str) -> Question:
    return _yes_no(
        "died", f"Did the patient die because of the {event}?", "Yes, died", "No, did not die"
    )


_DEATH = GradeRule(5, (Clause("Death", (("died", ("yes",)),)),))

_HYPOTENSION = QuestionSet(
    id="hypotension",
    term_name="Hypotension",
    questions=(
        _died("low blood pressure"),
        _yes_no(
            "life_threatening",
            "Did the low blood pressure have life-threatening consequences, with urgent "
            "intervention needed?",
        ),
        Question(
            "treatment",
            "Which medical treatment was needed for the low blood pressure?",
            (
                AnswerOption("none", "No treatment needed"),
                AnswerOption("non_urgent", "Non-urgent medical treatment"),
                AnswerOption("urgent", "Urgent medical treatment"),
            ),
        ),
        _yes_no("hospitalization", "Was hospitalization needed for the low blood pressure?"),
        _yes_no(
            "symptoms",
            "Did the low blood pressure cause symptoms?",
            "Yes, symptoms",
            "No symptoms",
        ),
    ),
    rules=(
        _DEATH,
        GradeRule(
            4,
            (
                Clause(
                    "Life-threatening consequences and urgent intervention indicated",
                    (("life_threatening", ("yes",)),),
                ),
            ),
        ),
        GradeRule(
            3,
            (
                Clause("Medical intervention indicated", (("treatment", ("urgent",)),)),
                Clause("hospitalization indicated", (("hospitalization", ("yes",)),)),
            ),
        ),
        GradeRule(
            2,
            (
                Clause(
                    "Non-urgent medical intervention indicated",
                    (("treatment", ("non_urgent",)),),
                ),
            ),
        ),
        GradeRule(
            1,
            (
                Clause(
                    "Asymptomatic, intervention not indicated",
                    (("symptoms", ("no",)), ("treatment", ("none",)), ("hospitalization", ("no",))),
                ),
            ),
        ),
    ),
)

_CAPILLARY_LEAK = QuestionSet(
    id="capillary_leak_syndrome",
    term_name="Capillary leak syndrome",
    questions=(
        _died("capillary leak"),
        _yes_no("life_threatening", "Did the capillary leak have life-threatening consequences?"),
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
                AnswerOption(
                    "medical", "Non-urgent medical treatment (for example medicines or fluids)"
                ),
                AnswerOption("other", "Another non-urgent intervention (for example a procedure)"),
                AnswerOption("urgent", "Urgent intervention of any kind"),
            ),
        ),
    ),
    rules=(
        _DEATH,
        GradeRule(
            4,
            (
                Clause("Life-threatening consequences", (("life_threatening", ("yes",)),)),
                Clause("urgent intervention indicated", (("intervention", ("urgent",)),)),
            ),
        ),
        GradeRule(
            3,
            (
                Clause("Severe symptoms", (("symptoms", ("severe",)),)),
                Clause("intervention indicated", (("intervention", ("other",)),)),
            ),
        ),
        GradeRule(
            2,
            (
                Clause("Symptomatic", (("symptoms", ("symptomatic", "severe")),)),
                Clause("medical intervention indicated", (("intervention", ("medical",)),)),
            ),
        ),
        GradeRule(1, (Clause("Asymptomatic", (("symptoms", ("none",)),)),)),
    ),
)

_HYPOXIA = QuestionSet(
    id="hypoxia",
    term_name="Hypoxia",
    questions=(
        _died("lack of oxygen"),
        _yes_no("airway_compromise", "Was the airway compromised in a life-threatening way?"),
        _yes_no(
            "urgent_intervention",
            "Was urgent intervention needed (for example tracheotomy or intubation)?",
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
        _DEATH,
        GradeRule(
            4,
            (
                Clause("Life-threatening airway compromise", (("airway_compromise", ("yes",)),)),
                Clause(
                    "urgent intervention indicated (e.g., tracheotomy or intubation)",
                    (("urgent_intervention", ("yes",)),),
                ),
            ),
        ),
        GradeRule(
            3,
            (
                Clause(
                    "Decreased oxygen saturation at rest (e.g., pulse oximeter <88% or PaO2 "
                    "<=55 mm Hg)",
                    (("saturation", ("at_rest",)),),
                ),
            ),
        ),
        GradeRule(
            2,
            (
                Clause(
                    "Decreased oxygen saturation with exercise (e.g., pulse oximeter <88%)",
                    (("saturation", ("with_exercise",)),),
                ),
                Clause("intermittent supplemental oxygen", (("oxygen", ("intermittent",)),)),
            ),
        ),
        GradeRule(
            0,
            (Clause(NO_HYPOXIA, (("saturation", ("not_decreased",)), ("oxygen", ("none",)))),),
        ),
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
        GradeRule(
            3, (Clause("Urgent medical intervention indicated", (("treatment", ("urgent",)),)),)
        ),
        GradeRule(
            2,
            (
                Clause("Symptomatic", (("symptoms", ("yes",)),)),
                Clause(
                    "non-urgent medical intervention indicated", (("treatment", ("non_urgent",)),)
                ),
            ),
        ),
        GradeRule(
            1,
            (
                Clause(
                    "Asymptomatic, intervention not indicated",
                    (("symptoms", ("no",)), ("treatment", ("none",))),
                ),
            ),
        ),
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


def _met(clause: Clause, chosen: Mapping[str, AnswerOption]) -> bool:
    return all(chosen[qid].id in option_ids for qid, option_ids in clause.when)


def grade_from_answers(question_set_id: str, answers: Mapping[str, str]) -> CtcaeGrade:
    """The highest CTCAE v5.0 grade any clause of whose text the answers meet.

    `answers` maps every question id to an option id.
    """
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
    the_term = questions.term
    for rule in questions.rules:  # highest grade first: the first grade met is the highest
        met = [clause for clause in rule.clauses if _met(clause, chosen)]
        if not met:
            continue
        text = the_term.grade_text(rule.grade) if rule.grade else None
        described = f"'{text}'" if text else f"no {the_term.term.lower()}"
        reasons = " and ".join(
            f"'{clause.text}' ("
            + "; ".join(f"{qid} = {chosen[qid].label}" for qid, _ in clause.when)
            + ")"
            for clause in met
        )
        notes = (SEMICOLON_MEANS_OR,) if text and ";" in text else ()
        return CtcaeGrade(
            term=the_term,
            grade=rule.grade,
            rule=f"{described}: grade {rule.grade}, met by {reasons}",
            values={qid: option.label for qid, option in chosen.items()},
            grade_text=text,
            notes=notes,
        )
    given = "; ".join(f"{qid} = {option.label}" for qid, option in chosen.items())
    raise UnmatchedAnswers(
        f"No CTCAE v5.0 '{the_term.term}' grade text matches these answers ({given}); "
        "grade this case by clinical judgement."
    )
