"""Schemathesis sends generated requests to every operation of the OpenAPI document, in process
(the WSGI application, no network), as a user whose role may perform the operation, on the ids of
real records (so requests reach the services, not only a 404).

For each operation, a fixed number of valid requests (by the document's schemas) and of invalid
ones (each breaking the schema somewhere), generated deterministically so a run is repeatable.
Every answer must be:

- never a server error (5xx);
- a status code the document declares for the operation, with a body matching its schema, the
  media type it declares and the headers it declares;
- for an invalid request, a refusal: never a 2xx ("negative data rejection").

Every operation is fuzzed; each must also answer at least one valid request with something other
than 401/403, which shows the role and ids chosen here reach it (the one exception,
`REFUSED_BY_STATE`, says why). The CSV uploads are fuzzed too: their documented bodies (text/csv,
or a multipart form with its `file`) are generated like any other.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tilcare.config.api import api
from tilcare.config.tests.api_world import ApiWorld
from tilcare.config.wsgi import application

pytestmark = pytest.mark.django_db

ROOT = "/api/v1"
# Enough to reach every field of every schema several times; small enough that the whole API is
# fuzzed in about a minute on a 2-core machine, on SQLite and again on PostgreSQL.
EXAMPLES_PER_OPERATION = 6
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
DENIED = {401, 403}
# Operations whose every request is refused in this world by design, and where their success is
# tested instead.
REFUSED_BY_STATE = {
    "POST /api/v1/manufacturing/batches/{public_id}/acknowledgement": (
        "only a release under exception that waits for the treating physician's signature can be "
        "acknowledged; this world's batch is in the REP, so the policy refuses (403). The signed "
        "acknowledgement is tested in tilcare/journey/tests/test_release.py."
    ),
}


def _operations_by_tag() -> dict[str, list[tuple[str, str]]]:
    groups: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for path, operations in api.get_openapi_schema()["paths"].items():
        for method, operation in operations.items():
            groups[operation["tags"][0]].append((method, path.removeprefix(ROOT)))
    return dict(groups)


OPERATIONS_BY_TAG = _operations_by_tag()


def _takes_input(operation: Any) -> bool:
    return any(True for _ in operation.iter_parameters()) or bool(operation.body)


def _fuzz(operation: Any, mode: GenerationMode, world: ApiWorld) -> set[int]:
    """Send EXAMPLES_PER_OPERATION generated requests; the status codes answered."""
    path = operation.path.removeprefix(ROOT)
    headers = world.bearer(ApiWorld.role_for(operation.method.lower(), path))
    strategy = operation.as_strategy(
        generation_mode=mode, path_parameters=world.path_parameters(path)
    )
    answered: set[int] = set()

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def send(case: Any) -> None:
        response = case.call(headers=headers)
        answered.add(response.status_code)
        case.validate_response(response, checks=CHECKS, headers=headers)

    send()
    return answered


@pytest.mark.parametrize("tag", sorted(OPERATIONS_BY_TAG))
def test_every_operation_answers_generated_requests_as_documented(tag, world):
    # Given the document as the API serves it, read with a navigator's token
    schema = schemathesis.openapi.from_wsgi(
        f"{ROOT}/openapi.json", application, headers=world.bearer("navigator")
    )
    wanted = set(OPERATIONS_BY_TAG[tag])
    operations = [
        result.ok()
        for result in schema.get_all_operations()
        if (result.ok().method.lower(), result.ok().path.removeprefix(ROOT)) in wanted
    ]
    assert {(op.method.lower(), op.path.removeprefix(ROOT)) for op in operations} == wanted

    # When each operation gets valid and invalid generated requests
    never_reached = []
    for operation in operations:
        answered = _fuzz(operation, GenerationMode.POSITIVE, world)
        if _takes_input(operation):
            _fuzz(operation, GenerationMode.NEGATIVE, world)
        label = f"{operation.method.upper()} {operation.path}"
        if not answered - DENIED and label not in REFUSED_BY_STATE:
            never_reached.append(f"{label}: {sorted(answered)}")

    # Then every answer was as documented (the checks raise otherwise), and each operation was
    # reached past authentication and the policy at least once
    assert never_reached == []
