"""ASTCT 2019 CRS grading against Lee et al. 2019 (reference section 6)."""

import pytest

from tilcare.clinical.grading.crs_astct import Hypotension, Hypoxia, grade_crs

H, X = Hypotension, Hypoxia
SRC = "Lee 2019 ASTCT table"


def test_worked_example_one_vasopressor_low_flow_is_grade_3() -> None:
    # Source: Lee 2019 rule 3 worked example.
    r = grade_crs(
        fever=True,
        antipyretic_or_anticytokine_given=False,
        hypotension=H.ONE_VASOPRESSOR,
        hypoxia=X.LOW_FLOW_OR_BLOW_BY,
        death_due_to_crs=False,
    )
    assert r.grade == 3
    assert r.rule == "the more severe of hypotension and hypoxia"
    assert r.scale == "ASTCT 2019"


@pytest.mark.parametrize("hypotension", list(H), ids=lambda h: h.name)
@pytest.mark.parametrize("hypoxia", list(X), ids=lambda x: x.name)
def test_every_table_cell_with_fever(hypotension: Hypotension, hypoxia: Hypoxia) -> None:
    # Source: Lee 2019 ASTCT table; grade = more severe of the two columns.
    r = grade_crs(
        fever=True,
        antipyretic_or_anticytokine_given=False,
        hypotension=hypotension,
        hypoxia=hypoxia,
        death_due_to_crs=False,
    )
    assert r.grade == max(hypotension.value, hypoxia.value)


@pytest.mark.parametrize(
    ("fever", "given", "hypotension", "expected"),
    [
        pytest.param(False, False, H.ONE_VASOPRESSOR, 0, id="no-fever-no-therapy-Lee2019"),
        pytest.param(False, True, H.ONE_VASOPRESSOR, 3, id="rule2-after-therapy-Lee2019"),
        pytest.param(False, True, H.NONE, 0, id="rule2-nothing-left-Lee2019"),
        pytest.param(True, False, H.NONE, 1, id="fever-alone-Lee2019"),
    ],
)
def test_fever_and_rule_2(
    fever: bool, given: bool, hypotension: Hypotension, expected: int
) -> None:
    r = grade_crs(
        fever=fever,
        antipyretic_or_anticytokine_given=given,
        hypotension=hypotension,
        hypoxia=X.NONE,
        death_due_to_crs=False,
    )
    assert r.grade == expected


def test_death_is_grade_5() -> None:
    # Source: Lee 2019, grade 5 = death due to CRS.
    r = grade_crs(
        fever=False,
        antipyretic_or_anticytokine_given=True,
        hypotension=H.NONE,
        hypoxia=X.NONE,
        death_due_to_crs=True,
    )
    assert r.grade == 5
