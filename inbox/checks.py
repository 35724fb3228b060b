"""Deployment checks (`manage.py check --deploy`) for the parts Django does not know."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def check_production_services(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    if not settings.IS_PRODUCTION:
        return []
    errors = []
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        errors.append(
            Error(
                "Production runs on PostgreSQL: set DATABASE_URL=postgres://...",
                id="inbox.E001",
            )
        )
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        errors.append(
            Error(
                "Production needs a real broker: set CELERY_BROKER_URL to redis:// or amqp://.",
                id="inbox.E002",
            )
        )
    return errors
