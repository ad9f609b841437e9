"""A batch's status changes entered after the fact are dated as they happened on the bench: the
status, the status history and the audit event carry the time given, and the history and the
audit event also keep when they were recorded. A time after now, or before the batch entered
its current status, is refused and writes nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from tilcare.audit.models import AuditEvent
from tilcare.core.errors import InvalidInput
from tilcare.manufacturing.choices import BatchStatus
from tilcare.manufacturing.models import BatchTransition
from tilcare.manufacturing.services import batches as batch_services
from tilcare.manufacturing.tests.batch_factories import fresh, open_batch_at
from tilcare.manufacturing.tests.factories import NOW

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

ARRIVED = dt.datetime(2026, 11, 20, 17, 15, tzinfo=dt.UTC)  # 12:15 at the facility (New York)
SEEDED = ARRIVED + dt.timedelta(minutes=30)


@pytest.fixture
def batch(team):
    """A batch opened by a tissue receipt scanned on 20 Nov, its tissue received."""
    opened = open_batch_at(team, 17, occurred_at=ARRIVED)
    batch_services.record_tissue_receipt(
        opened,
        received_at=ARRIVED,
        weight_g=Decimal("1.2"),
        fragments=24,
        actor=team.manufacturing_tech,
    )
    return fresh(opened)


def test_a_batch_opened_by_an_earlier_scan_is_dated_by_it(batch):
    transition = BatchTransition.objects.get(batch=batch)
    event = AuditEvent.objects.get(action="manufacturing.batch.open")

    assert batch.status_changed_at == ARRIVED
    assert (transition.occurred_at, transition.recorded_at) == (ARRIVED, NOW)
    assert (event.occurred_at, event.recorded_at) == (ARRIVED, NOW)


def test_a_status_change_entered_later_is_dated_when_it_happened(batch, team):
    moved = batch_services.advance_batch(
        batch, BatchStatus.PRE_REP, actor=team.manufacturing_tech, occurred_at=SEEDED
    )

    transition = BatchTransition.objects.filter(batch=batch).latest("id")
    event = AuditEvent.objects.filter(action="manufacturing.batch.advance").get()
    assert moved.status_changed_at == SEEDED
    assert (transition.to_status, transition.occurred_at, transition.recorded_at) == (
        BatchStatus.PRE_REP,
        SEEDED,
        NOW,
    )
    assert (event.occurred_at, event.recorded_at) == (SEEDED, NOW)
    assert transition.recorded_later is True


def test_a_status_change_dated_before_the_current_status_began_is_refused(batch, team):
    before = (BatchTransition.objects.count(), AuditEvent.objects.count())

    with pytest.raises(InvalidInput) as refused:
        batch_services.advance_batch(
            batch,
            BatchStatus.PRE_REP,
            actor=team.manufacturing_tech,
            occurred_at=ARRIVED - dt.timedelta(minutes=1),
        )

    assert refused.value.errors == {
        "occurred_at": [
            "The change cannot be dated before the batch entered “Tissue received” "
            "(20 Nov 2026 12:15)."
        ]
    }
    assert (BatchTransition.objects.count(), AuditEvent.objects.count()) == before
    assert fresh(batch).status == BatchStatus.TISSUE_RECEIVED


def test_a_status_change_dated_after_now_is_refused(batch, team):
    with pytest.raises(InvalidInput) as refused:
        batch_services.advance_batch(
            batch,
            BatchStatus.PRE_REP,
            actor=team.manufacturing_tech,
            occurred_at=NOW + dt.timedelta(minutes=1),
        )

    assert refused.value.errors == {
        "occurred_at": ["The time it happened cannot be later than now (07 Dec 2026 15:00 UTC)."]
    }
    assert fresh(batch).status == BatchStatus.TISSUE_RECEIVED


def test_the_status_history_shows_when_it_happened_and_when_it_was_recorded(batch, team, client):
    batch_services.advance_batch(
        batch, BatchStatus.PRE_REP, actor=team.manufacturing_tech, occurred_at=SEEDED
    )
    client.force_login(team.manufacturing_tech)

    url = reverse("manufacturing:batch-detail", kwargs={"public_id": batch.public_id})
    body = client.get(url).content.decode()

    # Then in the facility's zone: seeded 12:45 on 20 Nov, recorded 10:00 on 7 Dec
    history = body[body.index('id="transitions"') :]
    assert "Fri 20 Nov 2026, 12:45" in history
    assert "recorded 7 Dec 2026 10:00" in history
