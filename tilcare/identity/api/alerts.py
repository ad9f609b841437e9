"""Identity alerts over the API: the alerts of the caller's organization, and acknowledging one.

An alert names the COI identifier and what happened, never the patient; both the center and the
facility of the COI see it. Acknowledging needs the permission and a note saying what was
checked or done.
"""

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.pagination import paginate
from pydantic import ConfigDict

from tilcare.clinical.identity_scan import spaced
from tilcare.core.api_support import ApiPagination, InputSchema, MappedQuerySet, UtcDateTime, caller
from tilcare.core.http import get_visible_or_404
from tilcare.identity import policies
from tilcare.identity.models import IdentityAlert
from tilcare.identity.selectors import alerts_visible_to
from tilcare.identity.services.alerts import acknowledge_alert

router = Router()


class AlertOut(Schema):
    public_id: str
    coi_din: str
    coi_display: str = Field(..., description="The COI identifier as printed (without check)")
    kind: str
    kind_label: str
    severity: str
    message: str
    center: str
    facility: str | None
    custody_event: str | None = Field(..., description="Public id of the scan that raised it")
    raised_at: UtcDateTime
    is_open: bool
    can_acknowledge: bool = Field(..., description="Whether you may acknowledge it now")
    acknowledged_at: UtcDateTime | None
    acknowledged_by: str | None
    acknowledgement_note: str | None = Field(
        ..., description="Null unless your organization wrote it or you may see patient identity"
    )


class AcknowledgeIn(InputSchema):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(..., description="What was checked or done (required, at most 400)")


def alert_out(alert: IdentityAlert, user: Any) -> AlertOut:
    return AlertOut(
        public_id=str(alert.public_id),
        coi_din=alert.coi_din,
        coi_display=spaced(alert.coi_din),
        kind=alert.kind,
        kind_label=alert.get_kind_display(),
        severity=alert.severity,
        message=alert.message,
        center=alert.center.name,
        facility=alert.facility.name if alert.facility else None,
        custody_event=str(alert.custody_event.public_id) if alert.custody_event else None,
        raised_at=alert.raised_at,
        is_open=alert.acknowledged_at is None,
        can_acknowledge=policies.can_acknowledge_alert(user, alert),
        acknowledged_at=alert.acknowledged_at,
        acknowledged_by=alert.acknowledged_by.printed_name if alert.acknowledged_by else None,
        acknowledgement_note=(
            alert.acknowledgement_note if policies.can_view_alert_note(user, alert) else None
        ),
    )


def _alerts(user: Any) -> Any:
    return alerts_visible_to(user).select_related(
        "center", "facility", "custody_event", "acknowledged_by"
    )


@router.get(
    "/identity/alerts",
    response=list[AlertOut],
    summary="Identity alerts of your organization, newest first",
)
@paginate(ApiPagination)
def list_alerts(
    request: HttpRequest,
    status: Literal["open", "acknowledged", "all"] = "open",
    coi: str = "",
) -> MappedQuerySet[IdentityAlert, AlertOut]:
    """`status`: open (default), acknowledged or all; `coi`: only this COI identifier (13
    characters, a check character after them is ignored)."""
    user = caller(request)
    alerts = _alerts(user)
    if status == "open":
        alerts = alerts.filter(acknowledged_at__isnull=True)
    elif status == "acknowledged":
        alerts = alerts.filter(acknowledged_at__isnull=False)
    if coi.strip():
        alerts = alerts.filter(coi_din=coi.strip().upper().replace(" ", "")[:13])
    return MappedQuerySet(alerts.order_by("-raised_at", "-id"), lambda a: alert_out(a, user))


@router.post(
    "/identity/alerts/{public_id}/acknowledge",
    response=AlertOut,
    summary="Acknowledge an alert, saying what was checked or done",
)
def acknowledge(request: HttpRequest, public_id: str, payload: AcknowledgeIn) -> AlertOut:
    user = caller(request)
    alert: IdentityAlert = get_visible_or_404(_alerts(user), public_id)
    alert = acknowledge_alert(alert, actor=user, note=payload.note)
    return alert_out(_alerts(user).get(pk=alert.pk), user)
