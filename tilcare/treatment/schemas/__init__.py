"""API shapes of treatment, by sub-domain: `protocols` (a center's protocol settings), `orders`
(lymphodepletion and IL-2 orders and their verification)."""

from tilcare.treatment.schemas.protocols import SETTING_AS_TEXT

__all__ = ["SETTING_AS_TEXT"]
