"""Middleware: give every request an id, echo it, and make logs carry it."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

from inbox.api.envelope import error_body
from inbox.request_context import accept_request_id, request_id_var

logger = logging.getLogger(__name__)


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = accept_request_id(request.headers.get("X-Request-ID"))
        request.request_id = request_id
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response


class ApiErrorMiddleware:
    """Under /api/ and /webhooks/, an escaped exception still answers in the JSON envelope.

    Providers retry a webhook on any 5xx; the envelope keeps the answer
    small and free of a traceback.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not request.path.startswith(("/api/", "/webhooks/")):
            return None
        logger.exception("unhandled error under %s", request.path.split("/")[1])
        body = error_body(
            getattr(request, "request_id", "-"),
            "INTERNAL_ERROR",
            "Something went wrong on our side; it has been logged.",
        )
        return JsonResponse(body, status=500)
