"""Release specifications and formulation, and what the release services share.

- `set_release_specification`: a facility's QA reviewer sets the acceptance criterion of one test
  under one protocol. No test has a default; the viable-cell dose range is not set here, it comes
  from the protocol file (`dose_check`).
- `record_formulation`: the harvest goes into bags (volume, viable cells); each bag gets its
  labelled identity item (kind product bag, with the storage temperature the facility gives: no
  default), and the batch becomes "Harvested and formulated".
- `move_batch`: a status change along `BATCH_WORKFLOW`, its guards checked, with its transition
  row and audit event.

`release_services` re-exports the two services; import them from there.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, cast

from django.db import transaction
from django.utils import timezone

from tilcare.accounts.models import Organization, User
from tilcare.audit.actions import Action
from tilcare.audit.services import record_written
from tilcare.audit.times import audit_time
from tilcare.clinical.dosing.cell_dose import CellDoseCheck, check_cell_dose
from tilcare.clinical.dosing.regimens import CellDoseRange
from tilcare.clinical.units import cells
from tilcare.core.errors import InvalidInput
from tilcare.core.policy import require
from tilcare.core.validation import DecimalWords, MomentWords, check_decimal_range
from tilcare.core.validation import check_moment as check_time
from tilcare.identity.choices import ItemKind
from tilcare.identity.services.alerts import subject_of
from tilcare.identity.services.items import clean_storage_temperature, create_item
from tilcare.manufacturing import policies
from tilcare.manufacturing.choices import BatchStatus, ReleaseTestKind
from tilcare.manufacturing.models import Batch, ProductBag, ReleaseSpecification
from tilcare.manufacturing.services.settings import set_facility_row
from tilcare.manufacturing.services.steps import locked_batch
from tilcare.manufacturing.services.workflow import move_batch, step_time
from tilcare.protocols.loader import ProtocolNotFound, available_protocols, load_protocol
from tilcare.protocols.schema import Protocol

Kind = ReleaseTestKind
# A TIL product is formulated in 1 to 4 bags (lifileucel label); 8 catches a typing slip.
MAX_BAGS = 8
VOLUME_ML_MAX = Decimal("1000")
BAG_CELLS_MAX = Decimal(10**12)
# The largest number the result and limit columns hold (20 digits, 4 of them decimals).
LIMIT_MAX = Decimal(10**15)
TEXT_MAX, UNIT_MAX = 80, 30
TEXT_TESTS = frozenset({Kind.STERILITY, Kind.MYCOPLASMA})  # pass/fail: an expected result
NUMERIC_TESTS = frozenset({Kind.VIABILITY, Kind.IDENTITY_PURITY, Kind.ENDOTOXIN})  # limits
# Potency may be either, as the facility's assay reports it. The dose comes from the protocol.

Errors = dict[str, list[str]]


def plain(value: Decimal) -> str:
    """A Decimal as people write it: no exponent, no trailing zeros ("70", "0.25")."""
    text = format(value.normalize(), "f")
    return text


def cells_e9_text(total_cells: Decimal) -> str:
    return f"{plain(total_cells / Decimal(10**9))} ×10⁹ cells"


def criterion_of(minimum: Decimal | None, maximum: Decimal | None, unit: str, text: str) -> str:
    if text:
        return text
    if minimum is not None and maximum is not None:
        return f"{plain(minimum)} to {plain(maximum)} {unit}"
    if minimum is not None:
        return f"≥ {plain(minimum)} {unit}"
    return f"≤ {plain(cast(Decimal, maximum))} {unit}"


_LIMIT_REFUSED = "{label} must be from 0 to 10¹⁵ with at most 4 decimals (got {number})."
_NOT_A_NUMBER = "{label} must be a number (got {value!r})."
_LIMIT_WORDS = DecimalWords(
    inexact=_NOT_A_NUMBER,
    true_or_false=_NOT_A_NUMBER,
    not_a_number=_NOT_A_NUMBER,
    not_finite=_NOT_A_NUMBER,
    out_of_range=_LIMIT_REFUSED,
    too_many_places=_LIMIT_REFUSED,
)


def clean_number(value: Any, field: str, label: str, errors: Errors) -> Decimal | None:
    """A limit or a result as an exact Decimal; None when empty (the caller says if it is due)."""
    if value is None or value == "":
        return None
    return check_decimal_range(
        errors, field, label, value, Decimal(0), LIMIT_MAX, "", places=4, words=_LIMIT_WORDS
    )


_MOMENT_WORDS = MomentWords(
    future="The date and time cannot be in the future.",
    before="The date and time cannot be before {what} ({bound} UTC).",
)


def check_moment(value: Any, field: str, *, not_before: dt.datetime, errors: Errors) -> None:
    check_time(
        errors, field, value, not_before=not_before, not_before_label="the batch was opened",
        words=_MOMENT_WORDS,
    )  # fmt: skip


def batch_subject(batch: Batch) -> str:
    return subject_of(batch.coi_din)


def protocol_of(batch: Batch) -> Protocol:
    try:
        return load_protocol(batch.protocol_id, batch.protocol_version)
    except ProtocolNotFound as missing:
        raise InvalidInput({"test": [str(missing)]}) from None


def dose_check(batch: Batch) -> CellDoseCheck | None:
    """The bags' total viable cells against the protocol's range; None before formulation."""
    bags = list(ProductBag.objects.filter(batch=batch))
    if not bags:
        return None
    total = sum((bag.viable_cells for bag in bags), Decimal(0))
    return check_cell_dose(
        protocol_of(batch).cell_dose, total_viable_cells=cells(total), bag_count=len(bags)
    )


def dose_specification(dose: CellDoseCheck | CellDoseRange) -> str:
    """The protocol's range as one line, e.g. "7.5 to 72 ×10⁹ viable cells in 1 to 4 bags"."""
    bags = ""
    if dose.minimum_bags is not None:
        bags = f" in {dose.minimum_bags} to {dose.maximum_bags} bags"
    low = plain(dose.minimum.magnitude)
    if dose.maximum is None:
        return f"at least {low} ×10⁹ viable cells{bags}, no maximum (protocol {dose.protocol})"
    high = plain(dose.maximum.magnitude)
    return f"{low} to {high} ×10⁹ viable cells{bags} (protocol {dose.protocol})"


# ---------- specifications (the facility's QA) ----------


def set_release_specification(
    *,
    facility: Organization,
    protocol_id: str,
    test: str,
    actor: User,
    minimum: Any = None,
    maximum: Any = None,
    unit: str = "",
    expected_text: str = "",
    occurred_at: dt.datetime | None = None,
) -> ReleaseSpecification:
    """Set (or change) the facility's criterion for `test` under `protocol_id`. `occurred_at`:
    when QA set it, if earlier than now (the audit event is dated then)."""
    require(
        policies.can_set_release_specification(actor, facility),
        "Only a QA reviewer of this facility sets its release specifications.",
    )
    errors: Errors = {}
    protocols = sorted({ref.protocol_id for ref in available_protocols()})
    if protocol_id not in protocols:
        errors["protocol_id"] = [f"Choose one of the protocols: {', '.join(protocols)}."]
    unit = " ".join((unit or "").split())
    text = " ".join((expected_text or "").split())
    low = clean_number(minimum, "minimum", "Minimum", errors)
    high = clean_number(maximum, "maximum", "Maximum", errors)
    if test not in Kind.values:
        errors["test"] = [f"Choose one of: {', '.join(Kind.values)}."]
        raise InvalidInput(errors)
    label = Kind(test).label
    has_limits = low is not None or high is not None or "minimum" in errors or "maximum" in errors
    if test == Kind.VIABLE_CELL_DOSE:
        errors["test"] = [
            "The viable-cell dose range comes from the protocol file; it is not set here."
        ]
    elif text and has_limits:
        errors["expected_text"] = [
            f"Give either limits with a unit or an expected result for {label}, not both."
        ]
    elif test in TEXT_TESTS and not text:
        errors["expected_text"] = [
            f"{label} is a pass/fail test: give the expected result, e.g. “No growth”."
        ]
    elif test in NUMERIC_TESTS and not has_limits:
        errors["minimum"] = [f"Give a minimum, a maximum or both for {label}."]
    elif not text and not has_limits:
        errors["minimum"] = [f"Give limits with a unit, or the expected result, for {label}."]
    if len(text) > TEXT_MAX:
        errors["expected_text"] = [f"At most {TEXT_MAX} characters (got {len(text)})."]
    if has_limits and not unit:
        errors["unit"] = ["Give the unit of the limits, e.g. “%” or “EU/mL”."]
    elif unit and not has_limits:
        errors["unit"] = ["A unit goes with limits; leave it empty for a pass/fail result."]
    elif len(unit) > UNIT_MAX:
        errors["unit"] = [f"At most {UNIT_MAX} characters (got {len(unit)})."]
    if low is not None and high is not None and low > high:
        errors["maximum"] = [f"Maximum ({plain(high)}) must not be below minimum ({plain(low)})."]
    if unit == "%" and any(v is not None and v > 100 for v in (low, high)):
        errors.setdefault("maximum", []).append("A percentage limit is at most 100 %.")
    if errors:
        raise InvalidInput(errors)
    values = {
        "criterion": criterion_of(low, high, unit, text),
        "minimum": low,
        "maximum": high,
        "unit": unit,
        "expected_text": text,
        "set_by": actor,
    }
    return set_facility_row(
        ReleaseSpecification,
        {"facility": facility, "protocol_id": protocol_id, "test": test},
        values,
        action=Action.RELEASE_SPEC_SET,
        facility=facility,
        actor=actor,
        taken_field="test",
        occurred_at=occurred_at,
    )


# ---------- formulation (the facility's technologist) ----------


def _bag_errors(bags: Sequence[tuple[Any, Any]]) -> list[str]:
    if not 1 <= len(bags) <= MAX_BAGS:
        return [f"Give from 1 to {MAX_BAGS} bags (got {len(bags)})."]
    problems = []
    for number, (volume, viable) in enumerate(bags, start=1):
        if (
            not isinstance(volume, Decimal | int)
            or isinstance(volume, bool)
            or not (
                0 < volume <= VOLUME_ML_MAX and Decimal(volume).as_tuple().exponent >= -1  # type: ignore[operator]
            )
        ):
            problems.append(
                f"Bag {number}: volume must be more than 0 and at most {VOLUME_ML_MAX} mL, "
                f"with at most 1 decimal (got {volume})."
            )
        if (
            not isinstance(viable, Decimal | int)
            or isinstance(viable, bool)
            or not (
                0 < viable <= BAG_CELLS_MAX
                and Decimal(viable) == Decimal(viable).to_integral_value()
            )
        ):
            problems.append(
                f"Bag {number}: viable cells must be a whole number of cells from 1 to 10¹² "
                f"(got {viable})."
            )
    return problems


def record_formulation(
    batch: Batch,
    *,
    bags: Sequence[tuple[Any, Any]],
    storage_temperature: str,
    actor: User,
    formulated_at: dt.datetime | None = None,
) -> list[ProductBag]:
    """The harvest formulated into `bags`, each (volume_ml, viable_cells), with its label item."""
    require(
        policies.can_record_formulation(actor, batch),
        "Only a manufacturing technologist of this facility records the formulation, after the "
        "rapid expansion and before release testing.",
    )
    errors: Errors = {}
    if problems := _bag_errors(list(bags)):
        errors["bags"] = problems
    try:
        storage = clean_storage_temperature(storage_temperature)
    except InvalidInput as refused:
        errors.update(refused.errors)
    else:
        if not storage:
            errors["storage_temperature"] = [
                "Give the storage temperature printed on the bags, e.g. “≤ −150 °C (vapor phase "
                "of liquid nitrogen)”; there is no default."
            ]
    moment = formulated_at or timezone.now()
    check_moment(moment, "formulated_at", not_before=batch.opened_at, errors=errors)
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        batch = locked_batch(batch)
        require(policies.can_record_formulation(actor, batch), "The batch can no longer change.")
        if ProductBag.objects.filter(batch=batch).exists():
            raise InvalidInput({"bags": ["The formulation of this batch is already recorded."]})
        created = []
        for number, (volume, viable) in enumerate(bags, start=1):
            item = create_item(
                coi_din=batch.coi_din,
                coi_check=batch.coi_check,
                kind=ItemKind.PRODUCT_BAG,
                center=batch.center,
                facility=batch.facility,
                actor=actor,
                description=f"TIL product bag {number} of {len(bags)}, {plain(Decimal(volume))} mL",
                manufacture_attempt=batch.manufacture_attempt,
                storage_temperature=storage,
                occurred_at=audit_time(None, moment),
            )
            bag = ProductBag.objects.create(
                batch=batch,
                bag_number=number,
                volume_ml=Decimal(volume),
                viable_cells=Decimal(viable),
                item_id=item.item_id,
                formulated_at=moment,
                recorded_by=actor,
            )
            record_written(
                Action.BAG_RECORD,
                bag,
                actor=actor,
                subject_id=batch_subject(batch),
                occurred_at=audit_time(bag, moment),
            )
            created.append(bag)
        if batch.status == BatchStatus.REP:
            move_batch(
                batch,
                BatchStatus.HARVESTED,
                actor=actor,
                reason=f"Harvested and formulated into {len(created)} bag(s).",
                occurred_at=step_time(batch, moment),
            )
    return created
