"""API shapes of treatment, by sub-domain: `protocols` (a center's protocol settings), `orders`
(lymphodepletion and IL-2 orders and their verification), `infusion` (the infusion day's
checklist) and `il2` (IL-2 dose by dose: assessments and decisions)."""

from tilcare.treatment.schemas.protocols import SETTING_AS_TEXT

__all__ = ["SETTING_AS_TEXT"]
