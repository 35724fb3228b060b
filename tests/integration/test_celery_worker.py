"""A real Celery worker on a real broker (Redis) delivers what the web side queued.

The "web" side runs in a subprocess so `transaction.on_commit` fires after a
real commit and the task travels through Redis; the worker is another
subprocess on a queue of its own. The test only reads the database.
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

from messaging.models import Message

ROOT = Path(__file__).resolve().parents[2]
BROKER_URL = os.environ.get("TEST_CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")


def _database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    host = s.get("HOST") or "127.0.0.1"
    port = s.get("PORT") or 5432
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{host}:{port}/{s['NAME']}"


@pytest.fixture
def worker_env():
    queue = f"inbox-test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": BROKER_URL,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    return env


@pytest.fixture
def worker(worker_env):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "inbox",
            "worker",
            "--pool=solo",
            "--loglevel=INFO",
            "-Q",
            worker_env["CELERY_TASK_DEFAULT_QUEUE"],
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
        ],
        cwd=ROOT,
        env=worker_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield proc
    proc.terminate()
    try:
        out, _ = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    print(out[-4000:])  # shown by pytest when the test failed


def _run_web_side(env: dict, code: str) -> str:
    script = "import django; django.setup()\n" + code
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _wait_for(predicate, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_delivers_a_message_sent_by_the_web_side(
    workspace, conversation, worker, worker_env
):
    pk = int(
        _run_web_side(
            worker_env,
            "from messaging.models import Conversation\n"
            "from messaging.services import send_message\n"
            f"c = Conversation.objects.get(pk={conversation.pk})\n"
            "m = send_message(workspace=c.workspace, conversation=c,"
            " content={'type': 'text', 'text': 'via the worker'})\n"
            "print(m.pk)\n",
        ).strip()
    )

    def sent() -> bool:
        return Message.objects.get(pk=pk).status == "sent"

    assert _wait_for(sent), "the worker did not deliver the message"
    message = Message.objects.get(pk=pk)
    assert message.provider_message_id.startswith("sbx_")
    assert [h["status"] for h in message.status_history] == ["pending", "sent"]


@pytest.mark.django_db(transaction=True)
def test_a_duplicated_task_on_the_broker_sends_once(workspace, conversation, worker, worker_env):
    # Queue the message's delivery three times by hand, as a broker redelivery would.
    pk = int(
        _run_web_side(
            worker_env,
            "from django.db import transaction\n"
            "from messaging.models import Conversation\n"
            "from messaging.services import send_message\n"
            "from messaging.tasks import deliver_message_task\n"
            f"c = Conversation.objects.get(pk={conversation.pk})\n"
            "m = send_message(workspace=c.workspace, conversation=c,"
            " content={'type': 'text', 'text': 'once'})\n"
            "deliver_message_task.delay(m.pk)\n"
            "deliver_message_task.delay(m.pk)\n"
            "print(m.pk)\n",
        ).strip()
    )
    assert _wait_for(lambda: Message.objects.get(pk=pk).status == "sent")
    time.sleep(1.5)  # let the duplicates run too
    message = Message.objects.get(pk=pk)
    assert message.delivery_attempts == 1
    assert [h["status"] for h in message.status_history] == ["pending", "sent"]
