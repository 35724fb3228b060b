"""Page-number pagination (`page`, `perPage`) and keyset cursors for threads."""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils.dateparse import parse_datetime

from inbox.errors import ValidationFailed

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100


def _positive_int(params: Any, name: str, default: int, maximum: int | None = None) -> int:
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ValidationFailed("Must be a whole number.", field=name) from None
    if value < 1 or (maximum is not None and value > maximum):
        bound = f" and at most {maximum}" if maximum else ""
        raise ValidationFailed(f"Must be at least 1{bound}.", field=name)
    return value


@dataclass
class Page:
    items: list[Any]
    page: int
    per_page: int
    total_count: int

    @property
    def total_pages(self) -> int:
        return max(1, math.ceil(self.total_count / self.per_page)) if self.total_count else 0

    def meta(self) -> dict[str, Any]:
        return {
            "pagination": {
                "page": self.page,
                "perPage": self.per_page,
                "totalPages": self.total_pages,
                "totalCount": self.total_count,
                "hasNextPage": self.page < self.total_pages,
                "hasPrevPage": self.page > 1,
            }
        }


def paginate(queryset: QuerySet, params: Any) -> Page:
    """One COUNT and one page query, whatever the page size."""
    page = _positive_int(params, "page", 1)
    per_page = _positive_int(params, "perPage", DEFAULT_PER_PAGE, MAX_PER_PAGE)
    total = queryset.count()
    offset = (page - 1) * per_page
    items = list(queryset[offset : offset + per_page]) if offset < total else []
    return Page(items=items, page=page, per_page=per_page, total_count=total)


def limit_param(params: Any, default: int) -> int:
    return _positive_int(params, "limit", default, MAX_PER_PAGE)


def encode_cursor(created_at: datetime, pk: int) -> str:
    raw = json.dumps({"t": created_at.isoformat(), "i": pk}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        created_at = parse_datetime(data["t"])
        pk = int(data["i"])
        if created_at is None:
            raise ValueError
    except (ValueError, KeyError, TypeError, json.JSONDecodeError):
        raise ValidationFailed("The cursor is not valid.", field="cursor") from None
    return created_at, pk
