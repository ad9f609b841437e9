"""Items, labels and alerts entered after the fact are dated when they happened: an item made in
the operating room, its label printed and applied there, an alert raised by a blocked scan or a
receipt, and its acknowledgement. The label and the alert keep that time as their own, the audit
event is dated then and keeps when it was recorded. A time after now, or one before what the
record's trail already holds, is refused on `occurred_at` and writes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from tilcare.audit.models import AuditEvent
from tilcare.audit.tests.helpers import event_of, times
from tilcare.core.errors import InvalidInput
from tilcare.identity.choices import HandoffStep, ItemKind
from tilcare.identity.models import IdentityAlert, Label
from tilcare.identity.services import items as item_services
from tilcare.identity.services.alerts import acknowledge_alert
from tilcare.identity.services.custody import ScanRequest, record_scan
from tilcare.identity.services.shipments import dispatch_shipment, receive_shipment
from tilcare.identity.tests.helpers import make_world, new_shipment

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 12, 7, 15, 0, tzinfo=dt.UTC)
MADE = dt.datetime(2026, 12, 3, 14, 40, tzinfo=dt.UTC)
PRINTED = MADE + dt.timedelta(minutes=2)
APPLIED = MADE + dt.timedelta(minutes=4)
SCANNED = dt.datetime(2026, 12, 3, 16, 30, tzinfo=dt.UTC)
ACKNOWLEDGED = SCANNED + dt.timedelta(minutes=10)


@pytest.fixture
def world():
    with time_machine.travel(NOW, tick=False):
        yield make_world()


def made_in_the_or(world):
    return item_services.create_item(
        coi_din=world.coi_din, coi_check=world.coi_check, kind=ItemKind.TUMOR_SPECIMEN,
        center=world.center, facility=world.facility, description="Tumor specimen: lung",
        actor=world.team.surgeon, occurred_at=MADE,
    )  # fmt: skip


def test_an_item_and_its_label_entered_later_are_dated_when_made_printed_and_applied(world):
    item = made_in_the_or(world)
    surgeon = world.team.surgeon

    label = item_services.print_label(item, actor=surgeon, occurred_at=PRINTED)
    item_services.apply_label(label, actor=surgeon, occurred_at=APPLIED)

    label = Label.objects.get(pk=label.pk)
    assert (label.printed_at, label.applied_at) == (PRINTED, APPLIED)
    assert times(event_of("identity.item.create")) == (MADE, NOW)
    assert times(event_of("identity.label.print")) == (PRINTED, NOW)
    assert times(event_of("identity.label.apply")) == (APPLIED, NOW)


def test_a_label_printed_without_a_time_is_dated_now(world):
    label = item_services.print_label(made_in_the_or(world), actor=world.team.surgeon)

    assert label.printed_at == NOW
    assert times(event_of("identity.label.print")) == (NOW, NOW)


def test_a_label_applied_before_it_was_printed_is_refused(world):
    label = item_services.print_label(
        made_in_the_or(world), actor=world.team.surgeon, occurred_at=PRINTED
    )

    with pytest.raises(InvalidInput) as refused:
        item_services.apply_label(
            label, actor=world.team.surgeon, occurred_at=PRINTED - dt.timedelta(minutes=1)
        )

    assert refused.value.errors == {
        "occurred_at": [
            "The time it happened cannot be before the last recorded change of this label "
            "(03 Dec 2026 14:42 UTC)."
        ]
    }
    assert Label.objects.get(pk=label.pk).applied_at is None


def test_a_label_printed_before_its_item_was_made_is_refused(world):
    item = made_in_the_or(world)
    before = (Label.objects.count(), AuditEvent.objects.count())

    with pytest.raises(InvalidInput) as refused:
        item_services.print_label(
            item, actor=world.team.surgeon, occurred_at=MADE - dt.timedelta(minutes=1)
        )

    assert refused.value.errors == {
        "occurred_at": [
            "The time it happened cannot be before the last recorded change of item "
            f"{item.item_id}."
        ]
    }
    assert (Label.objects.count(), AuditEvent.objects.count()) == before


def test_an_item_made_after_now_is_refused_on_its_field(world):
    with pytest.raises(InvalidInput) as refused:
        item_services.create_item(
            coi_din=world.coi_din, coi_check=world.coi_check, kind=ItemKind.TUMOR_SPECIMEN,
            center=world.center, facility=world.facility, description="Tumor specimen: lung",
            actor=world.team.surgeon, occurred_at=NOW + dt.timedelta(minutes=1),
        )  # fmt: skip

    assert refused.value.errors == {
        "occurred_at": ["The time it happened cannot be later than now (07 Dec 2026 15:00 UTC)."]
    }


def blocked_scan(world):
    """Something that is not a label scanned at a handoff on 3 Dec, entered today."""
    event = record_scan(
        ScanRequest(
            coi_din=world.coi_din,
            step=HandoffStep.HANDOFF,
            scanned_text="not a label",
            occurred_at=SCANNED,
            late_entry_reason="Entered from the paper custody form",
        ),
        actor=world.team.nurse,
        organization=world.center,
    )
    assert not event.accepted
    return IdentityAlert.objects.get(custody_event=event)


def test_the_alert_of_a_blocked_scan_entered_later_is_raised_when_it_was_scanned(world):
    alert = blocked_scan(world)

    assert alert.raised_at == SCANNED
    assert times(event_of("identity.alert.raise")) == (SCANNED, NOW)


def test_an_acknowledgement_entered_later_is_dated_when_it_was_made(world):
    alert = acknowledge_alert(
        blocked_scan(world),
        actor=world.team.navigator,
        note="Not a label; the specimen container was scanned.",
        occurred_at=ACKNOWLEDGED,
    )

    assert alert.acknowledged_at == ACKNOWLEDGED
    assert times(event_of("identity.alert.acknowledge")) == (ACKNOWLEDGED, NOW)


def test_an_acknowledgement_dated_before_the_alert_was_raised_is_refused(world):
    alert = blocked_scan(world)

    with pytest.raises(InvalidInput) as refused:
        acknowledge_alert(
            alert,
            actor=world.team.navigator,
            note="Not a label.",
            occurred_at=SCANNED - dt.timedelta(minutes=1),
        )

    assert refused.value.errors == {
        "occurred_at": [
            "An alert cannot be acknowledged before it was raised (03 Dec 2026 16:30 UTC)."
        ]
    }
    assert IdentityAlert.objects.get(pk=alert.pk).acknowledged_at is None


def test_the_alert_of_a_receipt_without_a_logger_file_is_raised_at_the_receipt(world):
    # Given a shipment dispatched on 3 Dec and received on 4 Dec without its logger's file
    shipment = new_shipment(world, occurred_at=MADE)
    dispatch_shipment(shipment, actor=world.team.navigator, at=SCANNED)
    received = dt.datetime(2026, 12, 4, 15, 10, tzinfo=dt.UTC)

    receive_shipment(shipment, actor=world.team.manufacturing_tech, at=received)

    # Then the alert for QA is raised at the receipt
    alert = IdentityAlert.objects.get(shipment=shipment)
    assert alert.raised_at == received
    assert times(event_of("identity.alert.raise")) == (received, NOW)
