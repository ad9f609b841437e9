"""A batch is known by when it was opened (its tissue received), not by when its row was written:
the API gives `opened_at`, and batches are listed latest opened first, so a receipt entered after
the fact takes its place by its scan."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from tilcare.manufacturing.models import Batch
from tilcare.manufacturing.tests.batch_factories import open_batch_at

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

EARLIER = dt.datetime(2026, 11, 20, 17, 15, tzinfo=dt.UTC)
LATER = dt.datetime(2026, 11, 27, 16, 0, tzinfo=dt.UTC)


def opened(team, sequence: int, at: dt.datetime) -> Batch:
    return open_batch_at(team, sequence, occurred_at=at)


def test_the_api_gives_when_the_batch_was_opened(team):
    batch = opened(team, 17, EARLIER)
    client = Client()
    client.force_login(team.manufacturing_tech)

    answer = client.get(f"/api/v1/manufacturing/batches/{batch.public_id}")

    assert answer.status_code == 200
    assert answer.json()["opened_at"] == "2026-11-20T17:15:00+00:00"


def test_a_receipt_entered_later_is_listed_by_when_its_tissue_arrived(team):
    # Given a batch opened on 27 Nov, then the receipt of 20 Nov entered after it
    later = opened(team, 17, LATER)
    earlier = opened(team, 18, EARLIER)

    # Then the batches read latest opened first, not latest written first
    assert list(Batch.objects.all()) == [later, earlier]
