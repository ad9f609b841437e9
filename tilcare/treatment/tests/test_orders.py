"""Treatment orders: lymphodepletion and IL-2 computed from the center's signed settings and the
patient's latest height and weight, verified by a pharmacist's e-signature, flagged for
re-verification when the inputs change, and refused (writing nothing) whenever they cannot be.

Time is frozen at noon in New York on 15 June 2026 (Theodora, born 12 April 1968, is 58), so the
age read into Cockcroft–Gault, and every date, is fixed.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import connections

from tilcare.accounts.choices import Role
from tilcare.audit.actions import Action
from tilcare.audit.models import AuditEvent, Signature
from tilcare.audit.services import signature_is_valid
from tilcare.clinical.dosing.regimens import ProtocolRef
from tilcare.core.errors import Conflict, InvalidInput, PermissionDenied
from tilcare.core.tests.clients import row_counts
from tilcare.journey.tests.factories import (
    POSTGRES_ONLY,
    CareTeam,
    make_team,
    riverside_team,
    theodora_at,
)
from tilcare.monitoring.models import CourseBaseline
from tilcare.patients.models import Patient
from tilcare.patients.tests.factories import TEST_PASSWORD
from tilcare.treatment import policies
from tilcare.treatment.choices import VERIFY_MEANING, OrderKind, OrderStatus
from tilcare.treatment.models import Order, OrderDose, ProtocolActivation
from tilcare.treatment.selectors import (
    newer_inputs,
    open_order,
    order_by_public_id,
    orders_of_course,
    orders_to_verify,
)
from tilcare.treatment.services.orders import (
    NOT_PRESCRIBER,
    NOT_VERIFIER,
    Course,
    cancel_order,
    order_il2,
    order_lymphodepletion,
    reorder,
    verify_order,
)
from tilcare.treatment.tests.factories import (
    LIFILEUCEL,
    LIFILEUCEL_VALUES,
    NKI,
    activate,
    course_for,
    measure,
)

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 15, 16, 0, tzinfo=dt.UTC)  # noon in New York
TODAY = dt.date(2026, 6, 15)
YESTERDAY = dt.date(2026, 6, 14)
COI_DIN = "W123426000042"
WRITTEN = (Order, OrderDose, AuditEvent, Signature)
LYMPHODEPLETION_TITLE = "Lymphodepletion (cyclophosphamide with mesna, fludarabine)"
PROTOCOLS_PAGE = (
    "Lifileucel (Amtagvi), US label regimen 2024: the center's protocol settings are not in "
    "force yet. A pharmacist and a treating physician of the center enter and sign them on the "
    "Protocols page; no dose is calculated before."
)
NO_MEASUREMENT = (
    "Record the patient's height and weight before ordering: the doses are calculated from them."
)


@pytest.fixture(autouse=True)
def frozen() -> Iterator[None]:
    # The clock runs on from NOW, so rows written one after the other keep their order.
    with time_machine.travel(NOW):
        yield


@pytest.fixture
def theodora(team: CareTeam) -> Patient:
    """Theodora, 80 kg and 180 cm measured yesterday."""
    patient = theodora_at(team.center)
    measure(patient, team.nurse, "80", YESTERDAY)
    return patient


@pytest.fixture
def course(theodora: Patient) -> Course:
    return course_for(theodora)


def lymphodepletion(course: Course, team: CareTeam, creatinine: object = "0.8") -> Order:
    return order_lymphodepletion(
        course,
        serum_creatinine_mg_per_dl=creatinine,
        creatinine_drawn_on=YESTERDAY,
        actor=team.physician,
    )


def dose_rows(order: Order) -> list[tuple[Any, ...]]:
    return [
        (d.sequence, d.day, d.agent, d.route, d.dose, d.dose_unit)
        for d in OrderDose.objects.filter(order=order).order_by("sequence")
    ]


def lymphodepletion_rows(cyclophosphamide: str, fludarabine: str) -> list[tuple[Any, ...]]:
    cy, flu = Decimal(cyclophosphamide), Decimal(fludarabine)
    return [
        (1, -7, "cyclophosphamide", "IV", cy, "mg"),
        (2, -6, "cyclophosphamide", "IV", cy, "mg"),
        (3, -5, "fludarabine", "IV", flu, "mg"),
        (4, -4, "fludarabine", "IV", flu, "mg"),
        (5, -3, "fludarabine", "IV", flu, "mg"),
        (6, -2, "fludarabine", "IV", flu, "mg"),
        (7, -1, "fludarabine", "IV", flu, "mg"),
    ]


def actions_since(count: int) -> list[tuple[str, str, str]]:
    events = AuditEvent.objects.order_by("id")[count:]
    return [(e.action, e.object_type, e.reason) for e in events]


def refused(call: Callable[[], object], error: type[Exception]) -> Exception:
    """Run a call that must be refused, and check it wrote nothing."""
    before = row_counts(*WRITTEN)
    with pytest.raises(error) as caught:
        call()
    assert row_counts(*WRITTEN) == before
    return caught.value


def errors_of(call: Callable[[], object], error: type[InvalidInput] = InvalidInput) -> Any:
    raised = refused(call, error)
    assert isinstance(raised, InvalidInput)
    return raised.errors


# 1. Lymphodepletion end to end against the clinical core's cited cases --------------------------


def test_lymphodepletion_reproduces_the_label_worked_examples(
    team: CareTeam, in_force: ProtocolActivation, course: Course, theodora: Patient
) -> None:
    """Cases of tilcare/clinical/tests/test_dosing_lymphodepletion.py, Amtagvi US label 2024
    section 2: "label: 60 x 80 kg = 4800" (cyclophosphamide 60 mg/kg × 80 kg = 4800 mg) and
    "label+Mosteller: 25 x 2.00 = 50" (fludarabine 25 mg/m² × √(180 × 80 / 3600) = 2.00 m² =
    50 mg), with the test center's settings (actual weight, 10 mg and 1 mg increments, Mosteller,
    no cap). Theodora, 58 and female, with SCr 0.8 mg/dL has a CrCl of (140 − 58) × 80 / (72 ×
    0.8) × 0.85 = 96.8 → 97 mL/min, above every renal band: the label dose, as in the case."""
    # When the physician orders lymphodepletion
    order = lymphodepletion(course, team)

    # Then the doses are the cited ones, day by day
    order = Order.objects.get(pk=order.pk)
    assert dose_rows(order) == lymphodepletion_rows("4800", "50")
    assert (order.kind, order.status, order.ordered_by, order.activation) == (
        OrderKind.LYMPHODEPLETION,
        OrderStatus.AWAITING_VERIFICATION,
        team.physician,
        in_force,
    )
    # and the inputs are kept as they were read
    measurement = theodora.measurements.get()
    assert order.measurement == measurement
    assert (order.serum_creatinine_mg_per_dl, order.creatinine_drawn_on) == (
        Decimal("0.80"),
        YESTERDAY,
    )
    assert order.inputs == {
        "weight_kg": "80.0",
        "height_cm": "180.0",
        "measured_on": "2026-06-14",
        "measurement": str(measurement.public_id),
        "sex": "female",
        "age_years": 58,
        "ordered_on": "2026-06-15",
        "serum_creatinine_mg_per_dl": "0.8",
        "creatinine_drawn_on": "2026-06-14",
        "bsa_m2_used": "2.00",
        "crcl_ml_per_min": "97",
    }
    # and the calculation shows its working, formula and sources
    cyclophosphamide, fludarabine = order.calculation["agents"]
    assert cyclophosphamide["formula"] == "dose (mg) = dose per kg (mg/kg) × dosing weight (kg)"
    assert cyclophosphamide["working"] == (
        "60 mg/kg × 80.0 kg (actual weight) = 4800.0 mg → 4800 mg"
    )
    assert (
        "Amtagvi (lifileucel) US prescribing information 2024, section 2"
        in (cyclophosphamide["source"])
    )
    assert fludarabine["formula"] == "dose (mg) = dose per m² (mg/m²) × BSA used (m²)"
    assert fludarabine["working"] == "25 mg/m² × 2.00 m² (BSA) = 50.00 mg → 50 mg"
    assert "Mosteller RD" in fludarabine["source"]
    assert fludarabine["renal"]["crcl"]["crcl"] == {"value": "97", "unit": "mL/min"}
    assert fludarabine["renal"]["rule"] == (
        "CrCl 97 mL/min is above every band: protocol dose 25 mg/m²"
    )
    assert "Cockcroft DW, Gault MH" in fludarabine["renal"]["source"]
    assert order.calculation["mesna"]["dose"] == {"value": "60", "unit": "mg/kg"}
    assert order.calculation["protocol"] == {"protocol_id": "lifileucel_us", "version": "2024"}


def test_a_creatinine_in_a_renal_band_reduces_fludarabine(
    team: CareTeam, in_force: ProtocolActivation
) -> None:
    """tilcare/clinical/tests/test_dosing_lymphodepletion.py, renal band case "CrCl 79 top of
    50-79: 20 x 1.84 = 36.8 -> 37": 72 kg and 170 cm (Mosteller 1.84 m²), the center's band
    50–79 mL/min → 20 mg/m². Theodora's CrCl with SCr 1.0: (140 − 58) × 72 / 72 × 0.85 = 69.7
    → 70 mL/min, in that band."""
    patient = theodora_at(team.center)
    measure(patient, team.nurse, "72", YESTERDAY, height_cm="170")

    order = lymphodepletion(course_for(patient), team, creatinine="1.0")

    assert dose_rows(order) == lymphodepletion_rows("4320", "37")
    fludarabine = order.calculation["agents"][1]
    assert fludarabine["renal"]["rule"] == (
        "CrCl 70 mL/min is in the band CrCl 50–79 mL/min → 20 mg/m²"
    )
    assert fludarabine["working"] == "20 mg/m² × 1.84 m² (BSA) = 36.80 mg → 37 mg"


# 2. IL-2 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("protocol", "weight_kg", "dose_iu", "doses"),
    [
        # tilcare/clinical/tests/test_dosing_il2.py "Medina: 600000 x 80 kg", up to 6 doses
        pytest.param(LIFILEUCEL, "80", "48000000", 6, id="lifileucel: 6 x 48,000,000 IU"),
        # "Medina: 600000 x 72.5 kg"
        pytest.param(LIFILEUCEL, "72.5", "43500000", 6, id="lifileucel: 6 x 43,500,000 IU"),
        # NKI phase 3: 600,000 IU/kg every 8 hours, maximum 15 doses
        pytest.param(NKI, "80", "48000000", 15, id="NKI: 15 x 48,000,000 IU"),
    ],
)
def test_il2_orders_the_maximum_number_of_doses_of_the_exact_dose(
    team: CareTeam, protocol: tuple[str, str], weight_kg: str, dose_iu: str, doses: int
) -> None:
    # Given the protocol's settings in force, actual weight for IL-2
    activate(team.center, pharmacist=team.pharmacist, physician=team.physician, protocol=protocol)
    patient = theodora_at(team.center)
    measure(patient, team.nurse, weight_kg, YESTERDAY)

    # When the physician orders IL-2
    order = order_il2(course_for(patient, protocol), actor=team.physician)

    # Then there are as many rows as the protocol's maximum, each 600,000 IU/kg × the weight
    assert dose_rows(order) == [
        (n, None, "aldesleukin", "IV", Decimal(dose_iu), "IU") for n in range(1, doses + 1)
    ]
    assert order.calculation["max_doses"] == doses
    assert order.calculation["formula"] == "dose (IU) = dose per kg (IU/kg) × dosing weight (kg)"
    assert order.calculation["dose"] == {"value": dose_iu, "unit": "IU"}
    assert "600,000 IU/kg" in order.calculation["source"]
    assert (order.serum_creatinine_mg_per_dl, order.creatinine_drawn_on) == (None, None)
    assert order.inputs["weight_kg"] == str(Decimal(weight_kg).quantize(Decimal("0.1")))


# 3. Refusals, each writing nothing ----------------------------------------------------------------


def test_no_order_while_the_center_has_not_activated_the_protocol(
    team: CareTeam, entered: ProtocolActivation, course: Course
) -> None:
    # Given settings entered but not signed: not in force
    for call in (
        lambda: lymphodepletion(course, team),
        lambda: order_il2(course, actor=team.physician),
    ):
        # Then each order is refused, sending the physician to the Protocols page
        assert errors_of(call, Conflict) == {"__all__": [PROTOCOLS_PAGE]}


def test_no_order_without_a_height_and_weight(team: CareTeam, in_force: ProtocolActivation) -> None:
    course = course_for(theodora_at(team.center))
    for call in (
        lambda: lymphodepletion(course, team),
        lambda: order_il2(course, actor=team.physician),
    ):
        assert errors_of(call, Conflict) == {"__all__": [NO_MEASUREMENT]}


def test_a_second_open_order_of_the_same_kind_is_refused(
    team: CareTeam, in_force: ProtocolActivation, course: Course
) -> None:
    # Given an open lymphodepletion order, verified
    first = lymphodepletion(course, team)
    verify_order(first, actor=team.pharmacist, password=TEST_PASSWORD)

    # When a second is written, it is refused
    assert errors_of(lambda: lymphodepletion(course, team), Conflict) == {
        "__all__": [
            f"This course already has an open {LYMPHODEPLETION_TITLE} order (verified). Order "
            "again from that order to replace it, or cancel it first."
        ]
    }
    # but an IL-2 order (another kind) is not, and then a second IL-2 order is
    il2 = order_il2(course, actor=team.physician)
    assert errors_of(lambda: order_il2(course, actor=team.physician), Conflict) == {
        "__all__": [
            "This course already has an open High-dose IL-2 (aldesleukin) order (awaiting "
            "pharmacist verification). Order again from that order to replace it, or cancel it "
            "first."
        ]
    }
    # And once cancelled, the kind may be ordered again
    cancel_order(il2, reason="Ordered on the wrong course.", actor=team.physician)
    assert order_il2(course, actor=team.physician).status == OrderStatus.AWAITING_VERIFICATION


@POSTGRES_ONLY
@pytest.mark.django_db(transaction=True)
def test_two_physicians_ordering_at_once_write_one_order() -> None:
    # Given a course, and two physicians of the center ordering its IL-2 at the same moment
    team = riverside_team()
    activate(team.center, pharmacist=team.pharmacist, physician=team.physician)
    patient = theodora_at(team.center)
    measure(patient, team.nurse, "80", YESTERDAY)
    course = course_for(patient)
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def submit(actor: Any) -> None:
        try:
            start.wait()
            order_il2(course, actor=actor)
            outcomes.append("written")
        except Conflict:
            outcomes.append("refused")
        finally:
            connections.close_all()

    physicians = (team.physician, make_team(center=team.center).physician)
    threads = [threading.Thread(target=submit, args=(user,)) for user in physicians]

    # When both run
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # Then one order is written and the other physician is told it exists
    assert sorted(outcomes) == ["refused", "written"]
    assert Order.objects.count() == 1
    assert AuditEvent.objects.filter(action=Action.ORDER_WRITE).count() == 1


SCR = "serum_creatinine_mg_per_dl"
DRAWN = "creatinine_drawn_on"


@pytest.mark.parametrize(
    ("creatinine", "drawn_on", "errors"),
    [
        ("0.19", YESTERDAY, {SCR: ["Serum creatinine must be between 0.2 and 20 mg/dL."]}),
        ("20.01", YESTERDAY, {SCR: ["Serum creatinine must be between 0.2 and 20 mg/dL."]}),
        (
            "0.805",
            YESTERDAY,
            {SCR: ["Serum creatinine takes at most 2 decimal place(s) in mg/dL."]},
        ),
        ("88", YESTERDAY, {SCR: ["Serum creatinine must be between 0.2 and 20 mg/dL."]}),
        ("abc", YESTERDAY, {SCR: ["Serum creatinine must be a number in mg/dL."]}),
        (
            0.8,
            YESTERDAY,
            {
                SCR: [
                    "Serum creatinine must be sent as an exact decimal number in mg/dL, "
                    "not a float."
                ]
            },
        ),
        (True, YESTERDAY, {SCR: ["Serum creatinine must be a number in mg/dL, not true/false."]}),
        (None, YESTERDAY, {SCR: ["Serum creatinine is required."]}),
        ("0.8", None, {DRAWN: ["Give the date the creatinine was drawn."]}),
        (
            "0.8",
            dt.date(2026, 6, 16),
            {DRAWN: ["The creatinine's date cannot be in the future (today is 2026-06-15)."]},
        ),
        (
            "0.8",
            dt.date(1968, 4, 11),
            {DRAWN: ["The creatinine's date cannot be before the date of birth (1968-04-12)."]},
        ),
        (
            None,
            None,
            {
                SCR: ["Serum creatinine is required."],
                DRAWN: ["Give the date the creatinine was drawn."],
            },
        ),
    ],
)
def test_an_unusable_creatinine_is_refused_naming_the_field(
    team: CareTeam,
    in_force: ProtocolActivation,
    course: Course,
    creatinine: object,
    drawn_on: dt.date | None,
    errors: dict[str, list[str]],
) -> None:
    def call() -> Order:
        return order_lymphodepletion(
            course,
            serum_creatinine_mg_per_dl=creatinine,
            creatinine_drawn_on=drawn_on,
            actor=team.physician,
        )

    assert errors_of(call) == errors


def test_a_patient_whose_sex_is_unknown_gets_no_lymphodepletion_dose(
    team: CareTeam, in_force: ProtocolActivation, theodora: Patient
) -> None:
    # Given a record whose sex is unknown: Cockcroft–Gault (for the fludarabine bands) needs it
    Patient.objects.filter(pk=theodora.pk).update(sex="unknown")
    course = course_for(Patient.objects.get(pk=theodora.pk))

    # Then the order is refused in the clinical core's words
    assert errors_of(lambda: lymphodepletion(course, team)) == {
        "__all__": [
            "Sex 'unknown': the Cockcroft–Gault formula is defined only for male and female; it "
            "cannot be applied here — use a weight the protocol specifies instead."
        ]
    }
    # while IL-2 on the actual weight does not need it
    assert order_il2(course, actor=team.physician).inputs["sex"] == "unknown"


@pytest.mark.parametrize(
    "role",
    [
        Role.NAVIGATOR,
        Role.SURGEON,
        Role.NURSE,
        Role.PHARMACIST,
        Role.FINANCIAL_COORDINATOR,
        Role.SOCIAL_WORKER,
        Role.CENTER_ADMIN,
        Role.MANUFACTURING_TECH,
        Role.QA_REVIEWER,
    ],
)
def test_only_a_physician_of_the_center_writes_an_order(
    team: CareTeam, in_force: ProtocolActivation, course: Course, role: Role
) -> None:
    user = team.by_role(role)
    assert policies.can_write_order(user, team.center) is False
    for call in (
        lambda: order_lymphodepletion(
            course, serum_creatinine_mg_per_dl="0.8", creatinine_drawn_on=YESTERDAY, actor=user
        ),
        lambda: order_il2(course, actor=user),
    ):
        assert str(refused(call, PermissionDenied)) == NOT_PRESCRIBER


def test_a_deactivated_physician_writes_no_order(
    team: CareTeam, in_force: ProtocolActivation, course: Course
) -> None:
    team.physician.is_active = False
    team.physician.save(update_fields=["is_active"])
    call = lambda: order_il2(course, actor=team.physician)  # noqa: E731
    assert str(refused(call, PermissionDenied)) == NOT_PRESCRIBER


def test_another_centers_physician_writes_no_order(
    team: CareTeam, in_force: ProtocolActivation, course: Course, theodora: Patient
) -> None:
    other = make_team()
    activate(other.center, pharmacist=other.pharmacist, physician=other.physician)
    # Neither for a course of this center
    assert str(refused(lambda: order_il2(course, actor=other.physician), PermissionDenied)) == (
        NOT_PRESCRIBER
    )
    # nor by naming their own center on this center's patient
    borrowed = Course(other.center, theodora, COI_DIN, "K", 1, ProtocolRef(*LIFILEUCEL))
    assert str(refused(lambda: order_il2(borrowed, actor=other.physician), PermissionDenied)) == (
        NOT_PRESCRIBER
    )


# 4. Verification ---------------------------------------------------------------------------------


def test_a_pharmacist_verifies_an_order_with_an_e_signature(
    team: CareTeam, in_force: ProtocolActivation, course: Course, theodora: Patient
) -> None:
    events = AuditEvent.objects.count()
    order = lymphodepletion(course, team)
    assert orders_to_verify(team.center) == [order]

    # When the pharmacist verifies it with her password
    signature = verify_order(order, actor=team.pharmacist, password=TEST_PASSWORD)

    # Then it is verified under a signature bound to its inputs, calculation and doses
    order = Order.objects.get(pk=order.pk)
    assert (order.status, order.verification_signature) == (OrderStatus.VERIFIED, signature)
    assert (signature.signer, signature.meaning, signature.object_id) == (
        team.pharmacist,
        VERIFY_MEANING,
        str(order.public_id),
    )
    assert signature_is_valid(signature, order) is True
    assert orders_to_verify(team.center) == []
    # and the trail holds the order, the signature, the verification and the course's baseline
    # for monitoring (the measurement the doses were calculated from), on Theodora's record
    assert actions_since(events) == [
        (Action.ORDER_WRITE, "treatment.order", ""),
        (Action.SIGNATURE_SIGN, "treatment.order", ""),
        (Action.ORDER_VERIFY, "treatment.order", ""),
        (Action.BASELINE_SET, "monitoring.coursebaseline", ""),
    ]
    subjects = AuditEvent.objects.order_by("id")[events:].values_list("subject_id", flat=True)
    assert list(subjects) == [str(theodora.public_id)] * 4
    baseline = CourseBaseline.objects.get(coi_din=order.coi_din)
    assert (baseline.measurement_id, baseline.serum_creatinine_mg_per_dl) == (
        order.measurement_id,
        order.serum_creatinine_mg_per_dl,
    )


def test_a_wrong_password_verifies_nothing(
    team: CareTeam, in_force: ProtocolActivation, course: Course
) -> None:
    order = lymphodepletion(course, team)
    errors = errors_of(lambda: verify_order(order, actor=team.pharmacist, password="wrong"))
    assert errors == {"password": ["The password is not correct. Enter your own password to sign."]}
    assert Order.objects.get(pk=order.pk).status == OrderStatus.AWAITING_VERIFICATION


@pytest.mark.parametrize(
    "role",
    [
        Role.PHYSICIAN,  # who wrote it
        Role.NAVIGATOR,
        Role.SURGEON,
        Role.NURSE,
        Role.FINANCIAL_COORDINATOR,
        Role.SOCIAL_WORKER,
        Role.CENTER_ADMIN,
        Role.MANUFACTURING_TECH,
        Role.QA_REVIEWER,
    ],
)
def test_only_a_pharmacist_verifies(
    team: CareTeam, in_force: ProtocolActivation, course: Course, role: Role
) -> None:
    order = lymphodepletion(course, team)
    user = team.by_role(role)
    call = lambda: verify_order(order, actor=user, password=TEST_PASSWORD)  # noqa: E731
    assert str(refused(call, PermissionDenied)) == NOT_VERIFIER


def test_an_order_is_verified_once_and_a_cancelled_one_never(
    team: CareTeam, in_force: ProtocolActivation, course: Course
) -> None:
    order = lymphodepletion(course, team)
    verify_order(order, actor=team.pharmacist, password=TEST_PASSWORD)
    second = make_team(center=team.center).pharmacist  # another pharmacist of the center
    for user in (team.pharmacist, second):
        call = lambda u=user: verify_order(order, actor=u, password=TEST_PASSWORD)  # noqa: E731
        assert str(refused(call, PermissionDenied)) == NOT_VERIFIER

    il2 = order_il2(course, actor=team.physician)
    cancel_order(il2, reason="Not needed.", actor=team.physician)
    call = lambda: verify_order(il2, actor=team.pharmacist, password=TEST_PASSWORD)  # noqa: E731
    assert str(refused(call, PermissionDenied)) == NOT_VERIFIER


def test_another_centers_pharmacist_cannot_verify_nor_see(
    team: CareTeam, in_force: ProtocolActivation, course: Course
) -> None:
    order = lymphodepletion(course, team)
    other = make_team()
    call = lambda: verify_order(order, actor=other.pharmacist, password=TEST_PASSWORD)  # noqa: E731
    assert str(refused(call, PermissionDenied)) == NOT_VERIFIER
    assert policies.can_view_order(other.pharmacist, order) is False


def test_the_writer_never_verifies_even_with_the_permission(
    team: CareTeam, in_force: ProtocolActivation, course: Course
) -> None:
    # The two-person check holds in the policy itself, whatever the roles grant
    order = lymphodepletion(course, team)
    order.ordered_by = team.pharmacist
    assert policies.can_verify_order(team.pharmacist, order) is False
    assert policies.can_verify_order(make_team(center=team.center).pharmacist, order) is True


@pytest.mark.parametrize(
    ("role", "view", "write", "verify", "cancel"),
    [
        (Role.PHYSICIAN, True, True, False, True),
        (Role.PHARMACIST, True, False, True, False),
        (Role.NURSE, True, False, False, False),
        (Role.NAVIGATOR, True, False, False, False),
        (Role.SURGEON, True, False, False, False),
        (Role.FINANCIAL_COORDINATOR, True, False, False, False),
        (Role.SOCIAL_WORKER, True, False, False, False),
        (Role.CENTER_ADMIN, True, False, False, False),
        (Role.MANUFACTURING_TECH, False, False, False, False),
        (Role.QA_REVIEWER, False, False, False, False),
    ],
)
def test_every_roles_allowed_and_refused_actions_on_an_order(
    team: CareTeam,
    in_force: ProtocolActivation,
    course: Course,
    role: Role,
    view: bool,
    write: bool,
    verify: bool,
    cancel: bool,
) -> None:
    order = lymphodepletion(course, team)
    user = team.by_role(role)
    assert (
        policies.can_view_order(user, order),
        policies.can_write_order(user, team.center),
        policies.can_verify_order(user, order),
        policies.can_cancel_order(user, order),
    ) == (view, write, verify, cancel)


def test_cancelling_needs_a_physician_and_a_reason(
    team: CareTeam, in_force: ProtocolActivation, course: Course
) -> None:
    order = lymphodepletion(course, team)
    for reason in ("", "   ", None):
        call = lambda r=reason: cancel_order(order, reason=r, actor=team.physician)  # noqa: E731
        assert errors_of(call) == {"reason": ["Say why the order is cancelled (required)."]}
    call = lambda: cancel_order(order, reason="x", actor=team.pharmacist)  # noqa: E731
    assert str(refused(call, PermissionDenied)) == (
        "Only a treating physician of this center cancels an open order."
    )

    events = AuditEvent.objects.count()
    cancel_order(order, reason="  Treatment postponed.  ", actor=team.physician)

    order = Order.objects.get(pk=order.pk)
    assert (order.status, order.cancel_reason, order.cancelled_at is not None) == (
        OrderStatus.CANCELLED,
        "Treatment postponed.",
        True,
    )
    assert actions_since(events) == [
        (Action.ORDER_CANCEL, "treatment.order", "Treatment postponed.")
    ]
    # A cancelled order is not cancelled again
    call = lambda: cancel_order(order, reason="again", actor=team.physician)  # noqa: E731
    refused(call, PermissionDenied)


# 5. Re-verification after a newer measurement ----------------------------------------------------


def test_a_newer_weight_flags_a_verified_order_and_reorder_replaces_it(
    team: CareTeam, in_force: ProtocolActivation, course: Course, theodora: Patient
) -> None:
    # Given a verified lymphodepletion order from 80 kg
    order = lymphodepletion(course, team)
    verify_order(order, actor=team.pharmacist, password=TEST_PASSWORD)
    order = Order.objects.get(pk=order.pk)
    assert (newer_inputs(order), orders_to_verify(team.center)) == (None, [])

    # When a newer weight is recorded (75 kg today)
    measure(theodora, team.nurse, "75", TODAY)

    # Then the order says why it needs verifying again, and is back in the pharmacist's queue
    assert newer_inputs(order) == (
        "A newer height and weight (75.0 kg, 180.0 cm, measured 15 Jun 2026) were recorded after "
        "this order was written from 80.0 kg, 180.0 cm: write it again so the doses follow the "
        "new measurement, and have it verified again."
    )
    assert orders_to_verify(team.center) == [order]

    # When the physician orders again
    events = AuditEvent.objects.count()
    new = reorder(order, actor=team.physician, reason="Weight 75 kg today.")

    # Then the old order is cancelled with the reason, and the new one awaits verification,
    # computed from 75 kg: 60 × 75 = 4500 mg; Mosteller √(180 × 75 / 3600) = 1.94 m² → 48.5 →
    # 49 mg (CrCl (140 − 58) × 75 / 57.6 × 0.85 = 90.8 → 91, above the bands)
    old = Order.objects.get(pk=order.pk)
    assert (old.status, old.cancel_reason) == (
        OrderStatus.CANCELLED,
        "Replaced: Weight 75 kg today.",
    )
    assert newer_inputs(old) is None
    assert (new.status, new.inputs["weight_kg"], new.measurement.measured_on) == (
        OrderStatus.AWAITING_VERIFICATION,
        "75.0",
        TODAY,
    )
    assert (new.serum_creatinine_mg_per_dl, new.creatinine_drawn_on) == (Decimal("0.80"), YESTERDAY)
    assert dose_rows(new) == lymphodepletion_rows("4500", "49")
    assert newer_inputs(new) is None
    assert orders_to_verify(team.center) == [new]
    assert open_order(COI_DIN, 1, OrderKind.LYMPHODEPLETION) == new
    assert orders_of_course(COI_DIN, 1) == [new, old]
    assert actions_since(events) == [
        (Action.ORDER_CANCEL, "treatment.order", "Replaced: Weight 75 kg today."),
        (Action.ORDER_WRITE, "treatment.order", "Weight 75 kg today."),
    ]
    # The old verification still holds for what it signed (the old doses, kept)
    assert old.verification_signature is not None
    assert signature_is_valid(old.verification_signature, old) is True
    assert dose_rows(old) == lymphodepletion_rows("4800", "50")


def test_an_older_measurement_entered_late_does_not_flag_the_order(
    team: CareTeam, in_force: ProtocolActivation, course: Course, theodora: Patient
) -> None:
    # Given a verified order from yesterday's 80 kg
    order = lymphodepletion(course, team)
    verify_order(order, actor=team.pharmacist, password=TEST_PASSWORD)

    # When last week's weight is entered afterwards
    measure(theodora, team.nurse, "82", dt.date(2026, 6, 8))

    # Then the order still follows the latest measurement: nothing to verify again
    assert newer_inputs(Order.objects.get(pk=order.pk)) is None
    assert orders_to_verify(team.center) == []


def test_an_order_whose_weight_is_no_longer_the_latest_is_not_verified(
    team: CareTeam, in_force: ProtocolActivation, course: Course, theodora: Patient
) -> None:
    # Given an order from 80 kg awaiting verification, and 75 kg recorded since
    order = lymphodepletion(course, team)
    measure(theodora, team.nurse, "75", TODAY)

    # When the pharmacist verifies it, she is refused: the doses follow the old weight
    call = lambda: verify_order(order, actor=team.pharmacist, password=TEST_PASSWORD)  # noqa: E731
    assert errors_of(call, Conflict) == {"__all__": [newer_inputs(order)]}
    assert "75.0 kg" in str(newer_inputs(order))

    # Once ordered again from the new weight, she verifies the new order
    new = reorder(order, actor=team.physician, reason="Weight 75 kg today.")
    signature = verify_order(new, actor=team.pharmacist, password=TEST_PASSWORD)
    assert signature_is_valid(signature, Order.objects.get(pk=new.pk)) is True


def test_reorder_with_a_new_creatinine_recomputes_fludarabine(
    team: CareTeam, in_force: ProtocolActivation
) -> None:
    # Given an order for 72 kg, 170 cm with SCr 0.8 (CrCl 87, above the bands): 25 × 1.84 → 46
    patient = theodora_at(team.center)
    measure(patient, team.nurse, "72", YESTERDAY, height_cm="170")
    order = lymphodepletion(course_for(patient), team, creatinine="0.8")
    assert dose_rows(order) == lymphodepletion_rows("4320", "46")

    # When it is ordered again with today's SCr 1.0 (CrCl 70, band 50–79: 20 × 1.84 → 37)
    new = reorder(
        order,
        actor=team.physician,
        reason="Creatinine 1.0 today.",
        serum_creatinine_mg_per_dl="1.0",
        creatinine_drawn_on=TODAY,
    )

    # Then fludarabine follows the new creatinine, and cyclophosphamide is unchanged
    assert dose_rows(new) == lymphodepletion_rows("4320", "37")
    assert (new.inputs["serum_creatinine_mg_per_dl"], new.inputs["creatinine_drawn_on"]) == (
        "1.0",
        "2026-06-15",
    )


def test_a_refused_reorder_leaves_the_order_as_it_was(
    team: CareTeam, in_force: ProtocolActivation, course: Course
) -> None:
    order = lymphodepletion(course, team)
    verify_order(order, actor=team.pharmacist, password=TEST_PASSWORD)

    # No reason; a creatinine without a date; a date without a creatinine; a pharmacist
    assert errors_of(lambda: reorder(order, actor=team.physician, reason=" ")) == {
        "reason": ["Say why the order is written again (required)."]
    }
    call = lambda: reorder(  # noqa: E731
        order, actor=team.physician, reason="New SCr.", serum_creatinine_mg_per_dl="1.0"
    )
    assert errors_of(call) == {DRAWN: ["Give the date the creatinine was drawn."]}
    call = lambda: reorder(  # noqa: E731
        order, actor=team.physician, reason="New SCr.", creatinine_drawn_on=TODAY
    )
    assert errors_of(call) == {SCR: ["Serum creatinine is required."]}
    call = lambda: reorder(order, actor=team.pharmacist, reason="x")  # noqa: E731
    assert str(refused(call, PermissionDenied)) == NOT_PRESCRIBER

    # A failure after the cancellation (the core refuses the new creatinine's CrCl, below the
    # lowest band: (140 − 58) × 80 / (72 × 3.0) × 0.85 = 25.8 → 26) rolls the cancellation back
    # too: one transaction
    call = lambda: reorder(  # noqa: E731
        order,
        actor=team.physician,
        reason="New SCr.",
        serum_creatinine_mg_per_dl="3.0",
        creatinine_drawn_on=TODAY,
    )
    assert errors_of(call) == {
        "__all__": [
            "CrCl 26 mL/min is below the lowest band the center set (40 mL/min): this dose "
            "cannot be calculated from the center's settings; the physician and pharmacist "
            "decide."
        ]
    }
    assert Order.objects.get(pk=order.pk).status == OrderStatus.VERIFIED


def test_an_order_is_found_by_its_public_id(
    team: CareTeam, in_force: ProtocolActivation, course: Course
) -> None:
    order = lymphodepletion(course, team)
    found = order_by_public_id(order.public_id)
    assert found == order
    assert found is not None and dose_rows(found) == lymphodepletion_rows("4800", "50")
    assert order_by_public_id(in_force.public_id) is None
    assert open_order(COI_DIN, 2, OrderKind.LYMPHODEPLETION) is None
    assert open_order(COI_DIN, 1, OrderKind.IL2) is None


# 6. The center's clock --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instant", "zone", "local_date", "age"),
    [
        # 23:30 UTC on 11 April is 01:30 on the 12th in Amsterdam: Theodora's 58th birthday
        pytest.param(
            dt.datetime(2026, 4, 11, 23, 30, tzinfo=dt.UTC),
            "Europe/Amsterdam",
            dt.date(2026, 4, 12),
            58,
            id="23:30 UTC, Amsterdam: next day",
        ),
        # 05:30 UTC on 12 April is 22:30 on the 11th in Los Angeles: still 57
        pytest.param(
            dt.datetime(2026, 4, 12, 5, 30, tzinfo=dt.UTC),
            "America/Los_Angeles",
            dt.date(2026, 4, 11),
            57,
            id="05:30 UTC, Los Angeles: day before",
        ),
        # Riverside (New York): 03:30 UTC on 12 April is 23:30 on the 11th
        pytest.param(
            dt.datetime(2026, 4, 12, 3, 30, tzinfo=dt.UTC),
            "America/New_York",
            dt.date(2026, 4, 11),
            57,
            id="03:30 UTC, New York: day before",
        ),
    ],
)
def test_age_and_dates_are_the_centers(
    instant: dt.datetime, zone: str, local_date: dt.date, age: int
) -> None:
    with time_machine.travel(instant, tick=False):
        # Given a center in `zone` whose date differs from UTC's
        team = riverside_team()
        team.center.time_zone = zone
        team.center.save(update_fields=["time_zone"])
        activate(team.center, pharmacist=team.pharmacist, physician=team.physician)
        patient = theodora_at(team.center)
        measure(patient, team.nurse, "80", local_date)
        course = course_for(patient)
        tomorrow = local_date + dt.timedelta(days=1)

        # When a creatinine dated the center's tomorrow is given, it is refused as in the future
        call = lambda: order_lymphodepletion(  # noqa: E731
            course,
            serum_creatinine_mg_per_dl="0.8",
            creatinine_drawn_on=tomorrow,
            actor=team.physician,
        )
        assert errors_of(call) == {
            DRAWN: [f"The creatinine's date cannot be in the future (today is {local_date})."]
        }
        # while one dated the center's today is accepted
        order = order_lymphodepletion(
            course,
            serum_creatinine_mg_per_dl="0.8",
            creatinine_drawn_on=local_date,
            actor=team.physician,
        )

    # Then the order is dated, and the age counted, on the center's calendar
    assert (order.inputs["ordered_on"], order.inputs["age_years"]) == (local_date.isoformat(), age)
    assert order.calculation["agents"][1]["renal"]["crcl"]["age_years"] == str(age)
    assert order.inputs["creatinine_drawn_on"] == local_date.isoformat()


def test_a_new_settings_version_flags_an_open_order_computed_on_the_old_one(
    team: CareTeam, in_force: ProtocolActivation, course: Course
) -> None:
    # Given a verified lymphodepletion order computed on settings version 1
    order = lymphodepletion(course, team)
    verify_order(order, actor=team.pharmacist, password=TEST_PASSWORD)
    order.refresh_from_db()
    assert newer_inputs(order) is None
    # When the center signs version 2 (a BSA cap), which replaces version 1
    activate(
        team.center,
        pharmacist=team.pharmacist,
        physician=team.physician,
        values={**LIFILEUCEL_VALUES, "bsa_cap_m2": "2.2"},
        reason="BSA cap of 2.2 m² adopted by the pharmacy and therapeutics committee",
    )
    order.refresh_from_db()
    # Then the order says why it must be written again, and the pharmacist's queue shows it
    assert newer_inputs(order) == (
        "This order was computed on the center's settings version 1, which has been replaced "
        "(version 2 is in force): write it again so the doses follow the settings in force, and "
        "have it verified again."
    )
    assert orders_to_verify(team.center) == [order]
