"""The demo workspace that `make run` loads: constants here, loader below."""

from __future__ import annotations

DEMO_WORKSPACE_SLUG = "demo"
DEMO_WORKSPACE_NAME = "Demo Support"
# (email, password, role shown in the start-up banner). Development only:
# `load_demo` refuses to run in production.
DEMO_LOGINS = (
    ("admin@demo.inbox.test", "demo-admin-2026", "operator: admin + superuser"),
    ("agent@demo.inbox.test", "demo-agent-2026", "agent"),
)
