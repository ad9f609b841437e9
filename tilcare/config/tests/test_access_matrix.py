"""The role × organization × record matrix, generated from the URL configuration and the OpenAPI
document, so that every page and API operation is in it without anyone adding it by hand.

For every route (each page's URL pattern, each API operation) and every role of the own
organization plus an anonymous visitor, GET the route with the own organization's record and
with the other organization's record, and compare the status with the table below. Writes
(POST, PUT, PATCH, DELETE) are sent only by the roles the table denies, and must be refused
with nothing written. Every text answer (HTML, JSON, CSV; any status) a facility's role or a
patient gets is searched for the identity of patients it may not see: for the facility, every
patient's name, record number, date of birth, phone, e-mail, address and contact, also where
center staff typed them into free text; for a patient, everyone's but their own.

A route the table does not name, or whose path has a parameter the resolver below does not
know, fails the test with the route's name: a new route is added to the table, never skipped.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import time_machine
from django.apps import apps
from django.db import connection, transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from tilcare.accounts.choices import Role
from tilcare.accounts.models import User
from tilcare.clinical.dosing.regimens import ProtocolRef
from tilcare.config.api import api as ninja_api
from tilcare.config.tests.access_world import RELEASE_TEST, AccessWorld, Side, make_access_world
from tilcare.core.tests.clients import verify_second_factor
from tilcare.core.timeutil import local_today
from tilcare.identity.tests.factories import STORAGE
from tilcare.journey.choices import Protocol
from tilcare.journey.tests.factories import MAIN_PATH
from tilcare.monitoring.models import Observation
from tilcare.monitoring.services.observations import record_observations
from tilcare.patients.services import record_measurement
from tilcare.patients.tests.factories import TEST_PASSWORD
from tilcare.treatment import selectors
from tilcare.treatment.models import Il2Decision, Infusion, Order, ProtocolActivation
from tilcare.treatment.services.activation import enter_protocol_settings
from tilcare.treatment.services.infusion import open_infusion
from tilcare.treatment.services.orders import Course, order_il2
from tilcare.treatment.tests.factories import (
    DAY,
    LIFILEUCEL,
    LIFILEUCEL_VALUES,
    NKI,
    activate,
    awaiting_decision,
)

API_ROOT = "/api/v1"
WRITE_METHODS = ("post", "put", "patch", "delete")
_DJANGO_PARAM = re.compile(r"<(?:\w+:)?(\w+)>")
_OPENAPI_PARAM = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Route:
    """A page (URL pattern, keyed by its name) or an API operation path (keyed by its path)."""

    key: str
    template: str  # the URL with {parameter} placeholders
    params: tuple[str, ...]
    api: bool
    methods: tuple[str, ...]  # API: the operation's methods; pages: ("get", "post")


def _walk(patterns: list, prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = pattern.namespace or ""
            joined = f"{namespace}:{inner}" if namespace and inner else (inner or namespace)
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), joined)
        elif isinstance(pattern, URLPattern):
            route = prefix + str(pattern.pattern)
            name = pattern.name or route
            yield (f"{namespace}:{name}" if namespace and pattern.name else name), route


@functools.cache
def _openapi_document() -> dict:
    return ninja_api.get_openapi_schema()


def _openapi_paths() -> dict[str, dict]:
    return _openapi_document()["paths"]


def page_routes() -> list[Route]:
    """Every URL pattern except those the OpenAPI document describes as operations."""
    operations = set(_openapi_paths())
    routes = []
    for key, route in _walk(get_resolver().url_patterns):
        template = "/" + _DJANGO_PARAM.sub(r"{\1}", route)
        if template in operations:
            continue
        routes.append(
            Route(key, template, tuple(_OPENAPI_PARAM.findall(template)), False, ("get", "post"))
        )
    return routes


def api_routes() -> list[Route]:
    return [
        Route(
            path,
            path,
            tuple(_OPENAPI_PARAM.findall(path)),
            True,
            tuple(method for method in operations if method in ("get", *WRITE_METHODS)),
        )
        for path, operations in _openapi_paths().items()
    ]


# --------------------------------------------------------------------------------------------
# Path parameters: which record each route names
# --------------------------------------------------------------------------------------------

# The kind of record a route's {public_id} names, by the start of its key (first match wins).
_PUBLIC_ID_KIND: tuple[tuple[str, str], ...] = (
    ("accounts:second-factor-reset", "staff"),
    ("accounts:token-", "token"),
    ("patients:", "patient"),
    ("journey:task-", "task"),
    ("journey:batch-", "batch"),
    ("journey:", "journey"),
    ("identity:label-print", "item"),
    ("identity:label-", "label"),
    ("identity:alert-", "alert"),
    ("identity:shipment-", "shipment"),
    ("manufacturing:slot-", "slot"),
    ("manufacturing:booking-", "booking"),
    ("manufacturing:batch-", "batch"),
    ("treatment:protocol_", "activation"),
    ("treatment:order", "order"),
    ("treatment:infusion", "infusion"),
    ("treatment:il2_decide", "il2_decision"),
    ("treatment:il2", "order"),
    ("/api/v1/patients/", "patient"),
    ("/api/v1/journeys/", "journey"),
    ("/api/v1/tasks/", "task"),
    ("/api/v1/identity/items/", "item"),
    ("/api/v1/identity/labels/", "label"),
    ("/api/v1/identity/shipments/", "shipment"),
    ("/api/v1/identity/alerts/", "alert"),
    ("/api/v1/manufacturing/slots/", "slot"),
    ("/api/v1/manufacturing/bookings/", "booking"),
    ("/api/v1/manufacturing/batches/", "batch"),
    ("/api/v1/treatment/protocol-settings/", "activation"),
    ("/api/v1/treatment/orders/", "order"),
    ("/api/v1/treatment/infusions/", "infusion"),
    ("/api/v1/treatment/il2-decisions/", "il2_decision"),
    ("/api/v1/monitoring/patients/", "patient"),
    ("/api/v1/monitoring/observations/", "observation"),
)


class UnknownParameter(LookupError):
    pass


def parameter_value(route: Route, name: str, world: AccessWorld, org: str) -> str:
    """The value of path parameter `name` of `route` that names `org`'s record."""
    side = world.side(org)
    if name == "public_id":
        kind = next((k for prefix, k in _PUBLIC_ID_KIND if route.key.startswith(prefix)), None)
        if kind is None:
            raise UnknownParameter(f"{route.key}: no record kind for {{public_id}}")
        if kind == "activation":
            return str(_activation(side).public_id)
        if kind == "order":
            return str(_order(side).public_id)
        if kind == "infusion":
            return str(_infusion(side).public_id)
        if kind == "il2_decision":
            return str(_il2_decision(side).public_id)
        if kind == "observation":
            return str(_observation(side).public_id)
        return str(side.record(kind).public_id)
    values = {
        "patient_public_id": lambda: side.patient.public_id,
        "consent_id": lambda: side.consent.public_id,
        "milestone_id": lambda: side.milestone.pk,
        "din": lambda: side.journey.coi_din,
        "culture_id": lambda: side.culture_id,
        "test": lambda: RELEASE_TEST,
        "slug": lambda: "bsa",
        "protocol_id": lambda: LIFILEUCEL[0],
        "version": lambda: LIFILEUCEL[1],
        "rest": lambda: "no-such-operation",
        "sequence": lambda: 1,
    }
    if name not in values:
        raise UnknownParameter(f"{route.key}: unknown path parameter {{{name}}}")
    return str(values[name]())


def _activation(side: Side) -> ProtocolActivation:
    """The side's protocol settings awaiting signatures: entered the first time a route names
    them, inside the test's own transaction (so before any write the test counts)."""
    ref = ProtocolRef(*LIFILEUCEL)
    return selectors.pending_activation(side.center, ref) or enter_protocol_settings(
        side.center,
        protocol_id=ref.protocol_id,
        protocol_version=ref.version,
        values=LIFILEUCEL_VALUES,
        actor=side.team.pharmacist,
    )


def _order(side: Side) -> Order:
    """The side's IL-2 order, written by its physician on the center's NKI settings in force
    (signed for it: the lifileucel ones stay awaiting signatures) the first time a route names
    it, inside the test's own transaction like `_activation`."""
    found = Order.objects.filter(center=side.center).first()
    if found is not None:
        return found
    team = side.team
    activate(team.center, pharmacist=team.pharmacist, physician=team.physician, protocol=NKI)
    record_measurement(
        side.patient,
        actor=team.nurse,
        measured_on=local_today(team.center.time_zone),
        weight_kg="80",
        height_cm="180",
    )
    journey = side.journey
    course = Course(
        team.center, side.patient, journey.coi_din, journey.coi_check, 1, ProtocolRef(*NKI)
    )
    return order_il2(course, actor=team.physician)


def _infusion(side: Side) -> Infusion:
    """The infusion checklist of the side's IL-2 order's course (`_order`), opened by its nurse
    the first time a route names it, inside the test's own transaction like `_activation`."""
    order = _order(side)
    course = Course(
        side.center, order.patient, order.coi_din, order.coi_check, 1, ProtocolRef(*NKI)
    )
    return open_infusion(course, actor=side.team.nurse)


def _il2_decision(side: Side) -> Il2Decision:
    """An IL-2 dose awaiting the physician's decision: a new patient of the side's center walked
    through lymphodepletion, the infusion day and the verified IL-2 order on the NKI settings
    (`_order` signs them), three days ago; made the first time a route names it, inside the
    test's own transaction like `_activation`."""
    found = Il2Decision.objects.filter(order__center=side.center).first()
    if found is not None:
        return found
    _order(side)
    last = timezone.now().replace(second=0, microsecond=0) - 3 * DAY
    with time_machine.travel(last, tick=False) as traveller:
        return awaiting_decision(side.team, traveller, last, Protocol.NKI_TIL_2022)


def _observation(side: Side) -> Observation:
    """A heart rate of the side's patient, recorded by its nurse a minute ago the first time a
    route names it, inside the test's own transaction like `_activation`."""
    found = Observation.objects.filter(center=side.center).first()
    if found is not None:
        return found
    moment = timezone.now() - dt.timedelta(minutes=1)
    entry = {"kind": "heart_rate", "value": "72", "unit": "/min", "effective_at": moment}
    recorded = record_observations(side.patient, [entry], actor=side.team.nurse, source="api")
    return recorded.observations[0]


def url_for(route: Route, world: AccessWorld, org: str) -> str:
    url = route.template
    for name in route.params:
        url = url.replace("{" + name + "}", parameter_value(route, name, world, org))
    return url


# --------------------------------------------------------------------------------------------
# The table: who may do what
# --------------------------------------------------------------------------------------------

NAV, FIN, SW, SURG = Role.NAVIGATOR, Role.FINANCIAL_COORDINATOR, Role.SOCIAL_WORKER, Role.SURGEON
PHYS, NURSE, PHARM, ADMIN = Role.PHYSICIAN, Role.NURSE, Role.PHARMACIST, Role.CENTER_ADMIN
TECH, QA, PAT = Role.MANUFACTURING_TECH, Role.QA_REVIEWER, Role.PATIENT

FACILITY = frozenset({TECH, QA})
CENTER = frozenset({NAV, FIN, SW, SURG, PHYS, NURSE, PHARM, ADMIN})
STAFF = CENTER | FACILITY
EVERYONE = STAFF | {PAT}
NOBODY: frozenset[Role] = frozenset()
CLINICAL_CALCULATORS = frozenset({NAV, SURG, PHYS, NURSE, PHARM})
HANDLERS = frozenset({NAV, SURG, NURSE, PHARM}) | FACILITY  # print labels, scan, ship
PATIENT_EDITORS = frozenset({NAV, PHYS, ADMIN})


@dataclass(frozen=True)
class Access:
    """What each signed-in role of the own organization gets.

    get: the roles a GET answers `ok` (with the own organization's record); None when the route
        serves no GET (405 for everyone signed in). The other roles get 403, except those in
        `hidden`, which get 404 (the record is not theirs to know of).
    other: the status every signed-in role gets with the other organization's record (None: the
        route names no record of an organization); `other_ok` lists roles for whom the other
        organization's record is not private (it answers `ok` to them).
    write: the roles allowed to send the route's writes (not sent here; the domains' tests do);
        every other role's write is refused with 403 or 404 and writes nothing. None: the route
        takes no writes.
    anonymous: the status without credentials (pages: 302 to sign-in; the API: 401).
    refused: roles refused before any record is looked up: 403 whichever organization's record.
    redirected: roles a GET sends elsewhere (302).
    query: the GET's query string ({coi}: the own organization's COI identifier and check).
    """

    get: frozenset[Role] | None
    write: frozenset[Role] | None = None
    ok: int = 200
    hidden: frozenset[Role] = NOBODY
    other: int | None = 404
    other_ok: frozenset[Role] = NOBODY
    anonymous: int | None = None
    query: str = ""
    refused: frozenset[Role] = NOBODY
    redirected: frozenset[Role] = NOBODY


def page(get, write=None, **kw) -> Access:
    return Access(get=get, write=write, **kw)


def form(write, **kw) -> Access:
    """A page that only takes a form's POST."""
    return Access(get=None, write=write, **kw)


PAGES: dict[str, Access] = {
    "home": page(EVERYONE, ok=302, other=None),
    "favicon.ico": page(EVERYONE, ok=301, other=None, anonymous=301),
    "accounts:login": page(EVERYONE, ok=302, other=None, anonymous=200),
    "accounts:logout": form(EVERYONE, other=None),
    "accounts:no-role": page(NOBODY, write=NOBODY, other=None),
    "accounts:center-settings": page({ADMIN}, write={ADMIN}, other=None),
    # Every client here has passed the second factor (or needs none): these send it on.
    "accounts:second-factor": page(EVERYONE, write=EVERYONE, ok=302, other=None),
    "accounts:recovery-codes": page(EVERYONE, write=EVERYONE, ok=302, other=None),
    "accounts:second-factor-setup": page({PAT}, write=EVERYONE, other=None, redirected=STAFF),
    "accounts:staff-security": page({ADMIN}, other=None),
    "accounts:second-factor-reset": page({ADMIN}, write={ADMIN}, refused=EVERYONE - {ADMIN}),
    "accounts:token-list": page({ADMIN}, write={ADMIN}, other=None),
    "accounts:token-revoke": page({ADMIN}, write={ADMIN}, refused=EVERYONE - {ADMIN}),
    "patients:patient-list": page(CENTER, other=None),
    "patients:patient-create": page({NAV, ADMIN}, write={NAV, ADMIN}, other=None),
    "patients:patient-detail": page(CENTER, hidden=FACILITY | {PAT}),
    "patients:patient-edit": page(PATIENT_EDITORS, write=PATIENT_EDITORS, hidden=FACILITY | {PAT}),
    "patients:contact-add": form(PATIENT_EDITORS),
    "patients:prior-therapy-add": form(PATIENT_EDITORS),
    "patients:consent-add": form({NAV, PHYS}),
    "patients:consent-withdraw": form({NAV, PHYS}),
    "patients:measurement-add": form({NAV, PHYS, NURSE}),
    "journey:board": page(STAFF, other=None),
    "journey:task-list": page(CENTER, other=None),
    "journey:task-complete": form({NAV}),  # the world's task is the navigator's
    "journey:journey-open": page(
        {NAV, PHYS, ADMIN}, write={NAV, PHYS, ADMIN}, hidden=FACILITY | {PAT}
    ),
    "journey:journey-detail": page(STAFF, hidden={PAT}),
    "journey:journey-advance": form({NAV, SURG, PHYS, NURSE}),
    "journey:journey-withdraw": form({NAV, PHYS, ADMIN}),
    "journey:journey-plan": form({NAV, SURG, PHYS, ADMIN}),
    "journey:milestone-record": form({NAV, FIN, SURG, PHYS, NURSE, PHARM}),
    "journey:milestone-void": form({NAV, FIN, SURG, PHYS, NURSE, PHARM}),
    "journey:eligibility-save": form({NAV, PHYS}),
    "journey:eligibility-sign": form({PHYS}),
    "journey:eligibility-amend": form({NAV, PHYS}),
    "journey:journey-facility-change": form({NAV, PHYS}),
    "journey:scan": page(HANDLERS, other=None),
    "journey:scan-record": form(HANDLERS, other=None),
    "journey:journey-by-coi": page(STAFF, ok=302, hidden={PAT}),
    "journey:journey-first-item": form(HANDLERS),
    "journey:order-lymphodepletion": form({PHYS}),
    "journey:order-il2": form({PHYS}),
    "journey:open_infusion": form({NURSE, PHYS}),
    "journey:order-filgrastim": form({PHYS}),
    "journey:batch-disposition": form({QA}),
    "journey:batch-acknowledgement": form({PHYS}),
    "portal:home": page({PAT}, other=None),
    "calculators:list": page(
        CLINICAL_CALCULATORS | FACILITY, write=CLINICAL_CALCULATORS | FACILITY, other=None
    ),
    "calculators:detail": page(CLINICAL_CALCULATORS, write=CLINICAL_CALCULATORS, other=None),
    "identity:coi-items": page(STAFF, write=HANDLERS, hidden={PAT}),
    "identity:label-print": form(HANDLERS),
    "identity:label-apply": form(HANDLERS),
    "identity:label-void": form(HANDLERS),
    "identity:label-pdf": page(HANDLERS, hidden={PAT}),
    "identity:label-png": page(HANDLERS, hidden={PAT}),
    "identity:alerts": page(STAFF, other=None),
    "identity:alert-acknowledge": form({NAV, PHYS, PHARM, QA}),
    "identity:shipment-list": page(STAFF, other=None),
    "identity:shipment-create": page(HANDLERS, write=HANDLERS, other=None),
    "identity:shipment-detail": page(STAFF, refused={PAT}),
    "identity:shipment-dispatch": form(refused={PAT}, write=HANDLERS),
    "identity:shipment-receive": form(refused={PAT}, write=HANDLERS),
    "identity:shipment-upload": form(refused={PAT}, write=HANDLERS),
    "manufacturing:slots": page(STAFF, other=None),
    "manufacturing:slot-create": form({TECH}, other=None),
    "manufacturing:slot-capacity": form({TECH}, other_ok=CENTER),
    "manufacturing:booking-create": form({NAV, PHYS}, other=None),
    "manufacturing:booking-cancel": form({NAV, PHYS, TECH}),
    "manufacturing:batch-list": page(FACILITY, other=None),
    "manufacturing:batch-detail": page(FACILITY, hidden=CENTER | {PAT}),
    "manufacturing:batch-tissue": form(FACILITY),
    "manufacturing:batch-culture-create": form(FACILITY),
    "manufacturing:batch-culture-count": form(FACILITY),
    "manufacturing:batch-screen-import": form(FACILITY),
    "manufacturing:batch-selection": form(FACILITY),
    "manufacturing:batch-rep-count": form(FACILITY),
    "manufacturing:batch-harvest-plan": form(FACILITY),
    "manufacturing:batch-advance": form(FACILITY),
    "manufacturing:batch-release": page(STAFF, hidden={PAT}),
    "manufacturing:batch-formulation": form(FACILITY),
    "manufacturing:batch-release-test": form(FACILITY),
    "manufacturing:batch-coa": page(STAFF, ok=302, hidden={PAT}),  # not released yet
    "manufacturing:release-specifications": page(FACILITY, write={QA}, other=None),
    "manufacturing:facility-thresholds": page(FACILITY, write={QA}, other=None),
    "treatment:protocols": page(CENTER, other=None),
    "treatment:protocol": page(CENTER, other=None),
    "treatment:protocol_edit": page({PHYS, PHARM}, write={PHYS, PHARM}, other=None),
    "treatment:protocol_sign": form({PHYS, PHARM}),
    "treatment:protocol_discard": form({PHYS, PHARM}),
    "treatment:orders": page(CENTER, other=None),
    "treatment:order": page(CENTER, refused=FACILITY | {PAT}),
    "treatment:order_verify": form({PHARM}, refused=FACILITY | {PAT}),
    "treatment:order_cancel": form({PHYS}, refused=FACILITY | {PAT}),
    "treatment:order_reorder": form({PHYS}, refused=FACILITY | {PAT}),
    "treatment:order_record_dose": form({NURSE, PHYS}, refused=FACILITY | {PAT}),
    "treatment:order_filgrastim_stop": form({PHYS}, refused=FACILITY | {PAT}),
    "treatment:bedside": page(CENTER, other=None),
    "treatment:infusion": page(CENTER, refused=FACILITY | {PAT}),
    "treatment:infusion_premedication": form({NURSE, PHYS}, refused=FACILITY | {PAT}),
    "treatment:infusion_thaw": form({NURSE, PHYS}, refused=FACILITY | {PAT}),
    "treatment:infusion_scan": form({NURSE, PHYS}, refused=FACILITY | {PAT}),
    "treatment:infusion_start": form({NURSE, PHYS}, refused=FACILITY | {PAT}),
    "treatment:infusion_end": form({NURSE, PHYS}, refused=FACILITY | {PAT}),
    "treatment:il2": page(CENTER, refused=FACILITY | {PAT}),
    "treatment:il2_assess": form({NURSE, PHYS}, refused=FACILITY | {PAT}),
    "treatment:il2_decide": form({PHYS}, refused=FACILITY | {PAT}),
    "api:openapi-json": page(EVERYONE, other=None, anonymous=401),
    "api:openapi-view": page(EVERYONE, other=None),
    "api:api-root": page(NOBODY, hidden=EVERYONE, other=None, anonymous=404),
    # The patient is refused at the API's door, before the path is looked at.
    "api:unknown_path": page(NOBODY, hidden=STAFF, refused={PAT}, other=None, anonymous=401),
}

RANKING_QUERY = (
    "min_ifn_gamma_difference_pg_per_ml=200&min_ifn_gamma_fold=2&min_cd137_difference_points=2"
)


def api(get=None, write=None, **kw) -> Access:
    """An API operation. The patient uses the portal, never the API: refused (403) before any
    record is looked up, on every operation."""
    get = None if get is None else get - {PAT}
    kw["hidden"] = kw.get("hidden", NOBODY) - {PAT}
    kw["refused"] = kw.get("refused", NOBODY) | {PAT}
    return Access(get=get, write=write, **kw)


API: dict[str, Access] = {
    "/api/v1/me": api(EVERYONE, other=None),
    "/api/v1/patients": api(EVERYONE, write={NAV, ADMIN}, other=None),
    "/api/v1/patients/{public_id}": api(CENTER, write=PATIENT_EDITORS, hidden=FACILITY | {PAT}),
    "/api/v1/patients/{public_id}/measurements": api(
        CENTER, write={NAV, PHYS, NURSE}, hidden=FACILITY | {PAT}
    ),
    "/api/v1/patients/{public_id}/consents": api(
        CENTER, write={NAV, PHYS}, hidden=FACILITY | {PAT}
    ),
    "/api/v1/patients/{public_id}/journeys": api(write={NAV, PHYS, ADMIN}),
    "/api/v1/journeys": api(EVERYONE, other=None),
    "/api/v1/journeys/scans": api(write=HANDLERS, other=None),
    "/api/v1/journeys/{public_id}": api(STAFF, hidden={PAT}),
    "/api/v1/journeys/{public_id}/next-steps": api(STAFF, hidden={PAT}),
    "/api/v1/journeys/{public_id}/transitions": api(
        STAFF, write={NAV, SURG, PHYS, NURSE}, hidden={PAT}
    ),
    "/api/v1/journeys/{public_id}/milestones": api(
        STAFF, write={NAV, FIN, SURG, PHYS, NURSE, PHARM}, hidden={PAT}
    ),
    "/api/v1/journeys/{public_id}/orders": api(write={PHYS}),
    "/api/v1/journeys/{public_id}/infusion": api(write={NURSE, PHYS}),
    "/api/v1/tasks": api(EVERYONE, other=None),
    "/api/v1/tasks/{public_id}/complete": api(write={NAV}),
    "/api/v1/calc/": api(EVERYONE, other=None),
    "/api/v1/identity/items": api(EVERYONE, write=HANDLERS, other=None),
    "/api/v1/identity/items/{public_id}": api(STAFF, hidden={PAT}),
    "/api/v1/identity/items/{public_id}/labels": api(write=HANDLERS),
    "/api/v1/identity/labels/{public_id}.pdf": api(HANDLERS, hidden={PAT}),
    "/api/v1/identity/labels/{public_id}.png": api(HANDLERS, hidden={PAT}),
    "/api/v1/identity/labels/{public_id}/apply": api(write=HANDLERS),
    "/api/v1/identity/labels/{public_id}/void": api(write=HANDLERS),
    # A COI of another organization lists nothing (200, empty): the query names no record.
    "/api/v1/identity/custody-events": api(EVERYONE, other=None, query="coi={coi}"),
    "/api/v1/identity/alerts": api(EVERYONE, other=None),
    "/api/v1/identity/alerts/{public_id}/acknowledge": api(write={NAV, PHYS, PHARM, QA}),
    "/api/v1/identity/shipments": api(EVERYONE, write=HANDLERS, other=None),
    "/api/v1/identity/shipments/{public_id}": api(STAFF, hidden={PAT}),
    "/api/v1/identity/shipments/{public_id}/dispatch": api(write=HANDLERS),
    "/api/v1/identity/shipments/{public_id}/receive": api(write=HANDLERS),
    "/api/v1/identity/shipments/{public_id}/temperatures": api(STAFF, write=HANDLERS, hidden={PAT}),
    "/api/v1/identity/shipments/{public_id}/temperatures.csv": api(write=HANDLERS),
    # Every center books any facility's slots: a slot is not private to the center's side.
    "/api/v1/manufacturing/slots": api(STAFF, write={TECH}, other=None),
    "/api/v1/manufacturing/slots/{public_id}": api(STAFF, other_ok=CENTER, refused={PAT}),
    "/api/v1/manufacturing/slots/{public_id}/capacity": api(
        write={TECH}, other_ok=CENTER, refused={PAT}
    ),
    "/api/v1/manufacturing/slots/{public_id}/bookings": api(
        write={NAV, PHYS}, other_ok=CENTER, refused=FACILITY | {PAT}
    ),
    "/api/v1/manufacturing/bookings": api(STAFF, other=None),
    # The facility may cancel a booking of its own slot.
    "/api/v1/manufacturing/bookings/{public_id}/cancel": api(
        write={NAV, PHYS, TECH}, refused={PAT}
    ),
    "/api/v1/manufacturing/batches": api(EVERYONE, other=None),
    "/api/v1/manufacturing/batches/{public_id}": api(STAFF, hidden={PAT}),
    "/api/v1/manufacturing/batches/{public_id}/tissue-receipt": api(write=FACILITY),
    "/api/v1/manufacturing/batches/{public_id}/cultures": api(write=FACILITY),
    "/api/v1/manufacturing/batches/{public_id}/cultures/{culture_id}/count": api(write=FACILITY),
    "/api/v1/manufacturing/batches/{public_id}/reactivity.csv": api(write=FACILITY),
    "/api/v1/manufacturing/batches/{public_id}/ranking": api(
        FACILITY, hidden={PAT}, query=RANKING_QUERY
    ),
    "/api/v1/manufacturing/batches/{public_id}/selection": api(write=FACILITY),
    "/api/v1/manufacturing/batches/{public_id}/rep-counts": api(write=FACILITY),
    "/api/v1/manufacturing/batches/{public_id}/harvest-plan": api(write=FACILITY),
    "/api/v1/manufacturing/batches/{public_id}/forecast": api(FACILITY, hidden={PAT}),
    "/api/v1/manufacturing/batches/{public_id}/advance": api(write=FACILITY),
    "/api/v1/manufacturing/batches/{public_id}/release": api(STAFF, hidden={PAT}),
    "/api/v1/manufacturing/batches/{public_id}/formulation": api(write=FACILITY),
    "/api/v1/manufacturing/batches/{public_id}/release-tests": api(write=FACILITY),
    "/api/v1/manufacturing/batches/{public_id}/coa.pdf": api(STAFF, ok=409, hidden={PAT}),
    "/api/v1/manufacturing/batches/{public_id}/disposition": api(write={QA}),
    "/api/v1/manufacturing/batches/{public_id}/acknowledgement": api(write={PHYS}),
    "/api/v1/treatment/protocol-settings": api(CENTER, write={PHYS, PHARM}, other=None),
    "/api/v1/treatment/protocol-settings/{public_id}": api(CENTER, hidden=FACILITY),
    "/api/v1/treatment/protocol-settings/{public_id}/signatures": api(write={PHYS, PHARM}),
    "/api/v1/treatment/protocol-settings/{public_id}/discard": api(write={PHYS, PHARM}),
    "/api/v1/treatment/orders": api(CENTER, other=None),
    "/api/v1/treatment/orders/{public_id}": api(CENTER, hidden=FACILITY),
    "/api/v1/treatment/orders/{public_id}/verification": api(write={PHARM}),
    "/api/v1/treatment/orders/{public_id}/reorder": api(write={PHYS}),
    "/api/v1/treatment/orders/{public_id}/cancel": api(write={PHYS}),
    "/api/v1/treatment/orders/{public_id}/filgrastim-stop": api(write={PHYS}),
    "/api/v1/treatment/orders/{public_id}/doses/{sequence}/administration": api(
        write={NURSE, PHYS}
    ),
    "/api/v1/treatment/orders/{public_id}/il2": api(CENTER, hidden=FACILITY),
    "/api/v1/treatment/orders/{public_id}/il2/assessments": api(write={NURSE, PHYS}),
    "/api/v1/treatment/il2-decisions/{public_id}/decision": api(write={PHYS}),
    "/api/v1/treatment/infusions/{public_id}": api(CENTER, hidden=FACILITY),
    "/api/v1/treatment/infusions/{public_id}/premedications": api(write={NURSE, PHYS}),
    "/api/v1/treatment/infusions/{public_id}/thaws": api(write={NURSE, PHYS}),
    "/api/v1/treatment/infusions/{public_id}/scans": api(write={NURSE, PHYS}),
    "/api/v1/treatment/infusions/{public_id}/start": api(write={NURSE, PHYS}),
    "/api/v1/treatment/infusions/{public_id}/end": api(write={NURSE, PHYS}),
    "/api/v1/monitoring/patients/{public_id}/observations": api(
        CENTER, write={NURSE, PHYS}, hidden=FACILITY
    ),
    "/api/v1/monitoring/observations/{public_id}/correction": api(write={NURSE, PHYS}),
}


def _calculator_access() -> dict[str, Access]:
    """Each calculator's operation: the roles whose permissions include one of its own."""
    from tilcare.accounts.roles import permissions_for
    from tilcare.calculators.registry import all_calculators

    return {
        f"{API_ROOT}/calc/{calc.slug}": api(
            write=frozenset(role for role in STAFF if set(calc.perms) & set(permissions_for(role))),
            other=None,
        )
        for calc in all_calculators()
    }


@functools.cache
def access_table() -> dict[str, Access]:
    return {**PAGES, **API, **_calculator_access()}


def access_for(route: Route) -> Access:
    table = access_table()
    if route.key not in table:
        pytest.fail(f"{route.key}: not in the access table (PAGES or API); add what each role gets")
    return table[route.key]


# --------------------------------------------------------------------------------------------
# The matrix
# --------------------------------------------------------------------------------------------

ORG_PARAMETERS = {
    "public_id",
    "patient_public_id",
    "consent_id",
    "milestone_id",
    "din",
    "culture_id",
}
ROLES: tuple[Role | None, ...] = (*Role, None)  # None: not signed in
TEXT_TYPES = ("text/", "application/json")
SIGN_IN = "/accounts/login/"


@dataclass(frozen=True)
class Matrix:
    world: AccessWorld
    pages: dict[Role | None, Client]  # signed in with a session (force_login)
    api: dict[Role | None, Client]  # staff with their bearer token; the patient's session

    def client(self, route: Route, role: Role | None) -> Client:
        return (self.api if route.api else self.pages)[role]


@pytest.fixture(scope="module")
def matrix(django_db_setup: None, django_db_blocker) -> Iterator[Matrix]:
    """The world, made once for the module inside a transaction rolled back at its end (each
    test runs in a savepoint of it), and one client per role."""
    with django_db_blocker.unblock(), transaction.atomic():
        world = make_access_world()
        pages: dict[Role | None, Client] = {None: Client()}
        api_clients: dict[Role | None, Client] = {None: Client()}
        for role in Role:
            pages[role] = Client()
            sign_in(pages[role], world.own.user(role))
            api_clients[role] = (
                pages[role]
                if role == Role.PATIENT
                else Client(HTTP_AUTHORIZATION=f"Bearer {world.own.secrets[role.value]}")
            )
        yield Matrix(world, pages, api_clients)
        transaction.set_rollback(True)


def sign_in(client: Client, user: User) -> None:
    """`force_login`, then past the second factor (the root conftest's per-test wrapper does not
    reach this client: it is made once for the module, outside any test)."""
    client.force_login(user)
    verify_second_factor(client, user)


def orgs_of(route: Route) -> tuple[str, ...]:
    return ("own", "other") if ORG_PARAMETERS & set(route.params) else ("own",)


def expected_get(route: Route, access: Access, role: Role | None, org: str) -> int:
    if role is None:
        return access.anonymous or (401 if route.api else 302)
    if access.get is None:
        return 405
    if role in access.refused:
        return 403
    if role in access.redirected:
        return 302
    if org == "other" and role not in access.other_ok:
        assert access.other is not None, f"{route.key}: names a record but has no `other` status"
        return access.other
    if role in access.get:
        return access.ok
    return 404 if role in access.hidden else 403


def forbidden_identities(world: AccessWorld, role: Role | None) -> tuple[str, ...]:
    """What may never appear in an answer to `role`: for a facility, any patient's identity; for
    the patient, everyone's but their own."""
    if role in FACILITY:
        return world.own.identity_strings() + world.other.identity_strings()
    if role == Role.PATIENT:
        own_person = world.own.people[0]
        others = [*world.own.people[1:], *world.other.people]
        return tuple(
            text
            for person in others
            for text in person.strings()
            if text not in own_person.strings()
        )
    return ()


def leaks(response, world: AccessWorld, role: Role | None) -> list[str]:
    forbidden = forbidden_identities(world, role)
    content_type = response.get("Content-Type", "")
    if not forbidden or response.streaming or not content_type.startswith(TEXT_TYPES):
        return []
    body = response.content.decode("utf-8", errors="replace")
    return [text for text in forbidden if text in body]


def _check_anonymous_redirect(route: Route, response, status: int) -> str | None:
    if route.api or status != 302 or response.status_code != 302:
        return None
    location = response.get("Location", "")
    return None if location.startswith(SIGN_IN) else f"redirected to {location}, not sign-in"


def get_problems(matrix: Matrix, route: Route, access: Access) -> list[str]:
    problems = []
    for org in orgs_of(route):
        url = url_for(route, matrix.world, org)
        if access.query:
            journey = matrix.world.own.journey
            url += "?" + access.query.format(coi=journey.coi_din + journey.coi_check)
        for role in ROLES:
            who = f"{role.value if role else 'anonymous'} × {org} record"
            response = matrix.client(route, role).get(url)
            expected = expected_get(route, access, role, org)
            if response.status_code != expected:
                problems.append(f"GET {url} as {who}: {response.status_code}, expected {expected}")
            if role is None and (wrong := _check_anonymous_redirect(route, response, expected)):
                problems.append(f"GET {url} as {who}: {wrong}")
            for text in leaks(response, matrix.world, role):
                problems.append(f"GET {url} as {who}: the answer shows {text!r}")
    return problems


def write_problems(matrix: Matrix, route: Route, access: Access) -> list[str]:
    """Each write of the route by every role the table denies (and anonymously): refused, and
    nothing written."""
    methods = [m for m in route.methods if m in WRITE_METHODS]
    if not methods or access.write is None:
        return []
    problems = []
    for org in orgs_of(route):
        url = url_for(route, matrix.world, org)
        for role in ROLES:
            if role in access.write and (org == "own" or role in access.other_ok):
                continue  # allowed writes are the domains' tests
            who = f"{role.value if role else 'anonymous'} × {org} record"
            for method in methods:
                before = counts()
                response = send_write(matrix, role, route, method, org)
                changed = _changed(before)
                if role is None:
                    allowed = {access.anonymous or (401 if route.api else 302)}
                elif org == "other" and role not in access.refused | access.other_ok:
                    allowed = {404}
                else:
                    allowed = {403, 404} | (
                        {422} if route.key in VALIDATED_BEFORE_POLICY else set()
                    )
                if response.status_code not in allowed:
                    problems.append(
                        f"{method.upper()} {url} as {who}: {response.status_code}, "
                        f"expected {' or '.join(map(str, sorted(allowed)))}"
                    )
                if changed:
                    problems.append(f"{method.upper()} {url} as {who}: wrote {changed}")
                for text in leaks(response, matrix.world, role):
                    problems.append(f"{method.upper()} {url} as {who}: the answer shows {text!r}")
    return problems


def _tables() -> list[str]:
    skip = {"django_session", "axes_accessattempt", "axes_accesslog", "axes_accessfailurelog"}
    return sorted(
        {
            model._meta.db_table
            for model in apps.get_models(include_auto_created=True)
            if model._meta.managed and not model._meta.proxy
        }
        - skip
    )


def counts() -> dict[str, int]:
    """The number of rows of every table (sessions and sign-in attempts aside), in one query."""
    tables = _tables()
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(f"(SELECT COUNT(*) FROM {quote(t)})" for t in tables))
        return dict(zip(tables, cursor.fetchone(), strict=True))


def _changed(before: dict[str, int]) -> dict[str, str]:
    after = counts()
    return {table: f"{n} → {after[table]}" for table, n in before.items() if after[table] != n}


_PLAUSIBLE_BODY = {"weight_kg": 70, "height_cm": 170, "measured_on": "2026-01-05"}
# Fields the schema alone does not make acceptable, so that a write reaches the policy.
BODY_CHANGES: dict[str, object] = {
    "/api/v1/patients/{public_id}": lambda side: {"phone": "+1 555 0000", "reason": "Typo"},
    "/api/v1/patients/{public_id}/measurements": lambda side: _PLAUSIBLE_BODY,
    "/api/v1/identity/shipments": lambda side: {"shipper": side.shipper.item_id},
    "/api/v1/manufacturing/batches/{public_id}/rep-counts": lambda side: {"viable_cells": None},
    # The next stage on the main path (a move the table allows, so the role is what is asked).
    "/api/v1/journeys/{public_id}/transitions": lambda side: {
        "to_stage": MAIN_PATH[MAIN_PATH.index(side.journey.stage) + 1].value
    },
}


def form_body(side: Side) -> dict[str, str]:
    """One form body that fills the fields of every page form which would otherwise refuse an
    empty form for its fields before asking the policy (each form reads its own fields)."""
    moment = (timezone.now() - dt.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M")
    return {
        "to_stage": MAIN_PATH[MAIN_PATH.index(side.journey.stage) + 1].value,
        "reason": "Entered in error",
        "void-reason": "Entered in error",
        "capacity": "4",
        "decision": "release",
        "password": TEST_PASSWORD,
        "storage_temperature": STORAGE,
        "volume_ml_1": "100.0",
        "cells_e9_1": "10",
        "formulated_at": moment,
        f"{RELEASE_TEST}-tested_at": moment,
        f"{RELEASE_TEST}-result_text": "No growth",
        "dispatched_at": moment,
        "received_at": moment,
        "at": moment,
    }


# Operations that check the body (beyond its schema) before the policy: a denied role's write
# here may be refused with 422 (still writing nothing).
VALIDATED_BEFORE_POLICY = {
    "/api/v1/identity/shipments",
    "/api/v1/manufacturing/batches/{public_id}/rep-counts",
    "/api/v1/calc/lymphodepletion-lifileucel-us-2024",
    "/api/v1/calc/lymphodepletion-nki-phase3-2022",
}


def send_write(matrix: Matrix, role: Role | None, route: Route, method: str, org: str):
    client, url = matrix.client(route, role), url_for(route, matrix.world, org)
    if not route.api:
        return client.post(url, form_body(matrix.world.side(org)))
    content = _openapi_paths()[route.key][method].get("requestBody", {}).get("content", {})
    if "application/json" not in content and "text/csv" in content:
        return client.post(url, data="recorded_at,temperature_c\n", content_type="text/csv")
    schema = content.get("application/json", {}).get("schema")
    payload = example(schema, _openapi_document()) if schema else {}
    changes = BODY_CHANGES.get(route.key)
    if route.key.startswith(f"{API_ROOT}/calc/"):
        changes = lambda side: {k: v for k, v in _PLAUSIBLE_BODY.items() if k in payload}  # noqa: E731
    if isinstance(payload, dict) and changes is not None:
        payload.update(changes(matrix.world.side(org)))  # type: ignore[operator]
    return getattr(client, method)(url, data=json.dumps(payload), content_type="application/json")


def example(schema: dict, document: dict) -> object:
    """A value the schema accepts (required fields only), so that a write reaches the policy
    instead of stopping at the schema's 422."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return example(document["components"]["schemas"][name], document)
    for key in ("oneOf", "anyOf", "allOf"):
        if key in schema:
            return example(schema[key][0], document)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        return {name: example(properties[name], document) for name in schema.get("required", [])}
    if kind == "array":
        return [example(schema.get("items", {}), document)]
    if kind in ("number", "integer"):
        return max(schema.get("minimum", 1), schema.get("exclusiveMinimum", 0) + 1)
    if kind == "boolean":
        return False
    if schema.get("format") == "date":
        return "2026-01-05"
    if schema.get("format") == "date-time":
        return "2026-01-05T10:00:00+00:00"
    if schema.get("format") == "uuid":
        return "00000000-0000-4000-8000-000000000000"
    return "x" * max(1, schema.get("minLength", 1))


ROUTES = sorted(page_routes() + api_routes(), key=lambda r: (r.api, r.key))


def test_every_route_is_in_the_table_and_its_parameters_resolve(matrix: Matrix, db: None) -> None:
    """Given every URL pattern and API operation, then each has a row in the table and each of
    its path parameters names a record of the world (a new route fails here by name)."""
    problems = []
    for route in ROUTES:
        table = access_table()
        if route.key not in table:
            problems.append(f"{route.key}: not in the access table")
        for org in orgs_of(route):
            try:
                url_for(route, matrix.world, org)
            except UnknownParameter as exc:
                problems.append(str(exc))
    stale = set(PAGES) | set(API)
    stale -= {route.key for route in ROUTES}
    problems += [f"{key}: in the table but no longer a route" for key in sorted(stale)]
    assert problems == []


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.key)
def test_each_role_gets_what_the_table_says(matrix: Matrix, db: None, route: Route) -> None:
    """Given a role of the own organization (or no one signed in) and the route with the own
    and the other organization's record, when they GET it and send its writes they may not
    send, then each answer has the table's status, a refused write writes nothing, and no answer
    to a facility or patient shows an identity they may not see."""
    access = access_for(route)
    for org in orgs_of(route):
        try:
            url_for(route, matrix.world, org)
        except UnknownParameter as exc:
            pytest.fail(str(exc))
    problems = []
    if "get" in route.methods:
        problems += get_problems(matrix, route, access)
    problems += write_problems(matrix, route, access)
    assert problems == [], "\n".join(problems)
