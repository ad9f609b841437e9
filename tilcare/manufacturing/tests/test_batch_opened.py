"""A batch is opened when its tissue arrives: `opened_at` is the receiving scan's time, which may
be earlier than the row's `created_at` when the receipt is entered after the fact. The batch
page's "Opened" date and the earliest REP start are that moment, not the row's stamp."""

from __future__ import annotations

import datetime as dt
import importlib
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection
from django.urls import reverse

from tilcare.core.errors import InvalidInput
from tilcare.journey.services import custody
from tilcare.manufacturing.choices import BatchStatus
from tilcare.manufacturing.models import Batch
from tilcare.manufacturing.services import batches as batch_services
from tilcare.manufacturing.services import formulation
from tilcare.manufacturing.services import release as release_services
from tilcare.manufacturing.tests.batch_factories import (
    fresh,
    open_batch_at,
    screen_and_select,
    specimen_of,
    tissue_on_its_way,
    walk_batch,
)
from tilcare.manufacturing.tests.factories import NOW
from tilcare.manufacturing.tests.test_release_services import BAGS, STORAGE, make_scene, set_specs

pytestmark = pytest.mark.django_db

ARRIVED = dt.datetime(2026, 11, 20, 17, 15, tzinfo=dt.UTC)  # 12:15 on 20 Nov in New York


def open_at(team, moment: dt.datetime | None) -> Batch:
    return fresh(open_batch_at(team, 17, occurred_at=moment))


def test_a_batch_opened_after_the_fact_is_opened_when_the_tissue_arrived(clock, team):
    batch = open_at(team, ARRIVED)

    assert (batch.opened_at, batch.created_at) == (ARRIVED, NOW)


def test_a_batch_opened_now_is_opened_when_its_row_is_written(clock, team):
    batch = open_at(team, None)

    assert batch.opened_at == batch.created_at == NOW


def test_the_receiving_scan_entered_later_opens_the_batch_at_the_scan(clock, team):
    # Given tissue on its way since 7 Dec 15:00, and the receiving scan of 8 Dec 09:30 entered
    # on 9 Dec
    journey = tissue_on_its_way(team)
    specimen = specimen_of(journey, team)
    scanned = dt.datetime(2026, 12, 8, 9, 30, tzinfo=dt.UTC)
    clock.move_to(dt.datetime(2026, 12, 9, 10, 0, tzinfo=dt.UTC))

    result = custody.receive_tissue(
        journey,
        scanned_text=specimen.item_id,
        actor=team.manufacturing_tech,
        now=scanned,
        late_entry_reason="Entered from the receiving log",
    )

    assert result.batch is not None
    assert fresh(result.batch).opened_at == scanned


def test_the_batch_page_shows_it_opened_when_the_tissue_arrived(clock, team, client):
    batch = open_at(team, ARRIVED)
    client.force_login(team.manufacturing_tech)

    body = client.get(
        reverse("manufacturing:batch-detail", kwargs={"public_id": batch.public_id})
    ).content.decode()

    # In the facility's zone (New York): 12:15 on 20 Nov, not the day it was entered (7 Dec)
    assert "<dt>Opened</dt><dd>20 Nov 2026, 12:15</dd>" in body


def _screened(team) -> Batch:
    batch = walk_batch(open_at(team, ARRIVED), team, BatchStatus.SCREENING)
    return screen_and_select(batch, team)


def test_the_rep_may_start_on_the_day_the_tissue_arrived_though_entered_later(clock, team):
    batch = _screened(team)

    moved = batch_services.advance_batch(
        batch, BatchStatus.REP, actor=team.manufacturing_tech, rep_started_on=dt.date(2026, 11, 20)
    )

    assert (moved.status, moved.rep_started_on) == (BatchStatus.REP, dt.date(2026, 11, 20))


def test_a_rep_start_before_the_tissue_arrived_is_refused(clock, team):
    batch = _screened(team)

    with pytest.raises(InvalidInput) as refused:
        batch_services.advance_batch(
            batch,
            BatchStatus.REP,
            actor=team.manufacturing_tech,
            rep_started_on=dt.date(2026, 11, 19),
        )

    assert refused.value.errors == {
        "rep_started_on": ["REP start 2026-11-19 is before the tissue arrived."]
    }
    assert fresh(batch).status == BatchStatus.SCREENING


def test_the_migration_opens_each_existing_batch_when_its_row_was_written(clock, team):
    # Given a batch whose opening differs from its row's stamp
    batch = open_at(team, ARRIVED)
    migration = importlib.import_module("tilcare.manufacturing.migrations.0008_batch_opened_at")

    # When the migration's data step runs over it
    migration.opened_as_created(apps, SimpleNamespace(connection=connection))

    # Then its opening is the row's stamp (every batch before it was opened as it was written)
    assert fresh(batch).opened_at == NOW


# ---------- formulation and release tests are bounded by the opening, not the row's stamp ----


def test_a_formulation_entered_later_may_be_dated_after_the_opening_before_the_entry():
    # Given a batch in the REP, opened 20 days ago and entered today (the release scene)
    scene = make_scene()
    formulated = scene.batch.opened_at + dt.timedelta(days=12)
    assert formulated < scene.batch.created_at

    bags = formulation.record_formulation(
        scene.batch,
        bags=BAGS,
        storage_temperature=STORAGE,
        actor=scene.team.manufacturing_tech,
        formulated_at=formulated,
    )

    assert [b.bag_number for b in bags] == [1, 2]
    assert fresh(scene.batch).status == BatchStatus.HARVESTED


def test_a_release_test_dated_before_the_batch_was_opened_is_refused_on_its_field():
    scene = make_scene()
    set_specs(scene)
    formulation.record_formulation(
        scene.batch, bags=BAGS, storage_temperature=STORAGE, actor=scene.team.manufacturing_tech
    )
    opened = scene.batch.opened_at

    with pytest.raises(InvalidInput) as refused:
        release_services.record_release_test(
            fresh(scene.batch),
            test="viability",
            tested_at=opened - dt.timedelta(minutes=1),
            actor=scene.team.manufacturing_tech,
            result_value=Decimal("85.5"),
            unit="%",
        )

    assert refused.value.errors == {
        "tested_at": [
            "The date and time cannot be before the batch was opened "
            f"({opened:%Y-%m-%d %H:%M} UTC)."
        ]
    }
