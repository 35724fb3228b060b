"""Helpers shared by the operator commands (not a command: the leading underscore).

Commands only parse arguments, call one service and print; these turn the
services' domain errors into `CommandError` (a message and exit status 1).
"""

from __future__ import annotations

from django.core.management.base import CommandError

from inbox.errors import DomainError
from inbox.models import Workspace


def command_error(exc: DomainError) -> CommandError:
    """The error an operator sees: the field it is about, then the service's message."""
    fields = [d["field"] for d in exc.details if d.get("field")]
    prefix = f"{fields[0]}: " if fields else ""
    return CommandError(f"{prefix}{exc.message}")


def workspace_by_slug(slug: str) -> Workspace:
    workspace = Workspace.objects.filter(slug=(slug or "").strip().lower()).first()
    if workspace is None:
        raise CommandError(
            f"No workspace with slug '{slug}'. Create it with: manage.py create_workspace {slug}"
            ' --name "..."'
        )
    return workspace
