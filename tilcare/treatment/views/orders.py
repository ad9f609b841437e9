"""The order pages: the pharmacist's queue for the center, and one order (its doses, what they
were computed from, how, and what happened to each), with the verification, the cancellation,
the order written again, and each dose recorded at the bedside.

The center's clinical staff read them; each POST checks its policy before reading the form (403),
calls one service and goes back to the order with a message; a refusal (a wrong password, no
reason, a dose out of turn) is shown on the form, nothing written. A facility's staff and
patients are refused (403), as on the protocol pages; another center's order answers 404.
Times are shown, and typed, in the center's time zone.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from tilcare.accounts.models import Organization, User
from tilcare.accounts.roles import Perm
from tilcare.clinical.dosing.lymphodepletion import day_label
from tilcare.core.forms import write_from_form
from tilcare.core.http import get_visible_or_404
from tilcare.core.policy import require
from tilcare.core.timeutil import local_minute, local_today, zone_of
from tilcare.treatment import policies, selectors
from tilcare.treatment.choices import ActivationStatus, OrderKind, OrderStatus
from tilcare.treatment.forms import (
    AdministrationForm,
    CancelOrderForm,
    FilgrastimStopForm,
    ReorderForm,
    SignForm,
)
from tilcare.treatment.models import Order, OrderDose
from tilcare.treatment.services.administrations import NOT_RECORDER, record_administration
from tilcare.treatment.services.filgrastim import stop_filgrastim
from tilcare.treatment.services.orders import (
    NOT_PRESCRIBER,
    NOT_VERIFIER,
    cancel_order,
    reorder,
    verify_order,
)
from tilcare.treatment.views.common import center_staff, when
from tilcare.treatment.views.order_parts import (
    calculation_steps,
    dose_rows,
    input_rows,
    settings_line,
)

NOT_ORDER_VIEWER = "Orders are read by the clinical staff of the treatment center."
NOT_CANCELLER = "Only a treating physician of this center cancels an open order."
KIND_SHORT = {
    OrderKind.LYMPHODEPLETION: "Lymphodepletion",
    OrderKind.IL2: "High-dose IL-2",
    OrderKind.FILGRASTIM: "Filgrastim",
}


# ---------- Access ----------


def _staff(request: HttpRequest) -> tuple[User, Organization]:
    """The caller and their center once they are its clinical staff (else 403). Orders are read
    by whoever reads the settings they are computed on: the same staff."""
    return center_staff(request, policies.can_view_orders, NOT_ORDER_VIEWER)


def _order_of(request: HttpRequest, public_id: Any) -> tuple[User, Order]:
    user, _center = _staff(request)
    return user, get_visible_or_404(selectors.orders_visible_to(user), public_id)


def order_url(order: Order, anchor: str = "") -> str:
    url = reverse("treatment:order", kwargs={"public_id": order.public_id})
    return f"{url}#{anchor}" if anchor else url


# ---------- Status in words ----------


def standing(order: Order) -> dict[str, str]:
    """The order's badge, and who acts next: an order whose inputs changed is written again by
    the treating physician (a pharmacist cannot verify it), whatever its status."""
    if order.status == OrderStatus.CANCELLED:
        return {"badge": "badge-muted", "label": "Cancelled", "next": "", "stale": ""}
    if order.status == OrderStatus.STOPPED:
        # Its remaining doses were recorded not given (IL-2 stopped, filgrastim's ANC rule met).
        return {"badge": "badge-muted", "label": "Stopped", "next": "", "stale": ""}
    stale = selectors.newer_inputs(order) or ""
    if stale:
        replaced = order.activation.status != ActivationStatus.ACTIVE
        label = "Settings replaced: write again" if replaced else "Newer weight: write again"
        return {
            "badge": "badge-danger",
            "label": label,
            "next": (
                "The treating physician writes it again; a pharmacist then verifies the new order."
            ),
            "stale": stale,
        }
    if order.status == OrderStatus.AWAITING_VERIFICATION:
        return {
            "badge": "badge-warning",
            "label": "Awaiting verification",
            "next": "A pharmacist verifies it (not the physician who wrote it).",
            "stale": "",
        }
    return {"badge": "badge-success", "label": "Verified", "next": "", "stale": ""}


# ---------- The queue ----------


@require_GET
def orders(request: HttpRequest) -> HttpResponse:
    user, center = _staff(request)
    rows = []
    for order in selectors.orders_to_verify(center):
        rows.append(
            {
                "order": order,
                "kind": KIND_SHORT[OrderKind(order.kind)],
                "protocol": selectors.protocol_of(order.activation).title,
                "ordered": when(order.created_at, center),
                "standing": standing(order),
                "url": order_url(order),
            }
        )
    return render(
        request,
        "treatment/orders.html",
        {
            "page_title": "Orders",
            "center": center,
            "rows": rows,
            "may_verify": user.has_perm_code(Perm.VERIFY_ORDER),
        },
    )


# ---------- One order ----------


def _next_doses(order: Order) -> list[OrderDose]:
    """The dose a nurse records next: an order's doses are recorded in their order, day by day,
    so only the first one not yet recorded takes a form."""
    for dose in order.doses.select_related("administration").order_by("sequence"):
        if not hasattr(dose, "administration"):
            return [dose]
    return []


def _administration_form(order: Order, dose: OrderDose) -> AdministrationForm:
    return AdministrationForm(
        prefix=f"dose{dose.sequence}", initial={"at": local_minute(order.center)}
    )


def render_order(
    request: HttpRequest,
    user: User,
    order: Order,
    *,
    forms: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    forms = forms or {}
    center = order.center
    context: dict[str, Any] = {
        "page_title": f"{KIND_SHORT[OrderKind(order.kind)]} order",
        "order": order,
        "patient": order.patient,
        "center": center,
        "kind": order.get_kind_display(),
        "standing": standing(order),
        "ordered": when(order.created_at, center),
        "doses": dose_rows(order, center),
        "mesna": (order.calculation.get("mesna") or {}).get("note", ""),
        "inputs": input_rows(order),
        "protocol": selectors.protocol_of(order.activation),
        "settings": settings_line(order.activation),
        "settings_url": reverse(
            "treatment:protocol",
            kwargs={
                "protocol_id": order.activation.protocol_id,
                "version": order.activation.protocol_version,
            },
        )
        + f"?version={order.activation.number}#version-{order.activation.number}",
        "steps": calculation_steps(order),
        "may_verify": user.has_perm_code(Perm.VERIFY_ORDER),
        "il2_url": (
            reverse("treatment:il2", kwargs={"public_id": order.public_id})
            if order.kind == OrderKind.IL2
            else ""
        ),
        "course": [
            {"order": other, "url": order_url(other), "ordered": when(other.created_at, center)}
            for other in selectors.orders_of_course(order.coi_din, order.manufacture_attempt)
            if other.pk != order.pk and other.center_id == center.pk
        ],
    }
    signature = order.verification_signature
    if signature is not None:
        context["verified"] = f"{signature.printed_name} on {when(signature.signed_at, center)}"
    if order.cancelled_at is not None:
        context["cancelled"] = when(order.cancelled_at, center)
    if policies.can_verify_order(user, order):
        context["verify_form"] = forms.get("verify") or SignForm(prefix="verify")
    if policies.can_cancel_order(user, order):
        context["cancel_form"] = forms.get("cancel") or CancelOrderForm(prefix="cancel")
        context["reorder_form"] = forms.get("reorder") or ReorderForm(
            prefix="reorder", with_creatinine=order.kind == OrderKind.LYMPHODEPLETION
        )
    if order.kind == OrderKind.FILGRASTIM and order.status == OrderStatus.VERIFIED:
        if policies.can_write_order(user, center):
            context["filgrastim_stop_form"] = forms.get("filgrastim_stop") or FilgrastimStopForm(
                prefix="stop", days=_recent_study_days(order)
            )
        regimen = selectors.protocol_of(order.activation).filgrastim
        context["filgrastim_rule"] = regimen.stop.describe() if regimen else ""
    # Doses are recorded from a verified order; a refused attempt keeps its form and message.
    recording = order.status == OrderStatus.VERIFIED or "dose" in forms
    if recording and policies.can_record_administration(user, order):
        bound = forms.get("dose")
        doses = _next_doses(order)
        # A refused dose keeps its form and message, even when it was not the next one.
        if bound and bound[0].pk not in {dose.pk for dose in doses}:
            doses = sorted([*doses, bound[0]], key=lambda dose: dose.sequence)
        context["record_forms"] = [
            {
                "dose": dose,
                "row": next(row for row in context["doses"] if row["dose"].pk == dose.pk),
                "form": (
                    bound[1]
                    if bound and bound[0].pk == dose.pk
                    else _administration_form(order, dose)
                ),
            }
            for dose in doses
        ]
    return render(request, "treatment/order.html", context, status=status)


@require_GET
def order(request: HttpRequest, public_id: Any) -> HttpResponse:
    user, found = _order_of(request, public_id)
    return render_order(request, user, found)


@require_POST
def order_verify(request: HttpRequest, public_id: Any) -> HttpResponse:
    """POST password (the pharmacist's own, re-entered)."""
    user, found = _order_of(request, public_id)
    require(policies.can_verify_order(user, found), NOT_VERIFIER)
    form = SignForm(request.POST, prefix="verify")
    if write_from_form(
        form, lambda data: verify_order(found, actor=user, password=data["password"])
    ):
        messages.success(request, "Verified: the doses may be given from this order.")
        return redirect(order_url(found))
    return render_order(request, user, found, forms={"verify": form})


@require_POST
def order_cancel(request: HttpRequest, public_id: Any) -> HttpResponse:
    """POST reason."""
    user, found = _order_of(request, public_id)
    require(policies.can_cancel_order(user, found), NOT_CANCELLER)
    form = CancelOrderForm(request.POST, prefix="cancel")
    if write_from_form(form, lambda data: cancel_order(found, reason=data["reason"], actor=user)):
        messages.success(request, "Order cancelled; it stays on record with your reason.")
        return redirect(order_url(found))
    return render_order(request, user, found, forms={"cancel": form})


@require_POST
def order_reorder(request: HttpRequest, public_id: Any) -> HttpResponse:
    """POST reason, and for lymphodepletion an optional serum creatinine and its date."""
    user, found = _order_of(request, public_id)
    require(
        policies.can_cancel_order(user, found) and policies.can_write_order(user, found.center),
        NOT_PRESCRIBER,
    )
    with_creatinine = found.kind == OrderKind.LYMPHODEPLETION
    form = ReorderForm(request.POST, prefix="reorder", with_creatinine=with_creatinine)
    new = write_from_form(
        form,
        lambda data: reorder(
            found,
            actor=user,
            reason=data["reason"],
            serum_creatinine_mg_per_dl=data.get("serum_creatinine_mg_per_dl") or None,
            creatinine_drawn_on=data.get("creatinine_drawn_on"),
        ),
    )
    if new is not None:
        messages.success(
            request,
            "Written again from the latest measurements; this new order awaits a "
            "pharmacist's verification. The order it replaces is cancelled.",
        )
        return redirect(order_url(new))
    return render_order(request, user, found, forms={"reorder": form})


@require_POST
def order_record_dose(request: HttpRequest, public_id: Any) -> HttpResponse:
    """POST sequence (which dose), then dose<sequence>-outcome, -at (center time), -reason."""
    user, found = _order_of(request, public_id)
    require(policies.can_record_administration(user, found), NOT_RECORDER)
    dose = found.doses.filter(sequence=_whole(request.POST.get("sequence"))).first()
    if dose is None:
        raise Http404("No such dose in this order.")
    # A typed "14:30" is 14:30 where the patient is.
    with timezone.override(zone_of(found.center)):
        form = AdministrationForm(request.POST, prefix=f"dose{dose.sequence}")
        form.is_valid()  # cleaned here, so a typed time is read in the patient's zone
    done = write_from_form(
        form,
        lambda data: record_administration(
            dose, outcome=data["outcome"], at=data["at"], reason=data["reason"], actor=user
        ),
    )
    if done is not None:
        messages.success(
            request,
            f"Recorded: {dose.agent} {_label(dose)} {done.get_outcome_display().lower()} "
            f"at {when(done.at, found.center)}.",
        )
        return redirect(order_url(found, "doses"))
    return render_order(request, user, found, forms={"dose": (dose, form)})


def _recent_study_days(order: Order) -> list[int]:
    """The study days up to today (Day 0 = the day the course's infusion started, on the
    center's calendar), the last few of which the stop form offers; none before the infusion."""
    day0 = selectors.day_zero(
        selectors.infusion_of_course(order.coi_din, order.manufacture_attempt)
    )
    if day0 is None:
        return []
    today = local_today(order.center.time_zone)
    return list(range(1, (today - day0).days + 1))


@require_POST
def order_filgrastim_stop(request: HttpRequest, public_id: Any) -> HttpResponse:
    """POST stop-day_<n> and stop-anc_<n> (study day, ANC /mm³) for up to five days, and
    stop-reason to stop on the institution's standard."""
    user, found = _order_of(request, public_id)
    require(policies.can_write_order(user, found.center), NOT_PRESCRIBER)
    form = FilgrastimStopForm(request.POST, prefix="stop")
    stopped = write_from_form(
        form,
        lambda data: stop_filgrastim(found, anc=form.anc(), reason=data["reason"], actor=user),
    )
    if stopped is not None:
        messages.success(request, "Filgrastim stopped: the remaining doses are recorded not given.")
        return redirect(order_url(found, "doses"))
    return render_order(request, user, found, forms={"filgrastim_stop": form}, status=422)


def _whole(value: object) -> int:
    text = str(value or "")
    return int(text) if text.isdigit() and len(text) < 4 else 0


def _label(dose: OrderDose) -> str:
    return f"dose {dose.sequence}" if dose.day is None else f"on {day_label(dose.day)}"
