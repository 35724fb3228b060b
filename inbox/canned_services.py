"""Canned responses: the only code that creates, changes and deletes them.

A canned response is a saved reply an agent inserts in the composer by
typing `/` and its shortcut. Shortcuts are unique per workspace and limited
to what can follow a `/` in running text without ambiguity (lower-case
letters, digits, `_` and `-`), so the composer can tell where one ends.

Who may call these is the caller's concern: the inbox's settings page lets
workspace admins only; the Django admin is for operators.
"""

from __future__ import annotations

import re

from django.db import IntegrityError, transaction
from django.utils import timezone

from inbox.errors import AlreadyExists, ValidationFailed
from inbox.models import CannedResponse, User, Workspace

SHORTCUT_RE = re.compile(r"^[a-z0-9_-]{1,32}$")
MAX_TITLE = 120
MAX_TEXT = 4096


def _clean_shortcut(shortcut: str) -> str:
    # A leading "/" is what agents type in the composer; accept it here too.
    value = (shortcut or "").strip().removeprefix("/").lower()
    if not SHORTCUT_RE.match(value):
        raise ValidationFailed(
            "Use 1-32 lower-case letters, digits, hyphens or underscores.", field="shortcut"
        )
    return value


def _clean_title(title: str) -> str:
    value = " ".join((title or "").split())
    if not value:
        raise ValidationFailed("A title is required.", field="title")
    if len(value) > MAX_TITLE:
        raise ValidationFailed(f"At most {MAX_TITLE} characters.", field="title")
    return value


def _clean_text(text: str) -> str:
    # Line breaks are the point of many canned replies: only the ends are trimmed.
    value = (text or "").replace("\r\n", "\n").strip()
    if not value:
        raise ValidationFailed("The text is required.", field="text")
    if len(value) > MAX_TEXT:
        raise ValidationFailed(f"At most {MAX_TEXT} characters.", field="text")
    return value


def _taken(shortcut: str) -> AlreadyExists:
    return AlreadyExists(f"/{shortcut} is already a canned response here.", field="shortcut")


def _save(canned: CannedResponse, **kwargs: object) -> CannedResponse:
    """Save, turning a lost race on the unique shortcut into the same error as the check."""
    try:
        with transaction.atomic():
            canned.save(**kwargs)  # type: ignore[arg-type]
    except IntegrityError as exc:
        raise _taken(canned.shortcut) from exc
    return canned


def create_canned_response(
    *,
    workspace: Workspace,
    shortcut: str,
    title: str,
    text: str,
    created_by: User | None = None,
) -> CannedResponse:
    shortcut = _clean_shortcut(shortcut)
    title = _clean_title(title)
    text = _clean_text(text)
    if CannedResponse.objects.filter(workspace=workspace, shortcut=shortcut).exists():
        raise _taken(shortcut)
    now = timezone.now()
    canned = CannedResponse(
        workspace=workspace,
        shortcut=shortcut,
        title=title,
        text=text,
        created_by=created_by,
        created_at=now,
        updated_at=now,
    )
    return _save(canned)


def update_canned_response(
    *,
    canned: CannedResponse,
    shortcut: str | None = None,
    title: str | None = None,
    text: str | None = None,
) -> CannedResponse:
    """Change the given fields; None leaves a field as it is."""
    changed: list[str] = []
    if shortcut is not None:
        value = _clean_shortcut(shortcut)
        if value != canned.shortcut:
            if (
                CannedResponse.objects.filter(workspace_id=canned.workspace_id, shortcut=value)
                .exclude(pk=canned.pk)
                .exists()
            ):
                raise _taken(value)
            canned.shortcut = value
            changed.append("shortcut")
    if title is not None:
        value = _clean_title(title)
        if value != canned.title:
            canned.title = value
            changed.append("title")
    if text is not None:
        value = _clean_text(text)
        if value != canned.text:
            canned.text = value
            changed.append("text")
    if not changed:
        return canned
    canned.updated_at = timezone.now()
    return _save(canned, update_fields=[*changed, "updated_at"])


def delete_canned_response(*, canned: CannedResponse) -> None:
    CannedResponse.objects.filter(pk=canned.pk).delete()
