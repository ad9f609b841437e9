"""The catalogue of observations tilcare takes at the bedside and from the laboratory.

Each kind has a key (as the API and the form name it), a label a nurse reads, its code, its UCUM
unit (the unit a sender must use: a value in another unit is refused, never converted), the
tilcare `Unit` the clinical core computes in, a plausible range and the decimal places it is
recorded to. A categorical kind (supplemental oxygen, consciousness) has answers instead of a
unit. Fluid intake and urine output are totals over a period: they carry the period's start, and
their moment is its end.

Codes. Every LOINC code below was read in published HL7 FHIR material, named per kind in
`code_source`: the FHIR vital-signs profiles (heart rate 8867-4, respiratory rate 9279-1, body
temperature 8310-5, oxygen saturation by pulse oximetry 59408-5, the blood pressure panel's
systolic 8480-6 and diastolic 8462-4 components), a vital-signs value set listing body weight
29463-7, and laboratory examples and value sets of the US Core, CTC adverse-event and CPG
implementation guides (751-8, 777-3, 6690-2, 731-0, 718-7, 2160-0, 1742-6, 1920-8, 1975-2). A
kind whose LOINC code could not be confirmed that way keeps a local code in the system
`urn:tilcare:observation`, `urn:tilcare:observation|<key>`, until one is: supplemental oxygen
(yes/no), consciousness (ACVPU), fluid intake and urine output over a period (the LOINC codes
found are 24-hour totals, which a total over any period is not) and albumin (the display
"Albumin [Mass/volume] in Serum or Plasma" was found without its code).

Plausible ranges are this module's limits for catching entry slips (a unit typed wrong, a
misplaced decimal point), not clinical facts: outside them a value is refused. Where the clinical
core's graders or NEWS2 accept a narrower range, the range here is that range, so that a value
taken here is always one they can grade. The blood counts are in ×10⁹/L (UCUM `10*9/L`), the
unit the laboratory reports; the graders convert to /mm³ exactly (×1000).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from decimal import Decimal

from tilcare.clinical.units import Unit

LOINC = "http://loinc.org"
LOCAL = "urn:tilcare:observation"
UCUM = "http://unitsofmeasure.org"

_FHIR_VITALS = "HL7 FHIR R4 vital signs profiles (hl7.org/fhir/R4B/heartrate.html and siblings)"
_FHIR_BP = "HL7 FHIR blood pressure profile: components 8480-6 and 8462-4 (hl7.org/fhir/bp.html)"
_FHIR_SPO2 = (
    "HL7 FHIR oxygen saturation value set (build.fhir.org/valueset-observation-vitalsign-"
    "oxygensat.html): 59408-5 Oxygen saturation in Arterial blood by Pulse oximetry"
)
_FHIR_WEIGHT = "HL7 FHIR vital-signs value set of the MINSAL urgency guide: 29463-7 Body weight"
_US_CORE_LAB = "HL7 US Core laboratory result examples (hl7.org/fhir/us/core)"
_CTC_AE = "HL7 FHIR CTC adverse events guide laboratory examples (build.fhir.org/ig/standardhealth)"
_CPG_CREATININE = "HL7 FHIR Clinical Guidelines creatinine value set (hl7.org/fhir/uv/cpg)"
_DQM_LIVER = "HL7 dQM CMS content guide value sets for ALT, AST and total bilirubin"
_NOT_CONFIRMED = "no LOINC code confirmed in published material: local code"


class Group(enum.Enum):
    VITAL_SIGN = "vital sign"
    BODY = "body"
    FLUID = "fluid balance"
    LAB = "laboratory"


class News2Parameter(enum.Enum):
    """The seven parameters of a NEWS2 set (RCP 2017, Chart 1)."""

    RESPIRATION_RATE = "respiration rate"
    SPO2 = "oxygen saturation"
    AIR_OR_OXYGEN = "air or oxygen"
    SYSTOLIC_BP = "systolic blood pressure"
    PULSE = "pulse"
    CONSCIOUSNESS = "consciousness"
    TEMPERATURE = "temperature"


@dataclass(frozen=True)
class Answer:
    code: str
    label: str


@dataclass(frozen=True)
class ObservationKind:
    """One kind of observation: what it is called, coded and measured in, and what is plausible.

    `system` and `code` are the coding (LOINC or the local system); `display` the code's name.
    A quantity kind has `ucum` and `unit`, `minimum` to `maximum` and `places`; a categorical kind
    has `answers` and none of those. `period` kinds are totals over a period (start to end).
    """

    key: str
    label: str
    group: Group
    system: str
    code: str
    display: str
    code_source: str
    ucum: str | None = None
    unit: Unit | None = None
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    places: int = 0
    answers: tuple[Answer, ...] = ()
    period: bool = False
    news2: News2Parameter | None = None
    takes_reference_range: bool = False

    @property
    def is_categorical(self) -> bool:
        return bool(self.answers)

    @property
    def coding(self) -> str:
        """`system|code`, as FHIR token searches write it."""
        return f"{self.system}|{self.code}"

    @property
    def unit_text(self) -> str:
        """The unit as a nurse reads it (°C rather than Cel)."""
        return self.unit.value if self.unit is not None else ""

    def answer(self, code: str) -> Answer | None:
        return next((answer for answer in self.answers if answer.code == code), None)


def _local(key: str) -> tuple[str, str]:
    return LOCAL, f"{LOCAL}|{key}"


def _quantity(
    key: str,
    label: str,
    group: Group,
    loinc: tuple[str, str, str] | None,
    ucum: str,
    unit: Unit,
    low: str,
    high: str,
    places: int,
    **extra: object,
) -> ObservationKind:
    if loinc is None:
        system, code = _local(key)
        display, source = label, _NOT_CONFIRMED
    else:
        system, (code, display, source) = LOINC, loinc
    return ObservationKind(
        key=key,
        label=label,
        group=group,
        system=system,
        code=code,
        display=display,
        code_source=source,
        ucum=ucum,
        unit=unit,
        minimum=Decimal(low),
        maximum=Decimal(high),
        places=places,
        **extra,  # type: ignore[arg-type]
    )


YES_NO = (Answer("yes", "Yes"), Answer("no", "No"))
ACVPU = (
    Answer("A", "Alert"),
    Answer("C", "New confusion"),
    Answer("V", "Responds to voice"),
    Answer("P", "Responds to pain"),
    Answer("U", "Unresponsive"),
)

_VS, _LAB = Group.VITAL_SIGN, Group.LAB
_P = News2Parameter

KINDS: tuple[ObservationKind, ...] = (
    _quantity(
        "heart_rate", "Heart rate", _VS, ("8867-4", "Heart rate", _FHIR_VITALS),
        "/min", Unit.per_min, "20", "250", 0, news2=_P.PULSE,
    ),
    _quantity(
        "respiratory_rate", "Respiratory rate", _VS,
        ("9279-1", "Respiratory rate", _FHIR_VITALS),
        "/min", Unit.per_min, "0", "80", 0, news2=_P.RESPIRATION_RATE,
    ),
    _quantity(
        "systolic_bp", "Systolic blood pressure", _VS,
        ("8480-6", "Systolic blood pressure", _FHIR_BP),
        "mm[Hg]", Unit.mm_hg, "40", "300", 0, news2=_P.SYSTOLIC_BP,
    ),
    _quantity(
        "diastolic_bp", "Diastolic blood pressure", _VS,
        ("8462-4", "Diastolic blood pressure", _FHIR_BP),
        "mm[Hg]", Unit.mm_hg, "20", "200", 0,
    ),
    _quantity(
        "temperature", "Temperature", _VS, ("8310-5", "Body temperature", _FHIR_VITALS),
        "Cel", Unit.celsius, "30.0", "44.0", 1, news2=_P.TEMPERATURE,
    ),
    _quantity(
        "spo2", "Oxygen saturation (SpO2)", _VS,
        ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", _FHIR_SPO2),
        "%", Unit.percent, "50", "100", 0, news2=_P.SPO2,
    ),
    ObservationKind(
        key="supplemental_oxygen",
        label="On supplemental oxygen",
        group=_VS,
        system=LOCAL,
        code=f"{LOCAL}|supplemental_oxygen",
        display="On supplemental oxygen",
        code_source=_NOT_CONFIRMED,
        answers=YES_NO,
        news2=_P.AIR_OR_OXYGEN,
    ),
    ObservationKind(
        key="consciousness",
        label="Consciousness (ACVPU)",
        group=_VS,
        system=LOCAL,
        code=f"{LOCAL}|consciousness",
        display="Level of consciousness (ACVPU)",
        code_source=_NOT_CONFIRMED,
        answers=ACVPU,
        news2=_P.CONSCIOUSNESS,
    ),
    _quantity(
        "weight", "Weight", Group.BODY, ("29463-7", "Body weight", _FHIR_WEIGHT),
        "kg", Unit.kg, "20", "350", 1,
    ),
    _quantity(
        "fluid_intake", "Fluid intake", Group.FLUID, None,
        "mL", Unit.ml, "0", "20000", 0, period=True,
    ),
    _quantity(
        "urine_output", "Urine output", Group.FLUID, None,
        "mL", Unit.ml, "0", "20000", 0, period=True,
    ),
    _quantity(
        "anc", "Neutrophils (ANC)", _LAB,
        ("751-8", "Neutrophils [#/volume] in Blood by Automated count", _CTC_AE),
        "10*9/L", Unit.e9_per_l, "0", "200", 2, takes_reference_range=True,
    ),
    _quantity(
        "platelets", "Platelets", _LAB,
        ("777-3", "Platelets [#/volume] in Blood by Automated count", _US_CORE_LAB),
        "10*9/L", Unit.e9_per_l, "0", "5000", 1, takes_reference_range=True,
    ),
    _quantity(
        "wbc", "White blood cells", _LAB,
        ("6690-2", "Leukocytes [#/volume] in Blood by Automated count", _US_CORE_LAB),
        "10*9/L", Unit.e9_per_l, "0", "1000", 2, takes_reference_range=True,
    ),
    _quantity(
        "lymphocytes", "Lymphocytes", _LAB,
        ("731-0", "Lymphocytes [#/volume] in Blood by Automated count", _CTC_AE),
        "10*9/L", Unit.e9_per_l, "0", "1000", 2, takes_reference_range=True,
    ),
    _quantity(
        "hemoglobin", "Hemoglobin", _LAB,
        ("718-7", "Hemoglobin [Mass/volume] in Blood", _US_CORE_LAB),
        "g/dL", Unit.g_per_dl, "1.0", "25.0", 1, takes_reference_range=True,
    ),
    _quantity(
        "creatinine", "Creatinine", _LAB,
        ("2160-0", "Creatinine [Mass/volume] in Serum or Plasma", _CPG_CREATININE),
        "mg/dL", Unit.mg_per_dl, "0.2", "30", 2, takes_reference_range=True,
    ),
    _quantity(
        "albumin", "Albumin", _LAB, None,
        "g/dL", Unit.g_per_dl, "0.5", "7.0", 1, takes_reference_range=True,
    ),
    _quantity(
        "alt", "ALT", _LAB,
        ("1742-6", "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma",
         _DQM_LIVER),
        "U/L", Unit.u_per_l, "0", "20000", 0, takes_reference_range=True,
    ),
    _quantity(
        "ast", "AST", _LAB,
        ("1920-8", "Aspartate aminotransferase [Enzymatic activity/volume] in Serum or Plasma",
         _DQM_LIVER),
        "U/L", Unit.u_per_l, "0", "20000", 0, takes_reference_range=True,
    ),
    _quantity(
        "bilirubin", "Total bilirubin", _LAB,
        ("1975-2", "Bilirubin.total [Mass/volume] in Serum or Plasma", _DQM_LIVER),
        "mg/dL", Unit.mg_per_dl, "0.0", "50.0", 1, takes_reference_range=True,
    ),
)  # fmt: skip

BY_KEY: dict[str, ObservationKind] = {kind.key: kind for kind in KINDS}
NEWS2_KINDS: dict[News2Parameter, ObservationKind] = {
    kind.news2: kind for kind in KINDS if kind.news2 is not None
}

LOINC_CODE = re.compile(r"^[0-9]{1,7}-[0-9]$")


def loinc_check_digit(number: str) -> int:
    """The check digit of a LOINC code's number (the part before the hyphen): LOINC's mod 10,
    which is the Luhn algorithm (from the right, every first digit doubled and its digits added;
    the check digit brings the sum to a multiple of ten). 8867 -> 4 (8867-4, heart rate)."""
    total = 0
    for position, character in enumerate(reversed(number)):
        digit = int(character)
        if position % 2 == 0:
            digit *= 2
            digit = digit // 10 + digit % 10
        total += digit
    return (10 - total % 10) % 10


def is_loinc_code(code: str) -> bool:
    """Is `code` a LOINC code in form, with its check digit right?"""
    if not LOINC_CODE.match(code):
        return False
    number, check = code.split("-")
    return loinc_check_digit(number) == int(check)


def kind_of(key: str) -> ObservationKind | None:
    return BY_KEY.get(key)
