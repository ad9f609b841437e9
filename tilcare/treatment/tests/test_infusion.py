"""The start and the end of the cell infusion.

The cells are infused “as soon as possible after 24 hours have elapsed following the last
fludarabine dose, but no later than 4 days” (Amtagvi US label 2024, section 2): 24 h to 96 h after
the last fludarabine dose recorded as given on the verified lymphodepletion order, both edges
inclusive. A thawed bag waits at most the center's own thaw-to-infusion limit (label section 2.2;
60 min in these tests' settings), edge inclusive. A start refused for the product or the time
raises a critical "infusion blocked" identity alert that stays when the refusal is answered. The
dose is “7.5 × 10⁹ to 72 × 10⁹ viable cells” in “1 to 4 patient-specific IV infusion bags” (label
section 2): a dose outside it is recorded as given and alerted.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from tilcare.audit.actions import Action
from tilcare.audit.models import AuditEvent
from tilcare.core.errors import Conflict, InvalidInput
from tilcare.identity.choices import AlertKind, AlertSeverity
from tilcare.identity.models import IdentityAlert, Item
from tilcare.journey.tests.factories import CareTeam
from tilcare.treatment.models import BagThaw, BedsideScan, Infusion
from tilcare.treatment.services.bedside import record_thaw
from tilcare.treatment.services.infusion import end_infusion, start_infusion
from tilcare.treatment.tests.factories import (
    HOUR,
    MIN,
    THAW_LIMIT,
    InfusionDay,
    check_identity,
    infusion_day,
    premedicate,
    ready_to_start,
)

pytestmark = pytest.mark.django_db

SEC = dt.timedelta(seconds=1)


def seq() -> int:
    last = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
    return last or 0


def actions_since(before: int) -> list[str]:
    events = AuditEvent.objects.filter(seq__gt=before).order_by("seq")
    return list(events.values_list("action", flat=True))


def rows() -> tuple[int, ...]:
    return (
        Infusion.objects.filter(started_at__isnull=False).count(),
        Infusion.objects.filter(ended_at__isnull=False).count(),
        BedsideScan.objects.count(),
        BagThaw.objects.count(),
        IdentityAlert.objects.count(),
    )


def fresh(day: InfusionDay) -> Infusion:
    return Infusion.objects.get(pk=day.infusion.pk)


def assert_blocked(
    day: InfusionDay, start: dt.datetime, problems: list[str], before: int, counts: tuple
) -> IdentityAlert:
    """The start at `start` is refused with `problems`, a critical infusion-blocked alert is
    raised and stays, and nothing else is written."""
    with pytest.raises(Conflict) as refused:
        start_infusion(day.infusion, at=start, actor=day.team.nurse)
    assert refused.value.errors == {
        "__all__": [*problems, "Do not infuse: an alert has been raised."]
    }
    alert = IdentityAlert.objects.get(kind=AlertKind.INFUSION_BLOCKED)
    assert alert.severity == AlertSeverity.CRITICAL
    assert alert.coi_din == day.infusion.coi_din
    assert alert.message == f"Infusion blocked at the bedside: {' '.join(problems)}"
    assert alert.raised_at == start
    assert actions_since(before) == [Action.ALERT_RAISE]
    assert rows() == (*counts[:4], counts[4] + 1)
    assert fresh(day).started_at is None
    return alert


# The infusion window, on the center's clock: (the last fludarabine dose in UTC, its zone, the
# window's bounds as the center reads them). 23:30 UTC is already the next day in Amsterdam;
# 05:30 UTC is still the day before in Los Angeles.
WINDOWS = [
    ("Europe/Amsterdam", dt.datetime(2026, 12, 14, 23, 30, tzinfo=dt.UTC),
     "Wed 16 Dec 2026 00:30 CET", "Sat 19 Dec 2026 00:30 CET"),
    ("America/Los_Angeles", dt.datetime(2026, 12, 15, 5, 30, tzinfo=dt.UTC),
     "Tue 15 Dec 2026 21:30 PST", "Fri 18 Dec 2026 21:30 PST"),
]  # fmt: skip
WINDOW_IDS = ["23h30-utc-amsterdam", "05h30-utc-los-angeles"]
AFTER = "after the last fludarabine dose"


@pytest.fixture
def zoned(request: Any, team: CareTeam, time_machine: Any) -> InfusionDay:
    zone, last, _, _ = request.param
    team.center.time_zone = zone
    team.center.save(update_fields=["time_zone"])
    return infusion_day(team, time_machine, last=last)


@pytest.mark.parametrize("zoned", WINDOWS, ids=WINDOW_IDS, indirect=True)
@pytest.mark.parametrize(
    "offset", [24 * HOUR, 96 * HOUR, 60 * HOUR], ids=["24h-edge", "96h-edge", "inside"]
)
def test_a_start_inside_the_window_edges_included_is_accepted(zoned, time_machine, offset):
    # Given everything ready for a start at the window's edge (or inside it)
    day = zoned
    start = day.last_fludarabine + offset
    ready_to_start(day, time_machine, start)

    # When the nurse starts the infusion
    started = start_infusion(day.infusion, at=start, actor=day.team.nurse)

    # Then it starts, without an alert
    assert (started.started_at, started.started_by) == (start, day.team.nurse)
    assert fresh(day).started_at == start
    assert IdentityAlert.objects.count() == 0


@pytest.mark.parametrize("zoned", WINDOWS, ids=WINDOW_IDS, indirect=True)
def test_a_minute_before_the_window_opens_the_start_is_refused_and_alerted(zoned, time_machine):
    # Given everything ready for a start 23 h 59 min after the last fludarabine dose
    day = zoned
    start = day.last_fludarabine + 24 * HOUR - MIN
    ready_to_start(day, time_machine, start)
    before, counts = seq(), rows()

    # When the nurse starts the infusion
    # Then it is refused with the opening on the center's clock, and a critical alert stays
    _, _, opens, _ = next(w for w in WINDOWS if w[1] == day.last_fludarabine)
    assert_blocked(
        day, start, [f"The infusion window opens at {opens} (24 h {AFTER})."], before, counts
    )


@pytest.mark.parametrize("zoned", WINDOWS, ids=WINDOW_IDS, indirect=True)
def test_a_minute_after_the_window_closes_the_start_is_refused_and_alerted(zoned, time_machine):
    # Given everything ready for a start 96 h 1 min after the last fludarabine dose (bag 1
    # thawed 20 min before, within the limit)
    day = zoned
    start = day.last_fludarabine + 96 * HOUR + MIN
    ready_to_start(day, time_machine, start)
    before, counts = seq(), rows()

    # When the nurse starts the infusion
    # Then it is refused with the closing on the center's clock, and a critical alert stays
    _, _, _, closes = next(w for w in WINDOWS if w[1] == day.last_fludarabine)
    assert_blocked(
        day,
        start,
        [
            f"The infusion window closed at {closes} (96 h {AFTER}): the cells are not infused "
            "outside it; the treating physician decides what happens next."
        ],
        before,
        counts,
    )


@pytest.fixture
def day(team: CareTeam, time_machine: Any) -> InfusionDay:
    """A Riverside course (New York) ready to infuse; last fludarabine 15 Dec 15:00 UTC."""
    return infusion_day(team, time_machine)


# The thaw limit --------------------------------------------------------------------------------


def test_a_bag_thawed_exactly_the_limit_before_the_start_is_accepted(day, time_machine):
    # Given bag 1 thawed 60 min (the center's limit) before the start
    start = day.last_fludarabine + 25 * HOUR
    ready_to_start(day, time_machine, start, thawed=THAW_LIMIT)

    # When the nurse starts the infusion
    started = start_infusion(day.infusion, at=start, actor=day.team.nurse)

    # Then it starts (the limit's edge is inclusive)
    assert started.started_at == start
    assert IdentityAlert.objects.count() == 0


def test_a_bag_thawed_a_second_past_the_limit_refuses_the_start_and_alerts(day, time_machine):
    # Given bag 1 thawed 60 min 1 s before the start (10:00:59 New York time; start 11:01)
    start = day.last_fludarabine + 25 * HOUR + MIN
    ready_to_start(day, time_machine, start, thawed=THAW_LIMIT + SEC)
    before, counts = seq(), rows()

    # When the nurse starts the infusion
    # Then it is refused naming the bag and the limit, and a critical alert stays
    bag = day.bags[0].item_id
    alert = assert_blocked(
        day,
        start,
        [
            f"{bag}: Over the thaw-to-infusion limit: thawed at Wed 16 Dec 2026 10:00 EST, 60 min "
            "ago; the center's limit of 60 min passed at Wed 16 Dec 2026 11:00 EST. Do not "
            "infuse without the treating physician's decision."
        ],
        before,
        counts,
    )
    assert bag in alert.message


# The product ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        pytest.param(
            {"released_at": None}, "{bag} is not released by the facility's QA.", id="unreleased"
        ),
        pytest.param(
            {"expires_at": dt.datetime(2026, 12, 16, 15, 59, tzinfo=dt.UTC)},
            "{bag} expired at 16 Dec 2026 10:59.",
            id="expired",
        ),
    ],
)
def test_a_bag_unreleased_or_expired_at_the_start_refuses_it_and_alerts(
    day, time_machine, fields, problem
):
    # Given everything ready (the identity check made) and then bag 2's release withdrawn or its
    # expiry passed a minute before the start
    start = day.last_fludarabine + 25 * HOUR
    ready_to_start(day, time_machine, start)
    Item.objects.filter(pk=day.bags[1].pk).update(**fields)
    before, counts = seq(), rows()

    # When the nurse starts the infusion
    # Then it is refused naming the bag, and a critical alert stays
    assert_blocked(day, start, [problem.format(bag=day.bags[1].item_id)], before, counts)


def test_a_start_missing_the_second_check_is_refused_without_an_alert(day, time_machine):
    # Given everything ready but the physician's check
    start = day.last_fludarabine + 25 * HOUR
    time_machine.move_to(start, tick=False)
    premedicate(day, start - 45 * MIN)
    record_thaw(
        day.infusion, item_id=day.bags[0].item_id, thawed_at=start - 30 * MIN, actor=day.team.nurse
    )
    check_identity(day, day.team.nurse)
    before, counts = seq(), rows()

    # When the nurse starts the infusion
    with pytest.raises(Conflict) as refused:
        start_infusion(day.infusion, at=start, actor=day.team.nurse)

    # Then what is missing is named, and nothing is written
    assert refused.value.errors == {
        "__all__": [
            "The second person has not checked yet: each of two people scans the wristband and "
            "every bag."
        ]
    }
    assert (actions_since(before), rows()) == ([], counts)


def test_a_start_before_any_thaw_is_refused_without_an_alert(day, time_machine):
    # Given the premedication and both checks, but no bag thawed
    start = day.last_fludarabine + 25 * HOUR
    time_machine.move_to(start, tick=False)
    premedicate(day, start - 45 * MIN)
    check_identity(day)
    before, counts = seq(), rows()

    # When the nurse starts the infusion
    with pytest.raises(Conflict) as refused:
        start_infusion(day.infusion, at=start, actor=day.team.nurse)

    # Then the thaw is named, and nothing is written
    assert refused.value.errors == {
        "__all__": ["Record the thaw time of the first bag before starting."]
    }
    assert (actions_since(before), rows()) == ([], counts)


# The end ----------------------------------------------------------------------------------------


@pytest.fixture
def started(day: InfusionDay, time_machine: Any) -> InfusionDay:
    """The infusion started 25 h after the last fludarabine dose; the clock 30 min later."""
    start = day.last_fludarabine + 25 * HOUR
    ready_to_start(day, time_machine, start)
    start_infusion(day.infusion, at=start, actor=day.team.nurse)
    time_machine.move_to(start + 30 * MIN, tick=False)
    return day


def end(day: InfusionDay, **changes: Any) -> Infusion:
    values: dict[str, Any] = {
        "at": day.last_fludarabine + 25 * HOUR + 30 * MIN,
        "bags_infused": 2,
        "viable_cells_e9": "20",
        "note": "",
    }
    values.update(changes)
    return end_infusion(day.infusion, actor=day.team.nurse, **values)


def test_an_end_within_the_dose_range_is_recorded_without_alert(started):
    # Given the infusion started
    # When the nurse records its end: 2 bags, 7.5 ×10⁹ viable cells (the range's low edge)
    ended = end(started, viable_cells_e9="7.5")

    # Then it is recorded within the range, without an alert
    assert ended.ended_at == started.last_fludarabine + 25 * HOUR + 30 * MIN
    assert (ended.bags_infused, ended.viable_cells_e9) == (2, Decimal("7.50"))
    assert (ended.cell_dose_check["cells_status"], ended.cell_dose_check["bags_status"]) == (
        "within",
        "within",
    )
    assert IdentityAlert.objects.count() == 0


def test_cells_below_the_range_are_recorded_and_alerted(started):
    # Given the infusion started
    before = seq()

    # When the nurse records 7.49 ×10⁹ viable cells (below 7.5 ×10⁹)
    ended = end(started, viable_cells_e9="7.49")

    # Then the end is recorded as given (it was), and a high alert tells the physician
    assert (ended.bags_infused, ended.viable_cells_e9) == (2, Decimal("7.49"))
    assert (ended.cell_dose_check["cells_status"], ended.cell_dose_check["bags_status"]) == (
        "below",
        "within",
    )
    alert = IdentityAlert.objects.get()
    assert (alert.kind, alert.severity) == (AlertKind.INFUSION_BLOCKED, AlertSeverity.HIGH)
    assert alert.message.startswith("Cell dose outside the protocol's range: ")
    assert alert.message.endswith("Tell the treating physician.")
    assert actions_since(before) == [Action.INFUSION_END, Action.ALERT_RAISE]


@pytest.mark.parametrize(
    ("bags", "message"),
    [
        pytest.param(True, "Bags infused must be a whole number from 1 to 2.", id="true"),
        pytest.param("1.5", "Bags infused must be a whole number from 1 to 2.", id="1.5"),
        pytest.param(0, "Bags infused must be between 1 and 2 bags.", id="0"),
        pytest.param(
            3, "Bags infused must be between 1 and 2 bags.", id="more-than-the-course-s-bags"
        ),
    ],
)
def test_bags_infused_that_are_not_a_count_of_the_course_s_bags_are_refused(started, bags, message):
    # Given the infusion started
    before, counts = seq(), rows()

    # When the nurse records this many bags infused
    with pytest.raises(InvalidInput) as refused:
        end(started, bags_infused=bags)

    # Then it is refused on bags_infused, naming the limits, and nothing is written
    assert refused.value.errors["bags_infused"] == [message]
    assert (actions_since(before), rows()) == ([], counts)
    assert fresh(started).ended_at is None


def test_an_end_before_the_start_is_refused(started):
    # Given the infusion started at 11:00 New York time
    before, counts = seq(), rows()

    # When the nurse records its end a minute before the start
    with pytest.raises(InvalidInput) as refused:
        end(started, at=started.last_fludarabine + 25 * HOUR - MIN)

    # Then it is refused on the end time, naming the start, and nothing is written
    assert refused.value.errors == {
        "ended_at": ["The end time cannot be before the infusion started (2026-12-16 16:00 UTC)."]
    }
    assert (actions_since(before), rows()) == ([], counts)


def test_an_end_before_the_infusion_started_is_refused(day, time_machine):
    # Given an infusion not started
    time_machine.move_to(day.last_fludarabine + 26 * HOUR, tick=False)
    before, counts = seq(), rows()

    # When the nurse records its end
    with pytest.raises(Conflict) as refused:
        end(day)

    # Then it is refused and nothing is written
    assert refused.value.errors == {"__all__": ["The infusion has not started."]}
    assert (actions_since(before), rows()) == ([], counts)


# The start follows the bedside checks -----------------------------------------------------------


def checked_at(day: InfusionDay, time_machine: Any) -> dt.datetime:
    """The premedication given and bag 1 thawed before, then both people's identity check
    scanned at 11:10:40 New York time (16:10:40 UTC), 25 h 10 min after the last fludarabine
    dose; the clock stays there. Returns the time of the last scan."""
    scanned = day.last_fludarabine + 25 * HOUR + 10 * MIN + 40 * SEC
    time_machine.move_to(scanned, tick=False)
    premedicate(day, scanned - 45 * MIN)
    record_thaw(
        day.infusion,
        item_id=day.bags[0].item_id,
        thawed_at=scanned - 20 * MIN,
        actor=day.team.nurse,
    )
    check_identity(day)
    return scanned


def test_a_start_typed_before_the_last_identity_scan_is_refused(day, time_machine):
    # Given the identity check scanned at 11:10:40 New York time
    scanned = checked_at(day, time_machine)
    before, counts = seq(), rows()

    # When the nurse types the start at 11:09, the minute before the last scan's
    with pytest.raises(InvalidInput) as refused:
        start_infusion(day.infusion, at=scanned.replace(second=0) - MIN, actor=day.team.nurse)

    # Then it is refused on the start time, naming the checks' minute; nothing is written
    assert refused.value.errors == {
        "started_at": [
            "The start time cannot be before the bedside checks were recorded (2026-12-16 16:10 "
            "UTC)."
        ]
    }
    assert (actions_since(before), rows()) == ([], counts)
    assert fresh(day).started_at is None


def test_a_start_typed_in_the_minute_of_the_last_identity_scan_is_accepted(day, time_machine):
    # Given the identity check scanned at 11:10:40 New York time
    scanned = checked_at(day, time_machine)

    # When the nurse types the start at 11:10 (a typed time carries no seconds)
    start = scanned.replace(second=0)
    started = start_infusion(day.infusion, at=start, actor=day.team.nurse)

    # Then it starts then, without an alert
    assert (started.started_at, started.started_by) == (start, day.team.nurse)
    assert fresh(day).started_at == start
    assert IdentityAlert.objects.count() == 0
