"""The current request id, carried in a context variable so logs can print it."""

from __future__ import annotations

import logging
import re
import secrets
from contextvars import ContextVar

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")

# A client-supplied id is echoed only when it is short and printable, so it
# cannot inject lines into logs or headers.
_CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def new_request_id() -> str:
    return f"req_{secrets.token_hex(12)}"


def accept_request_id(raw: str | None) -> str:
    if raw and _CLIENT_ID_RE.match(raw):
        return raw
    return new_request_id()


def current_request_id() -> str:
    return request_id_var.get()


class RequestIdLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True
