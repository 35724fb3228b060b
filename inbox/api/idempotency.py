"""`Idempotency-Key` on POST: the first request runs, replays get its answer.

A record is inserted (and committed) before the request runs, so of two
concurrent requests with one key exactly one runs; the other is told the
first is still in progress, or, once it finished, gets its stored answer.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response

from inbox.errors import Conflict, ValidationFailed
from inbox.models import IdempotencyRecord, Workspace

REPLAY_WINDOW = timedelta(hours=24)
MAX_KEY_LENGTH = 255


class IdempotencyKeyReused(Conflict):
    code = "IDEMPOTENCY_KEY_REUSED"
    default_message = "This Idempotency-Key was used with a different request."


class IdempotentRequestInProgress(Conflict):
    code = "IDEMPOTENCY_REQUEST_IN_PROGRESS"
    default_message = "A request with this Idempotency-Key is still being processed; retry shortly."


def request_fingerprint(request: Request) -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(b"\0")
    digest.update(request.path.encode())
    digest.update(b"\0")
    digest.update(
        request._request.body
        if not request.content_type.startswith("multipart")
        else _multipart_fingerprint(request).encode()
    )
    return digest.hexdigest()


def _multipart_fingerprint(request: Request) -> str:
    # Multipart bodies carry a random boundary; hash the fields and file bytes instead.
    parts = sorted((k, str(v)) for k, v in request.POST.items())
    for name, upload in sorted(request.FILES.items()):
        file_digest = hashlib.sha256()
        for chunk in upload.chunks():
            file_digest.update(chunk)
        upload.seek(0)
        parts.append((name, file_digest.hexdigest()))
    return repr(parts)


def begin(
    *, workspace: Workspace, key: str, request: Request
) -> tuple[IdempotencyRecord | None, Response | None]:
    """(record to complete, None) for a first request; (None, replay) for a repeat."""
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise ValidationFailed(
            "Idempotency-Key must be 1-255 printable characters.", field="Idempotency-Key"
        )
    fingerprint = request_fingerprint(request)
    now = timezone.now()
    # Forget an expired record so the key can be used afresh.
    IdempotencyRecord.objects.filter(
        workspace=workspace, key=key, created_at__lt=now - REPLAY_WINDOW
    ).delete()
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(
                workspace=workspace,
                key=key,
                method=request.method,
                path=request.path[:500],
                request_hash=fingerprint,
            )
        return record, None
    except IntegrityError:
        pass
    existing = IdempotencyRecord.objects.filter(workspace=workspace, key=key).first()
    if existing is None:  # deleted between our insert and read: run it
        return begin(workspace=workspace, key=key, request=request)
    if existing.request_hash != fingerprint:
        raise IdempotencyKeyReused()
    if existing.completed_at is None:
        raise IdempotentRequestInProgress()
    replay = Response(existing.response_body, status=existing.status_code)
    replay["Idempotent-Replayed"] = "true"
    return None, replay


def complete(record: IdempotencyRecord, response: Response) -> None:
    if response.status_code >= 500:
        # A server error is not an answer to keep: let the client retry.
        record.delete()
        return
    record.status_code = response.status_code
    record.response_body = response.data
    record.completed_at = timezone.now()
    record.save(update_fields=["status_code", "response_body", "completed_at"])


def abandon(record: IdempotencyRecord) -> None:
    record.delete()


def purge_expired_records() -> int:
    cutoff = timezone.now() - REPLAY_WINDOW
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
