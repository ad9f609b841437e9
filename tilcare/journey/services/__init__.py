"""Every write to a journey: opening it with its COI identifier, moving it, what is recorded on it.

One module per sub-domain: `journeys` (open, advance), `milestones`, `plan` (dates and the
manufacturing facility), `eligibility` (the checklist, its signature and amendments), `items` (the
first specimen container), `tasks`, and `release` (what a batch's release or rejection does to
the journey, with the signatures and the rejection that cause it). Callers use
`services.<function>` from here.
"""

from tilcare.journey.services.eligibility import (
    ELIGIBILITY_EDIT_REFUSED,
    SIGNED_CHECKLIST_MESSAGE,
    amend_eligibility,
    save_eligibility,
    sign_eligibility,
)
from tilcare.journey.services.items import SPECIMEN_DESCRIPTION, create_first_item
from tilcare.journey.services.journeys import (
    REASON_MAX,
    MoveOn,
    advance,
    advance_where_allowed,
    open_journey,
)
from tilcare.journey.services.milestones import (
    record_milestone,
    record_milestone_where_allowed,
    void_milestone,
)
from tilcare.journey.services.plan import change_manufacturing_facility, plan_journey
from tilcare.journey.services.release import (
    acknowledge_batch_exception,
    dispose_batch,
    reject_batch,
)
from tilcare.journey.services.tasks import complete_task

__all__ = [
    "ELIGIBILITY_EDIT_REFUSED",
    "REASON_MAX",
    "SIGNED_CHECKLIST_MESSAGE",
    "SPECIMEN_DESCRIPTION",
    "MoveOn",
    "acknowledge_batch_exception",
    "advance",
    "advance_where_allowed",
    "amend_eligibility",
    "change_manufacturing_facility",
    "complete_task",
    "create_first_item",
    "dispose_batch",
    "open_journey",
    "plan_journey",
    "record_milestone",
    "record_milestone_where_allowed",
    "reject_batch",
    "save_eligibility",
    "sign_eligibility",
    "void_milestone",
]
