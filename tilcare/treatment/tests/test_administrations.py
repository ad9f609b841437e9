"""Each ordered dose given, held or not given at the bedside, once, in order, from a verified
order whose inputs are still the patient's latest; and the study-day calendar of planned against
actual."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tilcare.audit.actions import Action
from tilcare.audit.models import AuditEvent
from tilcare.core.errors import Conflict, InvalidInput, PermissionDenied
from tilcare.core.tests.clients import row_counts
from tilcare.journey.tests.factories import CareTeam, make_team, theodora_at
from tilcare.patients.models import Patient
from tilcare.patients.services import record_measurement
from tilcare.patients.tests.factories import TEST_PASSWORD
from tilcare.treatment.choices import AdministrationOutcome
from tilcare.treatment.models import Administration, Order, OrderDose, ProtocolActivation
from tilcare.treatment.selectors import dose_calendar
from tilcare.treatment.services.administrations import record_administration
from tilcare.treatment.services.orders import cancel_order, order_lymphodepletion, verify_order
from tilcare.treatment.tests.factories import course_for, measure

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 15, 16, 0, tzinfo=dt.UTC)  # noon in New York
TODAY = dt.date(2026, 6, 15)
WRITTEN = (Administration, AuditEvent)


@pytest.fixture(autouse=True)
def frozen(time_machine: Any) -> None:
    time_machine.move_to(NOW)


@pytest.fixture
def theodora(team: CareTeam) -> Patient:
    patient = theodora_at(team.center)
    measure(patient, team.nurse, "80", TODAY)
    return patient


def _order(team: CareTeam, patient: Patient) -> Order:
    order = order_lymphodepletion(
        course_for(patient),
        serum_creatinine_mg_per_dl="0.8",
        creatinine_drawn_on=TODAY,
        actor=team.physician,
    )
    return order


@pytest.fixture
def verified(
    team: CareTeam, in_force: ProtocolActivation, theodora: Patient, time_machine: Any
) -> Order:
    """Theodora's lymphodepletion order (cyclophosphamide Day −7 and −6, fludarabine Day −5 to
    −1), written at NOW and verified by the pharmacist ten minutes later; the clock then stands
    three hours after NOW, so doses are recorded after the fact."""
    order = _order(team, theodora)
    time_machine.move_to(NOW + dt.timedelta(minutes=10))
    verify_order(order, actor=team.pharmacist, password=TEST_PASSWORD)
    time_machine.move_to(NOW + dt.timedelta(hours=3))
    return Order.objects.get(pk=order.pk)


def dose(order: Order, sequence: int) -> OrderDose:
    return order.doses.get(sequence=sequence)


def given(order: Order, sequence: int, team: CareTeam, *, hours: int = 1) -> Administration:
    return record_administration(
        dose(order, sequence),
        outcome=AdministrationOutcome.GIVEN,
        at=NOW + dt.timedelta(hours=hours),
        actor=team.nurse,
    )


def refusal(call: Any) -> Any:
    counts = row_counts(*WRITTEN)
    with pytest.raises((InvalidInput, PermissionDenied)) as raised:
        call()
    assert row_counts(*WRITTEN) == counts
    return raised.value


def test_a_nurse_records_a_dose_given_with_its_time_and_one_audit_event(
    team: CareTeam, verified: Order
) -> None:
    # Given the verified order; when the nurse records cyclophosphamide Day −7 given at 17:00 UTC
    events = AuditEvent.objects.count()
    administration = given(verified, 1, team)
    # Then it is recorded as given at that time, by her, with one event on Theodora's record
    assert (
        administration.outcome,
        administration.at,
        administration.recorded_by,
        administration.reason,
    ) == (AdministrationOutcome.GIVEN, NOW + dt.timedelta(hours=1), team.nurse, "")
    event = AuditEvent.objects.order_by("seq").last()
    assert AuditEvent.objects.count() == events + 1
    assert (event.action, event.subject_id, event.occurred_at) == (
        Action.ADMINISTRATION_RECORD,
        str(verified.patient.public_id),
        NOW + dt.timedelta(hours=1),
    )


def test_a_held_dose_needs_a_reason_and_keeps_it(team: CareTeam, verified: Order) -> None:
    error = refusal(
        lambda: record_administration(
            dose(verified, 1), outcome="held", at=NOW + dt.timedelta(minutes=20), actor=team.nurse
        )
    )
    assert error.errors == {"reason": ["Say why the dose was not given."]}
    held = record_administration(
        dose(verified, 1),
        outcome="held",
        at=NOW + dt.timedelta(minutes=20),
        reason="Patient vomiting; physician asked to wait two hours",
        actor=team.nurse,
    )
    assert (held.outcome, held.reason) == (
        "held",
        "Patient vomiting; physician asked to wait two hours",
    )


def test_a_dose_is_recorded_once(team: CareTeam, verified: Order) -> None:
    given(verified, 1, team)
    error = refusal(lambda: given(verified, 1, team, hours=2))
    assert isinstance(error, Conflict)
    assert error.errors == {"__all__": ["Cyclophosphamide on Day −7 is already recorded as given."]}


def test_an_orders_doses_are_recorded_day_by_day(team: CareTeam, verified: Order) -> None:
    # Fludarabine Day −5 (sequence 3) before the cyclophosphamide days is refused, naming Day −7
    error = refusal(lambda: given(verified, 3, team))
    assert error.errors == {
        "__all__": [
            "Record cyclophosphamide on Day −7 first: an order's doses are recorded in their "
            "order, day by day."
        ]
    }
    # A held dose counts as recorded: the next day may follow
    record_administration(
        dose(verified, 1),
        outcome="held",
        at=NOW + dt.timedelta(minutes=20),
        reason="Nausea; physician asked to wait",
        actor=team.nurse,
    )
    assert given(verified, 2, team).dose.sequence == 2


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (None, "at"),
        (dt.datetime(2026, 6, 15, 16, 30), "at"),  # no UTC offset
        (NOW + dt.timedelta(days=1), "at"),  # in the future
        (NOW - dt.timedelta(hours=1), "at"),  # before the order was verified
    ],
)
def test_an_impossible_time_is_refused_naming_the_field(
    team: CareTeam, verified: Order, at: Any, expected: str
) -> None:
    error = refusal(
        lambda: record_administration(dose(verified, 1), outcome="given", at=at, actor=team.nurse)
    )
    assert list(error.errors) == [expected]


def test_an_unknown_outcome_is_refused(team: CareTeam, verified: Order) -> None:
    error = refusal(
        lambda: record_administration(
            dose(verified, 1),
            outcome="skipped",
            at=NOW + dt.timedelta(minutes=20),
            actor=team.nurse,
        )
    )
    assert error.errors == {
        "outcome": ["Outcome must be one of given, held, not_given (got “skipped”)."]
    }


def test_no_dose_is_recorded_from_an_order_awaiting_verification_or_cancelled(
    team: CareTeam, in_force: ProtocolActivation, theodora: Patient
) -> None:
    # Given an order awaiting the pharmacist
    order = _order(team, theodora)
    # Then the nurse may record doses in general, but not from this order, and is told why
    error = refusal(
        lambda: record_administration(dose(order, 1), outcome="given", at=NOW, actor=team.nurse)
    )
    assert isinstance(error, Conflict)
    assert error.errors == {
        "__all__": [
            "This order awaits the pharmacist's verification: no dose is recorded from it before."
        ]
    }
    # And once cancelled, its doses are not recorded either
    cancel_order(order, reason="Plan changed", actor=team.physician)
    error = refusal(
        lambda: record_administration(
            dose(order, 1), outcome="not_given", at=NOW, reason="Plan changed", actor=team.nurse
        )
    )
    assert error.errors == {
        "__all__": ["This order is cancelled: its doses are no longer recorded."]
    }


def test_no_dose_is_given_from_an_order_with_a_newer_weight_but_it_may_be_not_given(
    team: CareTeam, verified: Order, theodora: Patient
) -> None:
    # Given a newer weight recorded after the order was verified
    record_measurement(
        theodora, actor=team.nurse, measured_on=TODAY, weight_kg="75", height_cm="180"
    )
    # Then giving a dose is refused with the reason the order must be written again
    error = refusal(lambda: given(verified, 1, team))
    assert isinstance(error, Conflict)
    assert error.errors["__all__"][0].startswith("A newer height and weight (75.0 kg, 180.0 cm")
    # But it may be recorded as not given, with the reason
    not_given = record_administration(
        dose(verified, 1),
        outcome="not_given",
        at=NOW + dt.timedelta(hours=1),
        reason="Order to be rewritten for the new weight",
        actor=team.nurse,
    )
    assert not_given.outcome == "not_given"


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("nurse", True),
        ("physician", True),
        ("pharmacist", False),
        ("navigator", False),
        ("surgeon", False),
        ("center_admin", False),
        ("financial_coordinator", False),
        ("social_worker", False),
        ("manufacturing_tech", False),
        ("qa_reviewer", False),
    ],
)
def test_who_records_a_dose(team: CareTeam, verified: Order, role: str, allowed: bool) -> None:
    actor = team.by_role(role)

    def record() -> Administration:
        return record_administration(
            dose(verified, 1), outcome="given", at=NOW + dt.timedelta(minutes=20), actor=actor
        )

    if allowed:
        assert record().recorded_by == actor
    else:
        assert isinstance(refusal(record), PermissionDenied)


def test_another_centers_nurse_records_nothing(verified: Order) -> None:
    other = make_team()
    error = refusal(
        lambda: record_administration(
            dose(verified, 1), outcome="given", at=NOW + dt.timedelta(minutes=20), actor=other.nurse
        )
    )
    assert isinstance(error, PermissionDenied)


def test_the_calendar_shows_each_study_day_planned_against_what_happened(
    team: CareTeam, verified: Order
) -> None:
    # Given Day 0 planned on 22 June and cyclophosphamide Day −7 given
    given(verified, 1, team)
    # Then the calendar lists the seven doses with their dates, the first one recorded
    rows = dose_calendar(verified, dt.date(2026, 6, 22))
    assert [(row.day_label, row.planned_on, row.dose.agent) for row in rows] == [
        ("Day −7", dt.date(2026, 6, 15), "cyclophosphamide"),
        ("Day −6", dt.date(2026, 6, 16), "cyclophosphamide"),
        ("Day −5", dt.date(2026, 6, 17), "fludarabine"),
        ("Day −4", dt.date(2026, 6, 18), "fludarabine"),
        ("Day −3", dt.date(2026, 6, 19), "fludarabine"),
        ("Day −2", dt.date(2026, 6, 20), "fludarabine"),
        ("Day −1", dt.date(2026, 6, 21), "fludarabine"),
    ]
    assert [row.administration is not None for row in rows] == [True] + [False] * 6
    # Without a planned Day 0 the days stand without dates
    assert {row.planned_on for row in dose_calendar(verified, None)} == {None}
