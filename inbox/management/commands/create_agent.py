"""`manage.py create_agent <workspace-slug> <email>`: add an agent (or admin) to a workspace.

Password, in order: `--password`; `--generate-password`; a prompt when run
from a terminal; otherwise (a script, CI) a generated one. A generated
password is printed once. A user who already exists (an agent of another
workspace) keeps their password and just joins the workspace.
"""

from __future__ import annotations

import getpass
import secrets
import sys
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from inbox.errors import DomainError
from inbox.management.commands._common import command_error, workspace_by_slug
from inbox.models import Membership, User
from inbox.services import create_agent

PROMPT_ATTEMPTS = 3


def _stdin_is_tty() -> bool:
    isatty = getattr(sys.stdin, "isatty", None)
    return bool(isatty and isatty())


class Command(BaseCommand):
    help = "Add an agent or admin to a workspace, creating the user when the email is new."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("workspace", help="The workspace's slug.")
        parser.add_argument("email", help="The agent's email; they sign in with it.")
        parser.add_argument("--role", choices=Membership.Role.values, default=Membership.Role.AGENT)
        parser.add_argument("--name", default="", help="Display name shown to colleagues.")
        secret = parser.add_mutually_exclusive_group()
        secret.add_argument(
            "--password",
            default=None,
            help="Set this password (visible in the process list; prefer the prompt).",
        )
        secret.add_argument(
            "--generate-password",
            action="store_true",
            help="Generate a password and print it once, even in a terminal.",
        )
        parser.add_argument(
            "--operator",
            action="store_true",
            help="Also make the user staff and superuser, for the Django admin.",
        )

    def handle(
        self,
        *args: Any,
        workspace: str,
        email: str,
        role: str,
        name: str,
        password: str | None,
        generate_password: bool,
        operator: bool,
        **options: Any,
    ) -> None:
        if password and generate_password:  # call_command() skips argparse's group check
            raise CommandError("Give either --password or --generate-password, not both.")
        ws = workspace_by_slug(workspace)
        address = (email or "").strip().lower()
        generated = False
        if User.objects.filter(email=address).exists():
            # The service ignores passwords for existing users; say so rather
            # than print a password that does not work.
            if password or generate_password:
                self.stderr.write(f"{address} already has an account; their password is unchanged.")
            password = None
        elif not password:
            if generate_password or not _stdin_is_tty():
                password = secrets.token_urlsafe(16)
                generated = True
            else:
                password = self._prompt_password(User(email=address, display_name=name))
        try:
            user, membership = create_agent(
                workspace=ws,
                email=address,
                role=role,
                password=password,
                display_name=name,
                is_operator=operator,
            )
        except DomainError as exc:
            raise command_error(exc) from exc
        self.stdout.write(
            self.style.SUCCESS(f"Added {user.email} to {ws.slug} as {membership.role}.")
            + f"\n  user id:  {user.public_id}"
            + ("\n  operator: staff and superuser (can sign in to /admin/)" if operator else "")
        )
        if generated:
            self.stdout.write(f"  password: {password}")
            self.stdout.write(
                self.style.WARNING("Store this password now: it will not be shown again.")
            )

    def _prompt_password(self, user: User) -> str:
        """Ask twice, checking the project's password validators, like createsuperuser."""
        for _ in range(PROMPT_ATTEMPTS):
            try:
                first = getpass.getpass("Password: ")
                second = getpass.getpass("Password (again): ")
            except (EOFError, KeyboardInterrupt) as exc:
                raise CommandError("Cancelled.") from exc
            if first != second:
                self.stderr.write("Error: the passwords didn't match.")
                continue
            if not first.strip():
                self.stderr.write("Error: blank passwords aren't allowed.")
                continue
            try:
                validate_password(first, user)
            except ValidationError as exc:
                self.stderr.write("\n".join(f"Error: {m}" for m in exc.messages))
                continue
            return first
        raise CommandError(f"No acceptable password after {PROMPT_ATTEMPTS} attempts.")
