"""The facility's batch board and batch page.

Both are the facility's own: a center's staff get 403 (board) or 404 (a batch), another facility
404. No page carries the patient's name, record number or date of birth. Each step's form calls
its service; a refusal comes back on the page with its message and leaves nothing written.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from tilcare.core.tests.browser import sign_in
from tilcare.core.tests.clients import client_for
from tilcare.manufacturing.choices import BatchStatus
from tilcare.manufacturing.models import (
    Batch,
    Culture,
    CultureSelection,
    RepCount,
    TissueReceipt,
)
from tilcare.manufacturing.reactivity_csv import HEADER_TEXT
from tilcare.manufacturing.services import batches as batch_services
from tilcare.manufacturing.tests.batch_factories import (
    REP_DAYS_AGO,
    SCREEN_CSV,
    THRESHOLDS,
    batch_of_patient,
    count_time,
    fresh,
    in_rep_with_counts,
    open_test_batch,
    record_counts,
    rep_start,
    screen_and_select,
    stopped_for_withdrawal,
    walk_batch,
)
from tilcare.manufacturing.tests.batch_factories import batch_rows as written
from tilcare.patients.tests.factories import (
    FacilityFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

BOARD = "/manufacturing/batches/"
IDENTITY = ("Theodora", "Lindqvist", "MRN004512", "1968")
COI_HTML = (
    '<span class="coi">W1234 26 000017 '
    '<span class="coi-check" title="Check character">7</span></span>'
)
THRESHOLD_QUERY = {k: str(v) for k, v in THRESHOLDS.items()}
SLOW = ((0, "0.05"), (3, "0.08"), (5, "0.1"), (7, "0.12"))


def batch_url(batch: Batch, tail: str = "") -> str:
    return f"/manufacturing/batches/{batch.public_id}/{tail}"


def body(response) -> str:
    return html.unescape(response.content.decode())


def board_without_and_with_closed(team) -> tuple[str, str]:
    """The technologist's batch board as first opened, then with the closed batches shown."""
    client = client_for(team.manufacturing_tech)
    return body(client.get(BOARD)), body(client.get(BOARD, {"closed": "1"}))


# ---------- the board ----------


def test_the_board_shows_the_facility_s_batches_by_status_with_coi_and_days(team):
    # Given one batch in the REP and one just opened
    in_rep = in_rep_with_counts(team)
    opened = open_test_batch(team, sequence=18)

    # When the technologist opens the board
    response = client_for(team.manufacturing_tech).get(BOARD)

    # Then each batch is in its status column, by COI with its check character, and its days
    assert response.status_code == 200
    text = body(response)
    assert COI_HTML in response.content.decode()
    columns = re.findall(r'id="column-(\w+)"', text)
    assert columns == [
        "tissue_received", "pre_rep", "screening", "rep", "harvested", "release_testing",
        "released", "released_exception",
    ]  # fmt: skip
    assert f'href="/manufacturing/batches/{opened.public_id}/"' in text
    assert f'href="/manufacturing/batches/{in_rep.public_id}/"' in text
    assert "0 days in status" in text
    assert "Early-warning threshold not set" in text


def test_the_board_flags_a_batch_unlikely_to_reach_the_dose(team):
    batch = walk_batch(open_test_batch(team), team, BatchStatus.REP)
    record_counts(batch, team.manufacturing_tech, SLOW)

    response = client_for(team.qa_reviewer).get(BOARD, {"warn_below_probability": "0.8"})

    text = body(response)
    assert text.count('<span class="badge badge-danger">Early warning</span>') == 1
    assert re.search(
        r'batch-summary-value">1</span><span class="batch-summary-label">Early warnings', text
    )


def test_a_batch_on_track_is_marked_so(team):
    in_rep_with_counts(team)

    text = body(client_for(team.manufacturing_tech).get(BOARD, {"warn_below_probability": "0.8"}))

    assert '<span class="badge badge-success">On track</span>' in text
    assert "P(≥ lower dose) 99.9 %" in text


def test_closed_batches_are_shown_on_request(team):
    batch = open_test_batch(team)
    Batch.objects.filter(pk=batch.pk).update(status=BatchStatus.REJECTED)

    hidden, shown = board_without_and_with_closed(team)

    assert str(batch.public_id) not in hidden
    assert 'id="column-rejected"' in shown
    assert str(batch.public_id) in shown


def test_a_stopped_batch_has_its_own_column_apart_from_the_rejected(team):
    # Given one batch rejected for a failure and one stopped because the patient was withdrawn
    rejected = batch_services.advance_batch(
        open_test_batch(team),
        BatchStatus.REJECTED,
        actor=team.qa_reviewer,
        reason="Sterility failed.",
    )
    stopped = stopped_for_withdrawal(open_test_batch(team, sequence=18), team)

    # When the board shows the closed batches
    text = body(client_for(team.manufacturing_tech).get(BOARD, {"closed": "1"}))

    # Then the rejected column counts one batch, the failure, and the stopped one is apart
    rejected_column = text.split('id="column-rejected"')[1].split("</section>")[0]
    stopped_column = text.split('id="column-stopped"')[1].split("</section>")[0]
    assert 'aria-label="1 batches"' in rejected_column
    assert str(rejected.public_id) in rejected_column
    assert str(stopped.public_id) not in rejected_column
    assert "Stopped: patient withdrawn" in stopped_column
    assert str(stopped.public_id) in stopped_column


def test_a_stopped_batch_s_page_says_it_will_have_no_disposition(team):
    # Given a batch stopped because the center withdrew the patient
    batch = stopped_for_withdrawal(open_test_batch(team), team)

    # When the technologist opens it
    text = body(client_for(team.manufacturing_tech).get(batch_url(batch)))

    # Then it is closed, and the release card does not wait for a decision that will not come
    assert "This batch is closed (“Stopped: patient withdrawn”)" in text
    assert (
        "None: the batch was stopped at the center's request (patient withdrawn) before its "
        "release; see its status history." in text
    )
    assert "Not decided yet." not in text


def test_a_batch_stopped_in_the_rep_keeps_its_growth_chart_but_forecasts_no_harvest(team):
    # Given a batch stopped in the REP, with its counts
    batch = stopped_for_withdrawal(in_rep_with_counts(team), team)

    # When the technologist opens it
    text = body(client_for(team.manufacturing_tech).get(batch_url(batch)))

    # Then no early-warning threshold is asked for, and the chart and counts stay
    assert (
        "This batch is closed (“Stopped: patient withdrawn”): no harvest is forecast any more; "
        "its growth chart and counts stay below." in text
    )
    assert 'name="warn_below_probability"' not in text
    assert 'class="chart batch-chart" data-chart=' in text


def test_a_recently_released_batch_is_on_the_board_without_asking(team):
    # Given a product QA released yesterday
    batch = open_test_batch(team)
    yesterday = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    Batch.objects.filter(pk=batch.pk).update(
        status=BatchStatus.RELEASED, status_changed_at=yesterday
    )

    # When the technologist opens the board with no filter
    text = body(client_for(team.manufacturing_tech).get(BOARD))

    # Then it sits in its own "Released" column
    assert 'id="column-released"' in text
    assert 'id="column-released_exception"' in text
    assert str(batch.public_id) in text


def test_a_release_older_than_30_days_is_shown_on_request(team):
    # Given a product released 31 days ago
    batch = open_test_batch(team)
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=31)
    Batch.objects.filter(pk=batch.pk).update(
        status=BatchStatus.RELEASED, status_changed_at=long_ago
    )

    # When the board is opened without and with the closed batches
    hidden, shown = board_without_and_with_closed(team)

    # Then only the second shows it, and the filter says what it adds
    assert str(batch.public_id) not in hidden
    assert "Also show rejected and stopped batches, and releases older than 30 days" in hidden
    assert str(batch.public_id) in shown


@pytest.mark.parametrize("role", ["navigator", "physician", "center_admin"])
def test_the_board_is_not_for_the_center(team, role):
    response = client_for(team.by_role(role)).get(BOARD)

    assert response.status_code == 403


def test_batches_is_in_the_facility_s_navigation_only(team):
    facility = body(client_for(team.qa_reviewer).get(BOARD))
    center = body(client_for(team.navigator).get("/"))

    assert (
        '<a href="/manufacturing/batches/" class="active" aria-current="page">Batches</a>'
        in facility
    )
    assert ">Batches</a>" not in center


def test_another_facility_s_board_does_not_show_the_batch(team):
    batch = open_test_batch(team)
    other = UserFactory(role="manufacturing_tech", organization=FacilityFactory())

    text = body(client_for(other).get(BOARD))

    assert str(batch.public_id) not in text
    assert "W1234 26 000017" not in text


# ---------- the batch page: who may open it ----------


@pytest.mark.parametrize("role", ["manufacturing_tech", "qa_reviewer"])
def test_the_facility_opens_the_batch_page(team, role):
    batch = open_test_batch(team)

    response = client_for(team.by_role(role)).get(batch_url(batch))

    assert response.status_code == 200
    assert COI_HTML in response.content.decode()
    text = body(response)
    assert "Lifileucel (Amtagvi), US label regimen 2024" in text
    assert '<span class="batch-status batch-status-tissue_received">Tissue received</span>' in text


@pytest.mark.parametrize("who", ["navigator", "physician", "other_facility"])
def test_others_get_404_for_the_batch_page(team, who):
    batch = open_test_batch(team)
    user = (
        UserFactory(role="manufacturing_tech", organization=FacilityFactory())
        if who == "other_facility"
        else team.by_role(who)
    )

    response = client_for(user).get(batch_url(batch))

    assert response.status_code == 404


@pytest.mark.parametrize(
    "status",
    [BatchStatus.TISSUE_RECEIVED, BatchStatus.SCREENING, BatchStatus.REP, BatchStatus.HARVESTED],
)
def test_no_facility_page_carries_the_patient_s_identity(team, patient, status):
    # Given the batch of a named patient, opened by the facility's receipt scan
    batch = walk_batch(batch_of_patient(team, patient), team, status)
    tech = client_for(team.manufacturing_tech)

    # When the facility opens the board and the batch page (and a refused form comes back)
    answers = [
        tech.get(BOARD, {"closed": "1", "warn_below_probability": "0.8"}),
        tech.get(batch_url(batch), {**THRESHOLD_QUERY, "warn_below_probability": "0.8"}),
        tech.post(batch_url(batch, "advance/"), {"to_status": "rejected", "reason": ""}),
    ]

    # Then none carries who the patient is
    assert [a.status_code for a in answers] == [200, 200, 200]
    for answer in answers:
        text = body(answer)
        for word in IDENTITY:
            assert word not in text


def test_the_page_keeps_to_the_content_security_policy(team):
    batch = in_rep_with_counts(team)

    text = client_for(team.manufacturing_tech).get(batch_url(batch)).content.decode()

    assert " style=" not in text
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text) is None
    assert " onclick=" not in text


# ---------- steps from the page ----------


def post_receipt(user, batch, weight_g: str, **options):
    """The tissue receipt form as `user` posts it: received 5 Jan 2026 09:30, 24 fragments."""
    data = {"received_at": "2026-01-05T09:30", "weight_g": weight_g, "fragments": "24"}
    return client_for(user).post(batch_url(batch, "tissue/"), data, **options)


def test_tissue_receipt_from_the_page(team):
    batch = open_test_batch(team)

    response = post_receipt(team.manufacturing_tech, batch, "1.25", follow=True)

    assert response.redirect_chain == [(batch_url(batch) + "#tissue", 302)]
    assert "Tissue receipt recorded." in body(response)
    receipt = TissueReceipt.objects.get(batch=batch)
    # Typed in the facility's time zone (America/New_York), stored in UTC
    assert receipt.received_at == dt.datetime(2026, 1, 5, 14, 30, tzinfo=dt.UTC)
    assert receipt.weight_g == Decimal("1.250")


def test_a_refused_receipt_comes_back_with_its_message_and_nothing_saved(team):
    batch = open_test_batch(team)
    before = written()

    response = post_receipt(team.manufacturing_tech, batch, "750")

    assert response.status_code == 200
    assert "Tissue weight must be from 0.001 to 500 g (got 750 g)." in body(response)
    assert written() == before


def test_qa_may_not_post_a_step(team):
    batch = open_test_batch(team)
    before = written()

    response = post_receipt(team.qa_reviewer, batch, "1.2")

    assert response.status_code == 403
    assert written() == before


def test_a_culture_counted_in_millions_is_stored_in_cells(team):
    batch = walk_batch(open_test_batch(team), team, BatchStatus.PRE_REP)

    client_for(team.manufacturing_tech).post(
        batch_url(batch, "cultures/"),
        {
            "culture_id": "F07",
            "viable_cells_1e6": "25.4",
            "viability_percent": "91",
            "counted_at": "2026-01-05T09:30",
        },
    )

    assert Culture.objects.get(batch=batch, culture_id="F07").viable_cells == Decimal(25_400_000)


def test_a_bad_screen_file_is_refused_on_the_page_with_its_line(team, screening):
    upload = SimpleUploadedFile(
        "plate.csv", (HEADER_TEXT + "\nF01,1850,120,14.2,1.1\nF01,10,10,1,1\n").encode()
    )
    before = written()

    response = client_for(team.manufacturing_tech).post(
        batch_url(screening, "screen/"), {"file": upload}
    )

    assert response.status_code == 200
    assert (
        "Line 3, culture_id: culture F01 appears again (first on line 2); give one line per "
        "culture (well)."
    ) in body(response)
    assert written() == before


def test_the_ranking_highlights_reactive_cultures_and_offers_the_selection(team, screening):
    client = client_for(team.manufacturing_tech)
    client.post(batch_url(screening, "screen/"), {"file": SimpleUploadedFile("p.csv", SCREEN_CSV)})

    text = body(client.get(batch_url(screening), THRESHOLD_QUERY))

    reactive = re.findall(r'<tr class="batch-reactive">\s*<td class="num">(\d)</td>\s*'
                          r'<th scope="row" class="mono">(\w+)', text)  # fmt: skip
    assert reactive == [("1", "F01"), ("2", "F03")]
    assert '<span class="badge badge-muted">Not reactive</span>' in text
    assert "Select the cultures for the REP" in text


def test_without_thresholds_there_is_no_ranking(team, screening):
    client = client_for(team.manufacturing_tech)
    client.post(batch_url(screening, "screen/"), {"file": SimpleUploadedFile("p.csv", SCREEN_CSV)})

    text = body(client.get(batch_url(screening)))

    assert "Enter the three thresholds to rank the screened cultures." in text
    assert "batch-reactive" not in text


def test_the_selection_from_the_page_records_who_and_why(team, screening):
    client = client_for(team.manufacturing_tech)
    client.post(batch_url(screening, "screen/"), {"file": SimpleUploadedFile("p.csv", SCREEN_CSV)})

    response = client.post(
        batch_url(screening, "selection/"),
        {"culture_ids": ["F01", "F03"], "reason": "Both reactive.", **THRESHOLD_QUERY},
        follow=True,
    )

    selection = CultureSelection.objects.get(batch=screening)
    assert (selection.selected_by, selection.reason) == (team.manufacturing_tech, "Both reactive.")
    text = body(response)
    assert "Selection recorded." in text
    assert "Ranking as recorded with the selection" in text


def test_a_selection_without_a_reason_comes_back_with_the_ranking(team, screening):
    client = client_for(team.manufacturing_tech)
    client.post(batch_url(screening, "screen/"), {"file": SimpleUploadedFile("p.csv", SCREEN_CSV)})
    before = written()

    response = client.post(
        batch_url(screening, "selection/"),
        {"culture_ids": ["F01"], "reason": "", **THRESHOLD_QUERY},
    )

    text = body(response)
    assert response.status_code == 200
    assert "This field is required." in text
    assert '<tr class="batch-reactive">' in text
    assert written() == before


def test_a_blocked_move_shows_its_reason_and_writes_nothing(team):
    batch = open_test_batch(team)
    before = written()

    page_text = body(client_for(team.manufacturing_tech).get(batch_url(batch)))
    response = client_for(team.manufacturing_tech).post(
        batch_url(batch, "advance/"), {"to_status": "pre_rep"}
    )

    assert "Record the tissue receipt (weight and fragments) first." in page_text
    assert response.status_code == 200
    assert "Record the tissue receipt (weight and fragments) first." in body(response)
    assert written() == before


def test_entering_the_rep_from_the_page_records_day_0(team, screening):
    batch = screen_and_select(screening, team)
    start = rep_start(batch)  # a week ago: the record follows the bench

    response = client_for(team.manufacturing_tech).post(
        batch_url(batch, "advance/"), {"to_status": "rep", "rep_started_on": start.isoformat()}
    )

    assert response.status_code == 302
    assert (fresh(batch).status, fresh(batch).rep_started_on) == (BatchStatus.REP, start)


def test_rejecting_from_the_page_needs_a_reason(team):
    batch = open_test_batch(team)
    before = written()

    response = client_for(team.qa_reviewer).post(
        batch_url(batch, "advance/"), {"to_status": "rejected", "reason": ""}
    )

    assert response.status_code == 200
    assert "This field is required." in body(response)
    assert written() == before


# ---------- REP: counts, forecast and warning ----------


def test_a_rep_count_in_billions_from_the_page(team):
    batch = walk_batch(open_test_batch(team), team, BatchStatus.REP)
    # The count time as typed, where the facility is
    local = count_time(batch, REP_DAYS_AGO).strftime("%Y-%m-%dT%H:%M")

    client_for(team.manufacturing_tech).post(
        batch_url(batch, "rep-counts/"),
        {
            "day": str(REP_DAYS_AGO),
            "viable_cells_1e9": "2.8",
            "viability_percent": "92.5",
            "counted_at": local,
        },
    )

    assert RepCount.objects.get(batch=batch).viable_cells == Decimal(2_800_000_000)


def test_the_page_warns_early_when_the_dose_is_unlikely(team):
    batch = walk_batch(open_test_batch(team), team, BatchStatus.REP)
    record_counts(batch, team.manufacturing_tech, SLOW)

    text = body(
        client_for(team.manufacturing_tech).get(batch_url(batch), {"warn_below_probability": "0.8"})
    )

    assert re.search(
        r"<strong>Early warning:</strong> the chance of reaching the lower dose \(7\.5 ×10⁹ "
        r"cells\) by day 11 is [0-9.]+ %, below the facility's threshold of 80 %\.",
        text,
    )


def test_without_the_threshold_the_page_says_it_is_not_set(team):
    batch = walk_batch(open_test_batch(team), team, BatchStatus.REP)
    record_counts(batch, team.manufacturing_tech, SLOW)

    text = body(client_for(team.manufacturing_tech).get(batch_url(batch)))

    assert "Early warning:" not in text
    assert "Early-warning threshold not set" in text
    assert "Forecast on day 11" in text


def test_the_growth_chart_carries_counts_forecast_interval_and_dose_range(team):
    batch = in_rep_with_counts(team)

    raw = client_for(team.manufacturing_tech).get(batch_url(batch)).content.decode()

    chart = json.loads(html.unescape(re.search(r'data-chart="([^"]+)"', raw).group(1)))
    assert chart["x"] == [str(d) for d in range(12)]
    kinds = {s["label"]: s["kind"] for s in chart["series"]}
    assert kinds == {
        "Counted": "points",
        "Growth fit": "line",
        "Forecast interval, lower": "band_lower",
        "Forecast interval, upper": "band_upper",
        "Forecast at harvest": "forecast",
        "Dose range, lower": "limit",
        "Dose range, upper": "limit",
    }
    series = {s["label"]: s["values"] for s in chart["series"]}
    assert series["Counted"][7] == "2.8"
    assert series["Forecast at harvest"][11] == "28.27"
    assert series["Forecast interval, lower"][11] == "23.11"
    assert series["Dose range, lower"][0] == "7.5"


# ---------- in the browser ----------


def test_the_growth_chart_is_drawn_and_the_warning_shown_in_the_browser(team, live_server, page):
    # Given a batch growing too slowly for the lower dose
    batch = walk_batch(open_test_batch(team), team, BatchStatus.REP)
    record_counts(batch, team.manufacturing_tech, SLOW)

    # When the technologist opens its page with the facility's threshold
    sign_in(page, live_server.url, team.manufacturing_tech)
    page.goto(live_server.url + batch_url(batch) + "?warn_below_probability=0.8")

    # Then the chart is drawn by the page's script (no inline script) and the warning is shown
    expect(page.locator(".batch-chart canvas")).to_be_visible()
    expect(page.locator(".batch-chart")).to_have_attribute("data-drawn", "1")
    expect(page.locator(".batch-alert-danger")).to_contain_text("Early warning:")
