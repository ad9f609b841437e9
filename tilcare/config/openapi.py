"""The OpenAPI document names every answer an operation can give, not only its success.

Ninja documents what a route returns when it succeeds. The refusals come from the API's exception
handlers (`tilcare.config.api`), the same for every domain, so they are declared once here and
added to each operation where they apply:

- 400 the JSON body cannot be parsed (operations that take a JSON body);
- 401 not authenticated (every operation), with the `WWW-Authenticate` header;
- 403 denied by a policy, or a signed-in browser session without its CSRF header (every
  operation, except the two that only describe the caller: who am I, and which calculators);
- 404 not found or not visible (operations that name an object in their path, and the few that
  find one by an identifier in the body);
- 409 the record's state refuses a valid request, or the request claims another organization's
  record (`CONFLICTS` below);
- 413 the body is longer than the operation accepts, refused before it is read (operations that
  take a body);
- 422 invalid input, field by field (every operation: each refuses a query parameter it does not
  declare, and a query parameter or body field its schema or service refuses).

`tilcare.config.tests.test_api_fuzz` sends generated requests to every operation and fails on any
status code or body the document does not declare.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from tilcare.core.api_support import json_number

ERROR_REF = "#/components/schemas/ApiError"
INVALID_REF = "#/components/schemas/InvalidInputError"
BLOCKED_REF = "#/components/schemas/TransitionBlockedError"

_FIELD_MESSAGES = {
    "type": "object",
    "description": "Messages by field name; `__all__` for the request as a whole.",
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
}

ERROR_SCHEMAS: dict[str, dict[str, Any]] = {
    "ApiError": {
        "title": "ApiError",
        "type": "object",
        "description": "Every refusal: what went wrong, in words.",
        "properties": {"detail": {"type": "string"}, "errors": _FIELD_MESSAGES},
        "required": ["detail"],
    },
    "InvalidInputError": {
        "title": "InvalidInputError",
        "type": "object",
        "description": "Invalid input: each refused field with its messages (the limit it broke).",
        "properties": {"detail": {"type": "string"}, "errors": _FIELD_MESSAGES},
        "required": ["detail", "errors"],
    },
    "TransitionBlockedError": {
        "title": "TransitionBlockedError",
        "type": "object",
        "description": "A move the record's workflow refuses now, with every reason.",
        "properties": {
            "detail": {"type": "string"},
            "reasons": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["detail", "reasons"],
    },
}

# Operations (method, path under the API's root) that only describe the caller: never refused.
NEVER_DENIED = frozenset({("get", "/me"), ("get", "/calc/")})

# Operations without an object in their path that look one up by an identifier in the body and
# answer 404 when the caller cannot see it.
FOUND_BY_BODY = frozenset(
    {
        ("post", "/journeys/scans"),
        ("post", "/identity/items"),
    }
)

# 409: the request is valid but the record's state refuses it. Each operation's answers, by the
# schema its body has: a workflow move refused (`TransitionBlocked`), or a plain refusal. Routes
# that declare a 409 of their own (a blocked scan, a full slot) keep theirs.
CONFLICTS: dict[tuple[str, str], tuple[str, ...]] = {
    ("post", "/journeys/{public_id}/transitions"): (BLOCKED_REF,),
    ("post", "/identity/shipments/{public_id}/dispatch"): (BLOCKED_REF,),
    ("post", "/identity/shipments/{public_id}/receive"): (BLOCKED_REF,),
    ("post", "/manufacturing/batches/{public_id}/advance"): (BLOCKED_REF,),
    ("post", "/manufacturing/batches/{public_id}/formulation"): (BLOCKED_REF,),
    ("post", "/manufacturing/batches/{public_id}/release-tests"): (BLOCKED_REF,),
    ("post", "/manufacturing/batches/{public_id}/disposition"): (BLOCKED_REF,),
    ("post", "/manufacturing/batches/{public_id}/acknowledgement"): (BLOCKED_REF,),
    ("post", "/identity/items/{public_id}/labels"): (ERROR_REF,),
    # A chain-of-identity number another center issued (`Conflict`).
    ("post", "/identity/items"): (ERROR_REF,),
    ("post", "/manufacturing/slots/{public_id}/bookings"): (ERROR_REF,),
    ("get", "/manufacturing/batches/{public_id}/coa.pdf"): (ERROR_REF,),
    # A sender's identifier already stored with other content; a correction already corrected.
    ("post", "/monitoring/patients/{public_id}/observations"): (ERROR_REF,),
    ("post", "/monitoring/observations/{public_id}/correction"): (ERROR_REF,),
}

# Files, not JSON: the media type of the success answer.
FILES = {
    ("get", "/identity/labels/{public_id}.pdf"): "application/pdf",
    ("get", "/identity/labels/{public_id}.png"): "image/png",
    ("get", "/manufacturing/batches/{public_id}/coa.pdf"): "application/pdf",
}


def _json(ref: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": ref}}}


def _answer(description: str, ref: str) -> dict[str, Any]:
    return {"description": description, "content": _json(ref)}


def _not_authenticated() -> dict[str, Any]:
    answer = _answer(
        "Not authenticated: no session and no bearer token, or a token that is invalid, revoked "
        "or belongs to an inactive user.",
        ERROR_REF,
    )
    answer["headers"] = {
        "WWW-Authenticate": {
            "description": 'How to authenticate: `Bearer realm="tilcare"`.',
            "schema": {"type": "string"},
        }
    }
    return answer


def _conflict(refs: tuple[str, ...], existing: dict[str, Any] | None) -> dict[str, Any]:
    schemas = [{"$ref": ref} for ref in refs]
    if existing is not None:
        declared = existing.get("content", {}).get("application/json", {}).get("schema")
        if declared is not None:
            schemas.insert(0, declared)
    schema = schemas[0] if len(schemas) == 1 else {"anyOf": schemas}
    return {
        "description": "Conflict: the request is valid, but the record's current state refuses "
        "it; the body says why.",
        "content": {"application/json": {"schema": schema}},
    }


def _takes_json_body(operation: dict[str, Any]) -> bool:
    content = operation.get("requestBody", {}).get("content", {})
    return "application/json" in content


def _names_an_object(path: str) -> bool:
    return "{" in path


_NUMERIC_KEYWORDS = frozenset(
    {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"}
)


def _bounds_as_numbers(node: Any) -> None:
    """A Decimal limit (`Field(ge=Decimal("0.5"))`) comes out of pydantic as the text "0.5";
    JSON Schema wants a number there, and a client reading the text would see no limit at all."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _NUMERIC_KEYWORDS and isinstance(value, str):
                node[key] = json_number(Decimal(value))
            else:
                _bounds_as_numbers(value)
    elif isinstance(node, list):
        for item in node:
            _bounds_as_numbers(item)


def document_errors(schema: dict[str, Any], *, root: str) -> dict[str, Any]:
    """Add the error answers to every operation of `schema` (paths start with `root`), and write
    every numeric limit as a number."""
    _bounds_as_numbers(schema.get("paths", {}))
    _bounds_as_numbers(schema.get("components", {}))
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name, body in ERROR_SCHEMAS.items():
        components[name] = copy.deepcopy(body)
    for full_path, operations in schema.get("paths", {}).items():
        path = full_path.removeprefix(root.rstrip("/"))
        for method, operation in operations.items():
            key = (method, path)
            responses: dict[Any, Any] = operation.setdefault("responses", {})
            if key in FILES:
                media = FILES[key]
                success = next(code for code in responses if str(code).startswith("2"))
                responses[success]["content"] = {
                    media: {"schema": {"type": "string", "format": "binary"}}
                }
            if _takes_json_body(operation):
                responses[400] = _answer(
                    "The body is not JSON (or not the JSON object the operation takes).",
                    ERROR_REF,
                )
            if "requestBody" in operation:
                responses[413] = _answer(
                    "The body is longer than the operation accepts (the answer names the limit); "
                    "refused before it is read.",
                    ERROR_REF,
                )
            responses[401] = _not_authenticated()
            if key not in NEVER_DENIED:
                responses[403] = _answer(
                    "Denied: your role, organization or the record's state does not allow this; "
                    "or a signed-in browser session sent no X-CSRFToken header.",
                    ERROR_REF,
                )
            if _names_an_object(path) or key in FOUND_BY_BODY:
                responses[404] = _answer(
                    "Not found: the object does not exist or you may not see it (the same "
                    "answer, so its existence never leaks).",
                    ERROR_REF,
                )
            if key in CONFLICTS:
                responses[409] = _conflict(CONFLICTS[key], responses.get(409))
            responses[422] = _answer(
                "Invalid input: each refused field with its messages, whether the schema or the "
                "service refused it; a query parameter the operation does not declare is refused "
                "by its name.",
                INVALID_REF,
            )
            if "tags" in operation:
                operation["tags"] = list(dict.fromkeys(operation["tags"]))
            operation["responses"] = dict(sorted(responses.items(), key=lambda kv: str(kv[0])))
    return schema
