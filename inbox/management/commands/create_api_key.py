"""`manage.py create_api_key <workspace-slug> --name "..."`: a key for an integration.

The full key is printed once; only its SHA-256 is stored, so it can never be
shown again (revoke it and make a new one if it is lost).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from inbox.errors import DomainError
from inbox.management.commands._common import command_error, workspace_by_slug
from inbox.services import API_SCOPES, create_api_key


class Command(BaseCommand):
    help = "Create an API key for a workspace and print it once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("workspace", help="The workspace's slug.")
        parser.add_argument("--name", required=True, help="What the key is for, e.g. 'CRM'.")
        parser.add_argument(
            "--scopes",
            default="",
            help=(
                "Comma-separated scopes; all of them ('*') when omitted. "
                f"Known: {', '.join(API_SCOPES)}."
            ),
        )
        parser.add_argument(
            "--expires-in-days",
            type=int,
            default=None,
            help="Make the key stop working after this many days (default: never).",
        )

    def handle(
        self,
        *args: Any,
        workspace: str,
        name: str,
        scopes: str,
        expires_in_days: int | None,
        **options: Any,
    ) -> None:
        ws = workspace_by_slug(workspace)
        scope_list = [s.strip() for s in (scopes or "").split(",") if s.strip()]
        expires_at = None
        if expires_in_days is not None:
            if expires_in_days < 1:
                raise CommandError("--expires-in-days must be at least 1.")
            expires_at = timezone.now() + timedelta(days=expires_in_days)
        try:
            key, raw_key = create_api_key(
                workspace=ws, name=name, scopes=scope_list or None, expires_at=expires_at
            )
        except DomainError as exc:
            raise command_error(exc) from exc
        expiry = key.expires_at.isoformat(timespec="seconds") if key.expires_at else "never"
        self.stdout.write(
            self.style.SUCCESS(f"Created API key {key.name!r} ({key.public_id}) for {ws.slug}.")
            + f"\n  scopes:  {', '.join(key.scopes)}\n  expires: {expiry}\n"
        )
        # The key on a line of its own, so a script can pick it out.
        self.stdout.write(raw_key)
        self.stdout.write(
            self.style.WARNING(
                "\nCopy this key now: it will not be shown again (only its hash is stored)."
            )
        )
