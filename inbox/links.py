"""Absolute links to this deployment, for what leaves it (API bodies, webhooks)."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings


def absolute_url(url: str) -> str:
    """Storage URLs are absolute (S3) or site-relative (the local folder's /media/)."""
    if url.startswith("//"):
        # Protocol-relative (a MEDIA_URL on another host): not under SITE_URL.
        return f"{urlsplit(settings.SITE_URL).scheme}:{url}"
    return f"{settings.SITE_URL}{url}" if url.startswith("/") else url
