"""The base view of the API: auth, scopes, rate limits, idempotency, error envelope."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from rest_framework.exceptions import Throttled
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inbox.api import idempotency, ratelimit
from inbox.api.authentication import AccessTokenAuthentication, ApiKeyAuthentication
from inbox.api.permissions import HasScope
from inbox.api.principal import Principal
from inbox.models import Workspace


def client_ip(request: HttpRequest) -> str:
    # Behind a proxy the deployment sets SECURE_PROXY_SSL_HEADER and terminates
    # at a trusted load balancer; REMOTE_ADDR is what we can trust here.
    return request.META.get("REMOTE_ADDR", "unknown")


class ApiView(APIView):
    """Subclass and set `required_scopes`; handlers use `self.workspace`."""

    authentication_classes = [ApiKeyAuthentication, AccessTokenAuthentication]
    permission_classes = [HasScope]
    required_scopes: dict[str, str] = {}
    # False where a POST's answer must never be stored for replay (issued auth tokens).
    honours_idempotency_key = True

    @property
    def principal(self) -> Principal:
        return self.request.auth

    @property
    def workspace(self) -> Workspace:
        return self.request.auth.workspace

    def get_exception_handler(self):  # type: ignore[no-untyped-def]
        from inbox.api.exceptions import api_exception_handler

        return api_exception_handler

    def _rate_limit(self, request: Request, identity: str) -> None:
        if getattr(request, "_rate_state", None) is not None:
            return
        state = ratelimit.hit(identity)
        request._rate_state = state
        if state.exceeded:
            raise Throttled(wait=max(state.reset - int(ratelimit.time.time()), 1))

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        try:
            super().initial(request, *args, **kwargs)
        except Exception:
            # Unauthenticated and forbidden requests count against the caller's IP.
            self._rate_limit(request, f"ip:{client_ip(request)}")
            raise

    def check_throttles(self, request: Request) -> None:
        self._rate_limit(request, request.auth.rate_limit_key)

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Response:
        """DRF's dispatch with the idempotency step between `initial` and the handler."""
        self.args = args
        self.kwargs = kwargs
        request = self.initialize_request(request, *args, **kwargs)
        self.request = request
        self.headers = self.default_response_headers
        record = None
        try:
            self.initial(request, *args, **kwargs)
            key = request.headers.get("Idempotency-Key")
            if request.method == "POST" and key is not None and self.honours_idempotency_key:
                record, replay = idempotency.begin(
                    workspace=self.workspace, key=key, request=request
                )
                if replay is not None:
                    self.response = self.finalize_response(request, replay, *args, **kwargs)
                    return self.response
            if request.method.lower() in self.http_method_names:
                handler = getattr(self, request.method.lower(), self.http_method_not_allowed)
            else:
                handler = self.http_method_not_allowed
            response = handler(request, *args, **kwargs)
        except Exception as exc:
            response = self.handle_exception(exc)
        if record is not None:
            idempotency.complete(record, response)
        self.response = self.finalize_response(request, response, *args, **kwargs)
        return self.response

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        state = getattr(request, "_rate_state", None)
        if state is None:
            state = ratelimit.hit(f"ip:{client_ip(request)}")
            request._rate_state = state
        for name, value in state.headers().items():
            response[name] = value
        return response
