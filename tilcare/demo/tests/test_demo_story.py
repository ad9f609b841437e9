"""The demo tells one coherent story: what a clinician reads on one page agrees with the others.

A withdrawn patient has no planned infusion; the batch stopped because the patient was withdrawn
is not a manufacturing failure; the product released today is on the facility's batch board
without asking for closed batches; the logger file of the product's liquid-nitrogen shipper reads
vapour-phase temperatures; tasks that serve a planned date are due when the journey plans it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from tilcare.accounts.models import User
from tilcare.demo.logger_files import write_product_logger_files
from tilcare.demo.tests.helpers import client_for, journey_of
from tilcare.identity.choices import ShipmentStatus, ShipperType
from tilcare.identity.models import Shipment
from tilcare.identity.services import shipments as shipment_services
from tilcare.journey.choices import BOOK_SLOT_TASK, STAGE_TASKS, Stage, TaskStatus
from tilcare.journey.models import Journey, Task
from tilcare.manufacturing.choices import BatchStatus
from tilcare.manufacturing.models import Batch, BatchTransition, SlotBooking

pytestmark = pytest.mark.django_db


def test_withdrawn_patients_have_no_planned_infusion(demo):
    # Given the demo's two withdrawn journeys (one in manufacturing, one at screening)
    withdrawn = Journey.objects.filter(stage=Stage.WITHDRAWN)

    # Then neither still plans an infusion
    assert withdrawn.count() == 2
    assert list(withdrawn.values_list("planned_infusion_on", flat=True)) == [None, None]


def test_the_journey_page_of_a_withdrawn_patient_shows_no_infusion_date(demo):
    # Given Patricia Walsh, withdrawn (brain metastases) while her product was being made
    journey = journey_of("Walsh")

    # When the navigator opens her journey
    page = client_for("navigator").get(f"/journeys/{journey.public_id}/").content.decode()

    # Then the infusion is "Not planned", and her resection, which took place, keeps its date
    assert "<dt>Planned infusion (Day 0)</dt><dd>Not planned</dd>" in page
    assert journey.planned_resection_on is not None


def test_the_batch_stopped_for_a_withdrawal_is_not_a_manufacturing_failure(demo):
    # Given the batch of the patient withdrawn while her product was being made
    walsh = journey_of("Walsh")
    delgado = journey_of("Delgado")

    # Then it is stopped, and the only rejected batch is the first attempt whose growth stalled
    assert Batch.objects.get(coi_din=walsh.coi_din).status == BatchStatus.STOPPED
    # And the facility reads who asked, not why the patient was withdrawn (clinical, the center's)
    stop = BatchTransition.objects.get(batch__coi_din=walsh.coi_din, to_status=BatchStatus.STOPPED)
    assert stop.reason == (
        "Stopped at the center's request: the treating physician withdrew the patient from therapy."
    )
    rejected = Batch.objects.filter(status=BatchStatus.REJECTED)
    assert list(rejected.values_list("coi_din", "manufacture_attempt")) == [(delgado.coi_din, 1)]


def test_the_product_released_today_is_on_the_batch_board_without_a_filter(demo):
    # Given Thomas Nguyen's batch, released by QA today
    batch = Batch.objects.get(coi_din=journey_of("Nguyen").coi_din)
    assert batch.status == BatchStatus.RELEASED

    # When the technologist opens the batch board as it comes
    page = client_for("labtech").get("/manufacturing/batches/").content.decode()

    # Then the released batch is there, in the "Released" column
    released_column = page.split('id="column-released"')[1].split("</section>")[0]
    assert f"/manufacturing/batches/{batch.public_id}/" in released_column


def test_the_product_shipper_s_logger_file_reads_vapour_phase_and_is_accepted(demo, tmp_path):
    # Given the logger file the demo writes for Thomas Nguyen's LN2 dry shipper, in transit
    journey = journey_of("Nguyen")
    shipment = Shipment.objects.get(coi_din=journey.coi_din, status=ShipmentStatus.IN_TRANSIT)
    assert shipment.shipper_type == ShipperType.LN2_DRY_SHIPPER
    [path] = write_product_logger_files(tmp_path, timezone.now())
    assert path.name == f"logger-{journey.coi_din}.csv"

    # When the pharmacist uploads it on the shipment page, then receives the shipper
    client = client_for("pharmacist")
    with path.open("rb") as upload:
        response = client.post(
            f"/identity/shipments/{shipment.public_id}/temperatures/", {"file": upload}
        )
    shipment_services.receive_shipment(
        Shipment.objects.get(pk=shipment.pk),
        actor=User.objects.get(username="pharmacist"),
        at=timezone.now(),
        max_logging_interval_minutes=15,
    )

    # Then every reading is a liquid-nitrogen vapour-phase temperature (about −190 to −150 °C,
    # never a 2–8 °C curve), all are taken, and the receipt finds no excursion
    assert response.status_code == 302
    temperatures = [Decimal(line.split(",")[1]) for line in path.read_text().splitlines()[1:]]
    assert len(temperatures) >= 12
    assert all(Decimal("-190") <= t <= Decimal("-180") for t in temperatures)
    received = Shipment.objects.get(pk=shipment.pk)
    assert received.readings.count() == len(temperatures)
    assert received.excursion is False


def test_open_tasks_tied_to_a_plan_are_due_when_the_journey_plans_it(demo):
    # Given every open task of the demo that serves a planned date (resection, Day 0)
    anchored = {
        (stage, template.title): template
        for stage, templates in STAGE_TASKS.items()
        for template in templates
        if template.anchor
    }
    checked = []
    for task in Task.objects.filter(status=TaskStatus.OPEN).select_related("journey"):
        template = anchored.get((task.stage, task.title))
        planned = getattr(task.journey, template.anchor) if template else None
        if planned is None:
            continue
        # Then it is due on that date (or the set number of days before it)
        expected = planned + dt.timedelta(days=template.anchor_offset_days)
        checked.append((task.journey.patient.family_name, task.title, task.due_on == expected))

    # among them Kowalski's resection, Brooks's orders, Okonkwo's fludarabine, Schneider's Day 0
    assert {name for name, _, _ in checked} == {"Kowalski", "Brooks", "Okonkwo", "Schneider"}
    assert all(agrees for _, _, agrees in checked), checked


def test_a_journey_with_a_booked_manufacturing_start_has_no_open_booking_task(demo):
    # Given the journeys whose manufacturing start the navigator booked (the next resection)
    booked = set(SlotBooking.objects.values_list("coi_din", flat=True))
    journeys = Journey.objects.filter(coi_din__in=booked, stage=Stage.RESECTION_SCHEDULED)
    assert [j.patient.family_name for j in journeys] == ["Kowalski"]

    # Then the booking task is done, and only the courier's booking is still open
    open_titles = set(
        Task.objects.filter(journey__in=journeys, status=TaskStatus.OPEN).values_list(
            "title", flat=True
        )
    )
    assert BOOK_SLOT_TASK not in open_titles
    assert "Book the tissue courier for the resection day" in open_titles
