"""ASTCT 2019 CRS grading against Lee et al. 2019 (reference sections 6 and 12)."""

from typing import Any

import pytest

from tilcare.clinical.grading.crs_astct import (
    CrsGrade,
    Hypotension,
    Hypoxia,
    TherapyForCrs,
    grade_crs,
)

H, X, T = Hypotension, Hypoxia, TherapyForCrs
SRC = "Lee 2019 ASTCT table"
EXCEPTION = (
    "Lee 2019 as reproduced in JITC: 'In patients who have CRS then receive tocilizumab or "
    "steroids, fever is no longer required to grade subsequent CRS severity'"
)


def _crs(
    *,
    fever: bool,
    before: bool = False,
    therapy: TherapyForCrs = T.NONE,
    hypotension: Hypotension = H.NONE,
    hypoxia: Hypoxia = X.NONE,
    death: bool = False,
) -> CrsGrade:
    return grade_crs(
        fever=fever,
        crs_graded_before_therapy=before,
        therapy_for_crs=therapy,
        hypotension=hypotension,
        hypoxia=hypoxia,
        death_due_to_crs=death,
    )


def _grade(**answers: Any) -> int:
    return _crs(**answers).grade


def test_worked_example_one_vasopressor_low_flow_is_grade_3() -> None:
    # Source: Lee 2019 rule 3 worked example ("a febrile patient on one vasopressor and low-flow
    # O2 is Grade 3").
    r = _crs(fever=True, hypotension=H.ONE_VASOPRESSOR, hypoxia=X.LOW_FLOW_OR_BLOW_BY)
    assert r.grade == 3
    assert r.rule == "the more severe of hypotension and hypoxia"
    assert r.scale == "ASTCT 2019"


@pytest.mark.parametrize("hypotension", list(H), ids=lambda h: h.name)
@pytest.mark.parametrize("hypoxia", list(X), ids=lambda x: x.name)
def test_every_table_cell_with_fever(hypotension: Hypotension, hypoxia: Hypoxia) -> None:
    # Source: Lee 2019 ASTCT table; grade = more severe of the two columns.
    assert _grade(fever=True, hypotension=hypotension, hypoxia=hypoxia) == max(
        hypotension.value, hypoxia.value
    )


def test_no_fever_and_no_therapy_is_no_crs() -> None:
    # Source: Lee 2019 ASTCT table, "Fever (>= 38 C): Yes" in every grade.
    assert _grade(fever=False, hypotension=H.ONE_VASOPRESSOR) == 0


def test_fever_alone_is_grade_1() -> None:
    # Source: Lee 2019 ASTCT table, grade 1: fever, no hypotension, no hypoxia.
    assert _grade(fever=True) == 1


@pytest.mark.parametrize(
    "therapy",
    [T.TOCILIZUMAB_OR_OTHER_ANTICYTOKINE, T.CORTICOSTEROIDS, T.ANTIPYRETIC_FOR_CRS],
    ids=lambda t: t.name,
)
def test_fever_waived_after_therapy_for_crs_already_graded(therapy: TherapyForCrs) -> None:
    # Source: EXCEPTION; grading is then driven by hypotension and/or hypoxia.
    r = _crs(fever=False, before=True, therapy=therapy, hypotension=H.ONE_VASOPRESSOR)
    assert (r.grade, r.fever_requirement_waived) == (3, True)
    assert r.rule == (
        "the more severe of hypotension and hypoxia; fever no longer required after "
        "therapy for CRS already graded"
    )


def test_scheduled_acetaminophen_during_il2_does_not_make_afebrile_hypotension_crs() -> None:
    # Given an afebrile TIL patient on one vasopressor for IL-2 capillary leak, under
    # "Acetaminophen 650 mg PO q4h scheduled" (Betof Warner, JITC 2024) and never graded with CRS.
    # Source: EXCEPTION applies only to "patients who have CRS then receive" therapy for it.
    r = _crs(fever=False, therapy=T.ANTIPYRETIC_FOR_CRS, hypotension=H.ONE_VASOPRESSOR)
    # Then it is not CRS grade 3: no CRS by ASTCT, and the rule sends it to CTCAE.
    assert (r.grade, r.fever_requirement_waived) == (0, False)
    assert "scheduled premedication such as acetaminophen during IL-2 does not waive it" in r.rule


def test_crs_graded_before_but_no_therapy_for_it_still_needs_fever() -> None:
    # Source: EXCEPTION: the waiver follows "receive tocilizumab or steroids", not CRS alone.
    assert _grade(fever=False, before=True, hypotension=H.ONE_VASOPRESSOR) == 0


def test_after_therapy_with_nothing_left_is_no_crs() -> None:
    # Source: EXCEPTION: "CRS grading is driven by hypotension and/or hypoxia" (Lee 2019).
    assert _grade(fever=False, before=True, therapy=T.CORTICOSTEROIDS) == 0


def test_death_is_grade_5() -> None:
    # Source: Lee 2019, grade 5 = death due to CRS.
    assert _grade(fever=False, before=True, therapy=T.CORTICOSTEROIDS, death=True) == 5


def test_therapy_given_as_text_is_refused() -> None:
    # Source: Lee 2019 exception needs a stated therapy; a free word is not guessed.
    with pytest.raises(TypeError, match="therapy_for_crs must be a TherapyForCrs"):
        grade_crs(
            fever=False,
            crs_graded_before_therapy=True,
            therapy_for_crs="tocilizumab",  # type: ignore[arg-type]
            hypotension=H.NONE,
            hypoxia=X.NONE,
            death_due_to_crs=False,
        )
