"""The identity API: items and labels, custody events, alerts, shipments and temperature logs.

(No `from __future__ import annotations` in the modules here: ninja reads the operations'
parameter annotations as objects when the routes are built.)
"""

from ninja import Router

from tilcare.identity.api import alerts, custody, items, shipments

router = Router(tags=["identity and custody"])
for _part in (items, custody, alerts, shipments):
    router.add_router("", _part.router)
