"""Every list of the API refuses a page it cannot serve with 422 naming the parameter and its
limit, never a server error: an offset of 2⁶³ (past every database's integer range), a huge or
negative page size, a negative offset.

The lists are found in the OpenAPI document (every GET with an `offset` query parameter), so a
new list is covered as soon as it is added.
"""

from __future__ import annotations

import pytest

from tilcare.config.api import api
from tilcare.config.tests.api_world import ApiWorld

pytestmark = pytest.mark.django_db


def _lists() -> dict[str, list[str]]:
    """Each list's path, with the query parameters it requires."""
    document = api.get_openapi_schema(path_prefix="")
    lists = {}
    for path, operations in document["paths"].items():
        query = [p for p in operations.get("get", {}).get("parameters", []) if p["in"] == "query"]
        if any(parameter["name"] == "offset" for parameter in query):
            lists[path] = [parameter["name"] for parameter in query if parameter.get("required")]
    return dict(sorted(lists.items()))


LISTS = _lists()
# A value for each query parameter a list requires (a new one fails here until it is given).
REQUIRED = {"coi": lambda world: f"{world.journey.coi_din}{world.journey.coi_check}"}
AT_MOST_OFFSET = "offset must be at most 1,000,000,000."
AT_MOST_LIMIT = "limit must be at most 200."
PAGES = {
    "offset 2**63": ({"offset": str(2**63)}, {"offset": [AT_MOST_OFFSET]}),
    "offset 2**64": ({"offset": str(2**64)}, {"offset": [AT_MOST_OFFSET]}),
    "negative offset": ({"offset": "-1"}, {"offset": ["offset must be at least 0."]}),
    "limit 2**63": ({"limit": str(2**63)}, {"limit": [AT_MOST_LIMIT]}),
    "negative limit": ({"limit": "-1"}, {"limit": ["limit must be at least 1."]}),
    "zero limit": ({"limit": "0"}, {"limit": ["limit must be at least 1."]}),
}


def test_the_lists_are_found_in_the_document():
    # Given the OpenAPI document
    # When its lists are looked for
    # Then at least the nine known ones are found
    assert set(LISTS) >= {
        "/patients",
        "/journeys",
        "/tasks",
        "/identity/items",
        "/identity/custody-events",
        "/identity/alerts",
        "/identity/shipments",
        "/manufacturing/slots",
        "/manufacturing/batches",
    }


@pytest.mark.parametrize("path", LISTS)
def test_a_page_past_the_limits_is_refused_with_422(world: ApiWorld, client, path):
    # Given a caller who may read the list, the record its path names (a patient's
    # observations), and the query parameters it requires
    headers = world.bearer(world.role_for("get", path))
    url = f"/api/v1{path}"
    for name, value in world.path_parameters(path).items():
        url = url.replace(f"{{{name}}}", value)
    required = {name: REQUIRED[name](world) for name in LISTS[path]}
    assert client.get(url, required, headers=headers).status_code == 200

    # When it asks for each page past the limits
    answers = {
        page: client.get(url, {**required, **query}, headers=headers)
        for page, (query, _errors) in PAGES.items()
    }

    # Then each is refused with 422 naming the parameter and its limit
    assert {page: (r.status_code, r.json().get("errors")) for page, r in answers.items()} == {
        page: (422, errors) for page, (_query, errors) in PAGES.items()
    }
