"""`manage.py create_workspace <slug> --name "..."`: add a tenant."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from inbox.errors import DomainError
from inbox.management.commands._common import command_error
from inbox.services import create_workspace


class Command(BaseCommand):
    help = "Create a workspace and print its slug and public id."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "slug", help="3-64 lower-case letters, digits and hyphens; other commands take it."
        )
        parser.add_argument("--name", required=True, help="The name agents see.")

    def handle(self, *args: Any, slug: str, name: str, **options: Any) -> None:
        try:
            workspace = create_workspace(slug=slug, name=name)
        except DomainError as exc:
            raise command_error(exc) from exc
        self.stdout.write(
            self.style.SUCCESS(f"Created workspace {workspace.name!r}.")
            + f"\n  slug:      {workspace.slug}\n  public id: {workspace.public_id}"
        )
