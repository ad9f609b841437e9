"""Shipments pages: the list for the user's organization, one shipment with its temperature chart,
CSV upload, dispatch and receipt, and a form to plan a shipment.

Each POST calls exactly one service. On success the browser goes back to the shipment page with
a message (post/redirect/get); refused input re-renders the page with the form's errors (a CSV's
with each line named); a blocked step goes back with its reason at the top. Times are shown and
read in the user's organization's time zone. No page here reads the patient: a shipment carries
COI and item identifiers only.
"""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from dataclasses import dataclass
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tilcare.accounts.models import Organization, User
from tilcare.accounts.roles import Perm
from tilcare.clinical.custody.temperature import whole_minutes_up
from tilcare.core.errors import InvalidInput, TransitionBlocked
from tilcare.core.forms import DateTimeInput, DecimalField, IntegerField, apply_service_errors
from tilcare.core.http import accepts_upload, get_visible_or_404
from tilcare.core.policy import require
from tilcare.core.timeutil import local_minute
from tilcare.identity import policies
from tilcare.identity.choices import ItemKind, ShipmentStatus, ShipperType
from tilcare.identity.models import Item, Shipment
from tilcare.identity.selectors import (
    FLAG_LABELS,
    assess_readings,
    flags_of,
    items_visible_to,
    shipments_visible_to,
)
from tilcare.identity.services import shipments as services
from tilcare.identity.temperature_csv import HEADER_TEXT

STATUS_FILTERS = (("", "All"), *ShipmentStatus.choices, ("late", "Late"))

# --- forms ------------------------------------------------------------------------------------


class CsvUploadForm(forms.Form):
    file = forms.FileField(
        label="Temperature log (CSV)",
        help_text=(
            f"First line exactly {HEADER_TEXT}; each time in ISO 8601 with its UTC offset "
            "(2026-01-05T10:00:00+00:00); temperatures in °C with at most one decimal."
        ),
    )


class DispatchForm(forms.Form):
    at = forms.DateTimeField(label="Handed to the courier at", widget=DateTimeInput())


class ReceiveForm(forms.Form):
    at = forms.DateTimeField(label="Received at", widget=DateTimeInput())
    max_logging_interval_minutes = IntegerField(
        label="Logger interval (minutes)",
        required=False,
        min_value=1,
        max_value=services.LOGGING_INTERVAL_MAX_MINUTES,
        help_text="From the data logger's settings; longer gaps in the log are reported to QA.",
    )


class ShipmentForm(forms.Form):
    shipper_item = forms.ModelChoiceField(queryset=Item.objects.none(), label="Shipper")
    items = forms.ModelMultipleChoiceField(
        queryset=Item.objects.none(), label="Items carried", widget=forms.CheckboxSelectMultiple
    )
    destination = forms.ModelChoiceField(queryset=Organization.objects.none())
    shipper_type = forms.ChoiceField(choices=ShipperType.choices)
    expected_hold_hours = DecimalField(
        label="Expected hold time (hours)", max_digits=4, decimal_places=1, help_text="1–720 h"
    )
    range_min_c = DecimalField(label="Range minimum (°C)", max_digits=4, decimal_places=1)
    range_max_c = DecimalField(
        label="Range maximum (°C)",
        max_digits=4,
        decimal_places=1,
        help_text="The validated range for these items; both limits count as inside.",
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        visible = items_visible_to(user)
        busy = Q(shipments__status__in=[ShipmentStatus.PLANNED, ShipmentStatus.IN_TRANSIT])
        shippers = visible.filter(kind=ItemKind.SHIPPER).exclude(busy).distinct()
        self.fields["shipper_item"].queryset = shippers  # type: ignore[attr-defined]
        self.fields["items"].queryset = visible.exclude(kind=ItemKind.SHIPPER)  # type: ignore[attr-defined]
        parties = set(visible.values_list("center_id", flat=True)) | set(
            visible.exclude(facility=None).values_list("facility_id", flat=True)
        )
        parties.discard(user.organization_id)
        self.fields["destination"].queryset = Organization.objects.filter(pk__in=parties)  # type: ignore[attr-defined]


# --- helpers ----------------------------------------------------------------------------------


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _zone(user: User) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(user.organization.time_zone if user.organization else "UTC")


def _shipments(user: User) -> QuerySet[Shipment]:
    require(user.has_perm_code(Perm.VIEW_CUSTODY), "You may not see shipments.")
    return shipments_visible_to(user).select_related("shipper", "origin", "destination")


def _shipment(request: HttpRequest, public_id: Any) -> Shipment:
    return get_visible_or_404(_shipments(_user(request)), public_id)


def _detail_url(shipment: Shipment, anchor: str = "") -> str:
    url = reverse("identity:shipment-detail", kwargs={"public_id": shipment.public_id})
    return f"{url}#{anchor}" if anchor else url


@dataclass(frozen=True)
class Row:
    shipment: Shipment
    flags: list[str]
    readings: int

    @property
    def coi_din(self) -> str:
        return self.shipment.coi_din

    @property
    def coi_check(self) -> str:
        # A shipment keeps only the DIN; its shipper item carries the check character.
        return self.shipment.shipper.coi_check

    @property
    def flag_labels(self) -> list[tuple[str, str]]:
        return [(flag, FLAG_LABELS[flag]) for flag in self.flags]


def _chart(shipment: Shipment, tz: str) -> dict[str, Any] | None:
    rows = list(
        shipment.readings.order_by("recorded_at").values_list("recorded_at", "temperature_c")
    )
    if not rows:
        return None
    low, high = shipment.range_min_c, shipment.range_max_c
    return {
        "x": [int(at.timestamp()) for at, _ in rows],
        "temperature": [str(value) for _, value in rows],
        "outside": [str(v) if not low <= v <= high else None for _, v in rows],
        "range_min": str(low),
        "range_max": str(high),
        "time_zone": tz,
    }


# --- pages ------------------------------------------------------------------------------------


@require_GET
def shipment_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    now = timezone.now()
    shipments = _shipments(user).annotate(readings_count=Count("readings"))
    status = request.GET.get("status", "")
    if status == "late":
        shipments = shipments.filter(status=ShipmentStatus.IN_TRANSIT, expected_at__lt=now)
    elif status in ShipmentStatus.values:
        shipments = shipments.filter(status=status)
    else:
        status = ""
    rows = [Row(s, flags_of(s, now), s.readings_count) for s in shipments.order_by("-created_at")]
    with timezone.override(_zone(user)):
        return render(
            request,
            "identity/shipments.html",
            {
                "page_title": "Shipments",
                "rows": rows,
                "status": status,
                "filters": STATUS_FILTERS,
                "can_create": user.has_perm_code(Perm.MANAGE_SHIPMENT),
                "time_zone": _zone(user).key,
            },
        )


def _render_detail(request: HttpRequest, shipment: Shipment, **bound: forms.Form) -> HttpResponse:
    """The shipment page; `bound` carries a refused form (csv_form, dispatch_form, receive_form)
    so its errors show where they were typed."""
    user = _user(request)
    zone = _zone(user)
    sends = policies.can_manage_shipment(user, shipment.origin_id, None)
    receives = policies.can_manage_shipment(user, shipment.destination_id, None)
    planned = shipment.status == ShipmentStatus.PLANNED
    in_transit = shipment.status == ShipmentStatus.IN_TRANSIT
    # After receipt, the log is read as it was assessed then: with the logger's interval given.
    interval = shipment.max_logging_interval_minutes
    assessment = assess_readings(
        shipment,
        max_logging_interval=dt.timedelta(minutes=interval) if interval is not None else None,
    )
    longest = assessment.longest_excursion if assessment is not None else None
    chart = _chart(shipment, zone.key)
    with timezone.override(zone):
        now_local = local_minute(zone)
        forms_: dict[str, forms.Form | None] = {
            "csv_form": CsvUploadForm() if (sends or receives) and in_transit else None,
            "dispatch_form": DispatchForm(initial={"at": now_local}) if sends and planned else None,
            "receive_form": (
                ReceiveForm(initial={"at": now_local}) if receives and in_transit else None
            ),
        }
        forms_.update(bound)
        context = {
            "page_title": f"Shipment in {shipment.shipper.item_id}",
            "shipment": shipment,
            "row": Row(shipment, flags_of(shipment, timezone.now()), shipment.readings.count()),
            "items": list(shipment.items.order_by("kind", "number")),
            "transitions": list(shipment.transitions.select_related("actor")),
            "assessment": assessment,
            "longest_minutes": whole_minutes_up(longest.duration) if longest else None,
            "chart": chart,
            "chart_json": json.dumps(chart) if chart else "",
            "alerts": list(shipment.alerts.order_by("-raised_at")),
            "time_zone": zone.key,
            "csv_header": HEADER_TEXT,
            **forms_,
        }
        return render(request, "identity/shipments_detail.html", context)


@require_GET
def shipment_detail(request: HttpRequest, public_id: Any) -> HttpResponse:
    return _render_detail(request, _shipment(request, public_id))


@require_http_methods(["GET", "POST"])
def shipment_create(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    origin = user.organization
    require(
        user.has_perm_code(Perm.MANAGE_SHIPMENT) and origin is not None,
        "You may not plan shipments.",
    )
    assert origin is not None
    form = ShipmentForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            shipment = services.create_shipment(
                coi_din=data["shipper_item"].coi_din,
                origin=origin,
                actor=user,
                **data,
            )
        except InvalidInput as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, "Shipment planned. Dispatch it when the courier takes it.")
            return redirect(_detail_url(shipment))
    return render(
        request,
        "identity/shipments_form.html",
        {"page_title": "Plan a shipment", "form": form, "origin": origin},
    )


@require_POST
@accepts_upload(services.MAX_READINGS_PER_CALL * 64)
def shipment_upload(request: HttpRequest, public_id: Any) -> HttpResponse:
    user = _user(request)
    shipment = _shipment(request, public_id)
    require(
        policies.can_manage_shipment(user, shipment.origin_id, shipment.destination_id),
        services.NOT_MANAGER,
    )
    form = CsvUploadForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            if upload.size > services.MAX_READINGS_PER_CALL * 64:
                raise InvalidInput({"file": ["The file is too large for 100,000 readings."]})
            added = services.add_temperature_csv(
                shipment,
                upload.read(),
                source=f"CSV {upload.name}"[: services.SOURCE_MAX],
                actor=user,
            )
        except InvalidInput as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, f"Added {added} readings from {upload.name}.")
            return redirect(_detail_url(shipment, "temperature"))
    return _render_detail(request, shipment, csv_form=form)


def _step(
    request: HttpRequest, public_id: Any, form_class: type[forms.Form], name: str
) -> HttpResponse:
    user = _user(request)
    shipment = _shipment(request, public_id)
    with timezone.override(_zone(user)):
        form = form_class(request.POST)
        valid = form.is_valid()
    if valid:
        try:
            if name == "dispatch_form":
                services.dispatch_shipment(shipment, actor=user, **form.cleaned_data)
                done = "Dispatched. The expected arrival is set from the hold time."
            else:
                shipment = services.receive_shipment(shipment, actor=user, **form.cleaned_data)
                done = "Received. " + (
                    "Temperature excursion flagged and sent to QA."
                    if shipment.excursion
                    else "Temperature log missing: sent to QA."
                    if shipment.minutes_outside_range is None
                    else "The log stayed within range."
                )
        except TransitionBlocked as exc:
            for reason in exc.reasons:
                messages.error(request, reason)
            return redirect(_detail_url(shipment))
        except InvalidInput as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, done)
            return redirect(_detail_url(shipment))
    return _render_detail(request, shipment, **{name: form})


@require_POST
def shipment_dispatch(request: HttpRequest, public_id: Any) -> HttpResponse:
    return _step(request, public_id, DispatchForm, "dispatch_form")


@require_POST
def shipment_receive(request: HttpRequest, public_id: Any) -> HttpResponse:
    return _step(request, public_id, ReceiveForm, "receive_form")


urlpatterns: list[URLPattern] = [
    path("shipments/", shipment_list, name="shipment-list"),
    path("shipments/new/", shipment_create, name="shipment-create"),
    path("shipments/<uuid:public_id>/", shipment_detail, name="shipment-detail"),
    path("shipments/<uuid:public_id>/dispatch/", shipment_dispatch, name="shipment-dispatch"),
    path("shipments/<uuid:public_id>/receive/", shipment_receive, name="shipment-receive"),
    path("shipments/<uuid:public_id>/temperatures/", shipment_upload, name="shipment-upload"),
]
