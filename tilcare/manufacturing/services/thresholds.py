"""The facility's own thresholds: the three reactivity-screen thresholds and the early warning's.

`set_facility_thresholds` is the only write. A QA reviewer of the facility sets them (who sets
the release specifications); each value is checked against the clinical core's limits and the
places kept (`models.FacilityThresholds`), an empty value clears a setting ("not set", there is
no default), and the change is written whole with one audit event holding the before and after,
or refused whole naming each field and its limit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from tilcare.accounts.models import Organization, User
from tilcare.audit.actions import Action
from tilcare.core.errors import InvalidInput
from tilcare.core.policy import require
from tilcare.manufacturing import policies
from tilcare.manufacturing.models import (
    CD137_DIFFERENCE_MAX,
    CD137_DIFFERENCE_PLACES,
    FOLD_MAX,
    FOLD_PLACES,
    IFN_GAMMA_DIFFERENCE_MAX,
    IFN_GAMMA_DIFFERENCE_PLACES,
    PROBABILITY_MAX,
    PROBABILITY_PLACES,
    FacilityThresholds,
)
from tilcare.manufacturing.selectors.forecast import SETTING_FIELDS
from tilcare.manufacturing.services.settings import set_facility_row

NOT_QA = "Only a QA reviewer of this facility sets its thresholds."
LABELS = dict(SETTING_FIELDS)


@dataclass(frozen=True)
class Limit:
    """A setting's range (the minimum included or not, the maximum included) and places."""

    minimum: Decimal
    minimum_included: bool
    maximum: Decimal
    places: int
    rule: str  # the limit in words, as the refusal says it


LIMITS: dict[str, Limit] = {
    "min_ifn_gamma_difference_pg_per_ml": Limit(
        Decimal(0), True, IFN_GAMMA_DIFFERENCE_MAX, IFN_GAMMA_DIFFERENCE_PLACES,
        f"from 0 to {IFN_GAMMA_DIFFERENCE_MAX:,f} pg/mL with at most "
        f"{IFN_GAMMA_DIFFERENCE_PLACES} decimal",
    ),
    "min_ifn_gamma_fold": Limit(
        Decimal(0), False, FOLD_MAX, FOLD_PLACES,
        f"above 0 and at most {FOLD_MAX:,f} with at most {FOLD_PLACES} decimals",
    ),
    "min_cd137_difference_points": Limit(
        Decimal(0), True, CD137_DIFFERENCE_MAX, CD137_DIFFERENCE_PLACES,
        f"from 0 to {CD137_DIFFERENCE_MAX} percentage points with at most "
        f"{CD137_DIFFERENCE_PLACES} decimals",
    ),
    "warn_below_probability": Limit(
        Decimal(0), False, PROBABILITY_MAX, PROBABILITY_PLACES,
        f"a probability above 0 and at most {PROBABILITY_MAX} with at most "
        f"{PROBABILITY_PLACES} decimals (e.g. 0.80 for 80 %)",
    ),
}  # fmt: skip


def _clean(field: str, value: Any, errors: dict[str, list[str]]) -> Decimal | None:
    """The value to store (None clears the setting), or None with the refusal in `errors`."""
    label, limit = LABELS[field], LIMITS[field]
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool | float):
        errors[field] = [
            f"{label} must be given as a decimal number or text, not as {type(value).__name__} "
            f"({value!r}); it must be {limit.rule}."
        ]
        return None
    try:
        number = Decimal(value.strip()) if isinstance(value, str) else value
        if not isinstance(number, Decimal | int):
            raise InvalidOperation
        number = Decimal(number)
        if not number.is_finite():
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        errors[field] = [f"{label} must be a number (got “{value}”); it must be {limit.rule}."]
        return None
    above_minimum = number >= limit.minimum if limit.minimum_included else number > limit.minimum
    if not above_minimum or number > limit.maximum:
        errors[field] = [f"{label} must be {limit.rule} (got {number})."]
        return None
    kept = number.quantize(Decimal(1).scaleb(-limit.places))
    if kept != number:
        errors[field] = [f"{label} must be {limit.rule} (got {number})."]
        return None
    return kept


def clean_values(values: Mapping[str, Any]) -> dict[str, Decimal | None]:
    """The settings given, checked; InvalidInput naming each field and its limit."""
    errors: dict[str, list[str]] = {}
    unknown = sorted(str(key) for key in values if key not in LABELS)
    if unknown:
        errors["__all__"] = [
            f"Not a facility threshold: {', '.join(unknown)}; give only {', '.join(LABELS)}."
        ]
    elif not values:
        errors["__all__"] = [f"Give at least one of the thresholds: {', '.join(LABELS)}."]
    cleaned = {field: _clean(field, values[field], errors) for field in LABELS if field in values}
    if errors:
        raise InvalidInput(errors)
    return cleaned


def set_facility_thresholds(
    facility: Organization,
    *,
    actor: User,
    values: Mapping[str, Any],
    occurred_at: dt.datetime | None = None,
) -> FacilityThresholds:
    """Set (or clear, with an empty value) the facility's thresholds given in `values`, by field
    name (`SETTING_FIELDS`); those not given keep their value. Written whole or refused whole.
    `occurred_at`: when QA set them, if earlier than now (the audit event is dated then)."""
    require(policies.can_set_facility_thresholds(actor, facility), NOT_QA)
    cleaned = clean_values(values)
    return set_facility_row(
        FacilityThresholds,
        {"facility": facility},
        {**cleaned, "updated_by": actor},
        action=Action.FACILITY_THRESHOLDS_SET,
        facility=facility,
        actor=actor,
        taken_field="__all__",
        occurred_at=occurred_at,
    )
