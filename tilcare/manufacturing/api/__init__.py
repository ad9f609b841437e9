"""The manufacturing API: capacity (`slots`), the batch record (`batches`) and its release
(`release`), mounted in that order under one router.

(No `from __future__ import annotations` in the modules here: ninja reads the operations'
parameter annotations as objects when the routes are built.)
"""

from ninja import Router

from tilcare.manufacturing.api import batches, release, slots

router = Router(tags=["manufacturing"])
for _part in (slots, batches, release):
    router.add_router("", _part.router)
