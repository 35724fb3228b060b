"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

import logging
import time

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from inbox.celery import app as celery_app

logger = logging.getLogger(__name__)


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and serving; checks nothing else."""
    return JsonResponse({"status": "ok"})


def _check_database() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return False, type(exc).__name__
    return True, "ok"


def _check_broker() -> tuple[bool, str]:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=2)
    except Exception as exc:
        return False, type(exc).__name__
    return True, "ok"


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Ready to take traffic: the database and the Celery broker answer."""
    checks = {}
    for name, check in (("database", _check_database), ("broker", _check_broker)):
        started = time.monotonic()
        ok, detail = check()
        checks[name] = {
            "ok": ok,
            "detail": detail,
            "latencyMs": round((time.monotonic() - started) * 1000, 1),
        }
        if not ok:
            logger.warning("readiness check %s failed: %s", name, detail)
    ready = all(c["ok"] for c in checks.values())
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503
    )
