"""`manage.py load_demo`: the demo workspace, idempotently. Development only."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from inbox.demo import load_demo
from inbox.errors import DomainError
from inbox.management.commands._common import command_error


class Command(BaseCommand):
    help = (
        "Create or complete the demo workspace (logins, sandbox channels, sample "
        "conversations). Safe to re-run; refuses in production."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        # Checked here as well as in `load_demo`, so the refusal happens before
        # anything touches the database.
        if settings.IS_PRODUCTION:
            raise CommandError(
                "load_demo is for development only: the demo logins have published passwords."
            )
        try:
            workspace = load_demo(stdout=self.stdout)
        except DomainError as exc:
            raise command_error(exc) from exc
        self.stdout.write(self.style.SUCCESS(f"Demo workspace {workspace.slug!r} is ready."))
