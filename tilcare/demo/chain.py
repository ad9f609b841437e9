"""The physical chain of a demo journey, walked through the services the bench uses.

Each step is done by the person whose job it is, through the same services as the scan page, the
shipment page, the batch page and the release checklist: the surgeon labels the specimen
container and scans it out of the operating room; the nurse labels the shipper, creates the
shipment and dispatches it; at the facility the technologist uploads the courier's temperature
log, receives the shipment and scans the container in (which records "Tissue received" and opens
the batch record); the batch record follows the bench (tissue receipt, pre-REP cultures, the
plate-reader screen, the selection, the REP counts, harvest into labelled bags, release tests);
QA signs the disposition with a password; the technologist ships the product back.

Times: every step carries the time it happened, on the clocks of the place where it happened:
the operating room's and the shipper's at the center (`at`), the bench's at the facility
(`bench_at`, days after the receipt of tissue, `BENCH_DAY`, counted on the facility's calendar),
and what is signed or received for use (QA's release, the product's shipment and its receipt at
the center), which the builder replays with the clock set to its moment (`clock.replayed_clock`),
or does now for the product released today.

The demo facility's own numbers below (screen thresholds, release specifications, temperature
ranges, hold times, expiry) are demo data, as a facility's SOP would set them, not clinical facts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from tilcare.accounts.choices import Role
from tilcare.accounts.models import Organization, User
from tilcare.core.timeutil import local_datetime
from tilcare.identity.choices import HandoffStep, ItemKind, ShipperType
from tilcare.identity.models import CustodyEvent, IdentityAlert, Item, Shipment
from tilcare.identity.services import alerts as alert_services
from tilcare.identity.services import items as item_services
from tilcare.identity.services import shipments as shipment_services
from tilcare.journey import services as journey_services
from tilcare.journey.choices import BOOK_SLOT_TASK, TaskStatus
from tilcare.journey.models import Journey, Task
from tilcare.journey.services import custody, release
from tilcare.manufacturing.choices import BatchStatus, Disposition, ReleaseTestKind
from tilcare.manufacturing.models import Batch, ProductBag
from tilcare.manufacturing.services import batches as batch_services
from tilcare.manufacturing.services import formulation as release_formulation
from tilcare.manufacturing.services import release as release_services
from tilcare.manufacturing.services import screen as screen_services
from tilcare.manufacturing.services import slots as capacity_services
from tilcare.manufacturing.services import thresholds as threshold_services

Moment = Callable[[int, int, int], dt.datetime]

# Days after the tissue arrived at the facility on which each bench step happens (a 22-day
# process: about 11 days of pre-REP culture, then an 11-day rapid expansion).
BENCH_DAY = {"cultures": 11, "rep_start": 11, "harvest": 22, "release_tests": 23}
REP_COUNT_DAYS = (0, 3, 5, 7, 9, 11)
HARVEST_REP_DAY = 11

TISSUE_RANGE_C = (Decimal("2.0"), Decimal("8.0"))
TISSUE_HOLD_HOURS = Decimal(30)
PRODUCT_RANGE_C = (Decimal("-196.0"), Decimal("-150.0"))
PRODUCT_HOLD_HOURS = Decimal(120)
PRODUCT_STORAGE = "≤ −150 °C (vapor phase of liquid nitrogen)"
PRODUCT_SHELF_DAYS = 180
LOGGER_INTERVAL_MINUTES = 15
# The demo's scans happened before the demo was built: each says why it is entered late.
LATE_ENTRY_REASON = "Entered from the paper custody form of the handoff"

SCREEN_THRESHOLDS = {
    "min_ifn_gamma_difference_pg_per_ml": Decimal(200),
    "min_ifn_gamma_fold": Decimal(2),
    "min_cd137_difference_points": Decimal(2),
}
SCREEN_CSV = (
    b"culture_id,ifn_gamma_tumor_pg_per_ml,ifn_gamma_control_pg_per_ml,cd137_tumor_percent,"
    b"cd137_control_percent\n"
    b"F01,1850.0,120.0,14.20,1.10\n"
    b"F02,240,180,2.0,1.4\n"
    b"F03,960.5,80,6.5,0.9\n"
    b"F04,410,150,3.4,1.0\n"
)
WARN_BELOW_PROBABILITY = Decimal("0.80")
CULTURES = (("F01", 25_400_000), ("F02", 8_000_000), ("F03", 31_000_000), ("F04", 12_600_000))
SELECTED = ("F01", "F03")

# Viable cells (×10⁹) on each REP count day: a culture on course, and one that stalls.
GROWTH_ON_COURSE = {0: "0.05", 3: "0.3", 5: "0.9", 7: "2.8", 9: "8.1", 11: "23.5"}
GROWTH_STALLED = {0: "0.04", 3: "0.08", 5: "0.11", 7: "0.14"}
BAGS = ((Decimal("250.0"), Decimal(11_900_000_000)), (Decimal("250.0"), Decimal(11_600_000_000)))

K = ReleaseTestKind
RELEASE_SPECIFICATIONS: dict[str, dict[str, object]] = {
    K.VIABILITY: {"minimum": Decimal(70), "unit": "%"},
    K.IDENTITY_PURITY: {"minimum": Decimal(90), "unit": "% CD3+"},
    K.STERILITY: {"expected_text": "No growth"},
    K.ENDOTOXIN: {"maximum": Decimal(5), "unit": "EU/mL"},
    K.MYCOPLASMA: {"expected_text": "Negative"},
    K.POTENCY: {"minimum": Decimal(200), "unit": "pg/mL IFN-γ"},
}
RELEASE_RESULTS: dict[str, dict[str, object]] = {
    K.VIABLE_CELL_DOSE: {},
    K.VIABILITY: {"result_value": Decimal("88.4"), "unit": "%"},
    K.IDENTITY_PURITY: {"result_value": Decimal("97.6"), "unit": "% CD3+"},
    K.STERILITY: {"result_text": "No growth"},
    K.ENDOTOXIN: {"result_value": Decimal("0.6"), "unit": "EU/mL"},
    K.MYCOPLASMA: {"result_text": "Negative"},
    K.POTENCY: {"result_value": Decimal(910), "unit": "pg/mL IFN-γ"},
}


def set_facility_specifications(
    facility: Organization, qa: User, protocol_ids: Sequence[str], at: dt.datetime
) -> None:
    """The facility's QA sets its screen and early-warning thresholds, and its release
    specifications once per protocol file, at `at` (before the program's first referral)."""
    threshold_services.set_facility_thresholds(
        facility,
        actor=qa,
        values={**SCREEN_THRESHOLDS, "warn_below_probability": WARN_BELOW_PROBABILITY},
        occurred_at=at,
    )
    for protocol_id in protocol_ids:
        for test, values in RELEASE_SPECIFICATIONS.items():
            release_formulation.set_release_specification(
                facility=facility, protocol_id=protocol_id, test=test, actor=qa, occurred_at=at,
                **values,  # type: ignore[arg-type]
            )  # fmt: skip


class Chain:
    """The items, scans, shipments and batch record of one journey."""

    def __init__(
        self,
        cast: Mapping[Role, User],
        journey_of: Callable[[], Journey],
        at: Moment,
        bench_at: Moment,
        bench_today: dt.date,
    ) -> None:
        self.cast = cast
        self._journey_of = journey_of
        # A moment at the center, and one at the facility, on the same day after referral.
        self.at = at
        self.bench_at = bench_at
        self.bench_today = bench_today  # the facility's today when the demo was built
        self.password = ""
        self.tissue_day = 0  # the day, after referral, the current attempt's tissue arrived

    @property
    def journey(self) -> Journey:
        """The walk's journey as it is now (the walk replaces it on every move)."""
        return self._journey_of()

    # ---------- the specimen, from the operating room to the facility ----------

    def collect_and_dispatch(self, day: int, *, lesion: str) -> Shipment:
        """Label the specimen container in the operating room, scan it out, ship it."""
        surgeon, nurse = self.cast[Role.SURGEON], self.cast[Role.NURSE]
        specimen = self._labelled(
            ItemKind.TUMOR_SPECIMEN, f"Tumor specimen: {lesion}", surgeon, self.at(day, 9, 45)
        )
        self._scan(
            HandoffStep.SPECIMEN_COLLECTED,
            specimen,
            surgeon,
            self.at(day, 9, 50),
            from_party="Operating room 4",
            to_party="Specimen courier",
        )
        shipper = self._labelled(
            ItemKind.SHIPPER, "Insulated specimen box, 2–8 °C", nurse, self.at(day, 11, 10)
        )
        shipment = shipment_services.create_shipment(
            coi_din=self.journey.coi_din,
            shipper_item=shipper,
            items=[specimen],
            origin=self.journey.center,
            destination=self._facility(),
            shipper_type=ShipperType.CONTROLLED_2_8,
            expected_hold_hours=TISSUE_HOLD_HOURS,
            range_min_c=TISSUE_RANGE_C[0],
            range_max_c=TISSUE_RANGE_C[1],
            actor=nurse,
            occurred_at=self.at(day, 11, 20),
        )
        dispatched = self.at(day, 11, 30)
        shipment_services.dispatch_shipment(shipment, actor=nurse, at=dispatched)
        self._scan(
            HandoffStep.SPECIMEN_DISPATCHED,
            specimen,
            nurse,
            dispatched,
            from_party="Cell-therapy lab, Riverside",
            to_party="Courier",
        )
        return shipment

    def receive_tissue(self, day: int, *, mix_up_first: Item | None = None) -> Batch | None:
        """The facility uploads the logger, receives the shipment and scans the container in:
        the scan records "Tissue received" and opens the batch record. `mix_up_first`: an item
        scanned by mistake before the right one (blocked and alerted, QA acknowledges)."""
        tech = self.cast[Role.MANUFACTURING_TECH]
        shipment = self._shipment_carrying(ItemKind.TUMOR_SPECIMEN)
        received = self.bench_at(day, 11, 10)
        self._log_temperatures(shipment, received, Decimal("4.6"), tech)
        shipment_services.receive_shipment(
            shipment,
            actor=tech,
            at=received,
            max_logging_interval_minutes=LOGGER_INTERVAL_MINUTES,
        )

        def scan_in(item: Item, minute: int) -> custody.ScanStep:
            return custody.receive_tissue(
                self.journey,
                scanned_text=item.item_id,
                actor=tech,
                location="Receiving bench",
                now=self.bench_at(day, 11, minute),
                late_entry_reason=LATE_ENTRY_REASON,
            )

        if mix_up_first is not None:
            self._acknowledge(scan_in(mix_up_first, 14).event, self.bench_at(day, 11, 20))
        step = None
        for specimen in self._items(ItemKind.TUMOR_SPECIMEN):
            step = scan_in(specimen, 15)
        self.tissue_day = day
        # The receiving scan opens the batch record, dated by the scan (its `opened_at`).
        return step.batch if step else None

    # ---------- the batch record ----------

    def batch(self) -> Batch:
        return Batch.objects.select_related("facility", "center").get(
            coi_din=self.journey.coi_din, manufacture_attempt=self.journey.manufacture_attempt
        )

    def manufacture(self, *, growth: Mapping[int, str], through_day: int) -> Batch:
        """Record the bench steps that happened up to `through_day` (days after referral)."""
        tech = self.cast[Role.MANUFACTURING_TECH]
        bench = through_day - self.tissue_day
        batch = self.batch()
        if batch.status == BatchStatus.TISSUE_RECEIVED:
            batch_services.record_tissue_receipt(
                batch,
                received_at=self.bench_at(self.tissue_day, 11, 40),
                weight_g=Decimal("1.4"),
                fragments=28,
                actor=tech,
                note="Container intact; fragments 2–3 mm seeded into G-Rex flasks.",
            )
            batch = batch_services.advance_batch(
                batch,
                BatchStatus.PRE_REP,
                actor=tech,
                occurred_at=self.bench_at(self.tissue_day, 11, 45),
            )
        if bench < BENCH_DAY["cultures"]:
            return self.batch()
        cultures_day = self.tissue_day + BENCH_DAY["cultures"]
        if batch.status == BatchStatus.PRE_REP:
            for culture_id, cells in CULTURES:
                screen_services.record_culture(
                    batch,
                    culture_id=culture_id,
                    viable_cells=Decimal(cells),
                    viability_percent=Decimal("88.0"),
                    counted_at=self.bench_at(cultures_day, 8, 30),
                    actor=tech,
                )
            batch = batch_services.advance_batch(
                batch,
                BatchStatus.SCREENING,
                actor=tech,
                occurred_at=self.bench_at(cultures_day, 9, 0),
            )
            screen_services.import_reactivity_csv(
                batch,
                file_name=f"screen-{self.journey.coi_din}-plate1.csv",
                content=SCREEN_CSV,
                actor=tech,
                occurred_at=self.bench_at(cultures_day, 9, 15),
            )
            screen_services.select_cultures(
                batch,
                culture_ids=SELECTED,
                reason="F01 and F03 recognise the autologous tumor well above control "
                "(IFN-γ and CD137); F02 and F04 fall short of the facility's thresholds.",
                thresholds=SCREEN_THRESHOLDS,
                actor=tech,
                occurred_at=self.bench_at(cultures_day, 9, 30),
            )
            rep_day = self.tissue_day + BENCH_DAY["rep_start"]
            rep_started = self.bench_at(rep_day, 9, 45)
            batch = batch_services.advance_batch(
                self.batch(),
                BatchStatus.REP,
                actor=tech,
                rep_started_on=local_datetime(rep_started, batch.facility).date(),
                occurred_at=rep_started,
            )
            assert batch.rep_started_on is not None
            harvest_on = batch.rep_started_on + dt.timedelta(days=HARVEST_REP_DAY)
            # Planned when the REP started; a harvest already past was planned on paper.
            if harvest_on >= self.bench_today:
                batch_services.plan_harvest(
                    batch,
                    planned_harvest_on=harvest_on,
                    actor=tech,
                    occurred_at=self.bench_at(rep_day, 9, 50),
                )
        rep_start = self.tissue_day + BENCH_DAY["rep_start"]
        for rep_day, cells_1e9 in growth.items():
            if rep_start + rep_day > through_day:
                break
            batch_services.record_rep_count(
                self.batch(),
                day=rep_day,
                viable_cells=Decimal(cells_1e9) * 10**9,
                viability_percent=Decimal("91.5"),
                counted_at=self.bench_at(rep_start + rep_day, 10, 0),
                actor=tech,
            )
        return self.batch()

    def harvest_and_test(self) -> Batch:
        """Harvest into two labelled bags and record every release test."""
        tech = self.cast[Role.MANUFACTURING_TECH]
        harvest_day = self.tissue_day + BENCH_DAY["harvest"]
        batch = batch_services.advance_batch(
            self.batch(),
            BatchStatus.HARVESTED,
            actor=tech,
            occurred_at=self.bench_at(harvest_day, 14, 0),
        )
        release_formulation.record_formulation(
            batch,
            bags=BAGS,
            storage_temperature=PRODUCT_STORAGE,
            actor=tech,
            formulated_at=self.bench_at(harvest_day, 15, 0),
        )
        # Each bag's label is printed and applied at the formulation bench.
        for bag in ProductBag.objects.filter(batch=batch).order_by("item_id"):
            item = Item.objects.get(item_id=bag.item_id)
            label = item_services.print_label(
                item, actor=tech, occurred_at=self.bench_at(harvest_day, 15, 5)
            )
            item_services.apply_label(
                label, actor=tech, occurred_at=self.bench_at(harvest_day, 15, 10)
            )
        tested = self.bench_at(self.tissue_day + BENCH_DAY["release_tests"], 10, 0)
        for test, values in RELEASE_RESULTS.items():
            release_services.record_release_test(
                self.batch(), test=test, tested_at=tested, actor=tech,
                **values,  # type: ignore[arg-type]
            )  # fmt: skip
        return self.batch()

    def release(self, password: str) -> None:
        """QA signs the release, dated when it is signed (now, or the replayed moment)."""
        batch = self.batch()
        release.dispose_batch(
            batch,
            decision=Disposition.RELEASE,
            password=password,
            actor=self.cast[Role.QA_REVIEWER],
            expires_at=timezone.now() + dt.timedelta(days=PRODUCT_SHELF_DAYS),
        )

    def reject(self, reason: str, *, day: int) -> None:
        """The technologist closes the batch on `day` after referral (the journey's physician is
        asked to choose)."""
        release.reject_batch(
            self.batch(), actor=self.cast[Role.MANUFACTURING_TECH], reason=reason,
            occurred_at=self.bench_at(day, 12, 0),
        )  # fmt: skip

    def stop(self, reason: str, *, day: int) -> None:
        """The technologist stops the batch at the center's request (the patient was withdrawn),
        on `day` after referral: closed, but not a manufacturing failure, so nobody is asked to
        re-manufacture."""
        batch_services.advance_batch(
            self.batch(), BatchStatus.STOPPED, actor=self.cast[Role.MANUFACTURING_TECH],
            reason=reason, occurred_at=self.bench_at(day, 16, 0),
        )  # fmt: skip

    def ship_product(self) -> Shipment:
        """The facility packs the released bags in a dry shipper and hands it to the courier."""
        tech = self.cast[Role.MANUFACTURING_TECH]
        bags = self._items(ItemKind.PRODUCT_BAG)
        # Packed today, after QA's release: labelled, planned and dispatched now.
        shipper = self._labelled(ItemKind.SHIPPER, "LN2 dry shipper (vapor phase)", tech, None)
        with transaction.atomic():
            shipment = shipment_services.create_shipment(
                coi_din=self.journey.coi_din,
                shipper_item=shipper,
                items=bags,
                origin=self._facility(),
                destination=self.journey.center,
                shipper_type=ShipperType.LN2_DRY_SHIPPER,
                expected_hold_hours=PRODUCT_HOLD_HOURS,
                range_min_c=PRODUCT_RANGE_C[0],
                range_max_c=PRODUCT_RANGE_C[1],
                actor=tech,
            )
            now = timezone.now()
            shipment_services.dispatch_shipment(shipment, actor=tech, at=now)
            for bag in bags:
                self._scan(
                    HandoffStep.PRODUCT_DISPATCHED,
                    bag,
                    tech,
                    now,
                    from_party="Northlake release bay",
                    to_party="Courier",
                )
        return shipment

    def receive_product(self, when: dt.datetime) -> None:
        """The center's pharmacist reads in the shipper's logger, receives the shipper and scans
        each bag in at `when` (the clock replayed to then): the last bag records "Product
        received at the center"."""
        pharmacist = self.cast[Role.PHARMACIST]
        shipment = self._shipment_carrying(ItemKind.PRODUCT_BAG)
        self._log_temperatures(shipment, when, Decimal("-183.0"), pharmacist)
        shipment_services.receive_shipment(shipment, actor=pharmacist, at=when)
        for bag in self._items(ItemKind.PRODUCT_BAG):
            scan = custody.scan_request(
                self.journey,
                HandoffStep.PRODUCT_RECEIVED,
                bag.item_id,
                location="Cell-therapy pharmacy",
            )
            result = custody.record_handoff(self.journey, scan, actor=pharmacist)
            assert result.accepted, result.event.message

    # ---------- helpers ----------

    def _facility(self) -> Organization:
        facility = self.journey.manufacturing_facility
        assert facility is not None
        return facility

    def _labelled(
        self, kind: ItemKind, description: str, actor: User, when: dt.datetime | None
    ) -> Item:
        """An item made, its label printed and applied at `when` (None: now)."""
        item = item_services.create_item(
            coi_din=self.journey.coi_din,
            coi_check=self.journey.coi_check,
            kind=kind,
            center=self.journey.center,
            facility=self.journey.manufacturing_facility,
            description=description,
            actor=actor,
            manufacture_attempt=self.journey.manufacture_attempt,
            occurred_at=when,
        )
        label = item_services.print_label(item, actor=actor, occurred_at=when)
        item_services.apply_label(label, actor=actor, occurred_at=when)
        return item

    def _items(self, kind: ItemKind) -> list[Item]:
        return list(
            Item.objects.filter(
                coi_din=self.journey.coi_din,
                manufacture_attempt=self.journey.manufacture_attempt,
                kind=kind,
            ).order_by("number")
        )

    def _scan(
        self,
        step: HandoffStep,
        item: Item,
        actor: User,
        when: dt.datetime,
        *,
        from_party: str,
        to_party: str,
    ) -> None:
        scan = custody.scan_request(
            self.journey,
            step,
            item.item_id,
            from_party=from_party,
            to_party=to_party,
            occurred_at=when,
            late_entry_reason=LATE_ENTRY_REASON,
        )
        result = custody.record_handoff(self.journey, scan, actor=actor)
        assert result.accepted, result.event.message

    def _shipment_carrying(self, kind: ItemKind) -> Shipment:
        return (
            Shipment.objects.filter(
                coi_din=self.journey.coi_din,
                items__kind=kind,
                items__manufacture_attempt=(self.journey.manufacture_attempt),
            )
            .distinct()
            .get()
        )

    def _log_temperatures(
        self, shipment: Shipment, until: dt.datetime, centre_c: Decimal, actor: User
    ) -> None:
        """The logger's readings every 15 minutes, gently swinging around `centre_c`, read in
        from the logger's file at `until` (the receipt)."""
        assert shipment.dispatched_at is not None
        swing = (Decimal("0.0"), Decimal("0.3"), Decimal("0.5"), Decimal("0.2"), Decimal("-0.2"))
        readings = []
        moment, n = shipment.dispatched_at, 0
        while moment <= until:
            readings.append((moment, centre_c + swing[n % len(swing)]))
            moment += dt.timedelta(minutes=LOGGER_INTERVAL_MINUTES)
            n += 1
        shipment_services.add_temperature_readings(
            shipment, readings=readings, source="Courier logger CSV", actor=actor, occurred_at=until
        )

    def _acknowledge(self, event: CustodyEvent, when: dt.datetime) -> None:
        for alert in IdentityAlert.objects.filter(custody_event=event):
            alert_services.acknowledge_alert(
                alert,
                occurred_at=max(when, alert.raised_at),
                actor=self.cast[Role.QA_REVIEWER],
                note="The container of the first, stopped attempt was scanned by mistake; it was "
                "set aside and the right container scanned. No product affected.",
            )


# ---------- the facility's calendar ----------

SLOT_WEEKS = 8
SLOT_CAPACITY = 2


BOOKED_AFTER_SCHEDULING = dt.timedelta(minutes=30)


def open_slots_and_book(
    cast: Mapping[Role, User],
    facility: Organization,
    today: dt.date,
    waiting: Sequence[Journey],
    now: dt.datetime,
) -> None:
    """The facility opens a manufacturing start every Monday for the coming weeks, and the
    navigator books one for each journey `waiting` for its resection: the first Monday after the
    planned resection (the tissue starts the day after it arrives), half an hour after the
    resection was scheduled, and ticks the task then. The facility opened its calendar the day
    before the first of those bookings. `today` is the facility's, `now` the build's."""
    booked_at = {
        journey.pk: min(journey.stage_entered_at + BOOKED_AFTER_SCHEDULING, now)
        for journey in waiting
    }
    opened = min(booked_at.values(), default=now) - dt.timedelta(days=1)
    first = today + dt.timedelta(days=(7 - today.weekday()) % 7 or 7)
    slots = [
        capacity_services.create_slot(
            facility=facility,
            starts_on=first + dt.timedelta(weeks=week),
            capacity=SLOT_CAPACITY,
            note="Clean room 2" if week % 2 else "Clean room 1",
            actor=cast[Role.MANUFACTURING_TECH],
            occurred_at=opened,
        )
        for week in range(SLOT_WEEKS)
    ]
    for journey in waiting:
        resection = journey.planned_resection_on or today
        slot = next(s for s in slots if s.starts_on > resection)
        capacity_services.book_slot(
            slot,
            coi_din=journey.coi_din,
            coi_check=journey.coi_check,
            center=journey.center,
            actor=cast[Role.NAVIGATOR],
            manufacture_attempt=journey.manufacture_attempt,
            occurred_at=booked_at[journey.pk],
        )
        # The booking is the navigator's task of the stage: done, so the task list agrees.
        for task in Task.objects.filter(
            journey=journey, status=TaskStatus.OPEN, title=BOOK_SLOT_TASK
        ):
            journey_services.complete_task(
                task, actor=cast[Role.NAVIGATOR], occurred_at=booked_at[journey.pk]
            )
