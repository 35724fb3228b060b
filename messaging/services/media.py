"""Media uploads: checked by their bytes, stored on the default storage, expiring.

The MIME type is sniffed from the file's first bytes; the name's extension
and the declared Content-Type are only cross-checked against it, never
trusted. A message whose content URL points at an upload gets that upload as
its attachment, and the upload stops expiring.
"""

from __future__ import annotations

import mimetypes
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import IO

import filetype
from django.conf import settings
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from inbox.errors import ValidationFailed
from inbox.ids import new_public_id
from inbox.models import Workspace
from messaging.models import Attachment, MediaUpload, Message

MB = 1024 * 1024


@dataclass(frozen=True)
class MediaRule:
    max_bytes: int
    mime_types: frozenset[str]


# Sizes follow the strictest common provider (WhatsApp Cloud API).
MEDIA_RULES: dict[str, MediaRule] = {
    "image": MediaRule(5 * MB, frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})),
    "audio": MediaRule(
        16 * MB,
        frozenset(
            {"audio/ogg", "audio/mpeg", "audio/mp4", "audio/aac", "audio/amr", "audio/x-wav"}
        ),
    ),
    "video": MediaRule(
        16 * MB, frozenset({"video/mp4", "video/3gpp", "video/webm", "video/quicktime"})
    ),
    "document": MediaRule(
        100 * MB,
        frozenset(
            {
                "application/pdf",
                "application/msword",
                "application/vnd.ms-excel",
                "application/vnd.ms-powerpoint",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "application/vnd.openxmlformats-officedocument.presentationml.presentation",
                "application/zip",
                "text/plain",
                "text/csv",
            }
        ),
    ),
}
# MIME names that mean "the client did not say".
_GENERIC_MIME = {"", "application/octet-stream", "binary/octet-stream"}
# Types that are the same thing under two names.
_ALIASES = {
    "audio/x-wav": {"audio/wav", "audio/wave", "audio/vnd.wave"},
    "audio/mp4": {"audio/m4a", "audio/x-m4a", "video/mp4"},
    "text/plain": {"text/csv", "text/markdown"},
    "application/zip": {"application/x-zip-compressed"},
    "audio/ogg": {"application/ogg", "audio/opus"},
}
_MEDIA_ID_RE = re.compile(r"media_[A-Za-z0-9]{22}")
_SNIFF_BYTES = 8192


def _sniff(head: bytes) -> str | None:
    kind = filetype.guess(head)
    if kind is not None:
        return kind.mime
    # Text has no magic number: accept it when it is valid UTF-8 without NULs.
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        # A multi-byte character may be cut at the end of the sample.
        try:
            head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return None
    return "text/plain" if b"\x00" not in head else None


def _same(a: str, b: str) -> bool:
    return a == b or b in _ALIASES.get(a, set()) or a in _ALIASES.get(b, set())


def _check_mime(media_type: str, sniffed: str | None, filename: str, declared: str) -> str:
    rule = MEDIA_RULES[media_type]
    if sniffed is None:
        raise ValidationFailed("The file's contents are not a known media format.", field="file")
    if sniffed == "text/plain" and filename.lower().endswith(".csv"):
        sniffed = "text/csv"
    if sniffed not in rule.mime_types:
        raise ValidationFailed(
            f"The file is {sniffed}, which is not an accepted {media_type} type.", field="file"
        )
    declared = (declared or "").split(";")[0].strip().lower()
    if declared not in _GENERIC_MIME and not _same(sniffed, declared):
        raise ValidationFailed(
            f"The file was sent as {declared} but its contents are {sniffed}.", field="file"
        )
    guessed, _ = mimetypes.guess_type(filename)
    if guessed and not _same(sniffed, guessed):
        raise ValidationFailed(
            f"The file name says {guessed} but its contents are {sniffed}.", field="file"
        )
    return sniffed


def create_media_upload(
    *,
    workspace: Workspace,
    file: IO[bytes],
    filename: str,
    size: int,
    media_type: str,
    declared_mime: str = "",
) -> MediaUpload:
    if media_type not in MEDIA_RULES:
        raise ValidationFailed(f"Must be one of {', '.join(MEDIA_RULES)}.", field="type")
    rule = MEDIA_RULES[media_type]
    if size <= 0:
        raise ValidationFailed("The file is empty.", field="file")
    if size > rule.max_bytes:
        raise ValidationFailed(
            f"{media_type.capitalize()} files may be at most {rule.max_bytes // MB} MB; "
            f"this one is {size / MB:.1f} MB.",
            field="file",
        )
    head = file.read(_SNIFF_BYTES)
    file.seek(0)
    mime = _check_mime(media_type, _sniff(head), filename, declared_mime)
    public_id = new_public_id("media")
    extension = mimetypes.guess_extension(mime) or ""
    if mime == "text/csv":
        extension = ".csv"
    safe_name = re.sub(r"[^A-Za-z0-9._-]+", "_", filename)[-120:] or f"{public_id}{extension}"
    # The storage upload happens before the row exists and outside any
    # transaction; if the insert then fails the object is orphaned, which the
    # periodic clean-up tolerates, rather than holding a transaction open.
    stored_name = default_storage.save(
        f"uploads/{timezone.now():%Y/%m}/{public_id}{extension}", File(file)
    )
    return MediaUpload.objects.create(
        public_id=public_id,
        workspace=workspace,
        type=media_type,
        file=stored_name,
        filename=safe_name,
        mime_type=mime,
        size=size,
        expires_at=timezone.now() + timedelta(hours=settings.MEDIA_UPLOAD_TTL_HOURS),
    )


def absolute_url(url: str) -> str:
    return f"{settings.SITE_URL}{url}" if url.startswith("/") else url


def media_upload_url(upload: MediaUpload) -> str:
    return absolute_url(upload.file.url)


def attach_uploads(*, message: Message) -> list[Attachment]:
    """Turn the uploads referenced by the message's content URL into attachments.

    Must run inside the transaction that created the message.
    """
    url = message.content.get("url")
    if not isinstance(url, str):
        return []
    ids = _MEDIA_ID_RE.findall(url)
    if not ids:
        return []
    uploads = list(
        MediaUpload.objects.select_for_update().filter(
            workspace_id=message.workspace_id, public_id__in=ids
        )
    )
    attachments = []
    for upload in uploads:
        attachments.append(
            Attachment.objects.create(
                workspace_id=message.workspace_id,
                message=message,
                file=upload.file.name,
                filename=message.content.get("filename") or upload.filename,
                mime_type=upload.mime_type,
                size=upload.size,
            )
        )
        if upload.used_at is None:
            upload.used_at = timezone.now()
            upload.save(update_fields=["used_at"])
    return attachments


def purge_expired_uploads(*, now=None, batch: int = 500) -> int:  # type: ignore[no-untyped-def]
    """Delete unused uploads past their expiry, file first. Returns how many."""
    now = now or timezone.now()
    expired = list(
        MediaUpload.objects.filter(used_at__isnull=True, expires_at__lte=now).order_by("pk")[:batch]
    )
    purged = 0
    for upload in expired:
        with transaction.atomic():
            # Re-check under a lock: a message may have claimed it meanwhile.
            locked = (
                MediaUpload.objects.select_for_update()
                .filter(pk=upload.pk, used_at__isnull=True)
                .first()
            )
            if locked is None:
                continue
            name = locked.file.name
            locked.delete()
        # Storage calls stay outside the transaction.
        default_storage.delete(name)
        purged += 1
    return purged
