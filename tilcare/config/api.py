"""The one JSON API: /api/v1, OpenAPI at /api/v1/openapi.json, a router per domain.

Deny by default: every operation needs a bearer token or a signed-in session (with CSRF), set
on the API itself. Every error is JSON:

    {"detail": "...", "errors": {"field": ["message", ...]}}   (errors only where they apply)

400 a body that is not JSON, 401 not authenticated, 403 not permitted (the policy's message), 404
not found or not visible (the same answer, so existence never leaks), 409 transition blocked (with
"reasons"), 413 a body longer than the operation accepts (refused before it is read), 422 invalid
input (field -> messages, whether the schema or the service refused it).
The OpenAPI document declares each of these on the operations that can give it
(`tilcare.config.openapi`).

(No `from __future__ import annotations` in this module: ninja reads the operations' parameter
annotations as objects when the routes are built.)
"""

import functools
import logging
from collections.abc import Callable
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.templatetags.static import static
from django.utils.datastructures import MultiValueDict
from django.utils.html import format_html
from ninja import NinjaAPI, Router
from ninja.errors import AuthenticationError, ConfigError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.openapi.docs import DocsBase
from ninja.operation import Operation
from ninja.params.models import QueryModel
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from tilcare.accounts.api import router as accounts_router
from tilcare.accounts.api_auth import API_AUTH, authenticated_user
from tilcare.calculators.api import router as calculators_router
from tilcare.config.openapi import document_errors
from tilcare.core.api_support import DecimalJsonParser, field_errors, query_text_problem
from tilcare.core.errors import (
    Conflict,
    InvalidInput,
    NotVisible,
    PermissionDenied,
    TransitionBlocked,
)
from tilcare.core.http import body_limit_exceeded, body_too_large
from tilcare.core.validation import NUL_REFUSED
from tilcare.identity.api import router as identity_router
from tilcare.journey.api import release_router, tasks_router
from tilcare.journey.api import router as journeys_router
from tilcare.journey.api import scans_router as journey_scans_router
from tilcare.manufacturing.api import router as manufacturing_router
from tilcare.monitoring.api import router as monitoring_router
from tilcare.patients.api import router as patients_router
from tilcare.treatment.api import router as treatment_router

logger = logging.getLogger(__name__)

NOT_AUTHENTICATED = (
    "Authentication required: sign in, or send 'Authorization: Bearer <token>' "
    "(tokens are issued with `tilcare createtoken`)."
)
NOT_FOUND = "Not found."
INVALID_INPUT = "Invalid input."
SERVER_ERROR = "The server could not complete this request; the error has been logged."


BODY_NOT_OBJECT = "Send the request body as a JSON object (or a JSON array of them)."


def _nul_field(value: Any, path: tuple[str, ...] = ()) -> str | None:
    """The dotted name of the first text in `value` holding a NUL character, or None."""
    if isinstance(value, str):
        return (".".join(path) or "__all__") if "\x00" in value else None
    items: Any = ()
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    for key, item in items:
        if isinstance(key, str) and "\x00" in key:
            return ".".join((*path, key.replace("\x00", ""))) or "__all__"
        found = _nul_field(item, (*path, str(key)))
        if found is not None:
            return found
    return None


class TilcareParser(DecimalJsonParser):
    """Refuses a JSON body that is not an object or an array, and text holding a NUL character
    in a JSON body, a query or a form, naming the field, as Django's forms do (PostgreSQL cannot
    store it, so it would otherwise fail as a 500)."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        data: Any = super().parse_body(request)
        if not isinstance(data, dict | list):
            # Every body is an object (or a list of them). A bare number arrives as a Decimal,
            # which pydantic would read as an object with no attributes, so an operation whose
            # fields are all optional would answer `0.5` as if it were `{}`.
            raise InvalidInput({"__all__": [BODY_NOT_OBJECT]})
        field = _nul_field(data)
        if field is not None:
            # Ninja turns any error here into "Cannot parse request body" (400); `_http_error`
            # answers this one as the invalid input it is.
            raise InvalidInput({field: [NUL_REFUSED]})
        return data

    def parse_querydict(
        self, data: MultiValueDict[str, Any], list_fields: list[str], request: HttpRequest
    ) -> dict[str, Any]:
        for key, values in data.lists():
            field = _nul_field({key: [v for v in values if isinstance(v, str)]})
            if field is not None:
                raise InvalidInput({field.rsplit(".", 1)[0]: [NUL_REFUSED]})
        return super().parse_querydict(data, list_fields, request)


# --- strict queries -------------------------------------------------------------------------
# Every documented operation refuses a query parameter it does not declare (a misspelt `limt`
# must not fall back to the default page), a typed parameter's text that is not strictly its type
# (`query_text_problem`), and a single-valued parameter given twice. Each is a 422 naming the
# parameter, given with the operation's other input errors (ninja collects the errors of every
# parameter model of an operation, and the query model is one of them).

REPEATED_QUERY_PARAMETER = "Give this query parameter once."


class _NoQuery(QueryModel):
    """The query model of an operation that declares no query parameter."""

    __ninja_param_source__ = "query"  # type: ignore[assignment]
    __ninja_flatten_map__: dict[str, tuple[str, ...]] = {}
    __ninja_flatten_map_reverse__: dict[tuple[str, ...], tuple[str, ...]] = {}
    __ninja_collection_fields__: list[str] = []


@functools.cache
def _declared_query(model: type[QueryModel]) -> dict[str, Any]:
    """Each query parameter `model` declares, by the name a request gives it, with its type.

    Cached per model: a query model is fixed once the routes are built, and this runs on every
    request."""
    declared: dict[str, Any] = {}
    flatten_map: dict[str, tuple[str, ...]] = getattr(model, "__ninja_flatten_map__", {})
    for name, path in flatten_map.items():
        node: Any = model
        annotation: Any = None
        for part in path:
            fields = getattr(node, "model_fields", {})
            by_name = {field.alias or key: field for key, field in fields.items()}
            field = by_name.get(part) or fields.get(part)
            annotation = field.annotation if field is not None else None
            node = annotation
        declared[name] = annotation
    return declared


def _query_problems(request: HttpRequest, model: type[QueryModel]) -> list[InitErrorDetails]:
    declared = _declared_query(model)
    lists = set(getattr(model, "__ninja_collection_fields__", []))
    problems: list[InitErrorDetails] = []
    for name, values in request.GET.lists():
        if name not in declared:
            problems.append({"type": "extra_forbidden", "loc": (name,), "input": values[-1]})
            continue
        if len(values) > 1 and name not in lists:
            problem: str | None = REPEATED_QUERY_PARAMETER
        else:
            problem = next(
                (p for v in values if (p := query_text_problem(v, declared[name]))), None
            )
        if problem:
            error = PydanticCustomError("query_type", problem)
            problems.append({"type": error, "loc": (name,), "input": values[-1]})
    return problems


def _strict_resolve(
    cls: type[QueryModel], request: HttpRequest, api: NinjaAPI, path_params: dict[str, Any]
) -> Any:
    problems = _query_problems(request, cls)
    refused = {problem["loc"][0] for problem in problems}
    try:
        # The model's own resolve: the parameters' declared types, limits and choices.
        values = super(cls, cls).resolve(request, api, path_params)
    except PydanticValidationError as invalid:
        reverse: dict[Any, tuple[str, ...]] = getattr(cls, "__ninja_flatten_map_reverse__", {})
        for error in invalid.errors():
            if reverse.get(error["loc"], error["loc"])[0] in refused:
                continue  # said once, by the stricter check
            kind = PydanticCustomError(error["type"], error["msg"], error.get("ctx"))
            problems.append({"type": kind, "loc": error["loc"], "input": error["input"]})
    if problems:
        raise PydanticValidationError.from_exception_data(cls.__name__, problems)
    return values


_STRICT_QUERIES: dict[type[QueryModel], type[QueryModel]] = {}


def _strict_query_model(model: type[QueryModel]) -> type[QueryModel]:
    if model not in _STRICT_QUERIES:
        namespace = {"__module__": model.__module__, "resolve": classmethod(_strict_resolve)}
        _STRICT_QUERIES[model] = type(model.__name__, (model,), namespace)
    return _STRICT_QUERIES[model]


def _strict_query(run: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Applied by the API to each operation as it is bound (a "view" decorator, which ninja hands
    the operation's own `run`): makes the operation's query model strict, or gives it one."""
    operation = getattr(run, "__self__", None)
    if not isinstance(operation, Operation):
        raise ConfigError("The strict query check must be the API's first view decorator.")
    if operation.include_in_schema:  # the catch-all 404 route answers 404 whatever the query
        models = list(operation.models)
        queries = [i for i, model in enumerate(models) if issubclass(model, QueryModel)]
        for index in queries:
            models[index] = _strict_query_model(models[index])
        if not queries:
            models.append(_strict_query_model(_NoQuery))
        operation.models = models
    return run


def _body_limit(run: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Applied by the API to each operation as it is bound, after `_strict_query`: a body longer
    than the operation accepts (`core.http.accepts_upload`, else DATA_UPLOAD_MAX_MEMORY_SIZE) is
    refused with 413 before authentication or parsing reads any of it."""
    operation = getattr(run, "__self__", None)
    if not isinstance(operation, Operation):
        raise ConfigError("The body limit must wrap the operation's own run.")
    view = operation.view_func

    @functools.wraps(run)
    def limited(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        message = body_too_large(request, view)
        if message is not None:
            return _error(request, 413, message)
        return run(request, *args, **kwargs)

    return limited


class VendoredSwagger(DocsBase):
    """Swagger UI from this server's static files: no CDN, no inline script (CSP)."""

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
        html = format_html(
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            "<title>{} – API documentation</title>\n"
            '<link rel="icon" href="{}" type="image/svg+xml">\n'
            '<link rel="stylesheet" href="{}">\n</head>\n<body>\n'
            '<div id="swagger-ui" data-openapi-url="{}" data-csrf-token="{}"></div>\n'
            '<script src="{}"></script>\n<script src="{}"></script>\n</body>\n</html>\n',
            api.title,
            static("favicon.svg"),
            static("vendor/swagger-ui/swagger-ui.css"),
            self.get_openapi_url(api, kwargs),
            get_token(request),
            static("vendor/swagger-ui/swagger-ui-bundle.js"),
            static("js/api-docs.js"),
        )
        return HttpResponse(html)


def _docs_require_user(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The OpenAPI document and docs page are behind the same sign-in as the API."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if authenticated_user(request) is None:
            if request.path.endswith("/docs"):
                return redirect_to_login(request.get_full_path())
            return api.create_response(request, {"detail": NOT_AUTHENTICATED}, status=401)
        return view(request, *args, **kwargs)

    return wrapped


class TilcareApi(NinjaAPI):
    """The API whose OpenAPI document also declares every refusal (`config.openapi`)."""

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> Any:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        root = path_prefix if path_prefix is not None else self.get_root_path(path_params or {})
        return document_errors(schema, root=root)


api = TilcareApi(
    title="tilcare API",
    version="1",
    description=(
        "The JSON API of tilcare. Authenticate with a bearer token (`Authorization: Bearer "
        "tc_…`, issued by `tilcare createtoken`) or a signed-in session with the X-CSRFToken "
        "header. Errors are `{detail, errors?: {field: [messages]}}`; a blocked transition is "
        "409 `{detail, reasons}`. Date-times carry a UTC offset; decimals are exact."
    ),
    urls_namespace="api",
    auth=API_AUTH,
    parser=TilcareParser(),
    docs=VendoredSwagger(),
    docs_decorator=_docs_require_user,
)


api.add_decorator(_strict_query, mode="view")
api.add_decorator(_body_limit, mode="view")


# --- errors ---------------------------------------------------------------------------------


def _error(
    request: HttpRequest,
    status: int,
    detail: str,
    errors: dict[str, list[str]] | None = None,
    **extra: Any,
) -> HttpResponse:
    body: dict[str, Any] = {"detail": detail}
    if errors:
        body["errors"] = errors
    body.update(extra)
    return api.create_response(request, body, status=status)


@api.exception_handler(AuthenticationError)
def _not_authenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    detail = exc.message if exc.message != "Unauthorized" else NOT_AUTHENTICATED
    response = _error(request, 401, detail)
    response["WWW-Authenticate"] = 'Bearer realm="tilcare"'
    return response


@api.exception_handler(PermissionDenied)
def _denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return _error(request, 403, exc.message)


@api.exception_handler(DjangoPermissionDenied)
def _django_denied(request: HttpRequest, exc: DjangoPermissionDenied) -> HttpResponse:
    return _error(request, 403, str(exc) or "You do not have permission to do this.")


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, NOT_FOUND)


@api.exception_handler(NotVisible)
def _not_visible(request: HttpRequest, exc: NotVisible) -> HttpResponse:
    return _error(request, 404, NOT_FOUND)


@api.exception_handler(TransitionBlocked)
def _blocked(request: HttpRequest, exc: TransitionBlocked) -> HttpResponse:
    return _error(request, 409, "Transition blocked", reasons=list(exc.reasons))


@api.exception_handler(Conflict)
def _conflict(request: HttpRequest, exc: Conflict) -> HttpResponse:
    detail = " ".join(m for messages in exc.errors.values() for m in messages)
    return _error(request, 409, detail, errors=exc.errors)


@api.exception_handler(InvalidInput)
def _invalid(request: HttpRequest, exc: InvalidInput) -> HttpResponse:
    return _error(request, 422, INVALID_INPUT, errors=exc.errors)


@api.exception_handler(NinjaValidationError)
def _schema_invalid(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    return _error(request, 422, INVALID_INPUT, errors=field_errors(exc.errors))


@api.exception_handler(DjangoValidationError)
def _model_invalid(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    # A model's full_clean() inside a service (e.g. an e-mail address it cannot accept).
    errors = (
        {field: list(messages) for field, messages in exc.message_dict.items()}
        if hasattr(exc, "error_dict")
        else {"__all__": list(exc.messages)}
    )
    return _error(request, 422, INVALID_INPUT, errors=errors)


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if isinstance(exc.__cause__, InvalidInput):  # refused while the body was parsed
        return _invalid(request, exc.__cause__)
    return _error(request, exc.status_code, exc.message)


@api.exception_handler(RequestDataTooBig)
def _too_large(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    # Django's own check as the body is read (a body longer than its declared length).
    return _error(request, 413, body_limit_exceeded())


@api.exception_handler(Exception)
def _server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    # JSON for clients even here; the traceback goes to the log, never to the caller.
    logger.exception("Unhandled error in API %s %s", request.method, request.path)
    return _error(request, 500, SERVER_ERROR)


# --- routers --------------------------------------------------------------------------------

api.add_router("", accounts_router)
api.add_router("", patients_router)
# Before the journeys router: its "/journeys/{public_id}" would otherwise take "/journeys/scans".
api.add_router("", journey_scans_router)
api.add_router("", journeys_router)
api.add_router("", tasks_router)
api.add_router("", calculators_router)
api.add_router("", identity_router)
api.add_router("", manufacturing_router)
api.add_router("", release_router)
api.add_router("", treatment_router)
api.add_router("", monitoring_router)

# Last: any other path under /api/v1/ answers a JSON 404 (after authentication), not a page.
_unknown = Router()


@_unknown.api_operation(
    ["GET", "POST", "PUT", "PATCH", "DELETE"], "/{path:rest}", include_in_schema=False
)
def unknown_path(request: HttpRequest, rest: str) -> HttpResponse:
    raise Http404()


api.add_router("", _unknown)
