"""The identity API: items and labels, alerts, shipments and temperature logs. Custody events
(`/identity/custody-events`) are described by `custody`'s schemas and served by the journey layer
(`tilcare.journey.api.scans`), whose one door knows the journey a scan is for.

(No `from __future__ import annotations` in the modules here: ninja reads the operations'
parameter annotations as objects when the routes are built.)
"""

from ninja import Router

from tilcare.identity.api import alerts, items, shipments

router = Router(tags=["identity and custody"])
for _part in (items, alerts, shipments):
    router.add_router("", _part.router)
