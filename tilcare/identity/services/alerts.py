"""Identity alerts: raised by the system when a scan does not match or a shipment leaves its
range, acknowledged by a person. An alert stays open until acknowledged; who saw it and when is
recorded. (Escalation when nobody acknowledges in time comes with the task queue.)"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from tilcare.accounts.models import Organization, User
from tilcare.audit.hashing import snapshot
from tilcare.audit.services import record_event
from tilcare.core.errors import InvalidInput
from tilcare.core.policy import require
from tilcare.identity import policies
from tilcare.identity.choices import AlertKind, AlertSeverity
from tilcare.identity.models import CustodyEvent, IdentityAlert, Shipment

ACK_NOTE_MAX = 400


def subject_of(coi_din: str) -> str:
    """The audit subject of every identity record: the COI identifier, never the patient."""
    return f"coi:{coi_din}"


def raise_alert(
    *,
    coi_din: str,
    kind: AlertKind,
    severity: AlertSeverity,
    message: str,
    center: Organization,
    facility: Organization | None,
    actor: User | None,
    custody_event: CustodyEvent | None = None,
    shipment: Shipment | None = None,
) -> IdentityAlert:
    """Record an alert in the caller's transaction (the scan or receipt that raised it commits
    with it, or neither does). `actor` is who was acting when it was raised; None for the system."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("raise_alert() must run inside the caller's transaction.")
    alert = IdentityAlert.objects.create(
        coi_din=coi_din,
        kind=kind,
        severity=severity,
        message=message[:400],
        center=center,
        facility=facility,
        custody_event=custody_event,
        shipment=shipment,
        raised_at=timezone.now(),
    )
    record_event(
        "identity.alert.raise",
        alert,
        actor=actor,
        after=snapshot(alert),
        subject_id=subject_of(coi_din),
    )
    return alert


def acknowledge_alert(alert: IdentityAlert, *, actor: User, note: str) -> IdentityAlert:
    require(
        policies.can_acknowledge_alert(actor, alert),
        "You may not acknowledge this alert (it is not your organization's, or it is closed).",
    )
    note = (note or "").strip()
    if not note:
        raise InvalidInput({"note": ["Say what was checked or done (required)."]})
    if len(note) > ACK_NOTE_MAX:
        raise InvalidInput({"note": [f"At most {ACK_NOTE_MAX} characters (got {len(note)})."]})
    with transaction.atomic():
        alert = IdentityAlert.objects.select_for_update().get(pk=alert.pk)
        if alert.acknowledged_at is not None:
            raise InvalidInput({"__all__": ["This alert was already acknowledged."]})
        before = snapshot(alert)
        alert.acknowledged_at = timezone.now()
        alert.acknowledged_by = actor
        alert.acknowledgement_note = note
        alert.save()
        record_event(
            "identity.alert.acknowledge",
            alert,
            actor=actor,
            before=before,
            after=snapshot(alert),
            subject_id=subject_of(alert.coi_din),
        )
    return alert
