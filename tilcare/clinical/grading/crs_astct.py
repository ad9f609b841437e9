"""ASTCT 2019 consensus grading of cytokine release syndrome (CRS).

Source: Lee et al., Biol Blood Marrow Transplant 2019;25:625-638 (ASTCT consensus), Table.
Not CTCAE CRS: the scale name "ASTCT 2019" is carried on every result.

Grade = 0 (no CRS) without fever, unless antipyretic/anticytokine therapy has started (rule 2:
fever then no longer required). With fever (or after such therapy) the grade is the more severe of
the hypotension grade (none 1, no vasopressors 2, one vasopressor 3, multiple 4) and the hypoxia
grade (none 1, low-flow <= 6 L/min or blow-by 2, high-flow/facemask/NRB/Venturi 3, positive
pressure 4). After therapy without fever and with neither hypotension nor hypoxia: no CRS.
Death due to CRS = grade 5. Fever means temperature >= 38 degC not attributable to another cause.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

SCALE = "ASTCT 2019"
SOURCE = "Lee et al., Biol Blood Marrow Transplant 2019;25:625-638 (ASTCT consensus CRS grading)"
FORMULA = "max(hypotension grade, hypoxia grade) given fever or antipyretic/anticytokine therapy"


class Hypotension(enum.Enum):
    NONE = 1
    NOT_REQUIRING_VASOPRESSORS = 2
    ONE_VASOPRESSOR = 3
    MULTIPLE_VASOPRESSORS = 4


class Hypoxia(enum.Enum):
    NONE = 1
    LOW_FLOW_OR_BLOW_BY = 2
    HIGH_FLOW_FACEMASK_NRB_VENTURI = 3
    POSITIVE_PRESSURE = 4


@dataclass(frozen=True)
class CrsGrade:
    grade: int
    rule: str
    fever: bool
    antipyretic_or_anticytokine_given: bool
    hypotension: Hypotension
    hypoxia: Hypoxia
    death_due_to_crs: bool
    scale: str = SCALE
    formula: str = FORMULA
    source: str = SOURCE


def grade_crs(
    *,
    fever: bool,
    antipyretic_or_anticytokine_given: bool,
    hypotension: Hypotension,
    hypoxia: Hypoxia,
    death_due_to_crs: bool,
) -> CrsGrade:
    """Grade CRS by ASTCT 2019; the result names the rule that set the grade."""
    for name, value in (
        ("fever", fever),
        ("antipyretic_or_anticytokine_given", antipyretic_or_anticytokine_given),
        ("death_due_to_crs", death_due_to_crs),
    ):
        if not isinstance(value, bool):
            raise TypeError(f"{name} must be True or False, got {value!r}.")
    if death_due_to_crs:
        grade, rule = 5, "death due to CRS"
    elif not fever and not antipyretic_or_anticytokine_given:
        grade, rule = 0, "no fever and no antipyretic/anticytokine therapy: no CRS"
    else:
        worst = max(hypotension.value, hypoxia.value)
        if worst == 1 and not fever:
            grade, rule = 0, "after therapy, no fever, no hypotension, no hypoxia: no CRS"
        elif worst == 1:
            grade, rule = 1, "fever alone"
        else:
            grade, rule = worst, "the more severe of hypotension and hypoxia"
    return CrsGrade(
        grade=grade,
        rule=rule,
        fever=fever,
        antipyretic_or_anticytokine_given=antipyretic_or_anticytokine_given,
        hypotension=hypotension,
        hypoxia=hypoxia,
        death_due_to_crs=death_due_to_crs,
    )
