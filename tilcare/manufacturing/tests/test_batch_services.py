"""The batch record's writes: opening, the workflow table and its guards, tissue receipt,
cultures, the selection, REP counts, the harvest plan and the forecast, and the batch opened by
the journey's tissue receipt.

Every refusal is checked to leave nothing written: no row, no transition, no audit event.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from decimal import Decimal

import pytest
from django.utils import timezone

from tilcare.audit.models import AuditEvent
from tilcare.core.errors import InvalidInput, PermissionDenied, TransitionBlocked
from tilcare.journey.choices import Protocol
from tilcare.journey.services import custody
from tilcare.manufacturing.choices import BATCH_TRANSITIONS, BatchStatus
from tilcare.manufacturing.models import (
    Batch,
    BatchTransition,
)
from tilcare.manufacturing.selectors.forecast import THRESHOLD_NOT_SET, batch_forecast
from tilcare.manufacturing.services import batches as batch_services
from tilcare.manufacturing.services import screen as screen_services
from tilcare.manufacturing.tests.batch_factories import (
    REP_DAYS_AGO,
    THRESHOLDS,
    count_time,
    fresh,
    in_rep_with_counts,
    minutes_ago,
    open_test_batch,
    record_counts,
    rep_start,
    screen_and_select,
    specimen_of,
    stopped_for_withdrawal,
    tissue_on_its_way,
    walk_batch,
)
from tilcare.manufacturing.tests.batch_factories import batch_rows as written
from tilcare.manufacturing.tests.factories import coi_number
from tilcare.patients.tests.factories import FacilityFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def tech(team):
    return team.manufacturing_tech


def open_kwargs(team, **changes):
    din, check = coi_number(17)
    values = {
        "coi_din": din,
        "coi_check": check,
        "manufacture_attempt": 1,
        "center": team.center,
        "facility": team.facility,
        "protocol_id": "lifileucel_us",
        "protocol_version": "2024",
        "actor": team.manufacturing_tech,
    }
    values.update(changes)
    return values


# ---------- opening a batch ----------


def test_open_batch_starts_in_tissue_received_with_its_first_transition_audited(team, tech):
    # When the facility opens the batch of a COI's first attempt
    batch = batch_services.open_batch(**open_kwargs(team))

    # Then it starts at "Tissue received", with the opening in its history and the audit trail
    assert batch.status == BatchStatus.TISSUE_RECEIVED
    (transition,) = BatchTransition.objects.filter(batch=batch)
    assert (transition.from_status, transition.to_status) == ("", BatchStatus.TISSUE_RECEIVED)
    assert transition.actor == tech
    event = AuditEvent.objects.get(action="manufacturing.batch.open")
    assert event.subject_id == f"coi:{batch.coi_din}"


def test_open_batch_refuses_a_wrong_check_character_and_writes_nothing(team):
    before = written()

    with pytest.raises(InvalidInput) as refused:
        batch_services.open_batch(**open_kwargs(team, coi_check="Q"))

    din, check = coi_number(17)
    assert refused.value.errors == {
        "coi_check": [
            f"Check character “Q” does not match {din[:5]} {din[5:7]} {din[7:]}: expected "
            f"“{check}”."
        ]
    }
    assert written() == before


def test_open_batch_refuses_a_second_batch_for_the_same_attempt(team):
    batch_services.open_batch(**open_kwargs(team))
    before = written()

    with pytest.raises(InvalidInput) as refused:
        batch_services.open_batch(**open_kwargs(team))

    assert refused.value.errors == {
        "coi_din": ["W1234 26 000017 7 already has a batch for manufacture attempt 1."]
    }
    assert written() == before


def test_open_batch_refuses_an_unknown_protocol_file(team):
    before = written()

    with pytest.raises(InvalidInput) as refused:
        batch_services.open_batch(**open_kwargs(team, protocol_version="2031"))

    assert list(refused.value.errors) == ["protocol_id"]
    assert written() == before


@pytest.mark.parametrize("who", ["navigator", "other_facility"])
def test_open_batch_is_the_facility_s_own(team, who):
    actor = (
        team.navigator
        if who == "navigator"
        else UserFactory(role="manufacturing_tech", organization=FacilityFactory())
    )
    before = written()

    with pytest.raises(PermissionDenied):
        batch_services.open_batch(**open_kwargs(team, actor=actor))

    assert written() == before


# ---------- the workflow table ----------

STATUSES = list(BatchStatus)
ILLEGAL = [
    (source, target)
    for source, target in itertools.product(STATUSES, STATUSES)
    if target not in BATCH_TRANSITIONS[source]
]


@pytest.mark.parametrize(("source", "target"), ILLEGAL, ids=lambda s: s.value)
def test_every_move_outside_the_table_is_refused_and_nothing_written(team, tech, source, target):
    # Given a batch in `source` (set directly: only the table is under test)
    batch = open_test_batch(team)
    Batch.objects.filter(pk=batch.pk).update(status=source)
    before = written()

    # When anyone tries to move it to `target`
    actor = team.qa_reviewer if target in ("released", "released_exception") else tech
    with pytest.raises(TransitionBlocked) as blocked:
        batch_services.advance_batch(fresh(batch), target, actor=actor, reason="Test.")

    # Then the table refuses it in words, and nothing is written
    assert blocked.value.reasons == [
        f"A batch cannot move from “{source.label}” to “{target.label}”."
    ]
    assert written() == before
    assert fresh(batch).status == source


def test_an_unknown_status_is_refused(team, tech):
    batch = open_test_batch(team)
    before = written()

    with pytest.raises(InvalidInput) as refused:
        batch_services.advance_batch(batch, "frozen", actor=tech)

    assert refused.value.errors == {"to_status": ["“frozen” is not a batch status."]}
    assert written() == before


GUARDED = [
    (
        BatchStatus.TISSUE_RECEIVED,
        BatchStatus.PRE_REP,
        "Record the tissue receipt (weight and fragments) first.",
    ),
    (BatchStatus.PRE_REP, BatchStatus.SCREENING, "Record at least one pre-REP culture first."),
    (
        BatchStatus.SCREENING,
        BatchStatus.REP,
        "Select the cultures for the REP (who and why) first.",
    ),
    (BatchStatus.REP, BatchStatus.HARVESTED, "Record at least one REP count before the harvest."),
]


@pytest.mark.parametrize(("source", "target", "reason"), GUARDED, ids=lambda s: str(s)[:12])
def test_a_guard_blocks_the_move_with_its_reason(team, tech, source, target, reason):
    # Given a batch brought to `source` through the services, without the target's requirement
    batch = walk_batch(open_test_batch(team), team, source)
    before = written()

    with pytest.raises(TransitionBlocked) as blocked:
        batch_services.advance_batch(batch, target, actor=tech)

    assert blocked.value.reasons == [reason]
    assert written() == before


def test_release_needs_qa_s_signed_disposition(team):
    batch = open_test_batch(team)
    Batch.objects.filter(pk=batch.pk).update(status=BatchStatus.RELEASE_TESTING)
    before = written()

    with pytest.raises(TransitionBlocked) as blocked:
        batch_services.advance_batch(fresh(batch), BatchStatus.RELEASED, actor=team.qa_reviewer)

    assert blocked.value.reasons == ["QA's signed disposition “Release” is not on file."]
    assert written() == before


def test_a_technologist_may_not_release(team, tech):
    batch = open_test_batch(team)
    Batch.objects.filter(pk=batch.pk).update(status=BatchStatus.RELEASE_TESTING)
    before = written()

    with pytest.raises(PermissionDenied) as denied:
        batch_services.advance_batch(fresh(batch), BatchStatus.RELEASED, actor=tech)

    assert denied.value.message == "Your role may not move a batch to “Released”."
    assert written() == before


def test_qa_does_not_perform_the_process_steps(team):
    batch = walk_batch(open_test_batch(team), team, BatchStatus.TISSUE_RECEIVED)
    batch_services.record_tissue_receipt(
        batch, received_at=minutes_ago(), weight_g=Decimal("1.2"), fragments=24,
        actor=team.manufacturing_tech,
    )  # fmt: skip
    before = written()

    with pytest.raises(PermissionDenied):
        batch_services.advance_batch(batch, BatchStatus.PRE_REP, actor=team.qa_reviewer)

    assert written() == before


@pytest.mark.parametrize("who", ["navigator", "other_facility"])
def test_others_may_not_move_the_batch(team, who):
    batch = open_test_batch(team)
    actor = (
        team.navigator
        if who == "navigator"
        else UserFactory(role="manufacturing_tech", organization=FacilityFactory())
    )
    before = written()

    with pytest.raises(PermissionDenied) as denied:
        batch_services.advance_batch(batch, BatchStatus.REJECTED, actor=actor, reason="x")

    assert denied.value.message == "You may not see this batch."
    assert written() == before


def test_rejecting_needs_a_reason(team):
    batch = open_test_batch(team)
    before = written()

    with pytest.raises(InvalidInput) as refused:
        batch_services.advance_batch(batch, BatchStatus.REJECTED, actor=team.qa_reviewer)

    assert refused.value.errors == {"reason": ["Reason for rejecting the batch is required."]}
    assert written() == before


def test_stopping_needs_a_reason(team):
    batch = open_test_batch(team)
    before = written()

    with pytest.raises(InvalidInput) as refused:
        batch_services.advance_batch(batch, BatchStatus.STOPPED, actor=team.manufacturing_tech)

    assert refused.value.errors == {
        "reason": ["Reason for stopping the batch is required (who asked, and when)."]
    }
    assert written() == before


def test_a_stopped_batch_is_closed_like_a_rejected_one(team):
    # Given a batch stopped at the center's request
    batch = stopped_for_withdrawal(open_test_batch(team), team)

    # When anyone tries to move it on / Then the table refuses: it is closed
    with pytest.raises(TransitionBlocked) as blocked:
        batch_services.advance_batch(batch, BatchStatus.PRE_REP, actor=team.manufacturing_tech)

    assert blocked.value.reasons == [
        "A batch cannot move from “Stopped: patient withdrawn” to “Pre-REP cultures”."
    ]


@pytest.mark.parametrize("role", ["manufacturing_tech", "qa_reviewer"])
def test_the_technologist_or_qa_rejects_with_the_reason_in_the_history(team, role):
    batch = open_test_batch(team)

    batch = batch_services.advance_batch(
        batch, BatchStatus.REJECTED, actor=team.by_role(role), reason="Tissue arrived warm."
    )

    assert batch.status == BatchStatus.REJECTED
    last = BatchTransition.objects.filter(batch=batch).last()
    assert (last.to_status, last.reason) == (BatchStatus.REJECTED, "Tissue arrived warm.")
    event = AuditEvent.objects.filter(action="manufacturing.batch.advance").get()
    assert event.reason == "Tissue arrived warm."


def test_entering_the_rep_records_its_start_day(team, tech):
    batch = walk_batch(open_test_batch(team), team, BatchStatus.REP)

    assert batch.rep_started_on == rep_start(batch)


def test_the_rep_cannot_start_in_the_future(team, tech):
    batch = walk_batch(open_test_batch(team), team, BatchStatus.SCREENING)
    batch = screen_and_select(batch, team)
    later = rep_start(batch) + dt.timedelta(days=REP_DAYS_AGO + 1)
    before = written()

    with pytest.raises(InvalidInput) as refused:
        batch_services.advance_batch(batch, BatchStatus.REP, actor=tech, rep_started_on=later)

    assert refused.value.errors == {
        "rep_started_on": [f"REP start {later} is after today ({later - dt.timedelta(days=1)})."]
    }
    assert written() == before


# ---------- tissue receipt ----------


def receive(batch, actor, **changes):
    values = {"received_at": minutes_ago(), "weight_g": Decimal("1.2"), "fragments": 24}
    values.update(changes)
    return batch_services.record_tissue_receipt(batch, actor=actor, **values)


def test_tissue_receipt_is_recorded_and_audited(team, tech):
    batch = open_test_batch(team)

    receipt = receive(batch, tech, weight_g=Decimal("1.20"), note="Two lesions.")

    assert (receipt.weight_g, receipt.fragments, receipt.recorded_by) == (
        Decimal("1.200"), 24, tech,
    )  # fmt: skip
    event = AuditEvent.objects.get(action="manufacturing.tissue_receipt.record")
    assert '"weight_g":"1.200"' in event.after_json


BAD_RECEIPTS = [
    (
        {"weight_g": Decimal("0.0004")},
        "weight_g",
        "Tissue weight must be from 0.001 to 500 g (got 0.0004 g).",
    ),
    (
        {"weight_g": Decimal("612")},
        "weight_g",
        "Tissue weight must be from 0.001 to 500 g (got 612 g).",
    ),
    (
        {"weight_g": Decimal("1.2345")},
        "weight_g",
        "Tissue weight 1.2345 g has too many decimals (at most 3 decimal places).",
    ),
    ({"weight_g": 1.2}, "weight_g", "Tissue weight must be an exact decimal number (g); got 1.2."),
    ({"fragments": 0}, "fragments", "Fragments must be from 1 to 200 fragments (got 0 fragments)."),
    (
        {"fragments": 201},
        "fragments",
        "Fragments must be from 1 to 200 fragments (got 201 fragments).",
    ),
    (
        {"received_at": timezone.now() + dt.timedelta(hours=1)},
        "received_at",
        "Received at cannot be in the future.",
    ),
    (
        {"received_at": dt.datetime(2026, 1, 5, 10, 0)},
        "received_at",
        "Received at must carry its UTC offset; a time without one is ambiguous.",
    ),
]


@pytest.mark.parametrize(("changes", "field", "message"), BAD_RECEIPTS)
def test_tissue_receipt_outside_its_limits_is_refused_naming_the_field(
    team, tech, changes, field, message
):
    batch = open_test_batch(team)
    before = written()

    with pytest.raises(InvalidInput) as refused:
        receive(batch, tech, **changes)

    assert refused.value.errors == {field: [message]}
    assert written() == before


def test_tissue_receipt_is_recorded_once(team, tech):
    batch = open_test_batch(team)
    receive(batch, tech)
    before = written()

    with pytest.raises(InvalidInput) as refused:
        receive(batch, tech)

    assert refused.value.errors == {"__all__": ["The tissue receipt of this batch is recorded."]}
    assert written() == before


def test_qa_does_not_record_the_tissue_receipt(team):
    batch = open_test_batch(team)
    before = written()

    with pytest.raises(PermissionDenied) as denied:
        receive(batch, team.qa_reviewer)

    assert denied.value.message == (
        "Only the facility's manufacturing technologists record batch steps."
    )
    assert written() == before


# ---------- cultures ----------


def test_a_culture_is_recorded_with_its_count(team, tech):
    batch = walk_batch(open_test_batch(team), team, BatchStatus.PRE_REP)

    culture = screen_services.record_culture(
        batch, culture_id="F07", viable_cells=Decimal(12_500_000),
        viability_percent=Decimal("91"), counted_at=minutes_ago(), actor=tech,
    )  # fmt: skip

    assert (culture.culture_id, culture.viable_cells, culture.viability_percent) == (
        "F07", Decimal(12_500_000), Decimal("91.0"),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("cultures", "errors"),
    [
        pytest.param(
            # what record_culture sends for one culture with only its cells given
            [
                {
                    "culture_id": "F07",
                    "viable_cells": Decimal(12_500_000),
                    "viability_percent": None,
                    "counted_at": None,
                }
            ],
            {
                "viability_percent": ["Viability is required (%)."],
                "counted_at": ["Counted at is required (date and time)."],
            },
            id="a culture count is all three values or none",
        ),
        pytest.param(
            [{"culture_id": "F07"}, {"culture_id": "F 08"}, {"culture_id": "F09"}],
            {
                "cultures.1.culture_id": [
                    "Culture id “F 08” must be letters, digits, “.”, “_” and “-”, at most 20 "
                    "characters."
                ]
            },
            id="a list of cultures is recorded whole or refused whole",
        ),
    ],
)
def test_refused_cultures_write_nothing(team, tech, cultures, errors):
    batch = walk_batch(open_test_batch(team), team, BatchStatus.PRE_REP)
    before = written()

    with pytest.raises(InvalidInput) as refused:
        screen_services.record_cultures(batch, cultures=cultures, actor=tech)

    assert refused.value.errors == errors
    assert written() == before


def test_a_culture_id_is_recorded_once(team, tech):
    batch = walk_batch(open_test_batch(team), team, BatchStatus.PRE_REP)
    screen_services.record_culture(batch, culture_id="F07", actor=tech)
    before = written()

    with pytest.raises(InvalidInput) as refused:
        screen_services.record_culture(batch, culture_id="F07", actor=tech)

    assert refused.value.errors == {"culture_id": ["Culture F07 is already recorded."]}
    assert written() == before


def test_a_culture_count_is_corrected_with_before_and_after_in_the_audit(team, tech):
    batch = walk_batch(open_test_batch(team), team, BatchStatus.SCREENING)

    culture = screen_services.record_culture_count(
        batch, culture_id="F02", viable_cells=Decimal(9_000_000),
        viability_percent=Decimal("90.5"), counted_at=minutes_ago(), actor=tech,
    )  # fmt: skip

    assert culture.viable_cells == Decimal(9_000_000)
    event = AuditEvent.objects.get(action="manufacturing.culture.count")
    assert '"viable_cells":"8000000"' in event.before_json
    assert '"viable_cells":"9000000"' in event.after_json


# ---------- the selection ----------


@pytest.fixture
def screened(team, tech):
    from tilcare.manufacturing.tests.batch_factories import SCREEN_CSV

    batch = walk_batch(open_test_batch(team), team, BatchStatus.SCREENING)
    screen_services.import_reactivity_csv(batch, file_name="a.csv", content=SCREEN_CSV, actor=tech)
    return batch


def test_the_selection_stores_who_why_the_thresholds_and_the_ranking(team, tech, screened):
    selection = screen_services.select_cultures(
        screened, culture_ids=["F03", "F02"], reason="F03 reactive; F02 for cell number.",
        thresholds={k: str(v) for k, v in THRESHOLDS.items()}, actor=tech,
    )  # fmt: skip

    assert selection.selected_by == tech
    assert sorted(c.culture_id for c in selection.cultures.all()) == ["F02", "F03"]
    ranking = json.loads(selection.ranking_json)
    assert ranking["thresholds"] == {
        "min_ifn_gamma_difference_pg_per_ml": "200",
        "min_ifn_gamma_fold": "2",
        "min_cd137_difference_points": "2",
    }
    assert [(r["rank"], r["culture_id"], r["reactive"]) for r in ranking["rows"]] == [
        (1, "F01", True), (2, "F03", True), (3, "F02", False),
    ]  # fmt: skip
    assert ranking["selected"] == ["F02", "F03"]
    assert ranking["selected_not_reactive"] == ["F02"]
    event = AuditEvent.objects.get(action="manufacturing.culture_selection.record")
    assert event.reason == "F03 reactive; F02 for cell number."


def test_the_thresholds_have_no_default(team, tech, screened):
    before = written()

    with pytest.raises(InvalidInput) as refused:
        screen_services.select_cultures(
            screened, culture_ids=["F01"], reason="Most reactive.",
            thresholds={"min_ifn_gamma_fold": "2"}, actor=tech,
        )  # fmt: skip

    assert refused.value.errors == {
        "min_ifn_gamma_difference_pg_per_ml": [
            "Minimum IFN-γ difference (pg/mL) is required: it is the facility's setting, there "
            "is no default."
        ],
        "min_cd137_difference_points": [
            "Minimum CD137 difference (percentage points) is required: it is the facility's "
            "setting, there is no default."
        ],
    }
    assert written() == before


def test_a_cd137_threshold_above_100_points_is_refused(team, tech, screened):
    before = written()

    with pytest.raises(InvalidInput) as refused:
        screen_services.select_cultures(
            screened, culture_ids=["F01"], reason="Most reactive.",
            thresholds={**THRESHOLDS, "min_cd137_difference_points": Decimal(150)}, actor=tech,
        )  # fmt: skip

    assert refused.value.errors == {
        "min_cd137_difference_points": ["min_cd137_difference 150 % is outside 0 to 100 %."]
    }
    assert written() == before


@pytest.mark.parametrize(
    ("culture_ids", "reason", "errors"),
    [
        ([], "x", {"culture_ids": ["Select at least one culture for the REP."]}),
        (["F01", "F01"], "x", {"culture_ids": ["Each culture may be selected once."]}),
        (["F01"], "  ", {"reason": ["Reason for the selection is required (why these cultures)."]}),
        (["F01", "F09"], "x", {"culture_ids": ["Not screened in this batch: F09."]}),
    ],
)
def test_a_selection_is_refused_naming_the_field(team, tech, screened, culture_ids, reason, errors):
    before = written()

    with pytest.raises(InvalidInput) as refused:
        screen_services.select_cultures(
            screened, culture_ids=culture_ids, reason=reason, thresholds=THRESHOLDS, actor=tech
        )

    assert refused.value.errors == errors
    assert written() == before


def test_the_selection_is_made_once(team, tech, screened):
    screen_services.select_cultures(
        screened, culture_ids=["F01"], reason="x", thresholds=THRESHOLDS, actor=tech
    )
    before = written()

    with pytest.raises(InvalidInput) as refused:
        screen_services.select_cultures(
            screened, culture_ids=["F03"], reason="y", thresholds=THRESHOLDS, actor=tech
        )

    assert refused.value.errors == {"__all__": ["The cultures of this batch are already selected."]}
    assert written() == before


def test_qa_does_not_select_cultures(team, screened):
    before = written()

    with pytest.raises(PermissionDenied):
        screen_services.select_cultures(
            screened, culture_ids=["F01"], reason="x", thresholds=THRESHOLDS,
            actor=team.qa_reviewer,
        )  # fmt: skip

    assert written() == before


# ---------- REP counts ----------


def count(batch, day, cells_1e9="0.3", viability="92.5", **changes):
    values = {
        "day": day,
        "viable_cells": Decimal(cells_1e9) * 10**9,
        "viability_percent": Decimal(viability),
        "counted_at": count_time(batch, day),
    }
    values.update(changes)
    return values


def test_a_rep_count_is_recorded_and_audited(team, tech, in_rep):
    rep_count = batch_services.record_rep_count(in_rep, actor=tech, **count(in_rep, 3))

    assert (rep_count.day, rep_count.viable_cells) == (3, Decimal(300_000_000))
    assert AuditEvent.objects.filter(action="manufacturing.rep_count.record").count() == 1


def test_an_instrument_list_is_recorded_whole_or_refused_whole(team, tech, in_rep):
    before = written()

    with pytest.raises(InvalidInput) as refused:
        batch_services.record_rep_counts(
            in_rep,
            counts=[count(in_rep, 0, "0.05"), count(in_rep, 3, "-1"), count(in_rep, 5, "0.9")],
            actor=tech,
        )

    assert refused.value.errors == {
        "counts.1.viable_cells": [
            "Viable cells must be from 1 to 10,000,000,000,000 cells (got -1,000,000,000 cells)."
        ]
    }
    assert written() == before


def test_the_day_must_match_the_count_date(team, tech, in_rep):
    before = written()

    with pytest.raises(InvalidInput) as refused:
        batch_services.record_rep_count(
            in_rep, actor=tech, **count(in_rep, 5, counted_at=count_time(in_rep, 4))
        )

    start = in_rep.rep_started_on
    on = start + dt.timedelta(days=4)
    assert refused.value.errors == {
        "day": [
            f"Day 5 does not match the count date {on}: the REP started on {start} (day 0), "
            f"so {on} is day 4."
        ]
    }
    assert written() == before


def test_a_day_is_counted_once(team, tech, in_rep):
    batch_services.record_rep_count(in_rep, actor=tech, **count(in_rep, 3))
    before = written()

    with pytest.raises(InvalidInput) as refused:
        batch_services.record_rep_count(in_rep, actor=tech, **count(in_rep, 3, "0.31"))

    assert refused.value.errors == {"day": ["Day 3 already has a count."]}
    assert written() == before


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"viability": "100.5"},
            "viability_percent",
            "Viability must be from 0 to 100 % (got 100.5 %).",
        ),
        ({"day": 61}, "day", "REP day must be from 0 to 60 days (got 61 days)."),
        (
            {"counted_at": timezone.now() + dt.timedelta(hours=2)},
            "counted_at",
            "Counted at cannot be in the future.",
        ),
    ],
)
def test_a_rep_count_outside_its_limits_is_refused(team, tech, in_rep, changes, field, message):
    values = count(in_rep, 3)
    if "viability" in changes:
        values["viability_percent"] = Decimal(changes["viability"])
    else:
        values.update(changes)
    before = written()

    with pytest.raises(InvalidInput) as refused:
        batch_services.record_rep_count(in_rep, actor=tech, **values)

    assert refused.value.errors == {field: [message]}
    assert written() == before


def test_rep_counts_wait_for_the_rep(team, tech):
    batch = walk_batch(open_test_batch(team), team, BatchStatus.SCREENING)
    before = written()

    with pytest.raises(InvalidInput) as refused:
        batch_services.record_rep_count(
            batch, day=0, viable_cells=Decimal(10**8), viability_percent=Decimal(90),
            counted_at=minutes_ago(), actor=tech,
        )  # fmt: skip

    assert refused.value.errors == {
        "__all__": [
            "REP counts is recorded while the batch is in “Rapid expansion (REP)”; this batch is "
            "in “Reactivity screen”."
        ]
    }
    assert written() == before


# ---------- the harvest plan and the forecast ----------


def test_the_harvest_cannot_be_planned_before_today(team, tech, in_rep):
    yesterday = rep_start(in_rep) + dt.timedelta(days=REP_DAYS_AGO - 1)
    before = written()

    with pytest.raises(InvalidInput) as refused:
        batch_services.plan_harvest(in_rep, planned_harvest_on=yesterday, actor=tech)

    today = yesterday + dt.timedelta(days=1)
    assert refused.value.errors == {
        "planned_harvest_on": [
            f"Planned harvest date must be from {today} (today or the REP start, whichever is "
            f"later) to {today + dt.timedelta(days=60)} (60 days ahead)."
        ]
    }
    assert written() == before


def test_the_forecast_uses_the_protocol_s_dose_range_and_the_planned_day(team):
    batch = in_rep_with_counts(team)

    view = batch_forecast(batch, warn_below_probability=Decimal("0.80"))

    assert view.state == "forecast"
    assert view.harvest_day == 11
    assert (view.dose.minimum_1e9, view.dose.maximum_1e9) == (Decimal("7.5"), Decimal("72"))
    forecast = view.result.forecast
    assert (forecast.point.magnitude, forecast.lower.magnitude, forecast.upper.magnitude) == (
        Decimal("28.27"), Decimal("23.11"), Decimal("34.58"),
    )  # fmt: skip
    assert forecast.probability_at_least_lower == Decimal("0.999")
    assert view.warning is False


def test_slow_growth_raises_the_early_warning(team, tech):
    batch = walk_batch(open_test_batch(team), team, BatchStatus.REP)
    record_counts(batch, tech, ((0, "0.05"), (3, "0.08"), (5, "0.1"), (7, "0.12")))

    view = batch_forecast(fresh(batch), warn_below_probability=Decimal("0.80"))

    assert view.warning is True
    assert view.result.forecast.probability_at_least_lower < Decimal("0.80")


def test_without_the_threshold_the_forecast_is_shown_without_a_warning(team, tech):
    batch = walk_batch(open_test_batch(team), team, BatchStatus.REP)
    record_counts(batch, tech, ((0, "0.05"), (3, "0.08"), (5, "0.1"), (7, "0.12")))

    view = batch_forecast(fresh(batch), warn_below_probability=None)

    assert view.state == "forecast"
    assert view.warning is False
    assert view.threshold_note == THRESHOLD_NOT_SET


def test_without_a_planned_harvest_there_is_no_forecast(team, tech):
    batch = in_rep_with_counts(team)
    Batch.objects.filter(pk=batch.pk).update(planned_harvest_on=None)

    view = batch_forecast(fresh(batch), warn_below_probability=Decimal("0.8"))

    assert (view.state, view.message) == (
        "not_planned", "Set the planned harvest date to forecast the harvest.",
    )  # fmt: skip


# ---------- opened by the journey's tissue receipt ----------


@pytest.mark.parametrize(
    ("protocol", "protocol_file"),
    [
        (Protocol.LIFILEUCEL_US_2024, ("lifileucel_us", "2024")),
        (Protocol.NKI_TIL_2022, ("nki_phase3", "2022")),
    ],
)
def test_the_facility_s_tissue_receipt_opens_the_batch(team, tech, protocol, protocol_file):
    # Given a journey whose tissue is on its way to the facility
    journey = tissue_on_its_way(team, protocol)
    specimen = specimen_of(journey, team)

    # When the facility's technologist scans the specimen on arrival
    result = custody.receive_tissue(journey, scanned_text=specimen.item_id, actor=tech)

    # Then the batch of this COI and attempt is open, with the journey's protocol file
    batch = Batch.objects.get(coi_din=journey.coi_din, manufacture_attempt=1)
    assert result.batch == batch
    assert (batch.protocol_id, batch.protocol_version) == protocol_file
    assert (batch.center, batch.facility, batch.coi_check) == (
        journey.center, team.facility, journey.coi_check,
    )  # fmt: skip
    assert batch.status == BatchStatus.TISSUE_RECEIVED
    assert batch.created_by == tech


def test_a_second_receipt_scan_does_not_open_another_batch(team, tech):
    journey = tissue_on_its_way(team)
    specimen = specimen_of(journey, team)
    custody.receive_tissue(journey, scanned_text=specimen.item_id, actor=tech)

    again = custody.receive_tissue(journey, scanned_text=specimen.item_id, actor=tech)

    assert again.batch is None
    assert Batch.objects.filter(coi_din=journey.coi_din).count() == 1


def test_a_mismatching_scan_opens_no_batch(team, tech):
    journey = tissue_on_its_way(team)
    specimen_of(journey, team)

    result = custody.receive_tissue(journey, scanned_text="W123426999999-TS01", actor=tech)

    assert not result.accepted
    assert result.batch is None
    assert not Batch.objects.filter(coi_din=journey.coi_din).exists()


def test_a_refused_opening_leaves_the_receipt_standing_with_a_note(team, tech):
    # Given a journey whose center's facility number changed after its COI was issued
    journey = tissue_on_its_way(team)
    specimen = specimen_of(journey, team)
    type(team.center).objects.filter(pk=team.center.pk).update(isbt_fin="X9999")
    journey.center.refresh_from_db()

    # When the facility scans the specimen on arrival
    result = custody.receive_tissue(journey, scanned_text=specimen.item_id, actor=tech)

    # Then the receipt stands, no batch is opened, and the result says why
    assert result.accepted
    assert result.milestone is not None
    assert result.batch is None
    assert (
        f"No batch record opened: {journey.coi_spaced} was not issued by Riverside Cancer Center."
        in result.notes
    )
    assert not Batch.objects.filter(coi_din=journey.coi_din).exists()
