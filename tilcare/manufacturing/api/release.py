"""Release steps of the batch record over the API: the same policies and services as the page.

    GET  /manufacturing/batches/{id}/release        the release checklist (bags, tests, disposition)
    POST /manufacturing/batches/{id}/formulation    the bags: volume_ml and viable_cells (201)
    POST /manufacturing/batches/{id}/release-tests  one result (201); instruments post theirs
                                                    with a bearer token of a facility user
    GET  /manufacturing/batches/{id}/coa.pdf        the certificate of analysis, once QA decided

QA's disposition and the physician's acknowledgement are signed through the journey layer
(`tilcare.journey.api.release`: POST .../disposition and .../acknowledgement), which records what
follows for the journey in the same transaction. Answers carry the COI identifier and the process,
never the patient. 404 for a batch the caller cannot see; 403 for a role that may not act; 422
with the field and its message for a refused value (a test with no specification says so).

(No `from __future__ import annotations` in this module: ninja reads the operations' parameter
annotations as objects when the routes are built.)
"""

from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError

from tilcare.core.api_support import (
    AwareDateTime,
    DecimalText,
    InputSchema,
    UtcDateTime,
    caller,
    checked_range,
)
from tilcare.core.http import get_visible_or_404
from tilcare.core.policy import require
from tilcare.manufacturing import coa, policies
from tilcare.manufacturing.models import Batch
from tilcare.manufacturing.selectors.batches import batches_visible_to
from tilcare.manufacturing.services import formulation
from tilcare.manufacturing.services import release as release_services
from tilcare.manufacturing.services.formulation import (
    BAG_CELLS_MAX,
    LIMIT_MAX,
    MAX_BAGS,
    VOLUME_ML_MAX,
)

router = Router(tags=["manufacturing"])


class BagIn(InputSchema):
    volume_ml: Decimal = Field(
        json_schema_extra=checked_range(0, VOLUME_ML_MAX, above_minimum=True),
        description="Volume in mL, at most 1,000 and 1 decimal.",
    )
    viable_cells: Decimal = Field(
        json_schema_extra=checked_range(0, BAG_CELLS_MAX, above_minimum=True),
        description="Viable cells in the bag, in cells (not ×10⁹), at most 10¹².",
    )


class FormulationIn(InputSchema):
    bags: list[BagIn] = Field(min_length=1, max_length=MAX_BAGS)
    storage_temperature: str = Field(description="e.g. “≤ −150 °C”; required, no default.")
    formulated_at: AwareDateTime | None = None


class ReleaseTestIn(InputSchema):
    test: str
    tested_at: AwareDateTime
    result_value: Decimal | None = Field(None, json_schema_extra=checked_range(0, LIMIT_MAX))
    unit: str = ""
    result_text: str = ""


class BagOut(Schema):
    bag_number: int
    item_id: str
    volume_ml: DecimalText
    viable_cells: DecimalText
    storage_temperature: str
    expires_at: UtcDateTime | None
    released_at: UtcDateTime | None


class TestOut(Schema):
    test: str
    label: str
    specification: str
    result: str
    passed: bool | None
    tested_at: UtcDateTime | None


class SignatureOut(Schema):
    printed_name: str
    meaning: str
    signed_at: UtcDateTime
    valid: bool


class DispositionOut(Schema):
    decision: str
    reason: str
    decided_at: UtcDateTime
    qa_signature: SignatureOut | None
    physician_acknowledgement: SignatureOut | None


class ReleaseOut(Schema):
    batch_id: str
    coi_din: str
    coi_check: str
    manufacture_attempt: int
    protocol_id: str
    protocol_version: str
    status: str
    released: bool
    awaiting_physician_acknowledgement: bool
    bags: list[BagOut]
    total_viable_cells: DecimalText | None
    tests: list[TestOut]
    missing_tests: list[str]
    disposition: DispositionOut | None
    coa_url: str | None


def _signature(line: coa.SignatureLine | None) -> SignatureOut | None:
    if line is None:
        return None
    return SignatureOut(
        printed_name=line.printed_name,
        meaning=line.meaning,
        signed_at=line.signed_at,
        valid=line.valid,
    )


def release_out(batch: Batch) -> ReleaseOut:
    """The release checklist of `batch` as the API answers it (read again from the database)."""
    s = coa.release_summary(Batch.objects.select_related("facility", "center").get(pk=batch.pk))
    d = s.disposition
    return ReleaseOut(
        batch_id=str(s.batch.public_id),
        coi_din=s.batch.coi_din,
        coi_check=s.batch.coi_check,
        manufacture_attempt=s.batch.manufacture_attempt,
        protocol_id=s.batch.protocol_id,
        protocol_version=s.batch.protocol_version,
        status=s.batch.status,
        released=s.released,
        awaiting_physician_acknowledgement=s.awaiting_acknowledgement,
        bags=[
            BagOut(
                bag_number=r.bag.bag_number,
                item_id=r.bag.item_id,
                volume_ml=r.bag.volume_ml,
                viable_cells=r.bag.viable_cells,
                storage_temperature=r.storage,
                expires_at=r.expires_at,
                released_at=r.released_at,
            )
            for r in s.bags
        ],
        total_viable_cells=s.total_cells,
        tests=[
            TestOut(
                test=r.kind.value,
                label=r.label,
                specification=r.specification,
                result=r.result,
                passed=r.passed,
                tested_at=r.tested_at,
            )
            for r in s.tests
        ],
        missing_tests=s.missing,
        disposition=DispositionOut(
            decision=d.decision,
            reason=d.reason,
            decided_at=d.decided_at,
            qa_signature=_signature(s.qa_signature),
            physician_acknowledgement=_signature(s.physician_signature),
        )
        if d
        else None,
        coa_url=f"/api/v1/manufacturing/batches/{s.batch.public_id}/coa.pdf" if d else None,
    )


def batch_for(request: HttpRequest, public_id: Any) -> tuple[Any, Batch]:
    user = caller(request)
    batch: Batch = get_visible_or_404(batches_visible_to(user), public_id)
    require(policies.can_view_release(user, batch), "You may not see this batch's release.")
    return user, batch


@router.get(
    "/manufacturing/batches/{public_id}/release",
    response=ReleaseOut,
    summary="A batch's release checklist: bags, tests against specification, disposition",
)
def get_release(request: HttpRequest, public_id: str) -> ReleaseOut:
    _user, batch = batch_for(request, public_id)
    return release_out(batch)


@router.post(
    "/manufacturing/batches/{public_id}/formulation",
    response={201: ReleaseOut},
    summary="Record the formulation: bags with volume and viable cells (the technologist)",
)
def post_formulation(request: HttpRequest, public_id: str, payload: FormulationIn) -> Status[Any]:
    user, batch = batch_for(request, public_id)
    formulation.record_formulation(
        batch,
        bags=[(bag.volume_ml, bag.viable_cells) for bag in payload.bags],
        storage_temperature=payload.storage_temperature,
        formulated_at=payload.formulated_at,
        actor=user,
    )
    return Status(201, release_out(batch))


@router.post(
    "/manufacturing/batches/{public_id}/release-tests",
    response={201: ReleaseOut},
    summary="Record one release test result, judged against the specification",
)
def post_release_test(request: HttpRequest, public_id: str, payload: ReleaseTestIn) -> Status[Any]:
    user, batch = batch_for(request, public_id)
    release_services.record_release_test(
        batch,
        test=payload.test,
        tested_at=payload.tested_at,
        result_value=payload.result_value,
        unit=payload.unit,
        result_text=payload.result_text,
        actor=user,
    )
    return Status(201, release_out(batch))


@router.get(
    "/manufacturing/batches/{public_id}/coa.pdf",
    summary="The certificate of analysis (PDF), once QA has decided",
    response={200: None},
)
def get_coa(request: HttpRequest, public_id: str) -> HttpResponse:
    user, batch = batch_for(request, public_id)
    require(policies.can_download_coa(user, batch), "You may not download this CoA.")
    if not hasattr(batch, "disposition"):
        raise HttpError(409, "The certificate of analysis is issued after QA's disposition.")
    response = HttpResponse(coa.coa_pdf(batch), content_type="application/pdf")
    name = f"CoA-{batch.coi_din}-attempt-{batch.manufacture_attempt}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
