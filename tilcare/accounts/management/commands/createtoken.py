"""`tilcare createtoken <username> --name "lab instrument" [--days 90] [--scope read]`: issue an
API bearer token.

The secret is printed once and never stored (only its SHA-256 is): whoever runs this copies it
into the calling system's configuration straight away. Every token expires: after 90 days unless
--days says otherwise (at most 365).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tilcare.accounts.choices import TokenScope
from tilcare.accounts.management.refusals import refused_as_command_error
from tilcare.accounts.models import User
from tilcare.accounts.services import DEFAULT_TOKEN_DAYS, MAX_TOKEN_DAYS, issue_api_token


class Command(BaseCommand):
    help = "Issue an API bearer token for a user and print its secret (shown only this once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", help="The user the calling system acts as.")
        parser.add_argument(
            "--name",
            required=True,
            help='What will use the token, e.g. "lab instrument" (shown in token lists).',
        )
        parser.add_argument(
            "--days",
            type=int,
            default=DEFAULT_TOKEN_DAYS,
            help=f"Days until the token expires (default {DEFAULT_TOKEN_DAYS}, "
            f"at most {MAX_TOKEN_DAYS}).",
        )
        parser.add_argument(
            "--scope",
            choices=TokenScope.values,
            default=TokenScope.READ_WRITE,
            help="read: GET requests only; read_write (default): also requests that write.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user = User.objects.get(username=options["username"])
        except User.DoesNotExist:
            raise CommandError(f"No user named {options['username']!r}.") from None
        with refused_as_command_error(name_fields=False):
            token, secret = issue_api_token(
                user, name=options["name"], days=options["days"], scope=options["scope"]
            )
        self.stdout.write(
            f"Token {token.key_prefix}… “{token.name}” issued for {user.username} "
            f"({token.get_scope_display().lower()}, expires {token.expires_at:%Y-%m-%d %H:%M} UTC)."
        )
        self.stdout.write("Copy the secret now; it is not stored and cannot be shown again:")
        self.stdout.write(secret)
