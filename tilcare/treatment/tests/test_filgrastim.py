"""Filgrastim after the infusion: the physician orders it daily from Day +1 for a number of days,
each dose computed from the center's dose per kg and the actual weight; a pharmacist verifies it;
the nurse records each day's dose; the physician stops it when the protocol's ANC rule is met
(lifileucel: ANC > 1000/mm³ on 3 consecutive days, Amtagvi US label 2024, boxed warning) or, with
a reason, on the institution's standard. Refused actions write nothing.

Theodora weighs 72.3 kg (180 cm, measured the day before); the Riverside center's lifileucel
settings give filgrastim 5 µg/kg: 5 × 72.3 = 361.5 µg, rounded half up to 362 µg.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from tilcare.accounts.choices import Role
from tilcare.audit.actions import Action
from tilcare.audit.models import AuditEvent, Signature
from tilcare.audit.services import signature_is_valid
from tilcare.core.errors import Conflict, InvalidInput, PermissionDenied
from tilcare.core.tests.clients import client_for, invalid_input, post_json, row_counts
from tilcare.journey.tests.factories import CareTeam, open_journey_for, theodora_at
from tilcare.patients.models import Patient
from tilcare.patients.tests.factories import TEST_PASSWORD
from tilcare.treatment.choices import AdministrationOutcome, OrderKind, OrderStatus
from tilcare.treatment.models import Administration, Order, OrderDose, ProtocolActivation
from tilcare.treatment.selectors import open_order
from tilcare.treatment.services.administrations import record_administration
from tilcare.treatment.services.filgrastim import order_filgrastim, stop_filgrastim
from tilcare.treatment.services.orders import (
    NOT_PRESCRIBER,
    NOT_VERIFIER,
    Course,
    cancel_order,
    reorder,
    verify_order,
)
from tilcare.treatment.tests.factories import (
    COI_DIN,
    LIFILEUCEL_VALUES,
    NKI,
    activate,
    course_for,
    infused,
    infusion_day,
    measure,
)

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 15, 16, 0, tzinfo=dt.UTC)  # noon in New York
YESTERDAY = dt.date(2026, 6, 14)
DAY = dt.timedelta(days=1)
WRITTEN = (Order, OrderDose, Administration, AuditEvent, Signature)
NOT_RECORDER = "Only a nurse or a treating physician of this center records a dose."
STOP_RULE = (
    "stop filgrastim when ANC > 1000/mm³ for 3 consecutive days (strictly above the threshold; "
    "a day without an ANC breaks the run), or per institutional standard"
)
MET_ON_DAY_11 = (
    "Filgrastim stopped: Stop rule met on Day +11: ANC above 1000/mm³ on 3 consecutive days "
    "(Day +9 1200/mm³, Day +10 1500/mm³, Day +11 1100/mm³). The protocol gives filgrastim (or a "
    "biosimilar) daily until then, or per institutional standard."
)
GIVE_THE_REASON = " To stop on the institution's standard instead, give the reason."


@pytest.fixture(autouse=True)
def frozen(time_machine: Any) -> None:
    # The clock stands at NOW; a test moves it day by day as the doses are recorded.
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def theodora(team: CareTeam) -> Patient:
    """Theodora, 72.3 kg and 180 cm measured yesterday."""
    patient = theodora_at(team.center)
    measure(patient, team.nurse, "72.3", YESTERDAY)
    return patient


@pytest.fixture
def course(theodora: Patient) -> Course:
    return course_for(theodora)


def dose_rows(order: Order) -> list[tuple[Any, ...]]:
    return [
        (d.sequence, d.day, d.agent, d.route, d.dose, d.dose_unit)
        for d in OrderDose.objects.filter(order=order).order_by("sequence")
    ]


def daily(days: range, dose: str) -> list[tuple[Any, ...]]:
    return [(n, n, "filgrastim", "SC", Decimal(dose), "µg") for n in days]


def outcomes(order: Order) -> list[tuple[int, str | None, str]]:
    rows = OrderDose.objects.filter(order=order).select_related("administration")
    return [
        (
            d.sequence,
            d.administration.outcome if hasattr(d, "administration") else None,
            d.administration.reason if hasattr(d, "administration") else "",
        )
        for d in rows.order_by("sequence")
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


def verified(course: Course, team: CareTeam, days: int) -> Order:
    """The physician's filgrastim order for `days` days, verified by the pharmacist."""
    order = order_filgrastim(course, days=days, actor=team.physician)
    verify_order(order, actor=team.pharmacist, password=TEST_PASSWORD)
    order.refresh_from_db()
    return order


def give_days(order: Order, team: CareTeam, time_machine: Any, days: range) -> None:
    """The nurse records the dose of each day given at noon in New York on that day."""
    for n in days:
        at = NOW + n * DAY
        time_machine.move_to(at, tick=False)
        dose = OrderDose.objects.get(order=order, sequence=n)
        record_administration(dose, outcome=AdministrationOutcome.GIVEN, at=at, actor=team.nurse)


# 1. The order ------------------------------------------------------------------------------------


def test_the_daily_dose_is_the_centers_dose_per_kg_times_the_actual_weight(
    team: CareTeam, in_force: ProtocolActivation, course: Course, theodora: Patient
) -> None:
    events = AuditEvent.objects.count()

    # When the physician orders filgrastim for 7 days
    order = order_filgrastim(course, days=7, actor=team.physician)

    # Then 5 µg/kg × 72.3 kg = 361.5 µg → 362 µg SC, one dose a day from Day +1 to Day +7
    assert (order.kind, order.status, order.ordered_by) == (
        OrderKind.FILGRASTIM,
        OrderStatus.AWAITING_VERIFICATION,
        team.physician,
    )
    assert dose_rows(order) == daily(range(1, 8), "362")
    assert order.inputs["weight_kg"] == "72.3"
    assert order.inputs["days_ordered"] == 7
    assert order.calculation["unrounded_ug"] == "361.5"
    assert order.calculation["working"] == (
        "5 µg/kg × 72.3 kg (actual weight) = 361.5 µg, rounded to a whole µg (half up): 362 µg"
    )
    assert order.calculation["setting_key"] == "filgrastim_dose_ug_per_kg"
    assert order.calculation["stop_rule"] == "ANC > 1000/mm³ for 3 consecutive days"
    assert open_order(COI_DIN, 1, OrderKind.FILGRASTIM) == order
    assert actions_since(events) == [(Action.ORDER_WRITE, "treatment.order", "")]


@pytest.mark.parametrize(
    ("at", "ordered_on"),
    [
        (dt.datetime(2026, 6, 15, 23, 30, tzinfo=dt.UTC), "2026-06-15"),  # 19:30 in New York
        (dt.datetime(2026, 6, 16, 5, 30, tzinfo=dt.UTC), "2026-06-16"),  # 01:30 in New York
    ],
    ids=["23:30-utc", "05:30-utc"],
)
def test_the_order_is_dated_on_the_centers_day_and_counts_study_days(
    team: CareTeam,
    in_force: ProtocolActivation,
    course: Course,
    time_machine: Any,
    at: dt.datetime,
    ordered_on: str,
) -> None:
    # Given the clock late in the UTC day, or early in the next one
    time_machine.move_to(at, tick=False)
    # When the physician orders 3 days
    order = order_filgrastim(course, days=3, actor=team.physician)
    # Then the order is dated on New York's day, and its doses are Day +1 to Day +3
    assert order.inputs["ordered_on"] == ordered_on
    assert dose_rows(order) == daily(range(1, 4), "362")


@pytest.mark.parametrize(
    ("days", "message"),
    [
        (0, "Days must be between 1 and 30 days."),
        (31, "Days must be between 1 and 30 days."),
        (True, "Days must be a whole number from 1 to 30."),
        ("1.5", "Days must be a whole number from 1 to 30."),
        ("", "Days must be a whole number from 1 to 30."),
        ("seven", "Days must be a whole number from 1 to 30."),
        (None, "Days must be a whole number from 1 to 30."),
    ],
)
def test_a_number_of_days_outside_1_to_30_is_refused_naming_days(
    team: CareTeam, in_force: ProtocolActivation, course: Course, days: object, message: str
) -> None:
    assert errors_of(lambda: order_filgrastim(course, days=days, actor=team.physician)) == {
        "days": [message]
    }


@pytest.mark.parametrize("role", [Role.NURSE, Role.PHARMACIST, Role.NAVIGATOR])
def test_only_a_physician_writes_a_filgrastim_order(
    team: CareTeam, in_force: ProtocolActivation, course: Course, role: Role
) -> None:
    call = lambda: order_filgrastim(course, days=7, actor=team.by_role(role))  # noqa: E731
    assert str(refused(call, PermissionDenied)) == NOT_PRESCRIBER


def test_a_protocol_whose_sources_give_no_filgrastim_is_refused(
    team: CareTeam, theodora: Patient
) -> None:
    # Given the NKI phase 3 protocol in force (its sources give no filgrastim regimen)
    activate(team.center, pharmacist=team.pharmacist, physician=team.physician, protocol=NKI)
    course = course_for(theodora, NKI)

    # Then no filgrastim order is written: the physician orders it outside the platform
    call = lambda: order_filgrastim(course, days=7, actor=team.physician)  # noqa: E731
    assert errors_of(call) == {
        "__all__": [
            "This protocol's sources give no filgrastim regimen; the treating physician orders "
            "it outside tilcare."
        ]
    }


def test_settings_without_the_dose_per_kg_are_refused_naming_the_setting(
    team: CareTeam, course: Course
) -> None:
    values = {k: v for k, v in LIFILEUCEL_VALUES.items() if k != "filgrastim_dose_ug_per_kg"}

    # Given lifileucel settings entered without a filgrastim dose per kg: they are not signed
    call = lambda: activate(  # noqa: E731
        team.center, pharmacist=team.pharmacist, physician=team.physician, values=values
    )
    with pytest.raises(InvalidInput) as caught:
        call()
    assert caught.value.errors["__all__"][0].startswith(
        "These settings must be entered before the version can be signed: Set 'Filgrastim dose "
        "(µg/kg, given daily from Day +1)' (filgrastim_dose_ug_per_kg) in the center's protocol "
        "settings: "
    )

    # Given a version in force whose values hold no dose per kg (signed before the protocol
    # named the setting)
    activation = activate(team.center, pharmacist=team.pharmacist, physician=team.physician)
    ProtocolActivation.objects.filter(pk=activation.pk).update(values=values)

    # Then the order is refused, naming the setting to enter
    errors = errors_of(lambda: order_filgrastim(course, days=7, actor=team.physician))
    assert list(errors) == ["__all__"]
    assert errors["__all__"][0].startswith(
        "Set 'Filgrastim dose (µg/kg, given daily from Day +1)' (filgrastim_dose_ug_per_kg) in "
        "the center's protocol settings: the label gives filgrastim (or a biosimilar) daily "
    )


def test_a_pharmacist_verifies_a_filgrastim_order_as_any_order(
    team: CareTeam, in_force: ProtocolActivation, course: Course
) -> None:
    order = order_filgrastim(course, days=7, actor=team.physician)
    first = OrderDose.objects.get(order=order, sequence=1)

    # Before verification no dose is recorded
    assert errors_of(
        lambda: record_administration(
            first, outcome=AdministrationOutcome.GIVEN, at=NOW, actor=team.nurse
        ),
        Conflict,
    ) == {
        "__all__": [
            "This order awaits the pharmacist's verification: no dose is recorded from it before."
        ]
    }
    # The physician who wrote it, or a nurse, does not verify it
    for user in (team.physician, team.nurse):
        call = lambda user=user: verify_order(order, actor=user, password=TEST_PASSWORD)  # noqa: E731
        assert str(refused(call, PermissionDenied)) == NOT_VERIFIER

    # When the pharmacist verifies it with her password
    events = AuditEvent.objects.count()
    signature = verify_order(order, actor=team.pharmacist, password=TEST_PASSWORD)

    # Then it is verified under a signature over its inputs, calculation and doses
    order = Order.objects.get(pk=order.pk)
    assert (order.status, order.verification_signature) == (OrderStatus.VERIFIED, signature)
    assert signature_is_valid(signature, order) is True
    assert actions_since(events) == [
        (Action.SIGNATURE_SIGN, "treatment.order", ""),
        (Action.ORDER_VERIFY, "treatment.order", ""),
    ]


# 2. Day by day, and ordering again ---------------------------------------------------------------


def test_doses_are_recorded_day_by_day(
    team: CareTeam, in_force: ProtocolActivation, course: Course, time_machine: Any
) -> None:
    order = verified(course, team, 5)

    # Day +2 is not recorded before Day +1
    second = OrderDose.objects.get(order=order, sequence=2)
    call = lambda: record_administration(  # noqa: E731
        second, outcome=AdministrationOutcome.GIVEN, at=NOW, actor=team.nurse
    )
    assert errors_of(call, Conflict) == {
        "__all__": [
            "Record filgrastim on Day +1 first: an order's doses are recorded in their order, "
            "day by day."
        ]
    }
    # When the nurse records Day +1 to Day +3 given, each on its day
    give_days(order, team, time_machine, range(1, 4))

    # Then those three are given and Day +4, +5 still to come
    assert outcomes(order) == [
        (1, AdministrationOutcome.GIVEN, ""),
        (2, AdministrationOutcome.GIVEN, ""),
        (3, AdministrationOutcome.GIVEN, ""),
        (4, None, ""),
        (5, None, ""),
    ]
    times = Administration.objects.filter(dose__order=order).order_by("dose__sequence")
    assert [a.at for a in times] == [NOW + DAY, NOW + 2 * DAY, NOW + 3 * DAY]


def test_a_second_order_starts_the_day_after_the_last_recorded_day(
    team: CareTeam, in_force: ProtocolActivation, course: Course, time_machine: Any
) -> None:
    # Given a 5-day order whose Day +1 to Day +3 were given, then cancelled
    first = verified(course, team, 5)
    give_days(first, team, time_machine, range(1, 4))
    cancel_order(first, reason="Course extended: written again for 5 days.", actor=team.physician)

    # When the physician orders 5 days again
    second = order_filgrastim(course, days=5, actor=team.physician)

    # Then it runs from Day +4 to Day +8, the days given staying on the first order
    assert dose_rows(second) == daily(range(4, 9), "362")
    assert [row[0] for row in outcomes(first) if row[1] is not None] == [1, 2, 3]


def test_reorder_after_a_new_weight_carries_only_the_days_not_recorded(
    team: CareTeam,
    in_force: ProtocolActivation,
    course: Course,
    theodora: Patient,
    time_machine: Any,
) -> None:
    # Given a verified 5-day order whose Day +1 and Day +2 were given
    order = verified(course, team, 5)
    give_days(order, team, time_machine, range(1, 3))
    # When a new weight is recorded (80 kg) and the physician orders again
    measure(theodora, team.nurse, "80", dt.date(2026, 6, 17))
    events = AuditEvent.objects.count()
    new = reorder(order, actor=team.physician, reason="Weight 80 kg today.")

    # Then the new order carries Day +3 to Day +5 at 5 × 80 = 400 µg, awaiting verification
    assert (new.kind, new.status) == (OrderKind.FILGRASTIM, OrderStatus.AWAITING_VERIFICATION)
    assert dose_rows(new) == daily(range(3, 6), "400")
    assert new.inputs["days_ordered"] == 3
    old = Order.objects.get(pk=order.pk)
    assert (old.status, old.cancel_reason) == (
        OrderStatus.CANCELLED,
        "Replaced: Weight 80 kg today.",
    )
    assert dose_rows(old) == daily(range(1, 6), "362")
    assert actions_since(events) == [
        (Action.ORDER_CANCEL, "treatment.order", "Replaced: Weight 80 kg today."),
        (Action.ORDER_WRITE, "treatment.order", "Weight 80 kg today."),
    ]


def test_reorder_of_an_order_with_every_day_recorded_is_refused(
    team: CareTeam,
    in_force: ProtocolActivation,
    course: Course,
    theodora: Patient,
    time_machine: Any,
) -> None:
    # Given a verified 2-day order whose two days were given
    order = verified(course, team, 2)
    give_days(order, team, time_machine, range(1, 3))
    measure(theodora, team.nurse, "80", dt.date(2026, 6, 17))

    # When the physician orders it again, it is refused in words, writing nothing
    call = lambda: reorder(order, actor=team.physician, reason="Weight 80 kg.")  # noqa: E731
    assert errors_of(call, Conflict) == {
        "__all__": ["Every dose of this course is already recorded."]
    }
    assert Order.objects.get(pk=order.pk).status == OrderStatus.VERIFIED


# 3. Stopping on the ANC rule ---------------------------------------------------------------------


@pytest.fixture
def running(
    team: CareTeam, in_force: ProtocolActivation, course: Course, time_machine: Any
) -> Order:
    """A verified 14-day order whose Day +1 to Day +10 were given; the clock on Day +11."""
    order = verified(course, team, 14)
    give_days(order, team, time_machine, range(1, 11))
    time_machine.move_to(NOW + 11 * DAY, tick=False)
    return order


def test_the_order_stops_when_the_anc_is_above_1000_on_3_consecutive_days(
    team: CareTeam, running: Order
) -> None:
    events = AuditEvent.objects.count()

    # When the physician stops it with ANC 1200, 1500, 1100/mm³ on Day +9, +10, +11
    order = stop_filgrastim(running, anc={9: "1200", 10: "1500", 11: "1100"}, actor=team.physician)

    # Then the rule is met on Day +11: the order is stopped, Day +11 to Day +14 not given
    assert order.status == OrderStatus.STOPPED
    assert Order.objects.get(pk=running.pk).status == OrderStatus.STOPPED
    assert outcomes(running) == [
        *[(n, AdministrationOutcome.GIVEN, "") for n in range(1, 11)],
        *[(n, AdministrationOutcome.NOT_GIVEN, MET_ON_DAY_11) for n in range(11, 15)],
    ]
    # and one stop event on the order with the reason, after the four doses not given
    assert actions_since(events) == [
        *[(Action.ADMINISTRATION_RECORD, "treatment.administration", MET_ON_DAY_11)] * 4,
        (Action.FILGRASTIM_STOP, "treatment.order", MET_ON_DAY_11),
    ]
    assert AuditEvent.objects.filter(action=Action.FILGRASTIM_STOP).count() == 1
    # and no dose of it is recorded any more
    dose = OrderDose.objects.get(order=running, sequence=11)
    call = lambda: record_administration(  # noqa: E731
        dose, outcome=AdministrationOutcome.GIVEN, at=NOW + 11 * DAY, actor=team.nurse
    )
    assert refused(call, Conflict)


def test_day_keys_as_text_with_a_plus_are_read_as_study_days(
    team: CareTeam, running: Order
) -> None:
    order = stop_filgrastim(
        running, anc={"+9": "1200", "10": "1500", " 11 ": 1100}, actor=team.physician
    )
    assert order.status == OrderStatus.STOPPED
    assert outcomes(running)[10] == (11, AdministrationOutcome.NOT_GIVEN, MET_ON_DAY_11)


def test_exactly_1000_is_not_above_and_the_stop_needs_a_reason(
    team: CareTeam, running: Order
) -> None:
    anc = {9: "1200", 10: "1000", 11: "1100"}

    # When the physician stops with 1000/mm³ on Day +10 and no reason, it is refused on `anc`
    errors = errors_of(lambda: stop_filgrastim(running, anc=anc, actor=team.physician))
    assert errors == {
        "anc": [
            "1 consecutive day above 1000/mm³ so far (Day +11); 3 needed. Filgrastim (or a "
            "biosimilar) continues daily, or per institutional standard." + GIVE_THE_REASON
        ]
    }
    assert Order.objects.get(pk=running.pk).status == OrderStatus.VERIFIED

    # When the physician gives the institution's standard as the reason, it stops on it
    reason = "Institutional standard: ANC above 1000/mm³ on 2 days after Day +7."
    stop_filgrastim(running, anc=anc, reason=reason, actor=team.physician)
    why = f"Filgrastim stopped on the institution's standard: {reason}"
    assert Order.objects.get(pk=running.pk).status == OrderStatus.STOPPED
    assert outcomes(running)[10:] == [
        (n, AdministrationOutcome.NOT_GIVEN, why) for n in range(11, 15)
    ]
    assert actions_since(AuditEvent.objects.count() - 1) == [
        (Action.FILGRASTIM_STOP, "treatment.order", why)
    ]


def test_a_day_without_an_anc_breaks_the_run(team: CareTeam, running: Order) -> None:
    # Day +11 has no ANC: Day +9, +10 then +12, +13 are not 3 consecutive days
    call = lambda: stop_filgrastim(  # noqa: E731
        running, anc={9: "1200", 10: "1500", 12: "1300", 13: "1400"}, actor=team.physician
    )
    assert errors_of(call) == {
        "anc": [
            "2 consecutive days above 1000/mm³ so far (Day +12, Day +13); 3 needed. Day +11 has "
            "no ANC recorded, which broke the run. Filgrastim (or a biosimilar) continues daily, "
            "or per institutional standard." + GIVE_THE_REASON
        ]
    }


@pytest.mark.parametrize(
    ("anc", "errors"),
    [
        ({"0": "1200"}, {"anc.0": ["“0” is not a study day after the infusion (1 to 365)."]}),
        ({"abc": "1200"}, {"anc.abc": ["“abc” is not a study day after the infusion (1 to 365)."]}),
        ({366: "1200"}, {"anc.366": ["“366” is not a study day after the infusion (1 to 365)."]}),
        ({9: True}, {"anc.9": ["ANC on Day +9 must be a number in /mm³, not true/false."]}),
        ({9: "-1"}, {"anc.9": ["ANC on Day +9 must be between 0 and 100000 /mm³."]}),
        ({9: "100001"}, {"anc.9": ["ANC on Day +9 must be between 0 and 100000 /mm³."]}),
        ({9: "1200.5"}, {"anc.9": ["ANC on Day +9 takes at most 0 decimal place(s) in /mm³."]}),
    ],
    ids=["day-0", "day-abc", "day-366", "true", "negative", "above-100000", "decimal"],
)
def test_an_unusable_anc_day_or_value_is_refused_naming_it(
    team: CareTeam, running: Order, anc: dict[object, object], errors: dict[str, list[str]]
) -> None:
    call = lambda: stop_filgrastim(  # noqa: E731
        running, anc={10: "1500", **anc}, reason="Per institutional standard.", actor=team.physician
    )
    assert errors_of(call) == errors
    assert Order.objects.get(pk=running.pk).status == OrderStatus.VERIFIED


@pytest.mark.parametrize("role", [Role.NURSE, Role.PHARMACIST])
def test_only_a_physician_stops_filgrastim(team: CareTeam, running: Order, role: Role) -> None:
    call = lambda: stop_filgrastim(  # noqa: E731
        running, anc={9: "1200", 10: "1500", 11: "1100"}, actor=team.by_role(role)
    )
    assert str(refused(call, PermissionDenied)) == NOT_PRESCRIBER
    assert Order.objects.get(pk=running.pk).status == OrderStatus.VERIFIED


def test_a_stopped_order_takes_no_new_filgrastim_order(
    team: CareTeam, running: Order, course: Course
) -> None:
    stop_filgrastim(running, anc={9: "1200", 10: "1500", 11: "1100"}, actor=team.physician)

    call = lambda: order_filgrastim(course, days=3, actor=team.physician)  # noqa: E731
    assert errors_of(call, Conflict) == {"__all__": ["Filgrastim was stopped for this course."]}
    # nor is it stopped twice
    again = lambda: stop_filgrastim(  # noqa: E731
        running, anc={9: "1200", 10: "1500", 11: "1100"}, actor=team.physician
    )
    assert errors_of(again, Conflict) == {
        "__all__": ["Only a verified filgrastim order is stopped."]
    }


def test_only_a_verified_filgrastim_order_is_stopped(
    team: CareTeam, in_force: ProtocolActivation, course: Course
) -> None:
    order = order_filgrastim(course, days=7, actor=team.physician)
    call = lambda: stop_filgrastim(  # noqa: E731
        order, anc={9: "1200", 10: "1500", 11: "1100"}, actor=team.physician
    )
    assert errors_of(call, Conflict) == {
        "__all__": ["Only a verified filgrastim order is stopped."]
    }


# 4. The journey API ------------------------------------------------------------------------------


@pytest.fixture
def journey(team: CareTeam, theodora: Patient, in_force: ProtocolActivation) -> Any:
    return open_journey_for(theodora, team.navigator)


def post_order(team: CareTeam, journey: Any, body: object) -> Any:
    client = client_for(team.physician)
    return post_json(client, f"/api/v1/journeys/{journey.public_id}/orders", body)


def refused_by_api(team: CareTeam, journey: Any, body: object, status: int) -> Any:
    before = row_counts(*WRITTEN)
    response = post_order(team, journey, body)
    assert response.status_code == status, response.content
    assert row_counts(*WRITTEN) == before
    return response.json()


def test_the_api_orders_filgrastim_for_the_days_sent(team: CareTeam, journey: Any) -> None:
    response = post_order(team, journey, {"kind": "filgrastim", "days": 3})

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["kind"], body["status"]) == (
        OrderKind.FILGRASTIM,
        OrderStatus.AWAITING_VERIFICATION,
    )
    assert body["doses"] == [
        {"sequence": n, "day": n, "agent": "filgrastim", "route": "SC", "dose": "362.00",
         "dose_unit": "µg", "administration": None}
        for n in range(1, 4)
    ]  # fmt: skip
    assert body["inputs"]["days_ordered"] == 3


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (
            {"kind": "filgrastim"},
            {"days": ["Say how many daily doses the order covers (1 to 30)."]},
        ),
        ({"kind": "il2", "days": 3}, {"days": ["Only a filgrastim order takes a number of days."]}),
        (
            {"kind": "filgrastim", "days": 3, "serum_creatinine_mg_per_dl": "0.8"},
            {
                "serum_creatinine_mg_per_dl": [
                    "A filgrastim order takes no creatinine: its doses are computed from the "
                    "weight."
                ]
            },
        ),
    ],
    ids=["no-days", "days-with-il2", "creatinine-with-filgrastim"],
)
def test_the_api_refuses_days_where_they_do_not_belong(
    team: CareTeam, journey: Any, body: object, errors: dict[str, list[str]]
) -> None:
    assert refused_by_api(team, journey, body, 422) == invalid_input(errors)


# 5. ANC days against the course's calendar -------------------------------------------------------


@pytest.fixture
def after_infusion(request: Any, team: CareTeam, time_machine: Any) -> Order:
    """A course in `zone` infused on 16 Dec 2026 (started 16:00 UTC: Day 0 on the center's
    calendar), its 7-day filgrastim order verified at the infusion's end; the clock then at
    `clock`."""
    zone, clock = request.param
    team.center.time_zone = zone
    team.center.save(update_fields=["time_zone"])
    day = infusion_day(team, time_machine)
    infused(day, time_machine)
    order = verified(day.course, team, 7)
    time_machine.move_to(clock, tick=False)
    return order


@pytest.mark.parametrize(
    ("after_infusion", "today"),
    [
        # 00:30 in Amsterdam on 20 Dec: Day +4 there (still Day +3 in UTC).
        (("Europe/Amsterdam", dt.datetime(2026, 12, 19, 23, 30, tzinfo=dt.UTC)), 4),
        # 21:30 in Los Angeles on 19 Dec: Day +3 there (already Day +4 in UTC).
        (("America/Los_Angeles", dt.datetime(2026, 12, 20, 5, 30, tzinfo=dt.UTC)), 3),
    ],
    ids=["23:30-utc-amsterdam", "05:30-utc-los-angeles"],
    indirect=["after_infusion"],
)
def test_an_anc_for_a_day_not_yet_come_is_refused_naming_the_day_and_today(
    team: CareTeam, after_infusion: Order, today: int
) -> None:
    # Given the course on Day +`today` of the center's calendar
    # When the physician stops filgrastim with ANC for today and for tomorrow
    call = lambda: stop_filgrastim(  # noqa: E731
        after_infusion,
        anc={today: "1200", today + 1: "1300"},
        reason="Per institutional standard.",
        actor=team.physician,
    )

    # Then tomorrow is refused, naming today's study day; nothing is written
    assert errors_of(call) == {
        f"anc.{today + 1}": [
            f"Day +{today + 1} has not come yet: today is Day +{today} on the center's calendar."
        ]
    }
    assert Order.objects.get(pk=after_infusion.pk).status == OrderStatus.VERIFIED


def test_a_superscript_digit_day_key_is_refused_naming_it(team: CareTeam, running: Order) -> None:
    # When the physician sends "²" (a digit to Unicode, not a number) as a day
    call = lambda: stop_filgrastim(  # noqa: E731
        running, anc={10: "1500", "²": "1200"}, reason="Per institutional standard.",
        actor=team.physician,
    )  # fmt: skip

    # Then it is refused on that key; nothing is written
    assert errors_of(call) == {"anc.²": ["“²” is not a study day after the infusion (1 to 365)."]}
    assert Order.objects.get(pk=running.pk).status == OrderStatus.VERIFIED


def test_the_same_day_given_twice_is_refused(team: CareTeam, running: Order) -> None:
    # When the physician sends Day +9 as "9" and again as "09", with Day +10 and Day +11
    call = lambda: stop_filgrastim(  # noqa: E731
        running, anc={"9": "1200", "09": "1300", 10: "1500", 11: "1100"}, actor=team.physician
    )

    # Then the second is refused as the same day twice (not read over the first); nothing is
    # written
    assert errors_of(call) == {"anc.09": ["Day +9 is given twice: give each day's ANC once."]}
    assert Order.objects.get(pk=running.pk).status == OrderStatus.VERIFIED
