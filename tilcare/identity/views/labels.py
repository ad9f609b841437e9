"""The items of one chain of identity and their labels: print, apply, void, reconcile.

`/identity/coi/<din>/items/` lists the COI's items that the user's organization is a party to
(its center or its facility; 404 otherwise, so a COI's existence does not leak). It reads only
identity records and never touches the patient. What the center's staff typed (an item's
description, a void reason) may name the patient by mistake, so the facility's page and the
labels it prints show the item's kind, number and COI identifier in its place.
Each action POSTs to one service. With htmx the region `#coi-items` is swapped (a refused form
comes back as 200 with its errors); without, the browser is redirected back (post/redirect/get).
Printing answers with an `HX-Trigger` ("label-printed") carrying the PDF's address, which
js/labels.js opens so the file downloads; each printed copy's PDF and PNG are also linked.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.db.models import Prefetch, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import trigger_client_event

from tilcare.accounts.models import User
from tilcare.core.errors import InvalidInput
from tilcare.core.forms import DateTimeInput, apply_service_errors
from tilcare.core.http import get_visible_or_404
from tilcare.core.policy import require
from tilcare.identity import labels, policies, selectors
from tilcare.identity.choices import ItemKind, LabelStatus
from tilcare.identity.models import Item, Label
from tilcare.identity.services import items as services

REGION = "identity/partials/_coi_items.html"


class ItemForm(forms.Form):
    kind = forms.ChoiceField(choices=[("", "Choose the kind of item"), *ItemKind.choices])
    description = forms.CharField(max_length=services.DESCRIPTION_MAX)
    expires_at = forms.DateTimeField(
        label="Expiry", required=False, widget=DateTimeInput(), help_text="Date and local time."
    )
    storage_temperature = forms.CharField(
        max_length=services.STORAGE_MAX,
        required=False,
        help_text=services.STORAGE_HELP,
        widget=forms.TextInput(attrs={"list": "storage-examples"}),
    )


class VoidForm(forms.Form):
    reason = forms.CharField(label="Why is this label voided?", max_length=services.VOID_REASON_MAX)


@dataclass(frozen=True)
class LabelRow:
    label: Label
    void_form: VoidForm | None
    void_open: bool
    show_reason: bool


@dataclass(frozen=True)
class ItemRow:
    item: Item
    labels: list[LabelRow]
    printed: int
    applied: int
    voided: int
    outstanding: int
    can_act: bool
    # The description and storage temperature as this user may read them: what the center typed
    # is left out for the facility (the page then says what the item is from its kind, number
    # and COI, and shows the storage temperature without its note).
    description: str
    storage: str
    # When the item was made (its creation may have been entered later than that).
    added_at: dt.datetime

    @property
    def is_product(self) -> bool:
        return self.item.kind in labels.AUTOLOGOUS_KINDS


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _time_zone(user: User) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(user.organization.time_zone if user.organization else "UTC")


def _items_of(user: User, din: str) -> list[Item]:
    labels_query = Label.objects.select_related("printed_by", "applied_by", "voided_by")
    items = list(
        selectors.items_visible_to(user)
        .filter(coi_din=din.upper())
        .select_related("center", "facility", "created_by")
        .prefetch_related(Prefetch("labels", queryset=labels_query))
    )
    if not items:
        raise Http404("Not found")
    return items


def _rows(user: User, items: list[Item], void_form: tuple[int, VoidForm] | None) -> list[ItemRow]:
    rows = []
    made = selectors.items_created_at(items)
    for item in items:
        copies = list(item.labels.all())
        statuses = [label.status for label in copies]
        can_act = policies.can_print_label(user, item)
        typed = policies.can_view_item_text(user, item)
        label_rows = []
        for label in copies:
            form: VoidForm | None = None
            opened = False
            if can_act and label.status != LabelStatus.VOIDED:
                opened = void_form is not None and void_form[0] == label.pk
                form = void_form[1] if void_form and opened else VoidForm(prefix=f"void-{label.pk}")
            shown = services.void_reason_visible(user, label)
            label_rows.append(LabelRow(label, form, opened, shown))
        rows.append(
            ItemRow(
                item=item,
                labels=label_rows,
                printed=len(copies),
                applied=statuses.count(LabelStatus.APPLIED),
                voided=statuses.count(LabelStatus.VOIDED),
                outstanding=statuses.count(LabelStatus.PRINTED),
                can_act=can_act,
                description=item.description if typed else "",
                storage=(
                    item.storage_temperature
                    if typed
                    else services.storage_temperature_alone(item.storage_temperature)
                ),
                added_at=made.get(item.pk, item.created_at),
            )
        )
    return rows


def _parties(items: list[Item]) -> Item:
    """The item whose center, facility and attempt a new item of this COI takes: the newest."""
    return max(items, key=lambda i: (i.created_at, i.pk))


def _context(
    request: HttpRequest,
    din: str,
    *,
    item_form: ItemForm | None = None,
    void_form: tuple[int, VoidForm] | None = None,
    notice: str = "",
    notice_level: str = "success",
) -> dict[str, Any]:
    user = _user(request)
    items = _items_of(user, din)
    newest = _parties(items)
    can_add = policies.can_create_item(user, newest.center_id, newest.facility_id)
    rows = _rows(user, items, void_form)
    first = items[0]
    return {
        "page_title": f"Items and labels · {first.coi_display}",
        "coi_din": first.coi_din,
        "coi_item": first,
        "coi_spaced": first.coi_spaced,
        "coi_check": first.coi_check,
        "center": newest.center,
        "facility": newest.facility,
        "rows": rows,
        "outstanding": sum(r.outstanding for r in rows),
        "item_form": (item_form or ItemForm(prefix="item")) if can_add else None,
        "item_form_open": item_form is not None and bool(item_form.errors),
        "storage_examples": services.STORAGE_EXAMPLES,
        "time_zone": str(_time_zone(user)),
        "notice": notice,
        "notice_level": notice_level,
    }


def _respond(request: HttpRequest, din: str, status: int = 200, **kwargs: Any) -> HttpResponse:
    """The swapped region for htmx, the whole page otherwise."""
    with timezone.override(_time_zone(_user(request))):
        context = _context(request, din, **kwargs)
        template = REGION if getattr(request, "htmx", False) else "identity/items.html"
        return render(request, template, context, status=status)


def _back(request: HttpRequest, din: str, notice: str, anchor: str = "") -> HttpResponse:
    if getattr(request, "htmx", False):
        return _respond(request, din, notice=notice)
    messages.success(request, notice)
    url = reverse("identity:coi-items", kwargs={"din": din})
    return redirect(f"{url}#{anchor}" if anchor else url)


def _visible_labels(user: User) -> QuerySet[Label]:
    return Label.objects.filter(item__in=selectors.items_visible_to(user)).select_related(
        "item", "item__center", "item__created_by"
    )


# --- views ------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def coi_items(request: HttpRequest, din: str) -> HttpResponse:
    """GET: the page. POST (prefix "item"): kind, description, expires_at, storage_temperature."""
    if request.method == "GET":
        return _respond(request, din)
    user = _user(request)
    newest = _parties(_items_of(user, din))
    require(
        policies.can_create_item(user, newest.center_id, newest.facility_id),
        "You may not add items to this chain of identity.",
    )
    with timezone.override(_time_zone(user)):
        form = ItemForm(request.POST, prefix="item")
        valid = form.is_valid()
    if valid:
        try:
            item = services.create_item(
                coi_din=newest.coi_din,
                coi_check=newest.coi_check,
                center=newest.center,
                facility=newest.facility,
                manufacture_attempt=newest.manufacture_attempt,
                actor=user,
                **form.cleaned_data,
            )
        except InvalidInput as exc:
            apply_service_errors(form, exc)
        else:
            return _back(request, newest.coi_din, f"Added {item.item_id}.", f"item-{item.pk}")
    return _respond(request, newest.coi_din, item_form=form)


@require_POST
def label_print(request: HttpRequest, public_id: Any) -> HttpResponse:
    user = _user(request)
    item: Item = get_visible_or_404(selectors.items_visible_to(user), public_id)
    label = services.print_label(item, actor=user)
    printed = f"Label copy {label.copy_number} of {item.item_id} printed"
    if not getattr(request, "htmx", False):
        return _back(
            request, item.coi_din, f"{printed}: download its PDF below.", f"item-{item.pk}"
        )
    pdf = reverse("identity:label-pdf", kwargs={"public_id": label.public_id})
    response = _respond(request, item.coi_din, notice=f"{printed}: its PDF is downloading.")
    trigger_client_event(response, "label-printed", {"url": pdf})
    return response


@require_POST
def label_apply(request: HttpRequest, public_id: Any) -> HttpResponse:
    user = _user(request)
    label: Label = get_visible_or_404(_visible_labels(user), public_id)
    try:
        services.apply_label(label, actor=user)
    except InvalidInput as exc:
        notice = " ".join(m for msgs in exc.errors.values() for m in msgs)
        if getattr(request, "htmx", False):
            return _respond(request, label.item.coi_din, notice=notice, notice_level="error")
        messages.error(request, notice)
        return redirect(reverse("identity:coi-items", kwargs={"din": label.item.coi_din}))
    item_id = label.item.item_id
    return _back(
        request, label.item.coi_din, f"Label copy {label.copy_number} of {item_id} applied."
    )


@require_POST
def label_void(request: HttpRequest, public_id: Any) -> HttpResponse:
    """POST (prefix "void-<label pk>"): reason."""
    user = _user(request)
    label: Label = get_visible_or_404(_visible_labels(user), public_id)
    require(policies.can_print_label(user, label.item), "You may not handle this item's labels.")
    form = VoidForm(request.POST, prefix=f"void-{label.pk}")
    if form.is_valid():
        try:
            services.void_label(label, actor=user, reason=form.cleaned_data["reason"])
        except InvalidInput as exc:
            apply_service_errors(form, exc)
        else:
            notice = f"Label copy {label.copy_number} of {label.item.item_id} voided."
            return _back(request, label.item.coi_din, notice)
    return _respond(request, label.item.coi_din, void_form=(label.pk, form))


def file_refusal(label: Label) -> str:
    """Why the label's file is not served ("" when it is). Only a printed copy that is neither
    applied nor voided has a file: another print of an applied or voided copy would become a
    label nobody accounts for."""
    if label.status == LabelStatus.PRINTED:
        return ""
    return (
        f"Label copy {label.copy_number} of {label.item.item_id} is "
        f"{label.get_status_display().lower()}: print a new copy instead."
    )


def label_file_response(label: Label, fmt: str, *, user: User) -> HttpResponse:
    """The label's PDF (as a download) or PNG (shown); the caller checked `file_refusal`.
    Fetching the file is printing it, so it takes the permission to print labels."""
    require(policies.can_print_label(user, label.item), "You may not print this item's labels.")
    name = f"{label.item.item_id}-label-{label.copy_number}.{fmt}"
    shown = policies.can_view_item_text(user, label.item)
    if fmt == "pdf":
        response = HttpResponse(
            labels.label_pdf(label.item, copy=label.copy_number, with_typed_text=shown)
        )
        response["Content-Type"] = "application/pdf"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
    else:
        response = HttpResponse(
            labels.label_png(label.item, copy=label.copy_number, with_typed_text=shown)
        )
        response["Content-Type"] = "image/png"
        response["Content-Disposition"] = f'inline; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def label_file(request: HttpRequest, public_id: Any, fmt: str) -> HttpResponse:
    user = _user(request)
    label: Label = get_visible_or_404(_visible_labels(user), public_id)
    refusal = file_refusal(label)
    if refusal:
        messages.error(request, refusal)
        return redirect(reverse("identity:coi-items", kwargs={"din": label.item.coi_din}))
    return label_file_response(label, fmt, user=user)


urlpatterns: list[URLPattern] = [
    path("coi/<str:din>/items/", coi_items, name="coi-items"),
    path("items/<uuid:public_id>/labels/", label_print, name="label-print"),
    path("labels/<uuid:public_id>/apply/", label_apply, name="label-apply"),
    path("labels/<uuid:public_id>/void/", label_void, name="label-void"),
    path("labels/<uuid:public_id>/label.pdf", label_file, {"fmt": "pdf"}, name="label-pdf"),
    path("labels/<uuid:public_id>/label.png", label_file, {"fmt": "png"}, name="label-png"),
]
