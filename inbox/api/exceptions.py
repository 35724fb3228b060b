"""One exception handler: every error leaves the API in the documented envelope.

Domain errors carry their own code and status; DRF's exceptions are mapped to
the contract's codes; anything unexpected is logged and answered as
INTERNAL_ERROR without a traceback.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404
from rest_framework import exceptions as drf
from rest_framework.response import Response

from inbox.api.envelope import error_body, request_id_of
from inbox.errors import DomainError

logger = logging.getLogger(__name__)


def _flatten(errors: Any, prefix: str = "") -> list[dict[str, str]]:
    """DRF's nested error dict/list as `[{"field": "content.text", "message": ...}]`."""
    details: list[dict[str, str]] = []
    if isinstance(errors, dict):
        for key, value in errors.items():
            name = (
                prefix
                if key in ("non_field_errors", "__all__")
                else (f"{prefix}.{key}" if prefix else str(key))
            )
            details += _flatten(value, name)
    elif isinstance(errors, list):
        if all(not isinstance(e, dict | list) for e in errors):
            details += [{"field": prefix or "body", "message": str(e)} for e in errors]
        else:
            for i, value in enumerate(errors):
                details += _flatten(value, f"{prefix}[{i}]")
    else:
        details.append({"field": prefix or "body", "message": str(errors)})
    return details


def _response(
    request: Any, status: int, code: str, message: str, details: Any = None, **extra: Any
) -> Response:
    body = error_body(request_id_of(request), code, message, details, **extra)
    return Response(body, status=status)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    request = context.get("request")
    headers: dict[str, str] = {}
    if isinstance(exc, DomainError):
        # A few errors carry more fields (ACCOUNT_LOCKED: retryAfter).
        extra = getattr(exc, "extra", None) or {}
        response = _response(request, exc.status, exc.code, exc.message, exc.details, **extra)
        if "retryAfter" in extra:
            headers["Retry-After"] = str(extra["retryAfter"])
    elif isinstance(exc, drf.ValidationError):
        details = _flatten(exc.detail)
        message = (
            f"{details[0]['field']}: {details[0]['message']}" if details else "Invalid request."
        )
        response = _response(request, 400, "VALIDATION_ERROR", message, details)
    elif isinstance(exc, drf.ParseError):
        response = _response(
            request,
            400,
            "VALIDATION_ERROR",
            f"The body could not be parsed: {exc.detail}",
            [{"field": "body", "message": str(exc.detail)}],
        )
    elif isinstance(exc, drf.UnsupportedMediaType):
        response = _response(request, 415, "UNSUPPORTED_MEDIA_TYPE", str(exc.detail))
    elif isinstance(exc, drf.NotAuthenticated):
        response = _response(request, 401, "AUTHENTICATION_REQUIRED", str(exc.detail))
        headers["WWW-Authenticate"] = 'Bearer realm="api"'
    elif isinstance(exc, drf.AuthenticationFailed):
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else "INVALID_API_KEY"
        if code == "authentication_failed":
            code = "INVALID_API_KEY"
        response = _response(request, 401, code, str(exc.detail))
        headers["WWW-Authenticate"] = 'Bearer realm="api", error="invalid_token"'
    elif isinstance(exc, drf.PermissionDenied | DjangoPermissionDenied):
        detail = getattr(exc, "detail", None) or "You do not have permission to do this."
        response = _response(request, 403, "INSUFFICIENT_PERMISSIONS", str(detail))
    elif isinstance(exc, drf.NotFound | Http404):
        response = _response(request, 404, "RESOURCE_NOT_FOUND", "The resource does not exist.")
    elif isinstance(exc, drf.MethodNotAllowed):
        response = _response(request, 405, "METHOD_NOT_ALLOWED", str(exc.detail))
    elif isinstance(exc, drf.NotAcceptable):
        response = _response(request, 406, "NOT_ACCEPTABLE", str(exc.detail))
    elif isinstance(exc, drf.Throttled):
        wait = int(exc.wait or 1)
        response = _response(
            request,
            429,
            "RATE_LIMIT_EXCEEDED",
            f"Too many requests; retry in {wait} seconds.",
            retryAfter=wait,
        )
        headers["Retry-After"] = str(wait)
    elif isinstance(exc, RequestDataTooBig):
        response = _response(
            request, 413, "PAYLOAD_TOO_LARGE", "The request body is larger than this API accepts."
        )
    elif isinstance(exc, SuspiciousOperation):
        response = _response(request, 400, "VALIDATION_ERROR", "The request was malformed.")
    elif isinstance(exc, drf.APIException):
        response = _response(request, exc.status_code, "BAD_REQUEST", str(exc.detail))
    else:
        logger.exception("unhandled error in API view")
        response = _response(
            request, 500, "INTERNAL_ERROR", "Something went wrong on our side; it has been logged."
        )
    for name, value in headers.items():
        response[name] = value
    return response
