"""Custody events over the API: what a custody event looks like in an answer, and the late-entry
reason a posted scan carries.

The operations themselves are served by the journey layer (`tilcare.journey.api.scans`): scans
are posted to `POST /api/v1/journeys/scans`, the one API door, which records through the journey's
one door (`tilcare.journey.services.custody.record_handoff`); `GET
/api/v1/identity/custody-events` reads a COI's chain of custody. A scan that does not match
answers 409 with the event's id, result and message, so the caller knows the step was blocked and
that the scan and its alert were recorded. Nothing in an answer identifies the patient: text a
person typed (what was scanned, parties, location, the reason a scan was entered late) is shown
only as `identity.policies.can_view_scan_text` allows.
"""

from typing import Any

from ninja import Field, Schema

from tilcare.clinical.identity_scan import next_step_for
from tilcare.core.api_support import UtcDateTime
from tilcare.identity.models import CustodyEvent
from tilcare.identity.policies import can_view_scan_text
from tilcare.identity.services.custody import LATE_REASON_MAX

LATE_ENTRY_REASON = Field(
    "",
    max_length=LATE_REASON_MAX,
    description=(
        "Why the scan is entered late: required when occurred_at is more than 5 minutes before "
        "now (for example, from the paper custody form after a downtime)"
    ),
)


class CustodyEventOut(Schema):
    public_id: str
    coi_din: str
    item_id: str | None
    step: str
    step_label: str
    occurred_at: UtcDateTime
    actor: str
    organization: str
    result: str
    result_label: str
    accepted: bool
    message: str = Field(..., description="What the scan showed, in words for the person scanning")
    next_step: str = Field(..., description="What to do now (empty for a match)")
    expected_item_id: str
    alerts: list[str] = Field(..., description="Public ids of the alerts this scan raised")
    scanned_text: str | None = Field(
        ..., description="As read; null unless your organization recorded it or you see identity"
    )
    from_party: str | None
    to_party: str | None
    location: str | None
    late_entry_reason: str | None = Field(
        ..., description="Why the scan was entered late (empty if it was not); null as above"
    )


class CustodyBlockedOut(Schema):
    detail: str
    event_id: str
    result: str
    message: str
    next_step: str
    event: CustodyEventOut


def event_out(event: CustodyEvent, user: Any, *, center_id: int | None) -> CustodyEventOut:
    """`center_id`: the center of the event's COI (who may read what was typed on it)."""
    typed = can_view_scan_text(user, event, center_id=center_id)
    return CustodyEventOut(
        public_id=str(event.public_id),
        coi_din=event.coi_din,
        item_id=event.item.item_id if event.item else None,
        step=event.step,
        step_label=event.get_step_display(),
        occurred_at=event.occurred_at,
        actor=event.actor.printed_name,
        organization=event.organization.name,
        result=event.result,
        result_label=event.get_result_display(),
        accepted=event.accepted,
        message=event.message,
        next_step=next_step_for(event.result),
        expected_item_id=event.expected_item_id,
        alerts=[str(a.public_id) for a in event.alerts.all()],
        scanned_text=event.scanned_text if typed else None,
        from_party=event.from_party if typed else None,
        to_party=event.to_party if typed else None,
        location=event.location if typed else None,
        late_entry_reason=event.late_entry_reason if typed else None,
    )


def blocked_out(event: CustodyEvent, out: CustodyEventOut) -> CustodyBlockedOut:
    """The 409 answer to a scan that did not match: blocked, and recorded with its alert."""
    return CustodyBlockedOut(
        detail="Scan did not match: the step is blocked. The scan and its alert are recorded.",
        event_id=out.public_id,
        result=event.result,
        message=event.message,
        next_step=out.next_step,
        event=out,
    )
