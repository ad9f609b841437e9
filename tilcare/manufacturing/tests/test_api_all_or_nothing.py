"""A request that writes several rows writes all of them or none: one bad row refuses the whole
request with 422 naming that row's field, and leaves no row, no status change and no audit event.
"""

from __future__ import annotations

import pytest

from tilcare.core.errors import InvalidInput
from tilcare.core.tests.clients import client_for, post_json
from tilcare.core.validation import WHOLE_NUMBER
from tilcare.manufacturing.choices import BatchStatus
from tilcare.manufacturing.forms import ThresholdsForm
from tilcare.manufacturing.selectors.forecast import parse_thresholds
from tilcare.manufacturing.tests.batch_factories import (
    THRESHOLDS,
    count_time,
    open_test_batch,
    walk_batch,
)
from tilcare.manufacturing.tests.batch_factories import batch_rows as written
from tilcare.manufacturing.tests.test_release_services import STORAGE, counts, fresh, make_scene

pytestmark = pytest.mark.django_db

BATCHES = "/api/v1/manufacturing/batches"
UNKNOWN = "Unknown field; check its spelling against the API documentation."


def post(user, path: str, body: object):
    return post_json(client_for(user), path, body)


def post_formulation(scene, bags: list[dict[str, object]]):
    """The scene's technologist posts the formulation of `bags` to the API."""
    path = f"{BATCHES}/{scene.batch.public_id}/formulation"
    return post(scene.team.manufacturing_tech, path, {"bags": bags, "storage_temperature": STORAGE})


def test_a_formulation_whose_second_bag_is_impossible_writes_no_bag():
    # Given a batch ready for formulation, and two bags of which the second holds no cells
    scene = make_scene()
    before = counts()
    bags = [
        {"volume_ml": "250.0", "viable_cells": 9000000000},
        {"volume_ml": "250.0", "viable_cells": 0},
    ]

    # When the technologist posts the formulation
    response = post_formulation(scene, bags)

    # Then it is refused naming the second bag, and neither bag nor any event is written
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["bags"]
    assert response.json()["errors"]["bags"][0].startswith("Bag 2: ")
    assert counts() == before
    assert fresh(scene.batch).status == scene.batch.status


def test_a_formulation_with_true_for_a_second_bag_s_cells_names_that_bag():
    scene = make_scene()
    before = counts()
    bags = [
        {"volume_ml": "250.0", "viable_cells": 9000000000},
        {"volume_ml": "250.0", "viable_cells": True},
    ]

    response = post_formulation(scene, bags)

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["bags.1.viable_cells"]
    assert counts() == before


def test_a_list_of_counts_with_true_for_a_day_writes_no_count(team):
    # Given a batch in the REP and two counts, the second with true for its day
    batch = walk_batch(open_test_batch(team), team, BatchStatus.REP)
    before = written()
    first = {
        "day": 0,
        "viable_cells_1e9": "0.3",
        "viability_percent": "92.5",
        "counted_at": count_time(batch, 0).isoformat(),
    }
    second = {**first, "day": True, "counted_at": count_time(batch, 3).isoformat()}

    # When the instrument posts them as one list
    response = post(
        team.manufacturing_tech, f"{BATCHES}/{batch.public_id}/rep-counts", [first, second]
    )

    # Then the list is refused naming the second count's day, and nothing is written
    assert response.status_code == 422
    assert response.json()["errors"] == {"counts.1.day": [WHOLE_NUMBER]}
    assert written() == before


def test_a_plate_with_a_misspelt_field_in_its_second_culture_writes_no_culture(team):
    batch = walk_batch(open_test_batch(team), team, BatchStatus.PRE_REP)
    before = written()

    response = post(
        team.manufacturing_tech,
        f"{BATCHES}/{batch.public_id}/cultures",
        [{"culture_id": "F01"}, {"culture_id": "F02", "viabilty_percent": "90.0"}],
    )

    assert response.status_code == 422
    assert response.json()["errors"] == {"cultures.1.viabilty_percent": [UNKNOWN]}
    assert written() == before


def test_a_selection_threshold_above_its_plausible_limit_is_refused_with_the_limit():
    # Given the reactivity thresholds a selection is made with, the fold typed as 5000
    thresholds = {**{k: str(v) for k, v in THRESHOLDS.items()}, "min_ifn_gamma_fold": "5000"}

    # When they are read
    with pytest.raises(InvalidInput) as refused:
        parse_thresholds(thresholds)

    # Then the fold is refused with the same limit as the facility's stored threshold
    assert refused.value.errors == {
        "min_ifn_gamma_fold": ["Minimum IFN-γ fold over control must be at most 1,000 (got 5000)."]
    }


def test_the_ranking_form_refuses_a_fold_above_its_limit_naming_the_limit():
    # Given reactivity thresholds typed on the batch page, the fold 5000
    form = ThresholdsForm(
        {
            "min_ifn_gamma_difference_pg_per_ml": "200",
            "min_ifn_gamma_fold": "5000",
            "min_cd137_difference_points": "5",
        }
    )

    # When the form is checked
    # Then the fold is refused with its label and limit
    assert not form.is_valid()
    assert form.errors == {
        "min_ifn_gamma_fold": ["Minimum IFN-γ fold over control must be from 0 to 1,000."]
    }
