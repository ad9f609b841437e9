"""`tilcare adduser`: create a person's account with one role in one organization."""

from __future__ import annotations

import getpass
import os
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tilcare.accounts import services
from tilcare.accounts.choices import Role
from tilcare.accounts.management.refusals import refused_as_command_error
from tilcare.accounts.models import Organization


class Command(BaseCommand):
    help = (
        "Create an account. The password is asked for at the prompt, or read from the "
        "TILCARE_NEW_PASSWORD environment variable when there is no terminal."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--org", required=True, help="the organization's exact name")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--first-name", required=True)
        parser.add_argument("--last-name", required=True)
        parser.add_argument("--credentials", default="", help="e.g. MD, RN, PharmD")
        parser.add_argument("--email", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        organization = Organization.objects.filter(name=options["org"]).first()
        if organization is None:
            raise CommandError(
                f"No organization is named “{options['org']}” (see `tilcare addorg`)."
            )
        password = os.environ.get("TILCARE_NEW_PASSWORD", "")
        if not password:
            if not sys.stdin.isatty():
                raise CommandError("Set TILCARE_NEW_PASSWORD, or run from a terminal to be asked.")
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                raise CommandError("The two passwords differ.")
        with refused_as_command_error():
            user = services.create_user(
                actor=None,
                organization=organization,
                username=options["username"],
                password=password,
                role=options["role"],
                first_name=options["first_name"],
                last_name=options["last_name"],
                credentials=options["credentials"],
                email=options["email"],
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Created {user.username}: {user.printed_name}, {user.get_role_display()} "
                f"at {organization}"
            )
        )
