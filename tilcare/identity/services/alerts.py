"""Identity alerts: raised by the system when a scan does not match or a shipment leaves its
range, acknowledged by a person. An alert stays open until acknowledged; who saw it and when is
recorded. (Escalation when nobody acknowledges in time comes with the task queue.)

An alert is raised when the scan or receipt that raised it happened, and dated so in the audit
trail (see `tilcare.audit.times`); an acknowledgement entered after the fact takes `occurred_at=`.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from tilcare.accounts.models import Organization, User
from tilcare.audit.actions import Action
from tilcare.audit.hashing import snapshot
from tilcare.audit.services import check_occurred_at, record_written
from tilcare.audit.times import audit_time
from tilcare.core.errors import InvalidInput
from tilcare.core.policy import require
from tilcare.core.validation import clean_text
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
    at: dt.datetime | None = None,
) -> IdentityAlert:
    """Record an alert in the caller's transaction (the scan or receipt that raised it commits
    with it, or neither does). `actor` is who was acting when it was raised; None for the system.
    `at`: when the scan or receipt that raised it happened (now if not given, or if the trail
    cannot carry that time)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("raise_alert() must run inside the caller's transaction.")
    occurred = audit_time(None, at)  # a new alert has no history to come after
    alert = IdentityAlert.objects.create(
        coi_din=coi_din,
        kind=kind,
        severity=severity,
        message=message[:400],
        center=center,
        facility=facility,
        custody_event=custody_event,
        shipment=shipment,
        raised_at=occurred or timezone.now(),
    )
    record_written(
        Action.ALERT_RAISE,
        alert,
        actor=actor,
        subject_id=subject_of(coi_din),
        occurred_at=alert.raised_at,  # the event and the row carry the same instant
    )
    return alert


def acknowledge_alert(
    alert: IdentityAlert, *, actor: User, note: str, occurred_at: dt.datetime | None = None
) -> IdentityAlert:
    """Close the alert with what was checked or done. `occurred_at`: when it was acknowledged,
    if earlier than now; never before the alert was raised."""
    require(
        policies.can_acknowledge_alert(actor, alert),
        "You may not acknowledge this alert (it is not your organization's, or it is closed).",
    )
    note = clean_text(
        "note", note, max_length=ACK_NOTE_MAX, required="Say what was checked or done (required)."
    )
    with transaction.atomic():
        alert = IdentityAlert.objects.select_for_update().get(pk=alert.pk)
        if alert.acknowledged_at is not None:
            raise InvalidInput({"__all__": ["This alert was already acknowledged."]})
        now = timezone.now()
        if occurred_at is not None:
            check_occurred_at(occurred_at, now=now)
            if occurred_at < alert.raised_at:
                raise InvalidInput(
                    {
                        "occurred_at": [
                            "An alert cannot be acknowledged before it was raised "
                            f"({alert.raised_at.astimezone(dt.UTC):%d %b %Y %H:%M} UTC)."
                        ]
                    }
                )
        before = snapshot(alert)
        alert.acknowledged_at = occurred_at or now
        alert.acknowledged_by = actor
        alert.acknowledgement_note = note
        alert.save()
        record_written(
            Action.ALERT_ACKNOWLEDGE,
            alert,
            actor=actor,
            before=before,
            subject_id=subject_of(alert.coi_din),
            occurred_at=occurred_at or audit_time(alert, alert.acknowledged_at),
        )
    return alert
