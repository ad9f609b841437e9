"""`tilcare tokens list [--user USERNAME]` and `tilcare tokens revoke <prefix>`: review and
revoke API bearer tokens from the server's command line (audited as "system").
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from tilcare.accounts.management.refusals import refused_as_command_error
from tilcare.accounts.models import ApiToken
from tilcare.accounts.services import revoke_api_token


def _utc(moment: dt.datetime | None) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M") if moment else "never"


class Command(BaseCommand):
    help = "List API tokens (with scope, expiry and last use), or revoke one by its prefix."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        listing = actions.add_parser("list", help="List tokens, newest first (times in UTC).")
        listing.add_argument("--user", default="", help="Only this user's tokens.")
        revoke = actions.add_parser("revoke", help="Revoke a token at once.")
        revoke.add_argument("prefix", help="The token's first 8 characters, e.g. tc_AbCdE.")
        revoke.add_argument("--reason", default="", help="Kept in the audit trail.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "list":
            self._list(options["user"])
        else:
            self._revoke(options["prefix"], options["reason"])

    def _list(self, username: str) -> None:
        tokens = ApiToken.objects.select_related("user").order_by("-created_at", "-pk")
        if username:
            tokens = tokens.filter(user__username=username)
        now = timezone.now()
        self.stdout.write(
            f"{'PREFIX':<10}{'NAME':<28}{'USER':<18}{'SCOPE':<12}{'CREATED':<18}"
            f"{'EXPIRES':<18}{'LAST USED':<18}STATUS"
        )
        for token in tokens:
            self.stdout.write(
                f"{token.key_prefix:<10}{token.name[:27]:<28}{token.user.username[:17]:<18}"
                f"{token.scope:<12}{_utc(token.created_at):<18}{_utc(token.expires_at):<18}"
                f"{_utc(token.last_used_at):<18}{token.status_at(now)}"
            )

    def _revoke(self, prefix: str, reason: str) -> None:
        matches = list(ApiToken.objects.filter(key_prefix=prefix.strip()))
        if not matches:
            raise CommandError(f"No token starts with {prefix!r} (see `tilcare tokens list`).")
        if len(matches) > 1:
            raise CommandError(f"{len(matches)} tokens start with {prefix!r}; none was revoked.")
        with refused_as_command_error(name_fields=False):
            token = revoke_api_token(matches[0], actor=None, reason=reason)
        self.stdout.write(f"Token {token.key_prefix}… “{token.name}” revoked.")
