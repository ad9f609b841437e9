"""The bedside before the infusion starts: the premedication given, each bag's thaw time, and
the two-person identity check.

The identity check's scans are custody scans: the chain-of-identity scan engine
(`identity.services.custody.record_scan`) judges each one (this patient, this manufacturing
attempt, released, not expired), records it whatever it shows and raises the alert when it does
not match. Each of two different people scans the patient's wristband and every bag; the person
who completed the first check may not make the second: that is refused and alerted.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from tilcare.accounts.models import User
from tilcare.audit.actions import Action
from tilcare.audit.services import record_written
from tilcare.clinical import identity_scan
from tilcare.core.errors import Conflict, InvalidInput
from tilcare.core.timeutil import local_datetime
from tilcare.core.validation import (
    TYPED,
    Errors,
    TextWords,
    check_decimal_range,
    check_moment,
    check_text,
)
from tilcare.identity.choices import AlertKind, AlertSeverity, HandoffStep, ItemKind
from tilcare.identity.models import Item
from tilcare.identity.services.custody import ScanRequest, record_scan
from tilcare.treatment.choices import BedsideTarget
from tilcare.treatment.models import BagThaw, BedsideScan, Infusion, Premedication
from tilcare.treatment.selectors import bags_of, check_rounds, protocol_of
from tilcare.treatment.services.infusion import (
    SAME_PERSON_TWICE,
    facility_of,
    locked_infusion,
    refuse_with_alert,
    require_infuser,
    require_not_started,
    subject_of_infusion,
)

# Premedication --------------------------------------------------------------------------------

PREMED_DOSE_MAX = Decimal(2000)
PREMED_UNITS = ("mg",)
PREMED_ROUTES = ("PO", "IV")


def record_premedication(
    infusion: Infusion,
    *,
    group: object,
    agent: object,
    dose: object,
    dose_unit: object = "mg",
    route: object,
    at: Any,
    actor: User,
) -> Premedication:
    """Record one premedication the protocol asks for before the infusion (a group it names, an
    agent that group allows), with its dose, route and time."""
    with transaction.atomic():
        infusion = locked_infusion(infusion)
        require_infuser(infusion, actor)
        require_not_started(infusion)
        regimen = protocol_of(infusion.activation).premedication
        if regimen is None:
            raise Conflict(
                {
                    "__all__": [
                        "This protocol's sources give no premedication: the treating physician "
                        "orders it outside tilcare."
                    ]
                }
            )
        errors: Errors = {}
        groups = {g.group: g for g in regimen.groups}
        chosen = groups.get(str(group)) if isinstance(group, str) else None
        if chosen is None:
            errors["group"] = [f"Choose one of: {', '.join(groups)}."]
        name = check_text(
            errors,
            "agent",
            agent,
            max_length=60,
            one_line=True,
            words=TextWords(required="Name the agent given."),
        )
        if chosen is not None and name and not chosen.accepts(name):
            errors["agent"] = [f"{chosen.group}: give {chosen.describe()}."]
        amount = check_decimal_range(
            errors, "dose", "The dose", dose, Decimal("0.01"), PREMED_DOSE_MAX, "mg", places=2
        )
        if dose_unit not in PREMED_UNITS:
            errors["dose_unit"] = [f"Dose unit must be one of: {', '.join(PREMED_UNITS)}."]
        if route not in PREMED_ROUTES:
            errors["route"] = [f"Route must be one of: {', '.join(PREMED_ROUTES)}."]
        moment = check_moment(errors, "at", at, label="The time given", allowance=TYPED)
        if errors or moment is None or chosen is None or amount is None:
            raise InvalidInput(errors)
        premedication = Premedication.objects.create(
            infusion=infusion,
            group=chosen.group,
            agent=name,
            dose=amount,
            dose_unit=str(dose_unit),
            route=str(route),
            at=moment,
            recorded_by=actor,
        )
        record_written(
            Action.PREMEDICATION_RECORD,
            premedication,
            actor=actor,
            subject_id=subject_of_infusion(infusion),
            occurred_at=moment,
        )
        return premedication


# Thaw -------------------------------------------------------------------------------------------


def _bag(infusion: Infusion, item_id: object, field: str = "item_id") -> Item:
    wanted = str(item_id or "").strip().upper()
    for bag in bags_of(infusion):
        if bag.item_id == wanted:
            return bag
    ids = ", ".join(b.item_id for b in bags_of(infusion)) or "none registered"
    raise InvalidInput(
        {field: [f"“{wanted[:24]}” is not a product bag of this course (its bags: {ids})."]}
    )


def record_thaw(infusion: Infusion, *, item_id: object, thawed_at: Any, actor: User) -> BagThaw:
    """Record when one bag was thawed (once per bag, before the infusion ends)."""
    with transaction.atomic():
        infusion = locked_infusion(infusion)
        require_infuser(infusion, actor)
        if infusion.ended_at is not None:
            raise Conflict({"__all__": ["The infusion has ended: no more bags are thawed."]})
        bag = _bag(infusion, item_id)
        errors: Errors = {}
        moment = check_moment(
            errors, "thawed_at", thawed_at, label="The thaw time", allowance=TYPED
        )
        if errors or moment is None:
            raise InvalidInput(errors)
        done = infusion.thaws.filter(item=bag).first()
        if done is not None:
            when = local_datetime(done.thawed_at, infusion.center.time_zone)
            raise Conflict(
                {"item_id": [f"{bag.item_id} was recorded thawed at {when:%d %b %H:%M}."]}
            )
        thaw = BagThaw.objects.create(
            infusion=infusion, item=bag, thawed_at=moment, recorded_by=actor
        )
        record_written(
            Action.THAW_RECORD,
            thaw,
            actor=actor,
            subject_id=subject_of_infusion(infusion),
            occurred_at=moment,
        )
        return thaw


# The identity check ----------------------------------------------------------------------------


def _checker_for(infusion: Infusion, actor: User, bag_ids: list[str]) -> int | str:
    """The actor's checker number, or why they may not scan (a string)."""
    rounds = check_rounds(infusion)
    for number, check in rounds.items():
        if check.person.pk == actor.pk:
            if check.complete(bag_ids) and len(rounds) < 2:
                return SAME_PERSON_TWICE
            if check.complete(bag_ids):
                return "Your identity check is complete; both checks are done."
            return number
    if len(rounds) >= 2:
        names = " and ".join(c.person.printed_name for c in rounds.values())
        return f"Two people are already making this identity check ({names})."
    return len(rounds) + 1


def record_bedside_scan(
    infusion: Infusion, *, target: str, scanned_text: object, actor: User
) -> BedsideScan:
    """One scan of the two-person identity check: the patient's wristband or a bag's label.

    The scan is recorded and judged as a custody scan whatever it shows; a mismatch raises its
    alert there. A second check by the person who made the first is refused and alerted."""
    if target not in BedsideTarget.values:
        choices = ", ".join(BedsideTarget.values)
        raise InvalidInput({"target": [f"Target must be one of {choices} (got “{target}”)."]})
    text = str(scanned_text or "") if not isinstance(scanned_text, bool) else ""
    parsed = identity_scan.parse_scan(text)
    if parsed.readable and target == BedsideTarget.WRISTBAND and parsed.form != "coi":
        raise InvalidInput(
            {
                "scanned_text": [
                    f"This is the label of a {identity_scan.kind_noun(parsed.kind)}, not the "
                    "wristband: scan the patient's wristband."
                ]
            }
        )
    if parsed.readable and target == BedsideTarget.BAG and parsed.form == "coi":
        raise InvalidInput(
            {
                "scanned_text": [
                    "This is a journey identifier (a wristband), not a bag label: scan the "
                    "label on the bag."
                ]
            }
        )
    with transaction.atomic():
        infusion = locked_infusion(infusion)
        require_infuser(infusion, actor)
        require_not_started(infusion)
        bag_ids = [bag.item_id for bag in bags_of(infusion)]
        if not bag_ids:
            raise Conflict(
                {"__all__": ["No product bag of this manufacturing attempt is registered."]}
            )
        checker = _checker_for(infusion, actor, bag_ids)
        if isinstance(checker, int):
            event = record_scan(
                ScanRequest(
                    coi_din=infusion.coi_din,
                    step=HandoffStep.BEDSIDE_CHECK,
                    scanned_text=text,
                    expected_kind=()
                    if target == BedsideTarget.WRISTBAND
                    else (ItemKind.PRODUCT_BAG,),
                    location="Bedside",
                ),
                actor=actor,
                organization=infusion.center,
                center=infusion.center,
                facility=facility_of(infusion),
                expected_attempt=infusion.manufacture_attempt,
                bedside=True,
            )
            scan = BedsideScan.objects.create(
                infusion=infusion, checker=checker, target=target, custody_event=event
            )
            record_written(
                Action.BEDSIDE_SCAN,
                scan,
                actor=actor,
                subject_id=subject_of_infusion(infusion),
                occurred_at=event.occurred_at,
            )
            return scan
        problem = checker
    if problem == SAME_PERSON_TWICE:
        raise refuse_with_alert(
            infusion,
            actor=actor,
            kind=AlertKind.BEDSIDE_CHECK,
            severity=AlertSeverity.HIGH,
            problems=[problem],
            alert=(
                f"Bedside identity check: {actor.printed_name} tried to make the second check "
                "after making the first. Two different people must each check the wristband and "
                "every bag."
            ),
            at=timezone.now(),
        )
    raise Conflict({"__all__": [problem]})
