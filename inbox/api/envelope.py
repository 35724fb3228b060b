"""The response envelope: `{"data": ..., "meta": {"requestId", ...}}`."""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response

from inbox.request_context import current_request_id


def request_id_of(request: Request | Any) -> str:
    return getattr(request, "request_id", None) or current_request_id()


def meta(request: Request, **extra: Any) -> dict[str, Any]:
    return {"requestId": request_id_of(request), **extra}


def single(request: Request, data: Any, *, status: int = 200, **meta_extra: Any) -> Response:
    return Response({"data": data, "meta": meta(request, **meta_extra)}, status=status)


def collection(request: Request, items: list[Any], **meta_extra: Any) -> Response:
    return Response({"data": items, "meta": meta(request, **meta_extra)})


def error_body(
    request_id: str,
    code: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    error.update(extra)
    return {"error": error, "meta": {"requestId": request_id}}
