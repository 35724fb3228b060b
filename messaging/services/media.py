"""Media uploads: checked by their bytes, stored on the default storage, expiring.

The MIME type is sniffed from the file's bytes (its magic number; for text,
all of it); the name's extension and the declared Content-Type are only
cross-checked against it, never trusted. A message whose content URL is an
upload's URL gets that upload as its attachment, and the upload stops
expiring; unused ones are purged once expired.
"""

from __future__ import annotations

import codecs
import logging
import mimetypes
import re
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO
from urllib.parse import unquote, urlsplit

import filetype
from django.conf import settings
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db.models import Q
from django.utils import timezone

from inbox.errors import ValidationFailed
from inbox.ids import new_public_id
from inbox.links import absolute_url
from inbox.models import Workspace
from messaging.models import Attachment, MediaUpload, Message

logger = logging.getLogger(__name__)

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
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
# The stored name's extension, fixed here rather than asked of `mimetypes`,
# whose answer depends on the host's /etc/mime.types. S3 derives an object's
# Content-Type from it when none is given.
_EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "audio/ogg": ".ogg",
    "audio/mpeg": ".mp3",
    "audio/mp4": ".m4a",
    "audio/aac": ".aac",
    "audio/amr": ".amr",
    "audio/x-wav": ".wav",
    "video/mp4": ".mp4",
    "video/3gpp": ".3gp",
    "video/webm": ".webm",
    "video/quicktime": ".mov",
    "application/pdf": ".pdf",
    "application/msword": ".doc",
    "application/vnd.ms-excel": ".xls",
    "application/vnd.ms-powerpoint": ".ppt",
    DOCX: ".docx",
    XLSX: ".xlsx",
    PPTX: ".pptx",
    "application/zip": ".zip",
    "text/plain": ".txt",
    "text/csv": ".csv",
}
# An Office Open XML file is a ZIP whose parts live under one of these folders.
_OOXML_FOLDERS = {"word/": DOCX, "xl/": XLSX, "ppt/": PPTX}
# MIME names that mean "the client did not say".
_GENERIC_MIME = {"", "application/octet-stream", "binary/octet-stream"}
# Types that are the same thing under two names.
_ALIASES = {
    "audio/x-wav": {"audio/wav", "audio/wave", "audio/vnd.wave"},
    "audio/mp4": {"audio/m4a", "audio/x-m4a", "video/mp4"},
    "image/jpeg": {"image/jpg", "image/pjpeg"},
    "audio/mpeg": {"audio/mp3"},
    "text/plain": {"text/csv", "text/markdown"},
    # Browsers on Windows with Excel installed send CSV files as Excel's type.
    "text/csv": {"application/csv", "text/x-csv", "application/vnd.ms-excel"},
    "application/zip": {"application/x-zip-compressed"},
    "audio/ogg": {"application/ogg", "audio/opus"},
}
# How long past its expiry an unused upload is kept before the purge deletes
# it: longer than any transaction that checked it just before it expired.
PURGE_GRACE = timedelta(hours=1)
_MEDIA_ID_RE = re.compile(r"media_[A-Za-z0-9]{22}")
_SNIFF_BYTES = 8192
_TEXT_CHUNK = 64 * 1024


def _is_text(file: IO[bytes]) -> bool:
    """Valid UTF-8 without NULs, all of it: text has no magic number to check."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        # The whole file, not a sample: binary bytes after a text prefix must
        # not pass as text. The size limit bounds the read.
        while chunk := file.read(_TEXT_CHUNK):
            if b"\x00" in chunk:
                return False
            # The incremental decoder carries a character cut between chunks over.
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    finally:
        file.seek(0)
    return True


def _zip_kind(file: IO[bytes]) -> str | None:
    """Tell an Office document from a plain archive by the ZIP's entry names.

    filetype only recognises OOXML when a `word/`, `xl/` or `ppt/` entry comes
    among the first few, which depends on the program that wrote the file;
    the central directory lists every entry.
    """
    try:
        with zipfile.ZipFile(file) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return None
    finally:
        file.seek(0)
    if "[Content_Types].xml" in names:
        for folder, mime in _OOXML_FOLDERS.items():
            if any(name.startswith(folder) for name in names):
                return mime
    return "application/zip"


def _sniff(file: IO[bytes]) -> str | None:
    head = file.read(_SNIFF_BYTES)
    file.seek(0)
    kind = filetype.guess(head)
    if kind is not None:
        return _zip_kind(file) if kind.mime == "application/zip" else kind.mime
    return "text/plain" if _is_text(file) else None


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


def guess_media_type(file: IO[bytes], filename: str, size: int) -> str:
    """The upload `type` a file's bytes make it, for callers that do not ask (the inbox).

    The API's clients name the type; the inbox composer takes whatever file
    the agent drops. Unknown or over-large files answer `document`, the most
    permissive type, so `create_media_upload` refuses them with its own
    message rather than this function inventing another.
    """
    if size <= 0 or size > MEDIA_RULES["document"].max_bytes:
        return "document"
    file.seek(0)
    mime = _sniff(file)
    if mime == "text/plain" and filename.lower().endswith(".csv"):
        mime = "text/csv"
    for media_type, rule in MEDIA_RULES.items():
        if mime in rule.mime_types:
            return media_type
    return "document"


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
        # In bytes too: just over the limit, rounded megabytes read as equal.
        raise ValidationFailed(
            f"{media_type.capitalize()} files may be at most {rule.max_bytes // MB} MB "
            f"({rule.max_bytes} bytes); this one is {size} bytes.",
            field="file",
        )
    file.seek(0)
    mime = _check_mime(media_type, _sniff(file), filename, declared_mime)
    public_id = new_public_id("media")
    extension = _EXTENSIONS[mime]
    safe_name = re.sub(r"[^A-Za-z0-9._-]+", "_", filename)[-120:] or f"{public_id}{extension}"
    content = File(file)
    # S3 stores this as the object's Content-Type, which its URLs are served
    # with: the sniffed type, never the client's claim.
    content.content_type = mime  # type: ignore[attr-defined]
    # The storage upload happens before the row exists and outside any
    # transaction, rather than holding one open during a network call.
    stored_name = default_storage.save(
        f"uploads/{timezone.now():%Y/%m}/{public_id}{extension}", content
    )
    try:
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
    except Exception:
        # Without a row the periodic clean-up would never find the object.
        default_storage.delete(stored_name)
        raise


def media_upload_url(upload: MediaUpload) -> str:
    return absolute_url(upload.file.url)


def _location(url: str) -> tuple[str, str]:
    # A signed URL's query changes at every signing; host and path name the file.
    parts = urlsplit(url)
    return parts.netloc.lower(), unquote(parts.path)


def attach_uploads(*, message: Message) -> list[Attachment]:
    """Turn the upload whose URL is the message's content URL into an attachment.

    Must run inside the transaction that created the message.
    """
    url = message.content.get("url")
    if not isinstance(url, str):
        return []
    location = _location(url)
    ids = _MEDIA_ID_RE.findall(location[1])
    if not ids:
        return []
    uploads = list(
        MediaUpload.objects.select_for_update()
        .filter(workspace_id=message.workspace_id, public_id__in=ids)
        # An expired upload that no message used is on its way out.
        .filter(Q(used_at__isnull=False) | Q(expires_at__gt=timezone.now()))
    )
    attachments = []
    for upload in uploads:
        # The id alone is not enough: a URL elsewhere that merely contains it
        # would show our file as the attachment of a message that sent theirs.
        if _location(media_upload_url(upload)) != location:
            continue
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


def purge_expired_uploads(*, now: datetime | None = None, batch: int = 500) -> int:
    """Delete unused uploads expired for over `PURGE_GRACE`, file first. Returns how many.

    No lock is held across the storage call: an expired, unused upload can no
    longer be attached (`attach_uploads` refuses it), so nothing races the
    purge once it is past the grace period, which covers a send that checked
    the upload just before it expired. File first: if the storage call fails
    the row stays, and the next run tries again instead of leaving an object
    no row points at.
    """
    now = now or timezone.now()
    expired = list(
        MediaUpload.objects.filter(
            used_at__isnull=True, expires_at__lte=now - PURGE_GRACE
        ).order_by("pk")[:batch]
    )
    purged = 0
    for upload in expired:
        try:
            default_storage.delete(upload.file.name)
        except Exception:
            logger.exception("Could not purge expired upload %s; will retry.", upload.public_id)
            continue
        deleted, _ = MediaUpload.objects.filter(pk=upload.pk, used_at__isnull=True).delete()
        purged += 1 if deleted else 0
    return purged
