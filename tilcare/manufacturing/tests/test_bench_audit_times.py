"""The batch record's bench steps entered after the fact are dated in the audit trail when they
happened on the bench: the tissue receipt, each culture and REP count, the screen's import, the
selection, the harvest plan, the formulation into bags (and their items) and each release test.
Each event keeps when it was recorded. A step's time the trail cannot carry (ahead of now, or
before the record's last audited change) dates the event when it is recorded, and the row keeps
the time given; a screen step dated before the batch entered the screen is refused."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from tilcare.audit.models import AuditEvent
from tilcare.audit.selectors import list_events_for_subject
from tilcare.audit.tests.helpers import event_of, times
from tilcare.core.errors import InvalidInput
from tilcare.identity.choices import ItemKind
from tilcare.identity.services.items import create_item
from tilcare.journey.models import Task
from tilcare.journey.services.release import reject_batch
from tilcare.manufacturing.choices import BatchStatus, ReleaseTestKind
from tilcare.manufacturing.models import Batch, Culture
from tilcare.manufacturing.services import batches as batch_services
from tilcare.manufacturing.services import formulation
from tilcare.manufacturing.services import release as release_services
from tilcare.manufacturing.services import screen as screen_services
from tilcare.manufacturing.services import thresholds as threshold_services
from tilcare.manufacturing.tests.batch_factories import (
    SCREEN_CSV,
    THRESHOLDS,
    batch_of_patient,
    fresh,
)
from tilcare.manufacturing.tests.factories import NOW, coi_number
from tilcare.patients.tests.factories import PatientFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

# The facility keeps New York's clocks (UTC−5 in November and December).
ARRIVED = dt.datetime(2026, 11, 20, 17, 15, tzinfo=dt.UTC)
RECEIPT = ARRIVED + dt.timedelta(minutes=25)
SEEDED = ARRIVED + dt.timedelta(minutes=30)
CULTURES_COUNTED = dt.datetime(2026, 12, 1, 13, 30, tzinfo=dt.UTC)
SCREENING = dt.datetime(2026, 12, 1, 14, 0, tzinfo=dt.UTC)
IMPORTED = dt.datetime(2026, 12, 1, 14, 30, tzinfo=dt.UTC)
SELECTED = dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC)
REP_STARTED = dt.datetime(2026, 12, 1, 16, 0, tzinfo=dt.UTC)  # 11:00 on 1 Dec at the facility
PLANNED = dt.datetime(2026, 12, 1, 16, 10, tzinfo=dt.UTC)
COUNT_DAYS = (0, 3, 5)
COLLECTED = dt.datetime(2026, 11, 19, 14, 50, tzinfo=dt.UTC)
FORMULATED = dt.datetime(2026, 12, 6, 20, 0, tzinfo=dt.UTC)
TESTED = dt.datetime(2026, 12, 6, 22, 0, tzinfo=dt.UTC)


def count_moment(day: int) -> dt.datetime:
    """17:00 UTC (12:00 at the facility) on REP day `day`."""
    return REP_STARTED + dt.timedelta(days=day, hours=1)


@pytest.fixture
def received(team) -> Batch:
    """A batch opened by the receipt scan of 20 Nov, its tissue receipt entered today."""
    din, check = coi_number(17)
    batch = batch_services.open_batch(
        coi_din=din, coi_check=check, manufacture_attempt=1, center=team.center,
        facility=team.facility, protocol_id="lifileucel_us", protocol_version="2024",
        actor=team.manufacturing_tech, occurred_at=ARRIVED,
    )  # fmt: skip
    batch_services.record_tissue_receipt(
        batch, received_at=RECEIPT, weight_g=Decimal("1.2"), fragments=24,
        actor=team.manufacturing_tech,
    )  # fmt: skip
    return fresh(batch)


@pytest.fixture
def screening(received, team) -> Batch:
    """The batch seeded on 20 Nov, its cultures counted on 1 Dec and in the screen since then."""
    tech = team.manufacturing_tech
    batch_services.advance_batch(received, BatchStatus.PRE_REP, actor=tech, occurred_at=SEEDED)
    screen_services.record_cultures(
        received,
        cultures=[
            {"culture_id": f"F0{n}", "viable_cells": Decimal(cells),
             "viability_percent": Decimal("88.0"), "counted_at": CULTURES_COUNTED}
            for n, cells in ((1, 25_400_000), (2, 8_000_000), (3, 31_000_000))
        ],
        actor=tech,
    )  # fmt: skip
    batch_services.advance_batch(received, BatchStatus.SCREENING, actor=tech, occurred_at=SCREENING)
    return fresh(received)


def screen_and_select(batch: Batch, team) -> None:
    tech = team.manufacturing_tech
    screen_services.import_reactivity_csv(
        batch, file_name="plate-1.csv", content=SCREEN_CSV, actor=tech, occurred_at=IMPORTED
    )
    screen_services.select_cultures(
        batch, culture_ids=["F01", "F03"], reason="F01 and F03 reactive against the tumor.",
        thresholds=THRESHOLDS, actor=tech, occurred_at=SELECTED,
    )  # fmt: skip


@pytest.fixture
def in_rep(screening, team) -> Batch:
    """The batch in the REP since 1 Dec, with its counts of days 0, 3 and 5 (and the specimen
    container the center labelled in the operating room on 19 Nov)."""
    tech = team.manufacturing_tech
    create_item(
        coi_din=screening.coi_din, coi_check=screening.coi_check, kind=ItemKind.TUMOR_SPECIMEN,
        center=team.center, facility=team.facility, description="Tumor specimen container",
        actor=team.surgeon, occurred_at=COLLECTED,
    )  # fmt: skip
    screen_and_select(screening, team)
    batch = batch_services.advance_batch(
        screening, BatchStatus.REP, actor=tech, rep_started_on=dt.date(2026, 12, 1),
        occurred_at=REP_STARTED,
    )  # fmt: skip
    batch_services.record_rep_counts(
        batch,
        counts=[
            {"day": day, "viable_cells": Decimal(10**9), "viability_percent": Decimal("91.5"),
             "counted_at": count_moment(day)}
            for day in COUNT_DAYS
        ],
        actor=tech,
    )  # fmt: skip
    return fresh(batch)


def test_a_tissue_receipt_entered_later_is_dated_when_the_tissue_was_received(received):
    assert times(event_of("manufacturing.tissue_receipt.record")) == (RECEIPT, NOW)


def test_each_culture_recorded_with_its_count_is_dated_when_it_was_counted(screening):
    events = AuditEvent.objects.filter(action="manufacturing.culture.record")

    assert [times(e) for e in events.order_by("seq")] == [(CULTURES_COUNTED, NOW)] * 3


def test_a_culture_without_its_count_is_dated_when_it_was_recorded(received, team):
    batch_services.advance_batch(
        received, BatchStatus.PRE_REP, actor=team.manufacturing_tech, occurred_at=SEEDED
    )

    screen_services.record_culture(received, culture_id="F01", actor=team.manufacturing_tech)

    assert times(event_of("manufacturing.culture.record")) == (NOW, NOW)


def test_a_count_correction_is_dated_when_the_culture_was_counted_again(screening, team):
    recounted = CULTURES_COUNTED + dt.timedelta(hours=2)

    screen_services.record_culture_count(
        screening, culture_id="F02", viable_cells=Decimal(8_200_000),
        viability_percent=Decimal("87.0"), counted_at=recounted, actor=team.manufacturing_tech,
    )  # fmt: skip

    assert times(event_of("manufacturing.culture.count")) == (recounted, NOW)


def test_a_correction_dated_before_the_cultures_first_count_is_dated_when_recorded(screening, team):
    # Given a count typed with a time before the culture's first count in the trail
    earlier = CULTURES_COUNTED - dt.timedelta(hours=1)

    culture = screen_services.record_culture_count(
        screening, culture_id="F02", viable_cells=Decimal(8_200_000),
        viability_percent=Decimal("87.0"), counted_at=earlier, actor=team.manufacturing_tech,
    )  # fmt: skip

    # Then the trail dates the correction when recorded; the culture keeps the time given
    assert times(event_of("manufacturing.culture.count")) == (NOW, NOW)
    assert Culture.objects.get(pk=culture.pk).counted_at == earlier


def test_the_screen_import_and_the_selection_entered_later_keep_their_times(screening, team):
    screen_and_select(screening, team)

    assert times(event_of("manufacturing.reactivity.import")) == (IMPORTED, NOW)
    assert times(event_of("manufacturing.culture_selection.record")) == (SELECTED, NOW)
    assert screening.reactivity_imports.get().imported_at == IMPORTED
    assert fresh(screening).selection.selected_at == SELECTED


def test_a_screen_import_dated_before_the_batch_entered_the_screen_is_refused(screening, team):
    before = AuditEvent.objects.count()

    with pytest.raises(InvalidInput) as refused:
        screen_services.import_reactivity_csv(
            screening, file_name="plate-1.csv", content=SCREEN_CSV,
            actor=team.manufacturing_tech, occurred_at=SCREENING - dt.timedelta(minutes=1),
        )  # fmt: skip

    assert refused.value.errors == {
        "occurred_at": [
            "The time it happened cannot be before the batch entered the reactivity screen "
            "(01 Dec 2026 14:00 UTC)."
        ]
    }
    assert AuditEvent.objects.count() == before


def test_a_selection_dated_before_its_screen_was_imported_is_refused(screening, team):
    tech = team.manufacturing_tech
    screen_services.import_reactivity_csv(
        screening, file_name="plate-1.csv", content=SCREEN_CSV, actor=tech, occurred_at=IMPORTED
    )

    with pytest.raises(InvalidInput) as refused:
        screen_services.select_cultures(
            screening, culture_ids=["F01"], reason="F01 reactive.", thresholds=THRESHOLDS,
            actor=tech, occurred_at=IMPORTED - dt.timedelta(minutes=1),
        )  # fmt: skip

    assert refused.value.errors == {
        "occurred_at": [
            "The cultures cannot be selected before their screen was imported "
            "(01 Dec 2026 14:30 UTC)."
        ]
    }


def test_each_rep_count_is_dated_on_its_bench_day_in_the_cois_trail(in_rep):
    trail = list_events_for_subject(f"coi:{in_rep.coi_din}").filter(
        action="manufacturing.rep_count.record"
    )

    assert sorted(times(e) for e in trail) == [(count_moment(day), NOW) for day in COUNT_DAYS]
    assert sorted(e.occurred_at.date() for e in trail) == [
        dt.date(2026, 12, 1),
        dt.date(2026, 12, 4),
        dt.date(2026, 12, 6),
    ]


def test_a_count_timed_a_minute_ahead_of_the_server_is_dated_when_recorded(screening, team):
    # Given an instrument whose clock runs a minute ahead (within the allowance), on REP day 6
    screen_and_select(screening, team)
    batch = batch_services.advance_batch(
        screening, BatchStatus.REP, actor=team.manufacturing_tech,
        rep_started_on=dt.date(2026, 12, 1), occurred_at=REP_STARTED,
    )  # fmt: skip
    ahead = NOW + dt.timedelta(minutes=1)

    count = batch_services.record_rep_count(
        batch, day=6, viable_cells=Decimal(10**9), viability_percent=Decimal("91.5"),
        counted_at=ahead, actor=team.manufacturing_tech,
    )  # fmt: skip

    # Then the count keeps its own time; the trail cannot date an event after now
    assert count.counted_at == ahead
    assert times(event_of("manufacturing.rep_count.record")) == (NOW, NOW)


def test_a_harvest_plan_made_at_the_rep_start_is_dated_then_and_counted_from_that_day(in_rep, team):
    # The REP started on 1 Dec; a harvest on 3 Dec (past today, 7 Dec) was planned on 1 Dec
    batch_services.plan_harvest(
        in_rep, planned_harvest_on=dt.date(2026, 12, 3), actor=team.manufacturing_tech,
        occurred_at=PLANNED,
    )  # fmt: skip

    assert fresh(in_rep).planned_harvest_on == dt.date(2026, 12, 3)
    assert times(event_of("manufacturing.batch.plan_harvest")) == (PLANNED, NOW)


def test_a_formulation_entered_later_dates_its_bags_items_and_the_harvest_then(in_rep, team):
    formulation.record_formulation(
        in_rep,
        bags=[
            (Decimal("250.0"), Decimal(9_000_000_000)),
            (Decimal("250.0"), Decimal(8_500_000_000)),
        ],
        storage_temperature="≤ −150 °C (vapor phase of liquid nitrogen)",
        actor=team.manufacturing_tech,
        formulated_at=FORMULATED,
    )

    bags = AuditEvent.objects.filter(action="manufacturing.bag.record")
    items = AuditEvent.objects.filter(action="identity.item.create")
    harvest = AuditEvent.objects.filter(action="manufacturing.batch.advance").latest("seq")
    assert [times(e) for e in bags] == [(FORMULATED, NOW)] * 2
    assert [times(e) for e in items.order_by("seq")] == [
        (COLLECTED, NOW),
        (FORMULATED, NOW),
        (FORMULATED, NOW),
    ]
    assert (harvest.after_json.count('"harvested"'), times(harvest)) == (1, (FORMULATED, NOW))
    assert fresh(in_rep).status_changed_at == FORMULATED


def test_a_release_test_entered_later_dates_it_and_the_move_to_release_testing(in_rep, team):
    tech = team.manufacturing_tech
    formulation.set_release_specification(
        facility=team.facility, protocol_id="lifileucel_us", test=ReleaseTestKind.VIABILITY,
        actor=team.qa_reviewer, minimum=Decimal(70), unit="%",
    )  # fmt: skip
    formulation.record_formulation(
        in_rep, bags=[(Decimal("250.0"), Decimal(9_000_000_000))],
        storage_temperature="≤ −150 °C (vapor phase of liquid nitrogen)", actor=tech,
        formulated_at=FORMULATED,
    )  # fmt: skip

    release_services.record_release_test(
        fresh(in_rep), test=ReleaseTestKind.VIABILITY, tested_at=TESTED, actor=tech,
        result_value=Decimal("88.4"), unit="%",
    )  # fmt: skip

    moved = AuditEvent.objects.filter(action="manufacturing.batch.advance").latest("seq")
    assert times(event_of("manufacturing.release_test.record")) == (TESTED, NOW)
    assert times(moved) == (TESTED, NOW)
    assert fresh(in_rep).status == BatchStatus.RELEASE_TESTING
    assert fresh(in_rep).status_changed_at == TESTED


def test_a_rejection_entered_later_opens_the_physicians_choice_on_the_rejection_day(team):
    # Given a batch whose tissue was scanned in on 20 Nov
    with time_machine.travel(ARRIVED, tick=False):
        batch = batch_of_patient(team, PatientFactory(center=team.center))
    rejected = dt.datetime(2026, 12, 2, 17, 0, tzinfo=dt.UTC)  # 12:00 on 2 Dec at the center

    # When the technologist's rejection of 2 Dec is entered today (7 Dec), through the journey's
    # door as the batch page and API make it
    reject_batch(
        batch, actor=team.manufacturing_tech, reason="Growth stalled in the REP.",
        occurred_at=rejected,
    )  # fmt: skip

    # Then the physician's task was opened at the rejection, due two days after its day
    task = Task.objects.get(title__startswith="Product of attempt 1 rejected")
    assert times(event_of("journey.task.create")) == (rejected, NOW)
    assert task.due_on == dt.date(2026, 12, 4)


def test_qa_s_thresholds_and_a_specification_set_earlier_are_dated_then(team):
    set_at = dt.datetime(2026, 11, 2, 15, 0, tzinfo=dt.UTC)

    threshold_services.set_facility_thresholds(
        team.facility, actor=team.qa_reviewer, values=THRESHOLDS, occurred_at=set_at
    )
    formulation.set_release_specification(
        facility=team.facility, protocol_id="lifileucel_us", test=ReleaseTestKind.VIABILITY,
        actor=team.qa_reviewer, minimum=Decimal(70), unit="%", occurred_at=set_at,
    )  # fmt: skip

    assert times(event_of("manufacturing.facility_thresholds.set")) == (set_at, NOW)
    assert times(event_of("manufacturing.release_spec.set")) == (set_at, NOW)


def test_a_specification_set_after_now_is_refused_on_its_field(team):
    with pytest.raises(InvalidInput) as refused:
        formulation.set_release_specification(
            facility=team.facility, protocol_id="lifileucel_us", test=ReleaseTestKind.VIABILITY,
            actor=team.qa_reviewer, minimum=Decimal(70), unit="%",
            occurred_at=NOW + dt.timedelta(minutes=1),
        )  # fmt: skip

    assert refused.value.errors == {
        "occurred_at": ["The time it happened cannot be later than now (07 Dec 2026 15:00 UTC)."]
    }
    assert not AuditEvent.objects.filter(action="manufacturing.release_spec.set").exists()
