"""`tilcare audit verify`: recompute the audit chain and name the first broken link."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tilcare.audit.selectors import verify_chain


class Command(BaseCommand):
    help = "Audit trail tools. `verify` recomputes the hash chain and exits non-zero if broken."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["verify"])

    def handle(self, *args: Any, **options: Any) -> None:
        report = verify_chain()
        if not report.ok:
            raise CommandError(
                f"Audit chain BROKEN after {report.events_checked} good events: {report.problem}."
            )
        self.stdout.write(
            self.style.SUCCESS(f"Audit chain intact: {report.events_checked} events verified.")
        )
