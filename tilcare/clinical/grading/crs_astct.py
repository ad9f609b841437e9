"""ASTCT 2019 consensus grading of cytokine release syndrome (CRS).

Source: Lee et al., Biol Blood Marrow Transplant 2019;25:625-638 (ASTCT consensus), Table.
Not CTCAE CRS: the scale name "ASTCT 2019" is carried on every result.

Fever means temperature >= 38 degC not attributable to another cause, and it is required for CRS.
One exception, for a patient already in CRS: "In patients who have CRS then receive tocilizumab
or steroids, fever is no longer required to grade subsequent CRS severity" (Lee 2019, as
reproduced in JITC; the ASTCT text says "antipyretic or anticytokine therapy such as tocilizumab
or steroids"). The exception therefore needs both: CRS graded before the therapy, and therapy
given for that CRS. Scheduled premedication is not that case: TIL patients receive
"Acetaminophen 650 mg PO q4h scheduled" during IL-2 (Betof Warner et al., JITC 2024), and
afebrile hypotension under it (IL-2 capillary leak) is not CRS by ASTCT; it is graded by CTCAE.

With fever (or under the exception) the grade is the more severe of the hypotension grade (none
1, no vasopressors 2, one vasopressor 3, multiple 4) and the hypoxia grade (none 1, low-flow
<= 6 L/min or blow-by 2, high-flow/facemask/NRB/Venturi 3, positive pressure 4). Under the
exception without fever and with neither hypotension nor hypoxia: no CRS now.
Death due to CRS = grade 5.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

SCALE = "ASTCT 2019"
SOURCE = "Lee et al., Biol Blood Marrow Transplant 2019;25:625-638 (ASTCT consensus CRS grading)"
FORMULA = (
    "max(hypotension grade, hypoxia grade) given fever, or without fever only for a patient "
    "already graded with CRS who then received anticytokine, steroid or antipyretic therapy for it"
)
PREMEDICATION_SOURCE = (
    "Betof Warner et al., JITC 2024;12:e008735: 'Acetaminophen 650 mg PO q4h scheduled' during IL-2"
)


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


class TherapyForCrs(enum.Enum):
    """Therapy given to treat CRS. Scheduled premedication (acetaminophen during IL-2) is NONE."""

    NONE = "none"
    TOCILIZUMAB_OR_OTHER_ANTICYTOKINE = "tocilizumab_or_other_anticytokine"
    CORTICOSTEROIDS = "corticosteroids"
    ANTIPYRETIC_FOR_CRS = "antipyretic_for_crs"


@dataclass(frozen=True)
class CrsGrade:
    grade: int
    rule: str
    fever: bool
    crs_graded_before_therapy: bool
    therapy_for_crs: TherapyForCrs
    fever_requirement_waived: bool
    hypotension: Hypotension
    hypoxia: Hypoxia
    death_due_to_crs: bool
    scale: str = SCALE
    formula: str = FORMULA
    source: str = SOURCE


_NO_FEVER = (
    "no fever: not CRS by ASTCT. Fever is waived only for a patient already graded with CRS who "
    "then received tocilizumab, steroids or an antipyretic for it; scheduled premedication such "
    "as acetaminophen during IL-2 does not waive it. Grade hypotension, capillary leak and "
    "hypoxia without fever by CTCAE."
)


def grade_crs(
    *,
    fever: bool,
    crs_graded_before_therapy: bool,
    therapy_for_crs: TherapyForCrs,
    hypotension: Hypotension,
    hypoxia: Hypoxia,
    death_due_to_crs: bool,
) -> CrsGrade:
    """Grade CRS by ASTCT 2019; the result names the rule that set the grade."""
    for name, value in (
        ("fever", fever),
        ("crs_graded_before_therapy", crs_graded_before_therapy),
        ("death_due_to_crs", death_due_to_crs),
    ):
        if not isinstance(value, bool):
            raise TypeError(f"{name} must be True or False, got {value!r}.")
    for name, member, kind in (
        ("therapy_for_crs", therapy_for_crs, TherapyForCrs),
        ("hypotension", hypotension, Hypotension),
        ("hypoxia", hypoxia, Hypoxia),
    ):
        if not isinstance(member, kind):
            raise TypeError(f"{name} must be a {kind.__name__}, got {member!r}.")
    waived = crs_graded_before_therapy and therapy_for_crs is not TherapyForCrs.NONE
    worst = max(hypotension.value, hypoxia.value)
    if death_due_to_crs:
        grade, rule = 5, "death due to CRS"
    elif not fever and not waived:
        grade, rule = 0, _NO_FEVER
    elif not fever and worst == 1:
        grade, rule = 0, "CRS treated, now no fever, no hypotension, no hypoxia: no CRS"
    elif worst == 1:
        grade, rule = 1, "fever alone"
    elif fever:
        grade, rule = worst, "the more severe of hypotension and hypoxia"
    else:
        grade, rule = (
            worst,
            "the more severe of hypotension and hypoxia; fever no longer required after "
            "therapy for CRS already graded",
        )
    return CrsGrade(
        grade=grade,
        rule=rule,
        fever=fever,
        crs_graded_before_therapy=crs_graded_before_therapy,
        therapy_for_crs=therapy_for_crs,
        fever_requirement_waived=waived and not fever,
        hypotension=hypotension,
        hypoxia=hypoxia,
        death_due_to_crs=death_due_to_crs,
    )
