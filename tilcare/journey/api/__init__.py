"""The journey API: journeys and their tasks (`journeys`), custody scans (`scans`, the one door
for a scan at every step), the signed release of a batch (`release`) and the treatment orders of
a journey's course (`orders`) and its infusion day's checklist (`infusion`), both served under
the journeys router.

Each module keeps its own router; `tilcare.config.api` mounts them in an order that matters: the
scans router before the journeys router, so `/journeys/scans` is never read as a journey's id.

(No `from __future__ import annotations` in the modules here: ninja reads the operations'
parameter annotations as objects when the routes are built.)
"""

from tilcare.journey.api.infusion import router as infusion_router
from tilcare.journey.api.journeys import router, tasks_router
from tilcare.journey.api.orders import router as orders_router
from tilcare.journey.api.release import router as release_router
from tilcare.journey.api.scans import router as scans_router

router.add_router("", orders_router)
router.add_router("", infusion_router)

__all__ = ["release_router", "router", "scans_router", "tasks_router"]
