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
from hypothesis.errors import Unsatisfiable
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
# fuzzed in under a minute on a 2-core machine, on SQLite and again on PostgreSQL.
EXAMPLES_PER_OPERATION = 10
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
    """Whether the operation has a query or a body to break (its path ids are fixed here)."""
    raw = operation.definition.raw
    return bool(raw.get("requestBody")) or any(
        parameter.get("in") == "query" for parameter in raw.get("parameters", [])
    )


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

    try:
        send()
    except BaseException as error:  # schemathesis reports failures as a BaseExceptionGroup
        error.add_note(f"{operation.method.upper()} {operation.path}, {mode.value} requests")
        raise
    return answered


@pytest.mark.parametrize("tag", sorted(OPERATIONS_BY_TAG))
def test_every_operation_answers_generated_requests_as_documented(tag, world):
    # Given the document as the API serves it, read with a navigator's token
    schema = schemathesis.openapi.from_wsgi(
        f"{ROOT}/openapi.json", application, headers=world.bearer("navigator")
    )
    # (the credentials are this test's tokens, not generated: breaking them would only test the
    # authentication, which test_openapi does for every operation; an invalid request may also
    # add a query parameter or a body field the document does not declare, which must be refused)
    schema.config.generation.update(with_security_parameters=False, allow_extra_parameters=True)
    wanted = set(OPERATIONS_BY_TAG[tag])
    operations = [
        result.ok()
        for result in schema.get_all_operations()
        if (result.ok().method.lower(), result.ok().path.removeprefix(ROOT)) in wanted
    ]
    assert {(op.method.lower(), op.path.removeprefix(ROOT)) for op in operations} == wanted

    # When each operation gets valid and invalid generated requests
    never_reached, nothing_invalid = [], []
    for operation in operations:
        label = f"{operation.method.upper()} {operation.path}"
        answered = _fuzz(operation, GenerationMode.POSITIVE, world)
        if _takes_input(operation):
            try:
                _fuzz(operation, GenerationMode.NEGATIVE, world)
            except Unsatisfiable:
                nothing_invalid.append(label)
        if not answered - DENIED and label not in REFUSED_BY_STATE:
            never_reached.append(f"{label}: {sorted(answered)}")

    # Then every answer was as documented (the checks raise otherwise), and each operation was
    # reached past authentication and the policy at least once
    assert never_reached == []
    assert nothing_invalid == []


def test_the_fuzzing_fails_an_operation_that_accepts_what_its_document_forbids(world, monkeypatch):
    # Given a document that (wrongly) allows the patient search no text at all
    document = api.get_openapi_schema()
    for parameter in document["paths"][f"{ROOT}/patients"]["get"]["parameters"]:
        if parameter["name"] == "q":
            parameter["schema"]["maxLength"] = 0
    schema = schemathesis.openapi.from_dict(document)
    schema.app = application
    schema.config.generation.update(with_security_parameters=False, allow_extra_parameters=False)
    monkeypatch.setattr(f"{__name__}.EXAMPLES_PER_OPERATION", 40)

    # When invalid requests are sent to the search, which answers any text
    # Then the fuzzing fails, naming the request that should have been refused
    with pytest.raises(BaseExceptionGroup) as failure:
        _fuzz(schema[f"{ROOT}/patients"]["GET"], GenerationMode.NEGATIVE, world)
    assert "Invalid data should have been rejected" in str(failure.value)
    assert "GET /api/v1/patients, negative requests" in failure.value.__notes__
