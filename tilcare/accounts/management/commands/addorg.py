"""`tilcare addorg`: register a treatment center or a manufacturing facility."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from tilcare.accounts import services
from tilcare.accounts.choices import OrganizationKind
from tilcare.accounts.management.refusals import refused_as_command_error


class Command(BaseCommand):
    help = "Register a treatment center or manufacturing facility (audited as 'system')."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--kind", required=True, choices=OrganizationKind.values)
        parser.add_argument("--time-zone", required=True, help="IANA name, e.g. America/New_York")
        parser.add_argument("--fin", default="", help="ISBT 128 FIN assigned by ICCBBA (centers)")
        parser.add_argument("--phone", default="")
        parser.add_argument("--after-hours-phone", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        with refused_as_command_error():
            organization = services.create_organization(
                actor=None,
                kind=options["kind"],
                name=options["name"],
                time_zone=options["time_zone"],
                isbt_fin=options["fin"],
                phone=options["phone"],
                after_hours_phone=options["after_hours_phone"],
            )
        self.stdout.write(
            self.style.SUCCESS(f"Created {organization.get_kind_display().lower()}: {organization}")
        )
