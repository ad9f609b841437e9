"""Premedication before the cell infusion: each group given or missing, and how long before the
start, against the lifileucel label's window.

Source: Amtagvi (lifileucel) US prescribing information 2024, section 2 (as reproduced at
rxreasoner.com/monographs/amtagvi/usage): “Acetaminophen and diphenhydramine or another
H1-antihistamine, ~30 to 60 minutes before infusion”. The “~” makes timing outside 30–60 min a
warning, never a refusal; a missing group or one given after the start is incomplete.
The regimen is built by hand here: the clinical core does not read the protocol files.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from tilcare.clinical.dosing.premedication import (
    GivenPremedication,
    PremedicationTiming,
    premedication_check,
)
from tilcare.clinical.dosing.regimens import (
    Premedication,
    PremedicationGroup,
    ProtocolRef,
    RegimenNotInProtocol,
)
from tilcare.clinical.dosing.schedule import NaiveDatetime
from tilcare.clinical.units import InvalidQuantity, Quantity, Unit

LIFILEUCEL = ProtocolRef("lifileucel_us", "2024")
LABEL = (
    "Amtagvi (lifileucel) US prescribing information 2024, section 2: “Acetaminophen and "
    "diphenhydramine or another H1-antihistamine, ~30 to 60 minutes before infusion”"
)
ACETAMINOPHEN = PremedicationGroup("acetaminophen", ("acetaminophen",))
H1 = PremedicationGroup("H1 antihistamine", ("diphenhydramine",), "another H1-antihistamine")


def minutes(value: str | int) -> Quantity:
    return Quantity.of(value, Unit.minutes)


def regimen(*, approximate: bool = True) -> Premedication:
    return Premedication(
        protocol=LIFILEUCEL,
        groups=(ACETAMINOPHEN, H1),
        minutes_before_min=minutes(30),
        minutes_before_max=minutes(60),
        approximate=approximate,
        source=LABEL,
    )


LABEL_REGIMEN = regimen()
START = datetime(2024, 3, 4, 10, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


def at(hour: int, minute: int) -> datetime:
    return datetime(2024, 3, 4, hour, minute, tzinfo=UTC)


def both(acetaminophen: datetime, antihistamine: datetime) -> list[tuple[str, str, datetime]]:
    return [
        ("acetaminophen", "acetaminophen", acetaminophen),
        ("H1 antihistamine", "diphenhydramine", antihistamine),
    ]


# The label's worked numbers --------------------------------------------------------------------


def test_acetaminophen_at_0915_for_a_1000_start_is_45_min_before_and_within() -> None:
    result = premedication_check(LABEL_REGIMEN, both(at(9, 15), at(9, 20)), START)

    acetaminophen, antihistamine = result.groups
    assert (acetaminophen.status, acetaminophen.minutes_before) == (
        PremedicationTiming.WITHIN,
        45,
    )
    assert acetaminophen.reason == (
        "Acetaminophen given at 2024-03-04 09:15 UTC, 45 min before the infusion start: within "
        "the protocol's ~30 to 60 min before the infusion."
    )
    assert (antihistamine.status, antihistamine.minutes_before) == (
        PremedicationTiming.WITHIN,
        40,
    )
    assert antihistamine.reason == (
        "H1 antihistamine (diphenhydramine) given at 2024-03-04 09:20 UTC, 40 min before the "
        "infusion start: within the protocol's ~30 to 60 min before the infusion."
    )
    assert (result.complete, result.timing_ok, result.acceptable) == (True, True, True)
    assert result.reason == (
        "Premedication complete: acetaminophen and H1 antihistamine given within the protocol's "
        "~30 to 60 min before the infusion."
    )


def test_acetaminophen_at_0830_for_a_1000_start_is_earlier_than_the_window_a_warning() -> None:
    result = premedication_check(LABEL_REGIMEN, both(at(8, 30), at(9, 20)), START)

    acetaminophen = result.groups[0]
    assert (acetaminophen.status, acetaminophen.minutes_before) == (
        PremedicationTiming.EARLIER_THAN_WINDOW,
        90,
    )
    assert acetaminophen.reason == (
        "Acetaminophen given at 2024-03-04 08:30 UTC, 90 min before the infusion start: earlier "
        "than the protocol's ~30 to 60 min before the infusion."
    )
    # "~30 to 60 minutes": outside the window is a warning; the premedication is complete.
    assert (result.complete, result.timing_ok, result.acceptable) == (True, False, True)
    assert result.reason == (
        "Premedication given, but not within the protocol's ~30 to 60 min before the infusion: "
        "acetaminophen given 90 min before the start. The timing is approximate, so this is a "
        "warning for the treating physician, not a stop."
    )


# Edges: 30 and 60 min are within ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "status", "shown"),
    [
        (60 * MIN + timedelta(microseconds=1), PremedicationTiming.EARLIER_THAN_WINDOW, "over 60"),
        (60 * MIN, PremedicationTiming.WITHIN, "60"),
        (45 * MIN, PremedicationTiming.WITHIN, "45"),
        (30 * MIN, PremedicationTiming.WITHIN, "30"),
        (30 * MIN - timedelta(microseconds=1), PremedicationTiming.LATER_THAN_WINDOW, "over 29"),
        (10 * MIN, PremedicationTiming.LATER_THAN_WINDOW, "10"),
        (timedelta(0), PremedicationTiming.LATER_THAN_WINDOW, "0"),
    ],
    ids=[
        "60 min + 1 µs: earlier",
        "exactly 60 min: within",
        "45 min: within",
        "exactly 30 min: within",
        "30 min - 1 µs: later",
        "10 min: later",
        "at the start: later, still given before",
    ],
)
def test_the_window_edges_are_inclusive(
    before: timedelta, status: PremedicationTiming, shown: str
) -> None:
    result = premedication_check(LABEL_REGIMEN, both(START - before, at(9, 20)), START)

    acetaminophen = result.groups[0]
    assert acetaminophen.status is status
    assert acetaminophen.before_start == before
    assert f", {shown} min before the infusion start: " in acetaminophen.reason
    assert result.complete is True
    assert result.timing_ok is (status is PremedicationTiming.WITHIN)


# Problems: missing, after the start ------------------------------------------------------------


def test_a_missing_group_makes_the_premedication_incomplete() -> None:
    given = [("acetaminophen", "acetaminophen", at(9, 15))]

    result = premedication_check(LABEL_REGIMEN, given, START)

    antihistamine = result.groups[1]
    assert antihistamine.status is PremedicationTiming.MISSING
    assert (antihistamine.counted, antihistamine.minutes_before) == (None, None)
    assert antihistamine.reason == (
        "H1 antihistamine (diphenhydramine or another H1-antihistamine) is not recorded as given."
    )
    assert (result.complete, result.timing_ok, result.acceptable) == (False, False, False)
    assert result.reason == (
        "Premedication not complete: H1 antihistamine not given. Each premedication is given "
        "before the infusion starts (the protocol's ~30 to 60 min before the infusion)."
    )


def test_a_premedication_after_the_start_is_a_problem_not_a_warning() -> None:
    result = premedication_check(LABEL_REGIMEN, both(at(9, 15), at(10, 5)), START)

    antihistamine = result.groups[1]
    assert antihistamine.status is PremedicationTiming.AFTER_START
    assert (antihistamine.minutes_before, antihistamine.minutes_after) == (None, 5)
    assert antihistamine.reason == (
        "H1 antihistamine (diphenhydramine) given at 2024-03-04 10:05 UTC, 5 min after the "
        "infusion start: it must be given before the infusion starts (the protocol's ~30 to "
        "60 min before the infusion)."
    )
    assert (result.complete, result.acceptable) == (False, False)
    assert result.reason == (
        "Premedication not complete: H1 antihistamine given 5 min after the start. Each "
        "premedication is given before the infusion starts (the protocol's ~30 to 60 min before "
        "the infusion)."
    )


def test_nothing_given_lists_every_group() -> None:
    result = premedication_check(LABEL_REGIMEN, [], START)

    assert [group.status for group in result.groups] == [PremedicationTiming.MISSING] * 2
    assert result.reason.startswith(
        "Premedication not complete: acetaminophen not given; H1 antihistamine not given. "
    )


def test_the_last_dose_before_the_start_counts() -> None:
    given = [
        *both(at(8, 0), at(9, 20)),
        ("acetaminophen", "acetaminophen", at(9, 15)),
        ("acetaminophen", "acetaminophen", at(10, 30)),
    ]

    result = premedication_check(LABEL_REGIMEN, given, START)

    acetaminophen = result.groups[0]
    assert [dose.given_at for dose in acetaminophen.given] == [at(8, 0), at(9, 15), at(10, 30)]
    assert acetaminophen.counted == GivenPremedication("acetaminophen", "acetaminophen", at(9, 15))
    assert acetaminophen.status is PremedicationTiming.WITHIN
    assert result.complete is True


def test_with_an_exact_window_timing_outside_is_not_acceptable() -> None:
    exact = regimen(approximate=False)

    result = premedication_check(exact, both(at(8, 30), at(9, 20)), START)

    assert (result.complete, result.timing_ok, result.acceptable) == (True, False, False)
    assert result.reason == (
        "Premedication given, but not within the protocol's 30 to 60 min before the infusion: "
        "acetaminophen given 90 min before the start. The treating physician decides before the "
        "infusion starts."
    )


# Instants across midnight and time zones (23:30 and 05:30 UTC) ----------------------------------


def test_premedication_at_2330_utc_for_a_midnight_start_is_30_min_before() -> None:
    start = datetime(2024, 3, 5, 0, 0, tzinfo=UTC)
    given = both(datetime(2024, 3, 4, 23, 30, tzinfo=UTC), datetime(2024, 3, 4, 23, 0, tzinfo=UTC))

    result = premedication_check(LABEL_REGIMEN, given, start)

    assert [(g.status, g.minutes_before) for g in result.groups] == [
        (PremedicationTiming.WITHIN, 30),
        (PremedicationTiming.WITHIN, 60),
    ]


def test_times_in_the_center_s_zone_are_compared_as_instants() -> None:
    # 05:30 UTC is 00:30 in New York (EST, UTC−5) on 4 March 2024; acetaminophen at 23:45 the
    # evening before, New York time, is 04:45 UTC: 45 min before.
    new_york = ZoneInfo("America/New_York")
    start = datetime(2024, 3, 4, 5, 30, tzinfo=UTC)
    given = both(
        datetime(2024, 3, 3, 23, 45, tzinfo=new_york), datetime(2024, 3, 4, 0, 25, tzinfo=new_york)
    )

    result = premedication_check(LABEL_REGIMEN, given, start)

    acetaminophen, antihistamine = result.groups
    assert (acetaminophen.status, acetaminophen.minutes_before) == (
        PremedicationTiming.WITHIN,
        45,
    )
    assert acetaminophen.reason.startswith("Acetaminophen given at 2024-03-03 23:45 EST, 45 min")
    assert (antihistamine.status, antihistamine.minutes_before) == (
        PremedicationTiming.LATER_THAN_WINDOW,
        5,
    )


# Inputs, rule and source -----------------------------------------------------------------------


def test_the_result_carries_its_inputs_rule_and_source() -> None:
    given = both(at(9, 15), at(9, 20))

    result = premedication_check(LABEL_REGIMEN, given, START)

    assert result.protocol == LIFILEUCEL
    assert result.infusion_start == START
    assert result.given == tuple(GivenPremedication(*item) for item in given)
    assert (result.minutes_before_min, result.minutes_before_max) == (minutes(30), minutes(60))
    assert result.approximate is True
    assert result.source == LABEL
    assert result.rule == (
        "every group given at or before the infusion start, the last dose before the start "
        "counting; on time when 30 min ≤ time before the start ≤ 60 min (inclusive); a missing "
        "group or one given after the start is incomplete; timing outside is a warning (the "
        "source's timing is approximate)"
    )


def test_any_h1_antihistamine_will_do_and_group_names_ignore_case() -> None:
    given = [
        ("Acetaminophen", "Acetaminophen", at(9, 15)),
        ("h1 antihistamine", "cetirizine", at(9, 20)),
    ]

    result = premedication_check(LABEL_REGIMEN, given, START)

    assert [g.counted.agent for g in result.groups if g.counted] == ["Acetaminophen", "cetirizine"]
    assert result.complete is True


# Refusals --------------------------------------------------------------------------------------


def test_a_protocol_without_premedication_says_the_physician_orders_it() -> None:
    with pytest.raises(RegimenNotInProtocol) as refused:
        premedication_check(None, [], START)
    assert str(refused.value) == (
        "This protocol's sources give no premedication regimen; the treating physician orders "
        "it outside tilcare."
    )


def test_another_agent_for_acetaminophen_is_refused() -> None:
    given = [("acetaminophen", "ibuprofen", at(9, 15))]
    with pytest.raises(InvalidQuantity) as refused:
        premedication_check(LABEL_REGIMEN, given, START)
    assert str(refused.value) == (
        "given[0]: “ibuprofen” cannot be recorded as acetaminophen: this protocol gives "
        "acetaminophen."
    )


def test_a_group_the_protocol_does_not_give_is_refused() -> None:
    given = [("corticosteroid", "hydrocortisone", at(9, 15))]
    with pytest.raises(InvalidQuantity) as refused:
        premedication_check(LABEL_REGIMEN, given, START)
    assert str(refused.value) == (
        "given[0]: “corticosteroid” is not a premedication of this protocol; its premedications "
        "are acetaminophen, H1 antihistamine."
    )


def test_a_naive_time_given_is_refused() -> None:
    given = [("acetaminophen", "acetaminophen", datetime(2024, 3, 4, 9, 15))]
    with pytest.raises(NaiveDatetime) as refused:
        premedication_check(LABEL_REGIMEN, given, START)
    assert str(refused.value) == (
        "given[0] acetaminophen time 2024-03-04T09:15:00 has no time zone; give a "
        "timezone-aware date-time."
    )


def test_a_naive_infusion_start_is_refused() -> None:
    with pytest.raises(NaiveDatetime, match=r"^infusion_start 2024-03-04T10:00:00 has no time"):
        premedication_check(LABEL_REGIMEN, [], datetime(2024, 3, 4, 10, 0))


# The regimen's own checks ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"minutes_before_min": Quantity.of(1, Unit.hours)}, "must be in min, not h"),
        ({"minutes_before_min": minutes(61)}, "61–60 min before the infusion is not a valid"),
        ({"groups": (ACETAMINOPHEN, ACETAMINOPHEN)}, "must be present and distinct"),
        ({"groups": ()}, "must be present and distinct"),
        ({"source": " "}, "needs a source"),
    ],
    ids=["hours", "min above max", "a group twice", "no group", "no source"],
)
def test_a_malformed_regimen_is_refused(changes: dict[str, object], fragment: str) -> None:
    fields: dict[str, object] = {
        "protocol": LIFILEUCEL,
        "groups": (ACETAMINOPHEN, H1),
        "minutes_before_min": minutes(30),
        "minutes_before_max": minutes(60),
        "approximate": True,
        "source": LABEL,
        **changes,
    }
    with pytest.raises(InvalidQuantity) as refused:
        Premedication(**fields)  # type: ignore[arg-type]
    assert fragment in str(refused.value)


def test_a_group_describes_its_agents_as_the_source_does() -> None:
    assert H1.describe() == "diphenhydramine or another H1-antihistamine"
    assert ACETAMINOPHEN.describe() == "acetaminophen"
    assert ACETAMINOPHEN.accepts(" ACETAMINOPHEN ") and not ACETAMINOPHEN.accepts("")
    assert regimen().minutes_before_min.magnitude == Decimal(30)
