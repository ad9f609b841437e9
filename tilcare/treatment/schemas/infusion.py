"""API shapes of the infusion day: what the bedside sends (a premedication, a bag's thaw time, a
scan of the identity check, the start and the end) and the checklist as it stands.

A dose and a cell count travel as text ("650", "7.5"), as they are written, never as JSON
numbers: `true` or a float could not be told from what was meant. Whether the value fits (range,
decimal places) is the service's check, named by field.

Each answer is built field by field (`infusion_out`, `scan_out`), never by letting a schema read
attributes off the model. Every caller here is the center's own staff (the operations refuse
anyone else first), so the checklist names its patient.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any, Literal
from uuid import UUID

from ninja import Field, Schema
from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

from tilcare.clinical import identity_scan
from tilcare.clinical.dosing.premedication import PremedicationCheck
from tilcare.clinical.dosing.schedule import InfusionWindowStatus
from tilcare.clinical.dosing.thaw import ThawState, ThawStatus
from tilcare.core.api_support import (
    AwareDateTime,
    DecimalText,
    InputSchema,
    UtcDateTime,
    checked_range,
)
from tilcare.identity.models import Item
from tilcare.treatment.choices import NOTE_MAX
from tilcare.treatment.models import BedsideScan, Infusion
from tilcare.treatment.selectors import CheckRound

DECIMAL_TEXT_MAX = 20
SCANNED_TEXT_MAX = 80
# More bags than a course is ever split into (lifileucel: 1 to 4); the service checks the course's
# own number of bags, in words.
BAGS_INFUSED_MAX = 10


def _text_only(field_words: str) -> Callable[[Any], Any]:
    """A before-validator refusing a JSON number or true/false for a decimal sent as text, in
    words (before pydantic's own "valid string")."""
    message = f'Send {field_words} as text, e.g. "7.5" (not a JSON number or true/false).'

    def check(value: Any) -> Any:
        if isinstance(value, str):
            return value
        raise PydanticCustomError("decimal_text", message)

    return check


DoseText = Annotated[
    Annotated[str, Field(max_length=DECIMAL_TEXT_MAX)], BeforeValidator(_text_only("the dose"))
]
CellsText = Annotated[
    Annotated[str, Field(max_length=DECIMAL_TEXT_MAX)],
    BeforeValidator(_text_only("the viable cells (×10⁹)")),
]


# --- in -------------------------------------------------------------------------------------


class PremedicationIn(InputSchema):
    group: str = Field(
        ...,
        max_length=40,
        description="The premedication the protocol asks for, as it names it (lifileucel: "
        "acetaminophen, H1 antihistamine).",
    )
    agent: str = Field(..., max_length=60, description="The agent given, e.g. diphenhydramine.")
    dose: DoseText = Field(..., description='The dose as text, e.g. "650" (0.01 to 2000).')
    dose_unit: Literal["mg"] = Field("mg", description="The dose's unit.")
    route: Literal["PO", "IV"] = Field(..., description="How it was given.")
    at: AwareDateTime = Field(
        ..., description="When it was given, with its UTC offset; not ahead of the clock."
    )


class ThawIn(InputSchema):
    item_id: str = Field(
        ...,
        max_length=24,
        description="The bag's item id, as on its label, e.g. W123426000042-PB01.",
    )
    thawed_at: AwareDateTime = Field(
        ..., description="When the bag was thawed, with its UTC offset; not ahead of the clock."
    )


class BedsideScanIn(InputSchema):
    target: Literal["wristband", "bag"] = Field(
        ..., description="What is scanned: the patient's wristband or a product bag's label."
    )
    scanned_text: str = Field(
        ..., max_length=SCANNED_TEXT_MAX, description="The barcode's text as read (or typed)."
    )


class InfusionStartIn(InputSchema):
    at: AwareDateTime = Field(
        ..., description="When the infusion started, with its UTC offset; not ahead of the clock."
    )


class InfusionEndIn(InputSchema):
    at: AwareDateTime = Field(
        ...,
        description="When the infusion ended, with its UTC offset; not before it started, not "
        "ahead of the clock.",
    )
    bags_infused: int = Field(
        ...,
        description="How many of the course's bags were infused (1 to the number of bags).",
        json_schema_extra=checked_range(1, BAGS_INFUSED_MAX),
    )
    viable_cells_e9: CellsText = Field(
        ...,
        description='The viable cells infused, ×10⁹, as text (e.g. "7.5"), from the bags\' '
        "labels or the certificate of analysis; checked against the protocol's dose range.",
    )
    note: str = Field("", max_length=NOTE_MAX, description="Anything to note about the infusion.")


# --- out ------------------------------------------------------------------------------------


class InfusionPatientOut(Schema):
    public_id: UUID
    given_name: str
    family_name: str
    mrn: str


class ThawOut(Schema):
    thawed_at: UtcDateTime
    recorded_by: str
    minutes_since_thaw: int = Field(..., description="Whole minutes since the thaw, now.")
    limit_minutes: DecimalText = Field(..., description="The center's thaw-to-infusion limit.")
    infuse_by: UtcDateTime = Field(..., description="The last moment within the limit.")
    within_limit: bool
    reason: str = Field(..., description="The thaw clock in words.")


class InfusionBagOut(Schema):
    item_id: str
    released_at: UtcDateTime | None
    expires_at: UtcDateTime | None
    released: bool = Field(..., description="Released by the facility's QA, as of now.")
    expired: bool = Field(..., description="Past its expiry (or with none recorded), as of now.")
    thaw: ThawOut | None = Field(..., description="Its thaw, once recorded.")


class PremedicationOut(Schema):
    group: str
    agent: str
    dose: DecimalText
    dose_unit: str
    route: str
    at: UtcDateTime
    recorded_by: str


class PremedicationGroupOut(Schema):
    group: str
    agents: str = Field(..., description="The agents the protocol's source allows.")
    status: str = Field(
        ...,
        description="within, earlier_than_window, later_than_window, after_start or missing.",
    )
    minutes_before: int | None
    minutes_after: int | None
    reason: str


class PremedicationTimingOut(Schema):
    """The premedication given against a start now."""

    complete: bool = Field(..., description="Every group given before the start.")
    timing_ok: bool = Field(..., description="Every group within the protocol's window.")
    minutes_before_min: DecimalText
    minutes_before_max: DecimalText
    groups: list[PremedicationGroupOut]
    reason: str
    source: str


class CheckScanOut(Schema):
    target: str = Field(..., description="wristband or bag")
    item_id: str | None
    result: str
    accepted: bool
    message: str
    occurred_at: UtcDateTime


class IdentityCheckOut(Schema):
    checker: int = Field(..., description="1 for the person who began first, 2 for the other.")
    person: str = Field(..., description="The printed name of who scans.")
    wristband_ok: bool
    bags_matched: list[str]
    missing: list[str] = Field(
        ..., description='What this person has still to scan: "the wristband" and bag ids.'
    )
    complete: bool
    scans: list[CheckScanOut] = Field(..., description="Every scan, matched or not, in order.")


class InfusionWindowOut(Schema):
    last_fludarabine: UtcDateTime
    allowed_from: UtcDateTime
    allowed_until: UtcDateTime
    status: str = Field(..., description="too_early, allowed or too_late, as of now.")
    reason: str
    source: str


class InfusionOut(Schema):
    public_id: UUID
    coi: str = Field(..., description="The course's COI identifier with its check character.")
    manufacture_attempt: int
    patient: InfusionPatientOut
    protocol_id: str
    protocol_version: str
    status: str = Field(..., description="open (not started), started or ended.")
    opened_by: str
    bags: list[InfusionBagOut]
    premedications: list[PremedicationOut]
    premedication: PremedicationTimingOut | None = Field(
        ..., description="Timing against a start now; null when the protocol gives none."
    )
    checks: list[IdentityCheckOut] = Field(
        ..., description="Each person's identity check so far (at most two people)."
    )
    blocking: list[str] = Field(
        ..., description="What still stands between the bedside and a start now (empty: none)."
    )
    window: InfusionWindowOut | None = Field(
        ..., description="The infusion window after the last fludarabine dose, once given."
    )
    started_at: UtcDateTime | None
    started_by: str | None
    ended_at: UtcDateTime | None
    ended_by: str | None
    bags_infused: int | None
    viable_cells_e9: DecimalText | None
    cell_dose_check: dict[str, Any] | None = Field(
        ..., description="The clinical core's check of the cell dose against the protocol."
    )
    end_note: str


class BedsideScanOut(Schema):
    """One scan of the identity check as recorded: a mismatch is recorded too (accepted false,
    with the alert the scan engine raised)."""

    checker: int
    target: str
    accepted: bool
    result: str
    result_label: str
    item_id: str | None
    message: str = Field(..., description="What the scan showed, in words for the person.")
    next_step: str = Field(..., description="What to do now.")
    alerts: list[str] = Field(..., description="Public ids of the alerts this scan raised.")
    check: IdentityCheckOut
    infusion: InfusionOut


class InfusionRefusedOut(Schema):
    """The checklist's state refuses the request (a step missing, the product or the time not
    fit to infuse, the step already done), with every reason."""

    detail: str
    errors: dict[str, list[str]]


# --- builders -------------------------------------------------------------------------------


def thaw_out(thaw: Any, status: ThawStatus) -> ThawOut:
    return ThawOut(
        thawed_at=thaw.thawed_at,
        recorded_by=thaw.recorded_by.printed_name,
        minutes_since_thaw=status.minutes_since_thaw,
        limit_minutes=status.limit_minutes,
        infuse_by=status.infuse_by,
        within_limit=status.status is ThawState.WITHIN,
        reason=status.reason,
    )


def bag_out(bag: Item, now: dt.datetime, thaw: ThawOut | None) -> InfusionBagOut:
    return InfusionBagOut(
        item_id=bag.item_id,
        released_at=bag.released_at,
        expires_at=bag.expires_at,
        released=bag.released_at is not None and bag.released_at <= now,
        expired=bag.expires_at is None or bag.expires_at <= now,
        thaw=thaw,
    )


def premedication_timing_out(check: PremedicationCheck | None) -> PremedicationTimingOut | None:
    if check is None:
        return None
    return PremedicationTimingOut(
        complete=check.complete,
        timing_ok=check.timing_ok,
        minutes_before_min=check.minutes_before_min.magnitude,
        minutes_before_max=check.minutes_before_max.magnitude,
        groups=[
            PremedicationGroupOut(
                group=group.group,
                agents=group.agents,
                status=group.status.value,
                minutes_before=group.minutes_before,
                minutes_after=group.minutes_after,
                reason=group.reason,
            )
            for group in check.groups
        ],
        reason=check.reason,
        source=check.source,
    )


def check_out(check: CheckRound, bag_ids: list[str]) -> IdentityCheckOut:
    return IdentityCheckOut(
        checker=check.checker,
        person=check.person.printed_name,
        wristband_ok=check.wristband_matched,
        bags_matched=[bag for bag in bag_ids if bag in check.bags_matched],
        missing=check.missing(bag_ids),
        complete=check.complete(bag_ids),
        scans=[
            CheckScanOut(
                target=scan.target,
                item_id=scan.custody_event.item.item_id if scan.custody_event.item else None,
                result=scan.custody_event.result,
                accepted=scan.custody_event.accepted,
                message=scan.custody_event.message,
                occurred_at=scan.custody_event.occurred_at,
            )
            for scan in check.scans
        ],
    )


def window_out(window: InfusionWindowStatus | None) -> InfusionWindowOut | None:
    if window is None:
        return None
    return InfusionWindowOut(
        last_fludarabine=window.last_fludarabine_end,
        allowed_from=window.allowed_from,
        allowed_until=window.allowed_until,
        status=window.status.value,
        reason=window.reason,
        source=window.source,
    )


def _name(user: Any) -> str | None:
    return None if user is None else str(user.printed_name)


def _status(infusion: Infusion) -> str:
    if infusion.ended_at is not None:
        return "ended"
    return "open" if infusion.started_at is None else "started"


def infusion_out(
    infusion: Infusion,
    *,
    bags: list[InfusionBagOut],
    premedication: PremedicationCheck | None,
    checks: list[IdentityCheckOut],
    blocking: list[str],
    window: InfusionWindowStatus | None,
) -> InfusionOut:
    patient, activation = infusion.patient, infusion.activation
    return InfusionOut(
        public_id=infusion.public_id,
        coi=infusion.coi_din + infusion.coi_check,
        manufacture_attempt=infusion.manufacture_attempt,
        patient=InfusionPatientOut(
            public_id=patient.public_id,
            given_name=patient.given_name,
            family_name=patient.family_name,
            mrn=patient.mrn,
        ),
        protocol_id=activation.protocol_id,
        protocol_version=activation.protocol_version,
        status=_status(infusion),
        opened_by=infusion.opened_by.printed_name,
        bags=bags,
        premedications=[
            PremedicationOut(
                group=p.group,
                agent=p.agent,
                dose=p.dose,
                dose_unit=p.dose_unit,
                route=p.route,
                at=p.at,
                recorded_by=p.recorded_by.printed_name,
            )
            for p in infusion.premedications.select_related("recorded_by").order_by("at", "id")
        ],
        premedication=premedication_timing_out(premedication),
        checks=checks,
        blocking=blocking,
        window=window_out(window),
        started_at=infusion.started_at,
        started_by=_name(infusion.started_by),
        ended_at=infusion.ended_at,
        ended_by=_name(infusion.ended_by),
        bags_infused=infusion.bags_infused,
        viable_cells_e9=infusion.viable_cells_e9,
        cell_dose_check=infusion.cell_dose_check or None,
        end_note=infusion.end_note,
    )


def scan_next_step(scan: BedsideScan, check: IdentityCheckOut, other_done: bool | None) -> str:
    """What the person does after this scan: the scan engine's words after a mismatch, else what
    is left of their check, else the other person's check (`other_done` None: not begun)."""
    event = scan.custody_event
    if not event.accepted:
        return identity_scan.next_step_for(event.result)
    if check.missing:
        return f"Scan next: {', '.join(check.missing)}."
    if other_done:
        return "Both identity checks are complete."
    return "Your identity check is complete: a second person now scans the wristband and every bag."
