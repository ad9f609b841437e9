"""The infusion window: the cells are infused from 24 h until 96 h after the last fludarabine dose
(lifileucel), counted from the dose recorded as given on the verified lymphodepletion order, or
from the "Last fludarabine dose given" milestone for journeys recorded before doses were.

The move into infusion is refused before the window opens and after it closes, with the bound on
the center's clock; both bounds are allowed (edges inclusive). The window counts hours, not
calendar days: across a daylight-saving change it opens 23 wall-clock hours after the dose. The
orders card counts the window down once the last dose is given.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tilcare.audit.models import AuditEvent
from tilcare.core.errors import TransitionBlocked
from tilcare.core.tests.clients import client_for
from tilcare.core.timeutil import span_words
from tilcare.journey import guards, services
from tilcare.journey.choices import MilestoneKind, Stage
from tilcare.journey.models import Journey, JourneyTransition
from tilcare.journey.tests.factories import CareTeam, journey_at
from tilcare.treatment.choices import AdministrationOutcome, OrderKind
from tilcare.treatment.models import Order
from tilcare.treatment.selectors import (
    infusion_window_of,
    last_fludarabine_given,
    open_order,
)
from tilcare.treatment.services.administrations import record_administration
from tilcare.treatment.services.orders import cancel_order

pytestmark = pytest.mark.django_db

H = dt.timedelta(hours=1)
MIN = dt.timedelta(minutes=1)
AFTER = "after the last fludarabine dose"
PHYSICIAN_DECIDES = (
    "the cells are not infused outside it; the treating physician decides what happens next."
)
NOT_RECORDED = "The last fludarabine dose has not been recorded."


def opens_at(local: str) -> str:
    return f"The infusion window opens at {local} (24 h {AFTER})."


def closed_at(local: str) -> str:
    return f"The infusion window closed at {local} (96 h {AFTER}): {PHYSICIAN_DECIDES}"


def in_zone(team: CareTeam, zone: str) -> None:
    team.center.time_zone = zone
    team.center.save(update_fields=["time_zone"])


def the_order(journey: Journey) -> Order:
    order = open_order(journey.coi_din, journey.manufacture_attempt, OrderKind.LYMPHODEPLETION)
    assert order is not None
    return order


def in_lymphodepletion(team: CareTeam, time_machine: Any, last: dt.datetime) -> Journey:
    """A journey walked into lymphodepletion (its order verified) six days before `last`."""
    time_machine.move_to(last - 6 * 24 * H, tick=False)
    return journey_at(team, Stage.LYMPHODEPLETION)


def given_cyclophosphamide(order: Order, team: CareTeam, last: dt.datetime) -> None:
    """The two cyclophosphamide days given (an order's doses are recorded day by day), an hour
    after the order's verification and a day later, before the fludarabine days up to `last`."""
    doses = list(order.doses.filter(agent="cyclophosphamide").order_by("sequence"))
    for at, dose in zip((last - 6 * 24 * H + H, last - 5 * 24 * H), doses, strict=True):
        record_administration(dose, outcome=AdministrationOutcome.GIVEN, at=at, actor=team.nurse)


def given_fludarabine(team: CareTeam, time_machine: Any, last: dt.datetime) -> Journey:
    """A journey in lymphodepletion whose cyclophosphamide, then fludarabine doses were given
    daily, the last at `last`, each recorded in turn by the nurse; the clock stops at `last`."""
    journey = in_lymphodepletion(team, time_machine, last)
    doses = list(the_order(journey).doses.filter(agent="fludarabine").order_by("sequence"))
    assert len(doses) == 5
    time_machine.move_to(last, tick=False)
    given_cyclophosphamide(the_order(journey), team, last)
    for n, dose in enumerate(doses):
        record_administration(
            dose,
            outcome=AdministrationOutcome.GIVEN,
            at=last - (len(doses) - 1 - n) * 24 * H,
            actor=team.nurse,
        )
    return journey


def assert_refused(journey: Journey, team: CareTeam, reason: str) -> None:
    before = (JourneyTransition.objects.count(), AuditEvent.objects.count())
    assert guards.unmet_reasons(journey, Stage.INFUSION) == [reason]
    with pytest.raises(TransitionBlocked) as blocked:
        services.advance(journey, Stage.INFUSION, actor=team.nurse)
    assert blocked.value.reasons == [reason]
    assert Journey.objects.get(pk=journey.pk).stage == Stage.LYMPHODEPLETION
    assert (JourneyTransition.objects.count(), AuditEvent.objects.count()) == before


def assert_allowed(journey: Journey, team: CareTeam) -> None:
    assert guards.unmet_reasons(journey, Stage.INFUSION) == []
    moved = services.advance(journey, Stage.INFUSION, actor=team.nurse)
    assert Journey.objects.get(pk=moved.pk).stage == Stage.INFUSION


# Each case: the center's zone, the last dose (UTC), the window's bounds on the center's clock.
# 23:30 UTC is already the next day in Amsterdam; 05:30 UTC is still the day before in Los Angeles.
# Across the end of daylight saving in New York (Sun 1 Nov 2026, 02:00 EDT → 01:00 EST), 24 h
# after Sat 31 Oct 22:00 EDT is Sun 1 Nov 21:00 EST, not 22:00.
BOUNDS = [
    ("Europe/Amsterdam", dt.datetime(2026, 12, 14, 23, 30, tzinfo=dt.UTC),
     "Wed 16 Dec 2026 00:30 CET", "Sat 19 Dec 2026 00:30 CET"),
    ("America/Los_Angeles", dt.datetime(2026, 12, 15, 5, 30, tzinfo=dt.UTC),
     "Tue 15 Dec 2026 21:30 PST", "Fri 18 Dec 2026 21:30 PST"),
    ("America/New_York", dt.datetime(2026, 11, 1, 2, 0, tzinfo=dt.UTC),
     "Sun 1 Nov 2026 21:00 EST", "Wed 4 Nov 2026 21:00 EST"),
]  # fmt: skip
BOUND_IDS = ["23h30-utc-amsterdam", "05h30-utc-los-angeles", "dst-end-new-york"]


@pytest.mark.parametrize(("zone", "last", "opens", "closes"), BOUNDS, ids=BOUND_IDS)
def test_a_minute_before_the_window_opens_the_move_is_refused(
    team, time_machine, zone, last, opens, closes
):
    in_zone(team, zone)
    journey = given_fludarabine(team, time_machine, last)

    time_machine.move_to(last + 24 * H - MIN, tick=False)

    assert_refused(journey, team, opens_at(opens))


@pytest.mark.parametrize(("zone", "last", "opens", "closes"), BOUNDS, ids=BOUND_IDS)
def test_24_hours_after_the_last_dose_the_move_is_allowed(
    team, time_machine, zone, last, opens, closes
):
    in_zone(team, zone)
    journey = given_fludarabine(team, time_machine, last)

    time_machine.move_to(last + 24 * H, tick=False)

    assert_allowed(journey, team)


@pytest.mark.parametrize(("zone", "last", "opens", "closes"), BOUNDS, ids=BOUND_IDS)
def test_96_hours_after_the_last_dose_the_move_is_allowed(
    team, time_machine, zone, last, opens, closes
):
    in_zone(team, zone)
    journey = given_fludarabine(team, time_machine, last)

    time_machine.move_to(last + 96 * H, tick=False)

    assert_allowed(journey, team)


@pytest.mark.parametrize(("zone", "last", "opens", "closes"), BOUNDS, ids=BOUND_IDS)
def test_a_minute_after_the_window_closes_the_move_is_refused(
    team, time_machine, zone, last, opens, closes
):
    in_zone(team, zone)
    journey = given_fludarabine(team, time_machine, last)

    time_machine.move_to(last + 96 * H + MIN, tick=False)

    assert_refused(journey, team, closed_at(closes))


def test_the_window_counts_hours_across_the_daylight_saving_change(team, time_machine):
    # Given the last dose on Sat 31 Oct 2026 at 22:00 in New York (EDT, UTC−4)
    in_zone(team, "America/New_York")
    last = dt.datetime(2026, 11, 1, 2, 0, tzinfo=dt.UTC)
    journey = given_fludarabine(team, time_machine, last)

    # When the clock reads 21:30 EST on Sunday: 24 h 30 min later, 23 h 30 min on the wall clock
    time_machine.move_to(dt.datetime(2026, 11, 2, 2, 30, tzinfo=dt.UTC), tick=False)

    # Then the window is open (a wall-clock count would open it only at 22:00)
    window = infusion_window_of(the_order(journey), dt.datetime.now(dt.UTC))
    assert window is not None
    assert window.allowed_from == dt.datetime(2026, 11, 2, 2, 0, tzinfo=dt.UTC)
    assert window.allowed_until == dt.datetime(2026, 11, 5, 2, 0, tzinfo=dt.UTC)
    assert_allowed(journey, team)


def test_until_the_last_fludarabine_dose_is_given_only_it_is_named(team, time_machine):
    # Given four of the five fludarabine doses given
    last = dt.datetime(2026, 12, 15, 15, 0, tzinfo=dt.UTC)
    journey = in_lymphodepletion(team, time_machine, last)
    order = the_order(journey)
    doses = list(order.doses.filter(agent="fludarabine").order_by("sequence"))
    time_machine.move_to(last, tick=False)
    given_cyclophosphamide(order, team, last)
    for n, dose in enumerate(doses[:4]):
        record_administration(
            dose, outcome=AdministrationOutcome.GIVEN, at=last - (4 - n) * 24 * H, actor=team.nurse
        )

    # Then the last dose is missing, and no window is counted yet
    assert last_fludarabine_given(order) is None
    assert infusion_window_of(order, last + 30 * H) is None
    time_machine.move_to(last + 30 * H, tick=False)
    assert_refused(journey, team, NOT_RECORDED)

    # When the last dose is held rather than given, it is still not a last dose given
    record_administration(
        doses[4], outcome=AdministrationOutcome.HELD, at=last, reason="Fever", actor=team.nurse
    )
    assert last_fludarabine_given(order) is None
    assert_refused(journey, team, NOT_RECORDED)


def test_the_last_dose_is_the_highest_sequence_given(team, time_machine):
    last = dt.datetime(2026, 12, 15, 15, 0, tzinfo=dt.UTC)
    journey = given_fludarabine(team, time_machine, last)

    assert last_fludarabine_given(the_order(journey)) == last


@pytest.mark.parametrize("cancelled", [False, True], ids=["order-open", "order-cancelled"])
def test_the_milestone_still_counts_the_window(team, time_machine, cancelled):
    # Given a journey whose doses are not recorded on the order, but whose nurse recorded the
    # "Last fludarabine dose given" milestone (with the order cancelled: the settings in force
    # count the window)
    in_zone(team, "America/New_York")
    last = dt.datetime(2026, 12, 14, 15, 0, tzinfo=dt.UTC)  # Mon 14 Dec 10:00 EST
    journey = in_lymphodepletion(team, time_machine, last)
    if cancelled:
        cancel_order(the_order(journey), reason="Recorded on paper.", actor=team.physician)
    time_machine.move_to(last + H, tick=False)
    services.record_milestone(
        journey, actor=team.nurse, kind=MilestoneKind.LAST_FLUDARABINE, occurred_at=last
    )
    status = next(
        s for s in guards.evaluate(journey, Stage.INFUSION) if s.code == "last_fludarabine"
    )
    assert (status.label, status.met) == ("Last fludarabine dose given", True)

    # Then the window opens 24 h after the milestone's time
    time_machine.move_to(last + 24 * H - MIN, tick=False)
    assert_refused(journey, team, opens_at("Tue 15 Dec 2026 10:00 EST"))
    time_machine.move_to(last + 24 * H, tick=False)
    assert_allowed(journey, team)


def test_a_move_dated_in_the_past_is_judged_when_it_happened(team, time_machine):
    in_zone(team, "America/New_York")
    last = dt.datetime(2026, 12, 14, 15, 0, tzinfo=dt.UTC)
    journey = given_fludarabine(team, time_machine, last)
    time_machine.move_to(last + 100 * H, tick=False)

    assert guards.unmet_reasons(journey, Stage.INFUSION, last + 30 * H) == []
    assert guards.unmet_reasons(journey, Stage.INFUSION) == [closed_at("Fri 18 Dec 2026 10:00 EST")]


# The countdown ----------------------------------------------------------------------------------

LAST = dt.datetime(2026, 12, 14, 15, 0, tzinfo=dt.UTC)  # Mon 14 Dec 2026 10:00 EST
BOUNDS_TEXT = "Infusion window: opens Tue 15 Dec 10:00, closes Fri 18 Dec 10:00 EST"
COUNTDOWN = [
    (18 * H + 40 * MIN, "opens in 5 h 20 min", "warn"),
    (45 * H, "open now, closes in 2 days 3 h", "ok"),
    (99 * H, "closed 3 h ago", "danger"),
]


@pytest.mark.parametrize(("after", "state", "tone"), COUNTDOWN, ids=["early", "open", "closed"])
def test_the_orders_card_counts_the_window_down(team, time_machine, after, state, tone):
    in_zone(team, "America/New_York")
    journey = given_fludarabine(team, time_machine, LAST)
    time_machine.move_to(LAST + after, tick=False)

    response = client_for(team.physician).get(f"/journeys/{journey.public_id}/")

    assert response.status_code == 200
    line = f'<p class="infusion-window is-{tone}" role="status">{BOUNDS_TEXT} — {state}</p>'
    assert line in response.content.decode()


def test_no_countdown_before_the_last_dose(team, time_machine):
    journey = in_lymphodepletion(team, time_machine, LAST)

    response = client_for(team.physician).get(f"/journeys/{journey.public_id}/")

    assert response.status_code == 200
    assert 'id="orders"' in response.content.decode()
    assert "Infusion window:" not in response.content.decode()


def test_the_countdown_names_both_zones_across_the_change(team, time_machine):
    in_zone(team, "America/New_York")
    last = dt.datetime(2026, 10, 31, 0, 0, tzinfo=dt.UTC)  # Fri 30 Oct 20:00 EDT
    journey = given_fludarabine(team, time_machine, last)
    time_machine.move_to(last + 30 * H, tick=False)

    page = client_for(team.physician).get(f"/journeys/{journey.public_id}/").content.decode()

    assert (
        "Infusion window: opens Sat 31 Oct 20:00 EDT, closes Tue 3 Nov 19:00 EST — open now, "
        "closes in 2 days 18 h"
    ) in page


@pytest.mark.parametrize(
    ("delta", "words"),
    [
        (dt.timedelta(days=2, hours=3, minutes=59), "2 days 3 h"),
        (dt.timedelta(days=1), "1 day"),
        (dt.timedelta(hours=5, minutes=20, seconds=59), "5 h 20 min"),
        (dt.timedelta(hours=3), "3 h"),
        (dt.timedelta(minutes=7), "7 min"),
        (dt.timedelta(seconds=59), "less than a minute"),
    ],
)
def test_span_words(delta, words):
    assert span_words(delta) == words
