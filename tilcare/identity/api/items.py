"""Items and their labels over the API: list and create items, print a label copy (and fetch
its PDF or PNG), mark it applied, void it.

Everything here is an identity record: answers carry the COI identifier, never the patient. A
void reason and an item's description are text a person typed, so they are null for callers
outside the organization that typed them unless they may see patient identity (a facility never
reads what the center typed; the kind, number and COI identifier say what the item is). An item
or label outside the caller's organizations answers 404.
"""

import uuid
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import paginate
from pydantic import ConfigDict

from tilcare.accounts.choices import OrganizationKind
from tilcare.accounts.models import Organization
from tilcare.clinical.checkdigits import IdentifierError, parse_din_with_check
from tilcare.core.api_support import (
    ApiPagination,
    AwareDateTime,
    InputSchema,
    MappedQuerySet,
    UtcDateTime,
    caller,
    checked_range,
)
from tilcare.core.errors import InvalidInput, NotVisible
from tilcare.core.http import get_visible_or_404
from tilcare.identity import policies
from tilcare.identity.choices import (
    MANUFACTURE_ATTEMPT_MAX,
    MANUFACTURE_ATTEMPT_MIN,
    ItemKind,
    LabelStatus,
)
from tilcare.identity.models import Item, Label
from tilcare.identity.selectors import items_visible_to
from tilcare.identity.services import items as services
from tilcare.identity.views.labels import file_refusal, label_file_response

router = Router()


class LabelOut(Schema):
    public_id: str
    item: str = Field(..., description="The item's public id")
    item_id: str
    copy_number: int
    status: str
    status_label: str
    printed_at: UtcDateTime
    printed_by: str
    applied_at: UtcDateTime | None
    applied_by: str | None
    voided_at: UtcDateTime | None
    voided_by: str | None
    void_reason: str | None = Field(
        ..., description="Null unless your organization voided it or you see patient identity"
    )
    pdf_url: str | None = Field(
        ..., description="While the copy is printed and not yet used, for those who print labels"
    )
    png_url: str | None


class ItemOut(Schema):
    public_id: str
    item_id: str
    coi_din: str
    coi_check: str
    coi_display: str
    kind: str
    kind_label: str
    number: int
    manufacture_attempt: int
    center: str
    facility: str | None
    description: str | None = Field(
        ...,
        description="Null unless your organization described the item or you see patient "
        "identity (a facility never reads what the center typed)",
    )
    released_at: UtcDateTime | None
    expires_at: UtcDateTime | None
    storage_temperature: str = Field(
        ...,
        description="Without the note typed after the temperature unless your organization made "
        "the item or you see patient identity",
    )
    created_at: UtcDateTime
    created_by: str
    labels_printed: int
    labels_applied: int
    labels_voided: int
    labels_outstanding: int = Field(..., description="Printed copies neither applied nor voided")
    labels: list[LabelOut]


class ItemIn(InputSchema):
    model_config = ConfigDict(extra="forbid", use_enum_values=True)

    coi_din: str = Field(..., description="ISBT 128 DIN, 13 characters", examples=["W123426000017"])
    coi_check: str = Field(..., description="Its ISO 7064 Mod 37-2 check character")
    kind: ItemKind
    description: str
    expires_at: AwareDateTime | None = None
    storage_temperature: str = Field("", description=services.STORAGE_HELP)
    manufacture_attempt: int | None = Field(
        None,
        json_schema_extra=checked_range(MANUFACTURE_ATTEMPT_MIN, MANUFACTURE_ATTEMPT_MAX),
        description="Defaults to the attempt of the COI's newest item (1 for the first)",
    )
    facility: uuid.UUID | None = Field(
        None, description="The manufacturing facility's public id; only for a COI's first item"
    )


class VoidIn(InputSchema):
    model_config = ConfigDict(extra="forbid")

    reason: str


def _name(user: Any) -> str | None:
    return user.printed_name if user is not None else None


def label_out(label: Label, user: Any) -> LabelOut:
    usable = label.status == LabelStatus.PRINTED and policies.can_print_label(user, label.item)
    base = f"/api/v1/identity/labels/{label.public_id}"
    return LabelOut(
        public_id=str(label.public_id),
        item=str(label.item.public_id),
        item_id=label.item.item_id,
        copy_number=label.copy_number,
        status=label.status,
        status_label=label.get_status_display(),
        printed_at=label.printed_at,
        printed_by=label.printed_by.printed_name,
        applied_at=label.applied_at,
        applied_by=_name(label.applied_by),
        voided_at=label.voided_at,
        voided_by=_name(label.voided_by),
        void_reason=label.void_reason if services.void_reason_visible(user, label) else None,
        pdf_url=f"{base}.pdf" if usable else None,
        png_url=f"{base}.png" if usable else None,
    )


def item_out(item: Item, user: Any) -> ItemOut:
    copies = list(item.labels.all())
    typed = policies.can_view_item_text(user, item)
    statuses = [c.status for c in copies]
    return ItemOut(
        public_id=str(item.public_id),
        item_id=item.item_id,
        coi_din=item.coi_din,
        coi_check=item.coi_check,
        coi_display=item.coi_display,
        kind=item.kind,
        kind_label=item.get_kind_display(),
        number=item.number,
        manufacture_attempt=item.manufacture_attempt,
        center=item.center.name,
        facility=item.facility.name if item.facility else None,
        description=item.description if typed else None,
        released_at=item.released_at,
        expires_at=item.expires_at,
        storage_temperature=(
            item.storage_temperature
            if typed
            else services.storage_temperature_alone(item.storage_temperature)
        ),
        created_at=item.created_at,
        created_by=item.created_by.printed_name,
        labels_printed=len(copies),
        labels_applied=statuses.count(LabelStatus.APPLIED),
        labels_voided=statuses.count(LabelStatus.VOIDED),
        labels_outstanding=statuses.count(LabelStatus.PRINTED),
        labels=[label_out(c, user) for c in copies],
    )


def _items(user: Any) -> QuerySet[Item]:
    copies = Label.objects.select_related(
        "item", "item__created_by", "printed_by", "applied_by", "voided_by"
    )
    return (
        items_visible_to(user)
        .select_related("center", "facility", "created_by")
        .prefetch_related(Prefetch("labels", queryset=copies))
    )


def _labels(user: Any) -> QuerySet[Label]:
    return Label.objects.filter(item__in=items_visible_to(user)).select_related(
        "item", "item__center", "item__created_by", "printed_by", "applied_by", "voided_by"
    )


def _din(text: str) -> str:
    """A COI typed with or without its check character (which, when given, must match)."""
    compact = text.strip().upper().replace(" ", "").lstrip("=")
    if len(compact) == 13:
        return compact
    try:
        return parse_din_with_check(compact)
    except IdentifierError as exc:
        raise InvalidInput({"coi": [str(exc)]}) from exc


@router.get("/identity/items", response=list[ItemOut], summary="Items and their labels")
@paginate(ApiPagination)
def list_items(request: HttpRequest, coi: str | None = None) -> MappedQuerySet[Item, ItemOut]:
    """Items your organization is a party to, optionally of one COI (`coi`: 13 characters, or
    14 with the check character)."""
    user = caller(request)
    items = _items(user)
    if coi:
        items = items.filter(coi_din=_din(coi))
    return MappedQuerySet(items.order_by("coi_din", "kind", "number"), lambda i: item_out(i, user))


def _or_default(attempt: int | None, default: int) -> int:
    """The attempt sent, else the default; 0 sent is refused by the service, not replaced."""
    return default if attempt is None else attempt


def _facility(public_id: uuid.UUID | None) -> Organization | None:
    if public_id is None:
        return None
    facility = Organization.objects.filter(
        public_id=public_id, kind=OrganizationKind.FACILITY
    ).first()
    if facility is None:
        raise InvalidInput({"facility": ["No manufacturing facility has this id."]})
    return facility


@router.post("/identity/items", response={201: ItemOut}, summary="Create an item of a COI")
def create_item(request: HttpRequest, payload: ItemIn) -> Status[ItemOut]:
    """The COI's first item is created by its center (for the facility given); later items take
    the center and facility of the COI's newest item."""
    user = caller(request)
    din = payload.coi_din.strip().upper().replace(" ", "")
    newest = items_visible_to(user).filter(coi_din=din).order_by("-created_at", "-id").first()
    if newest is not None:
        center, facility = newest.center, newest.facility
        if payload.facility is not None and (
            facility is None or facility.public_id != payload.facility
        ):
            raise InvalidInput(
                {"facility": ["The facility is set by the COI's first item; leave it out."]}
            )
        attempt = _or_default(payload.manufacture_attempt, newest.manufacture_attempt)
    elif user.organization is not None and user.organization.is_center:
        center, facility = user.organization, _facility(payload.facility)
        attempt = _or_default(payload.manufacture_attempt, 1)
    else:
        raise NotVisible()
    item = services.create_item(
        coi_din=din,
        coi_check=payload.coi_check,
        kind=payload.kind,
        center=center,
        facility=facility,
        description=payload.description,
        actor=user,
        manufacture_attempt=attempt,
        expires_at=payload.expires_at,
        storage_temperature=payload.storage_temperature,
    )
    return Status(201, item_out(get_visible_or_404(_items(user), item.public_id), user))


@router.get("/identity/items/{public_id}", response=ItemOut, summary="One item and its labels")
def get_item(request: HttpRequest, public_id: str) -> ItemOut:
    user = caller(request)
    return item_out(get_visible_or_404(_items(user), public_id), user)


@router.post(
    "/identity/items/{public_id}/labels",
    response={201: LabelOut},
    summary="Print a label copy (then fetch its .pdf or .png)",
)
def print_label(request: HttpRequest, public_id: str) -> Status[LabelOut]:
    user = caller(request)
    item: Item = get_visible_or_404(items_visible_to(user), public_id)
    label = services.print_label(item, actor=user)
    return Status(201, _label_answer(user, label))


def _label_answer(user: Any, label: Label) -> LabelOut:
    # Read again through what the caller may see: the answer carries the item's typed text
    # only for those who may read it.
    return label_out(get_visible_or_404(_labels(user), label.public_id), user)


def _file(request: HttpRequest, public_id: uuid.UUID, fmt: str) -> HttpResponse:
    user = caller(request)
    label: Label = get_visible_or_404(_labels(user), public_id)
    refusal = file_refusal(label)
    if refusal:
        raise HttpError(409, refusal)
    return label_file_response(label, fmt, user=user)


@router.get(
    "/identity/labels/{uuid:public_id}.pdf",
    response={200: None},
    summary="A printed copy's label as PDF (4 × 2 in)",
)
def label_pdf(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    return _file(request, public_id, "pdf")


@router.get(
    "/identity/labels/{uuid:public_id}.png",
    response={200: None},
    summary="A printed copy's label as PNG (300 dpi)",
)
def label_png(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    return _file(request, public_id, "png")


@router.post(
    "/identity/labels/{public_id}/apply", response=LabelOut, summary="Mark a label copy applied"
)
def apply_label(request: HttpRequest, public_id: str) -> LabelOut:
    user = caller(request)
    label = services.apply_label(get_visible_or_404(_labels(user), public_id), actor=user)
    return _label_answer(user, label)


@router.post(
    "/identity/labels/{public_id}/void", response=LabelOut, summary="Void a label copy, with why"
)
def void_label(request: HttpRequest, public_id: str, payload: VoidIn) -> LabelOut:
    user = caller(request)
    label = get_visible_or_404(_labels(user), public_id)
    label = services.void_label(label, actor=user, reason=payload.reason)
    return _label_answer(user, label)
