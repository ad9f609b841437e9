"""`tilcare load_demo`: fill an empty database with the demo program (tilcare/demo/builder.py)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from tilcare.accounts.models import Organization
from tilcare.audit.selectors import verify_chain
from tilcare.demo.builder import DEMO_PASSWORD, build_demo


class Command(BaseCommand):
    help = (
        "Load the demo center, facility, staff and patients into an EMPTY database. "
        "Demo data only: every account shares a published password."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        # The demo accounts share a password printed in the README: they must never reach a
        # database that holds, or will hold, real patients.
        if str(settings.SETTINGS_MODULE).endswith(".prod"):
            raise CommandError(
                "Refusing to load demo data with production settings "
                f"({settings.SETTINGS_MODULE}): the demo accounts share the published password "
                f"“{DEMO_PASSWORD}”. Use `tilcare demo`, which runs on its own SQLite file."
            )
        if Organization.objects.exists():
            raise CommandError(
                "This database already has organizations; load_demo only fills an empty "
                "database. For a fresh demo run `tilcare demo`, which starts from a new file."
            )
        summary = build_demo()
        report = verify_chain()
        if not report.ok:
            raise CommandError(f"Demo loaded but the audit chain does not verify: {report.problem}")
        self.stdout.write(
            f"Demo loaded: {summary.organizations} organizations, {summary.users} users, "
            f"{summary.patients} patients, {summary.journeys} journeys, "
            f"{summary.audit_events} audit events (chain verified)."
        )
