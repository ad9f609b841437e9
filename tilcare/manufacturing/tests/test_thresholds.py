"""The facility's stored thresholds: the three reactivity-screen thresholds and the early warning's.

A QA reviewer of the facility sets them (each change audited with its before and after); its
technologist reads them; anyone else is refused and nothing changes. A bad value is refused
naming the field and its limit, and nothing is written. The batch page ranks the screen and the
forecast raises its early warning with the stored values when nothing is typed, and says which
values it used; the API forecast does the same. No page carries the patient's identity.
"""

from __future__ import annotations

import html
import json
import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tilcare.audit.models import AuditEvent
from tilcare.core.errors import InvalidInput, PermissionDenied
from tilcare.core.tests.clients import client_for
from tilcare.manufacturing.choices import BatchStatus
from tilcare.manufacturing.models import CultureSelection, FacilityThresholds
from tilcare.manufacturing.services.thresholds import set_facility_thresholds
from tilcare.manufacturing.tests.batch_factories import (
    SCREEN_CSV,
    THRESHOLDS,
    batch_of_patient,
    in_rep_with_counts,
    open_test_batch,
    record_counts,
    walk_batch,
)
from tilcare.patients.tests.factories import (
    FacilityFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

PAGE = "/manufacturing/thresholds/"
SPECS_PAGE = "/manufacturing/release-specifications/"
IDENTITY = ("Theodora", "Lindqvist", "MRN004512", "1968")
STORED = {**THRESHOLDS, "warn_below_probability": Decimal("0.8")}
SLOW = ((0, "0.05"), (3, "0.08"), (5, "0.1"), (7, "0.12"))  # too slow for the lower dose
FIELDS = (
    "min_ifn_gamma_difference_pg_per_ml",
    "min_ifn_gamma_fold",
    "min_cd137_difference_points",
    "warn_below_probability",
)


def body(response) -> str:
    return html.unescape(response.content.decode())


def batch_page(team, batch, thresholds: dict[str, str] | None = None) -> str:
    """The batch page as the facility's technologist reads it (thresholds typed, if given)."""
    return body(client_for(team.manufacturing_tech).get(batch_url(batch), thresholds))


def batch_url(batch, tail: str = "") -> str:
    return f"/manufacturing/batches/{batch.public_id}/{tail}"


def stored_values(facility) -> dict[str, Decimal | None] | None:
    row = FacilityThresholds.objects.filter(facility=facility).first()
    return None if row is None else {f: getattr(row, f) for f in FIELDS}


def written() -> tuple[int, int]:
    return FacilityThresholds.objects.count(), AuditEvent.objects.count()


def store(team, values=STORED) -> FacilityThresholds:
    return set_facility_thresholds(team.facility, actor=team.qa_reviewer, values=values)


def screening_with_screen(team):
    """A batch in "Reactivity screen" with `SCREEN_CSV` imported, nothing selected."""
    batch = walk_batch(open_test_batch(team), team, BatchStatus.SCREENING)
    client_for(team.manufacturing_tech).post(
        batch_url(batch, "screen/"), {"file": SimpleUploadedFile("p.csv", SCREEN_CSV)}
    )
    return batch


def reactive_rows(text: str) -> list[tuple[str, str]]:
    return re.findall(
        r'<tr class="batch-reactive">\s*<td class="num">(\d)</td>\s*'
        r'<th scope="row" class="mono">(\w+)',
        text,
    )


# ---------- the service ----------


def test_qa_sets_the_thresholds_and_the_audit_keeps_the_values(team):
    before = AuditEvent.objects.count()

    row = store(team)

    assert stored_values(team.facility) == {
        "min_ifn_gamma_difference_pg_per_ml": Decimal("200.0"),
        "min_ifn_gamma_fold": Decimal("2.00"),
        "min_cd137_difference_points": Decimal("2.00"),
        "warn_below_probability": Decimal("0.800"),
    }
    assert row.updated_by == team.qa_reviewer
    event = AuditEvent.objects.get(action="manufacturing.facility_thresholds.set")
    assert AuditEvent.objects.count() == before + 1
    assert (event.actor, event.subject_id, event.before) == (
        team.qa_reviewer,
        str(team.facility.public_id),
        None,
    )
    assert {k: event.after[k] for k in (*FIELDS, "facility", "updated_by")} == {
        "min_ifn_gamma_difference_pg_per_ml": "200.0",
        "min_ifn_gamma_fold": "2.00",
        "min_cd137_difference_points": "2.00",
        "warn_below_probability": "0.800",
        "facility": str(team.facility.public_id),
        "updated_by": str(team.qa_reviewer.public_id),
    }


def test_qa_changes_one_threshold_and_clears_another_with_before_and_after(team):
    store(team)

    set_facility_thresholds(
        team.facility,
        actor=team.qa_reviewer,
        values={"min_ifn_gamma_fold": "2.5", "warn_below_probability": ""},
    )

    assert stored_values(team.facility) == {
        "min_ifn_gamma_difference_pg_per_ml": Decimal("200.0"),
        "min_ifn_gamma_fold": Decimal("2.50"),
        "min_cd137_difference_points": Decimal("2.00"),
        "warn_below_probability": None,
    }
    assert FacilityThresholds.objects.count() == 1
    change = AuditEvent.objects.filter(action="manufacturing.facility_thresholds.set").last()
    assert {k: change.before[k] for k in FIELDS} == {
        "min_ifn_gamma_difference_pg_per_ml": "200.0",
        "min_ifn_gamma_fold": "2.00",
        "min_cd137_difference_points": "2.00",
        "warn_below_probability": "0.800",
    }
    assert {k: change.after[k] for k in FIELDS} == {
        "min_ifn_gamma_difference_pg_per_ml": "200.0",
        "min_ifn_gamma_fold": "2.50",
        "min_cd137_difference_points": "2.00",
        "warn_below_probability": None,
    }


@pytest.mark.parametrize("who", ["technologist", "other_facility_qa", "center_physician"])
def test_anyone_but_the_facility_s_qa_is_refused_and_nothing_changes(team, who):
    store(team)
    actor = {
        "technologist": team.manufacturing_tech,
        "other_facility_qa": UserFactory(role="qa_reviewer", organization=FacilityFactory()),
        "center_physician": team.physician,
    }[who]
    before, values = written(), stored_values(team.facility)

    with pytest.raises(PermissionDenied) as refused:
        set_facility_thresholds(
            team.facility, actor=actor, values={"warn_below_probability": "0.5"}
        )

    assert str(refused.value) == "Only a QA reviewer of this facility sets its thresholds."
    assert (written(), stored_values(team.facility)) == (before, values)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "min_ifn_gamma_difference_pg_per_ml", "-1",
            "Minimum IFN-γ difference (pg/mL) must be from 0 to 1,000,000 pg/mL with at most 1 "
            "decimal (got -1).",
        ),
        (
            "min_ifn_gamma_difference_pg_per_ml", "1000000.5",
            "Minimum IFN-γ difference (pg/mL) must be from 0 to 1,000,000 pg/mL with at most 1 "
            "decimal (got 1000000.5).",
        ),
        (
            "min_ifn_gamma_difference_pg_per_ml", "200.05",
            "Minimum IFN-γ difference (pg/mL) must be from 0 to 1,000,000 pg/mL with at most 1 "
            "decimal (got 200.05).",
        ),
        (
            "min_ifn_gamma_fold", "0",
            "Minimum IFN-γ fold over control must be above 0 and at most 1,000 with at most 2 "
            "decimals (got 0).",
        ),
        (
            "min_cd137_difference_points", "100.5",
            "Minimum CD137 difference (percentage points) must be from 0 to 100 percentage "
            "points with at most 2 decimals (got 100.5).",
        ),
        (
            "warn_below_probability", "80",
            "Early warning below probability must be a probability above 0 and at most 1 with "
            "at most 3 decimals (e.g. 0.80 for 80 %) (got 80).",
        ),
        (
            "warn_below_probability", "0",
            "Early warning below probability must be a probability above 0 and at most 1 with "
            "at most 3 decimals (e.g. 0.80 for 80 %) (got 0).",
        ),
        (
            "warn_below_probability", "0.8005",
            "Early warning below probability must be a probability above 0 and at most 1 with "
            "at most 3 decimals (e.g. 0.80 for 80 %) (got 0.8005).",
        ),
        (
            "warn_below_probability", 0.8,
            "Early warning below probability must be given as a decimal number or text, not as "
            "float (0.8); it must be a probability above 0 and at most 1 with at most 3 "
            "decimals (e.g. 0.80 for 80 %).",
        ),
        (
            "min_ifn_gamma_fold", "two",
            "Minimum IFN-γ fold over control must be a number (got “two”); it must be above 0 "
            "and at most 1,000 with at most 2 decimals.",
        ),
        (
            "min_ifn_gamma_fold", "NaN",
            "Minimum IFN-γ fold over control must be a number (got “NaN”); it must be above 0 "
            "and at most 1,000 with at most 2 decimals.",
        ),
    ],
)  # fmt: skip
def test_a_bad_value_is_refused_naming_the_field_and_limit_and_nothing_changes(
    team, field, value, message
):
    store(team)
    before, values = written(), stored_values(team.facility)

    with pytest.raises(InvalidInput) as refused:
        set_facility_thresholds(
            team.facility,
            actor=team.qa_reviewer,
            # A good value beside the bad one is not written either: all or nothing.
            values={"min_cd137_difference_points": "3", field: value},
        )

    assert refused.value.errors == {field: [message]}
    assert (written(), stored_values(team.facility)) == (before, values)


def test_an_unknown_setting_is_refused_and_nothing_is_written(team):
    before = written()

    with pytest.raises(InvalidInput) as refused:
        set_facility_thresholds(
            team.facility, actor=team.qa_reviewer, values={"min_fold": Decimal(2)}
        )

    assert refused.value.errors == {
        "__all__": [
            "Not a facility threshold: min_fold; give only min_ifn_gamma_difference_pg_per_ml, "
            "min_ifn_gamma_fold, min_cd137_difference_points, warn_below_probability."
        ]
    }
    assert written() == before


# ---------- the page ----------


def test_qa_sets_the_thresholds_on_the_page(team):
    client = client_for(team.qa_reviewer)

    response = client.post(
        PAGE,
        {
            "min_ifn_gamma_difference_pg_per_ml": "200",
            "min_ifn_gamma_fold": "2",
            "min_cd137_difference_points": "2",
            "warn_below_probability": "0.8",
        },
        follow=True,
    )

    assert response.redirect_chain == [(PAGE, 302)]
    text = body(response)
    assert "Thresholds saved; the batch pages use them from now." in text
    assert '<td class="nowrap">200 pg/mL</td>' in text
    assert '<td class="nowrap">0.8 <span class="muted">(80 %)</span></td>' in text
    assert "Not set" not in text
    assert stored_values(team.facility) == {
        "min_ifn_gamma_difference_pg_per_ml": Decimal("200.0"),
        "min_ifn_gamma_fold": Decimal("2.00"),
        "min_cd137_difference_points": Decimal("2.00"),
        "warn_below_probability": Decimal("0.800"),
    }


def test_a_bad_value_on_the_page_comes_back_with_its_message_and_nothing_changes(team):
    store(team)
    before, values = written(), stored_values(team.facility)

    response = client_for(team.qa_reviewer).post(
        PAGE,
        {
            "min_ifn_gamma_difference_pg_per_ml": "150",
            "min_ifn_gamma_fold": "2",
            "min_cd137_difference_points": "2",
            "warn_below_probability": "80",
        },
    )

    assert response.status_code == 200
    assert (
        "Early warning below probability must be a probability above 0 and at most 1 with at "
        "most 3 decimals (e.g. 0.80 for 80 %) (got 80)."
    ) in body(response)
    assert (written(), stored_values(team.facility)) == (before, values)


def test_the_page_says_which_thresholds_are_not_set(team):
    store(team, {"min_ifn_gamma_difference_pg_per_ml": Decimal(200)})

    text = body(client_for(team.manufacturing_tech).get(PAGE))

    assert text.count('<span class="badge badge-warning">Not set</span>') == 3
    assert text.count('<span class="badge badge-success">Set</span>') == 1
    assert "Only a QA reviewer of Northgate Cell Therapy changes them." in text


def test_the_technologist_reads_the_thresholds_but_may_not_set_them(team):
    store(team)
    client = client_for(team.manufacturing_tech)
    before, values = written(), stored_values(team.facility)

    page_text = body(client.get(PAGE))
    refused = client.post(PAGE, {"warn_below_probability": "0.5"})

    assert '<td class="nowrap">2 × control</td>' in page_text
    assert "Save thresholds" not in page_text
    assert refused.status_code == 403
    assert (written(), stored_values(team.facility)) == (before, values)


def test_another_facility_s_qa_sees_and_sets_only_its_own(team):
    store(team)
    other_qa = UserFactory(role="qa_reviewer", organization=FacilityFactory(name="Elsewhere"))
    values = stored_values(team.facility)

    client = client_for(other_qa)
    page_text = body(client.get(PAGE))
    client.post(PAGE, {"warn_below_probability": "0.5"})

    assert "Northgate Cell Therapy" not in page_text
    assert page_text.count('<span class="badge badge-warning">Not set</span>') == 4
    assert stored_values(team.facility) == values
    assert stored_values(other_qa.organization)["warn_below_probability"] == Decimal("0.500")


@pytest.mark.parametrize("who", ["physician", "navigator", "patient"])
def test_centers_and_patients_are_refused(team, who):
    store(team)
    user = (
        UserFactory(role="patient", organization=team.center)
        if who == "patient"
        else getattr(team, who)
    )
    before, values = written(), stored_values(team.facility)

    client = client_for(user)
    seen = client.get(PAGE)
    sent = client.post(PAGE, {"warn_below_probability": "0.5"})

    assert (seen.status_code, sent.status_code) == (403, 403)
    assert (written(), stored_values(team.facility)) == (before, values)


def test_the_facility_pages_show_no_patient_identity(team, patient):
    batch = batch_of_patient(team, patient)
    store(team)

    pages = [
        client_for(user).get(path)
        for user in (team.manufacturing_tech, team.qa_reviewer)
        for path in (PAGE, SPECS_PAGE, batch_url(batch))
    ]

    assert [p.status_code for p in pages] == [200] * 6
    for response in pages:
        text = body(response)
        for value in IDENTITY:
            assert value not in text
    assert 'href="/manufacturing/thresholds/"' in body(pages[1])


# ---------- the batch page and the API use the stored values ----------


def test_the_batch_page_ranks_with_the_stored_thresholds_without_any_query(team):
    batch = screening_with_screen(team)
    store(team)

    text = batch_page(team, batch)

    assert reactive_rows(text) == [("1", "F01"), ("2", "F03")]
    assert "Ranked at the facility's stored thresholds (last changed by" in text
    assert "IFN-γ difference ≥ 200 pg/mL,\n      fold ≥ 2, CD137 difference ≥ 2 points." in text
    assert 'name="min_ifn_gamma_fold" value="2"' in text
    assert "Select the cultures for the REP" in text


def test_typed_thresholds_override_the_stored_ones_for_the_view_only(team):
    batch = screening_with_screen(team)
    store(team)

    text = batch_page(
        team,
        batch,
        {
            "min_ifn_gamma_difference_pg_per_ml": "1000",
            "min_ifn_gamma_fold": "2",
            "min_cd137_difference_points": "2",
        },
    )

    assert reactive_rows(text) == [("1", "F01")]
    assert (
        "Preview at the thresholds typed here, for this view only. The facility's stored "
        "thresholds: IFN-γ difference ≥ 200 pg/mL, fold ≥ 2, CD137 difference ≥ 2 points."
    ) in text
    assert stored_values(team.facility)["min_ifn_gamma_difference_pg_per_ml"] == Decimal("200.0")


def test_the_stored_thresholds_sent_back_unchanged_are_still_the_facility_s(team):
    batch = screening_with_screen(team)
    store(team)

    text = batch_page(
        team,
        batch,
        {
            "min_ifn_gamma_difference_pg_per_ml": "200.0",
            "min_ifn_gamma_fold": "2",
            "min_cd137_difference_points": "2.00",
            "warn_below_probability": "0.80",
        },
    )

    assert reactive_rows(text) == [("1", "F01"), ("2", "F03")]
    assert "Ranked at the facility's stored thresholds (last changed by" in text
    assert "Preview at the thresholds typed here" not in text


def test_the_selection_form_records_the_stored_thresholds_when_none_are_typed(team):
    batch = screening_with_screen(team)
    store(team, {**THRESHOLDS, "min_ifn_gamma_difference_pg_per_ml": Decimal("150.5")})

    response = client_for(team.manufacturing_tech).post(
        batch_url(batch, "selection/"),
        {"culture_ids": ["F01", "F03"], "reason": "Both reactive at the facility's thresholds."},
        follow=True,
    )

    assert "Selection recorded." in body(response)
    ranking = json.loads(CultureSelection.objects.get(batch=batch).ranking_json)
    assert ranking["thresholds"] == {
        "min_ifn_gamma_difference_pg_per_ml": "150.5",
        "min_ifn_gamma_fold": "2",
        "min_cd137_difference_points": "2",
    }
    assert ranking["selected"] == ["F01", "F03"]


def test_unset_screen_thresholds_are_named_with_who_sets_them(team):
    batch = screening_with_screen(team)
    store(team, {"min_ifn_gamma_difference_pg_per_ml": Decimal(200)})

    text = batch_page(team, batch)

    assert (
        "Not set for this facility: Minimum IFN-γ fold over control; Minimum CD137 difference "
        "(percentage points). A QA reviewer of the facility sets the reactivity thresholds on "
        "the facility's thresholds page (there are no defaults)."
    ) in text
    assert "Enter the three thresholds to rank the screened cultures." in text
    assert "batch-reactive" not in text


def test_the_batch_page_warns_early_with_the_stored_threshold(team):
    batch = walk_batch(open_test_batch(team), team, BatchStatus.REP)
    record_counts(batch, team.manufacturing_tech, SLOW)
    store(team)

    text = batch_page(team, batch)

    assert re.search(
        r"<strong>Early warning:</strong> the chance of reaching the lower dose \(7\.5 ×10⁹ "
        r"cells\) by day 11 is [0-9.]+ %, below the facility's threshold of 80 %\.",
        text,
    )
    assert "Early warning at the facility's stored threshold, 0.8 (80 %), last changed by" in text


def test_without_a_stored_threshold_the_page_says_who_sets_it(team):
    batch = walk_batch(open_test_batch(team), team, BatchStatus.REP)
    record_counts(batch, team.manufacturing_tech, SLOW)
    store(team, THRESHOLDS)

    text = batch_page(team, batch)

    assert "Early warning:" not in text
    assert (
        "Early-warning threshold not set: a QA reviewer of the facility sets it on the "
        "facility's thresholds page (there is no default)."
    ) in text


def test_the_api_forecast_warns_with_the_stored_threshold(team):
    batch = walk_batch(open_test_batch(team), team, BatchStatus.REP)
    record_counts(batch, team.manufacturing_tech, SLOW)
    store(team)

    answer = client_for(team.qa_reviewer).get(
        f"/api/v1/manufacturing/batches/{batch.public_id}/forecast"
    )

    assert answer.status_code == 200
    forecast = answer.json()
    assert (forecast["state"], forecast["warn_below_probability"], forecast["early_warning"]) == (
        "forecast",
        "0.8",
        True,
    )
    assert forecast["threshold_note"] == ""


def test_a_threshold_given_to_the_api_overrides_the_stored_one(team):
    batch = in_rep_with_counts(team)  # P(at least the lower dose) 0.999
    store(team)
    client = client_for(team.manufacturing_tech)
    forecast = f"/api/v1/manufacturing/batches/{batch.public_id}/forecast"

    stored = client.get(forecast).json()
    given = client.get(forecast, {"warn_below_probability": "1"}).json()

    assert (stored["warn_below_probability"], stored["early_warning"]) == ("0.8", False)
    assert (given["warn_below_probability"], given["early_warning"]) == ("1", True)
    assert stored_values(team.facility)["warn_below_probability"] == Decimal("0.800")


def test_the_board_counts_early_warnings_at_the_stored_threshold(team):
    batch = walk_batch(open_test_batch(team), team, BatchStatus.REP)
    record_counts(batch, team.manufacturing_tech, SLOW)
    store(team)

    text = body(client_for(team.manufacturing_tech).get("/manufacturing/batches/"))

    assert re.search(
        r'<span class="batch-summary-value">1</span><span class="batch-summary-label">'
        r"Early warnings</span>",
        text,
    )
    assert "Early-warning threshold not set" not in text


def test_another_facility_s_thresholds_are_not_used(team):
    batch = screening_with_screen(team)
    other = UserFactory(role="qa_reviewer", organization=FacilityFactory(name="Elsewhere"))
    set_facility_thresholds(other.organization, actor=other, values=STORED)

    text = batch_page(team, batch)

    assert "batch-reactive" not in text
    assert "Enter the three thresholds to rank the screened cultures." in text


# ---------- the API's ranking and selection ----------

API = "/api/v1/manufacturing/batches"


def test_the_api_ranking_uses_the_stored_thresholds_when_none_are_given(team):
    # Given a screened batch and the facility's stored thresholds
    batch = screening_with_screen(team)
    store(team)

    # When the ranking is asked for without thresholds
    response = client_for(team.manufacturing_tech).get(f"{API}/{batch.public_id}/ranking")

    # Then it ranks at the stored ones
    assert response.status_code == 200
    document = response.json()
    assert [(r["culture_id"], r["reactive"]) for r in document["rows"]] == [
        ("F01", True),
        ("F03", True),
        ("F02", False),
    ]
    assert document["thresholds"]["min_ifn_gamma_difference_pg_per_ml"] == "200"


def test_the_api_ranking_without_stored_or_given_thresholds_is_refused(team):
    batch = screening_with_screen(team)
    store(team, {"min_ifn_gamma_fold": Decimal(2)})

    response = client_for(team.manufacturing_tech).get(f"{API}/{batch.public_id}/ranking")

    assert response.status_code == 422
    assert sorted(response.json()["errors"]) == [
        "min_cd137_difference_points",
        "min_ifn_gamma_difference_pg_per_ml",
    ]


def test_the_api_selection_records_the_stored_thresholds_when_none_are_given(team):
    batch = screening_with_screen(team)
    store(team, {**THRESHOLDS, "min_cd137_difference_points": Decimal("2.5")})

    response = client_for(team.manufacturing_tech).post(
        f"{API}/{batch.public_id}/selection",
        data=json.dumps({"culture_ids": ["F01"], "reason": "Most reactive."}),
        content_type="application/json",
    )

    assert response.status_code == 201
    ranking = json.loads(CultureSelection.objects.get(batch=batch).ranking_json)
    assert ranking["thresholds"] == {
        "min_ifn_gamma_difference_pg_per_ml": "200",
        "min_ifn_gamma_fold": "2",
        "min_cd137_difference_points": "2.5",
    }
