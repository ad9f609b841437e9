"""The infusion day over the API: the checklist as it stands, and what the bedside records on it
(see the package's docstring for the paths and answers).

(No `from __future__ import annotations` in this module: ninja reads the operations' parameter
annotations as objects when the routes are built.)
"""

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Status

from tilcare.clinical.dosing.thaw import thaw_check
from tilcare.core.api_support import caller
from tilcare.core.http import get_visible_or_404
from tilcare.core.policy import require
from tilcare.treatment.choices import OrderKind, OrderStatus
from tilcare.treatment.models import Infusion
from tilcare.treatment.policies import can_record_infusion
from tilcare.treatment.schemas.infusion import (
    BedsideScanIn,
    BedsideScanOut,
    InfusionEndIn,
    InfusionOut,
    InfusionRefusedOut,
    InfusionStartIn,
    PremedicationIn,
    ThawIn,
    bag_out,
    check_out,
    infusion_out,
    scan_next_step,
    thaw_out,
)
from tilcare.treatment.selectors import (
    bags_of,
    center_settings_of,
    check_rounds,
    infusion_by_public_id,
    infusion_window_at,
    infusions_visible_to,
    last_fludarabine_given,
    open_order,
    premedication_status,
    protocol_of,
    thaw_read_at,
)
from tilcare.treatment.services.bedside import (
    record_bedside_scan,
    record_premedication,
    record_thaw,
)
from tilcare.treatment.services.infusion import (
    NOT_INFUSER,
    end_infusion,
    start_blockers,
    start_infusion,
)

router = Router()


def _visible_infusion(request: HttpRequest, public_id: str) -> tuple[Any, Infusion]:
    """The caller and the checklist, if the caller's center is the infusion's; 404 otherwise."""
    user = caller(request)
    return user, get_visible_or_404(infusions_visible_to(user), public_id)


def _infuser(request: HttpRequest, public_id: str) -> tuple[Any, Infusion]:
    """As `_visible_infusion`, then 403 (before the body is read further) for a role that may
    not record the infusion day."""
    user, infusion = _visible_infusion(request, public_id)
    require(can_record_infusion(user, infusion.center), NOT_INFUSER)
    return user, infusion


def _window(infusion: Infusion, now: dt.datetime) -> Any:
    order = open_order(infusion.coi_din, infusion.manufacture_attempt, OrderKind.LYMPHODEPLETION)
    if order is None or order.status != OrderStatus.VERIFIED:
        return None
    last = last_fludarabine_given(order)
    return None if last is None else infusion_window_at(infusion.activation, last, now)


def checklist_out(infusion: Infusion) -> InfusionOut:
    """The checklist as stored now (read again after a write), judged at the clock's now."""
    fresh = infusion_by_public_id(infusion.public_id)
    assert fresh is not None  # read or written in this request
    now = timezone.now()
    bags = bags_of(fresh)
    bag_ids = [bag.item_id for bag in bags]
    protocol, settings = protocol_of(fresh.activation), center_settings_of(fresh.activation)
    thaws = {
        thaw.item_id: thaw for thaw in fresh.thaws.select_related("recorded_by").order_by("id")
    }
    moment = fresh.started_at or now
    bags_out = [
        bag_out(
            bag,
            now,
            None
            if bag.pk not in thaws
            else thaw_out(
                thaws[bag.pk],
                thaw_check(
                    protocol.thaw,
                    settings,
                    thaws[bag.pk].thawed_at,
                    thaw_read_at(fresh, thaws[bag.pk].thawed_at, now),
                ),
            ),
        )
        for bag in bags
    ]
    premedication = premedication_status(fresh, moment)
    return infusion_out(
        fresh,
        bags=bags_out,
        premedication=premedication,
        checks=[check_out(check, bag_ids) for check in check_rounds(fresh).values()],
        blocking=start_blockers(fresh, now),
        window=_window(fresh, moment),
    )


@router.get(
    "/treatment/infusions/{public_id}",
    response=InfusionOut,
    summary="The infusion checklist: bags, premedication, thaws, the two people's identity "
    "checks, what still blocks the start, the window, the start and end and the cell dose",
    description=(
        "Judged at the clock's now before the start (at the start once it has started): each "
        "bag's release, expiry and thaw clock, the premedication's timing, and every reason the "
        "start would be refused now, in the words the start itself uses."
    ),
)
def get_infusion(request: HttpRequest, public_id: str) -> InfusionOut:
    _user, infusion = _visible_infusion(request, public_id)
    return checklist_out(infusion)


@router.post(
    "/treatment/infusions/{public_id}/premedications",
    response={201: InfusionOut, 409: InfusionRefusedOut},
    summary="Record a premedication given before the infusion (nurse or treating physician)",
    description=(
        "A group the protocol names and an agent it allows, the dose as text in mg, the route "
        "and the time given. 409 once the infusion has started, or when the protocol gives no "
        "premedication."
    ),
)
def post_premedication(
    request: HttpRequest, public_id: str, payload: PremedicationIn
) -> Status[Any]:
    user, infusion = _infuser(request, public_id)
    record_premedication(
        infusion,
        group=payload.group,
        agent=payload.agent,
        dose=payload.dose,
        dose_unit=payload.dose_unit,
        route=payload.route,
        at=payload.at,
        actor=user,
    )
    return Status(201, checklist_out(infusion))


@router.post(
    "/treatment/infusions/{public_id}/thaws",
    response={201: InfusionOut, 409: InfusionRefusedOut},
    summary="Record when a bag was thawed (nurse or treating physician)",
    description=(
        "Once per bag of the course, before the infusion ends (409 otherwise); the thaw clock "
        "runs from this time to the center's limit. A bag that is not the course's is 422 on "
        "`item_id`, naming the course's bags."
    ),
)
def post_thaw(request: HttpRequest, public_id: str, payload: ThawIn) -> Status[Any]:
    user, infusion = _infuser(request, public_id)
    record_thaw(infusion, item_id=payload.item_id, thawed_at=payload.thawed_at, actor=user)
    return Status(201, checklist_out(infusion))


@router.post(
    "/treatment/infusions/{public_id}/scans",
    response={201: BedsideScanOut, 409: InfusionRefusedOut},
    summary="Scan the wristband or a bag for the two-person identity check (nurse or treating "
    "physician)",
    description=(
        "Every scan is recorded and judged as a custody scan, whatever it shows: a scan that "
        "does not match is still 201, with `accepted` false, the scan engine's words and the "
        "alert it raised. 409 when the person who completed the first check tries the second "
        "(an alert is raised), when two other people are already checking, or once the "
        "infusion has started."
    ),
)
def post_bedside_scan(request: HttpRequest, public_id: str, payload: BedsideScanIn) -> Status[Any]:
    user, infusion = _infuser(request, public_id)
    scan = record_bedside_scan(
        infusion, target=payload.target, scanned_text=payload.scanned_text, actor=user
    )
    bag_ids = [bag.item_id for bag in bags_of(infusion)]
    rounds = check_rounds(infusion)
    check = check_out(rounds[scan.checker], bag_ids)
    other = rounds.get(3 - scan.checker)
    event = scan.custody_event
    return Status(
        201,
        BedsideScanOut(
            checker=scan.checker,
            target=scan.target,
            accepted=event.accepted,
            result=event.result,
            result_label=event.get_result_display(),
            item_id=event.item.item_id if event.item else None,
            message=event.message,
            next_step=scan_next_step(
                scan, check, None if other is None else other.complete(bag_ids)
            ),
            alerts=[str(alert.public_id) for alert in event.alerts.all()],
            check=check,
            infusion=checklist_out(infusion),
        ),
    )


@router.post(
    "/treatment/infusions/{public_id}/start",
    response={200: InfusionOut, 409: InfusionRefusedOut},
    summary="Start the infusion (nurse or treating physician)",
    description=(
        "Refused (409, with every reason) while the identity check of two people, the "
        "premedication or the first thaw is missing; refused with a critical identity alert "
        "when a bag is not released or expired, the time is outside the infusion window after "
        "the last fludarabine dose, or a thawed bag is past the center's thaw limit."
    ),
)
def post_infusion_start(
    request: HttpRequest, public_id: str, payload: InfusionStartIn
) -> Status[Any]:
    user, infusion = _infuser(request, public_id)
    start_infusion(infusion, at=payload.at, actor=user)
    return Status(200, checklist_out(infusion))


@router.post(
    "/treatment/infusions/{public_id}/end",
    response={200: InfusionOut, 409: InfusionRefusedOut},
    summary="Record the end of the infusion, the bags and the viable cells infused (nurse or "
    "treating physician)",
    description=(
        "Once, after the start (409 otherwise). The cell dose is checked against the protocol's "
        "range: a dose outside it is recorded (it was given) and raises an alert for the "
        "treating physician; `cell_dose_check` says which."
    ),
)
def post_infusion_end(request: HttpRequest, public_id: str, payload: InfusionEndIn) -> Status[Any]:
    user, infusion = _infuser(request, public_id)
    end_infusion(
        infusion,
        at=payload.at,
        bags_infused=payload.bags_infused,
        viable_cells_e9=payload.viable_cells_e9,
        note=payload.note,
        actor=user,
    )
    return Status(200, checklist_out(infusion))
