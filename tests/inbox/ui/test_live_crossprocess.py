"""An event committed by another process reaches an open stream within a second.

The other process plays the embedded default's Celery worker (or a second
web process): a fresh Python process on the same database records an
inbound message through the service. Once with the polling bus (the
embedded default: nothing shared but the database) and once with Redis
pub/sub (production). Latency is measured from that process's commit.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

from tests.inbox.ui.live_support import SseReader, fresh_bus_fixture, hang_up  # noqa: F401

ROOT = Path(__file__).resolve().parents[3]
REDIS_URL = os.environ.get("TEST_LIVE_REDIS_URL", "redis://127.0.0.1:6379/15")

OTHER_PROCESS = """
import time
import django
django.setup()
from django.conf import settings
from django.db import transaction
settings.LIVE_UPDATES_CHANNEL_PREFIX = {prefix!r}
from channels_app.models import Channel
from messaging.services import receive_message

committed = []
with transaction.atomic():
    # Registered first, so it runs first once the transaction commits.
    transaction.on_commit(lambda: committed.append(time.time()))
    receive_message(
        channel=Channel.objects.get(pk={channel_pk}),
        sender="+5511955554444",
        content={{"type": "text", "text": "Written by another process"}},
        sender_name="Carla",
    )
print(committed[0])
"""


def _database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    host = s.get("HOST") or "127.0.0.1"
    port = s.get("PORT") or 5432
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{host}:{port}/{s['NAME']}"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("backend", ["poll", "redis"])
def test_an_event_from_another_process_arrives_within_a_second(
    backend, client, agent, channel, settings, fresh_bus
):
    prefix = f"test-live-{uuid.uuid4().hex[:10]}"
    settings.LIVE_UPDATES_REDIS_URL = REDIS_URL if backend == "redis" else ""
    settings.LIVE_UPDATES_CHANNEL_PREFIX = prefix
    # Defaults otherwise (0.25 s polling); a short heartbeat only so a
    # failing test gives up in time.
    settings.LIVE_UPDATES_HEARTBEAT_SECONDS = 1
    client.force_login(agent)
    response = client.get("/inbox/events/")
    reader = SseReader(iter(response.streaming_content))
    reader.read_until(lambda m: m.event == "unread")

    env = {k: v for k, v in os.environ.items() if k not in ("CACHE_URL", "LIVE_UPDATES_REDIS_URL")}
    env.update(
        DATABASE_URL=_database_url(),
        # No broker traffic from this test: the webhook dispatcher runs inline.
        CELERY_TASK_ALWAYS_EAGER="true",
    )
    if backend == "redis":
        env["LIVE_UPDATES_REDIS_URL"] = REDIS_URL
    other = subprocess.Popen(
        [sys.executable, "-c", OTHER_PROCESS.format(prefix=prefix, channel_pk=channel.pk)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        message = reader.read_until(lambda m: m.event == "message.received", timeout=60)
        arrived = time.time()
        out, err = other.communicate(timeout=60)
    finally:
        if other.poll() is None:
            other.kill()
            other.communicate()
        hang_up(response)
    assert other.returncode == 0, err
    committed = float(out.strip().splitlines()[-1])
    assert message.json["data"]["attributes"]["content"]["text"] == "Written by another process"
    latency = arrived - committed
    print(f"{backend}: event from another process after {latency * 1000:.0f} ms")
    assert latency < 1.0, f"{backend}: {latency:.3f}s"
