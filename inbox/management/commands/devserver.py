"""`manage.py devserver`: the embedded default in one command.

Starts a Celery worker with beat on the file-system broker (no server needed)
next to Django's development server, prints the URLs and the demo logins, and
stops the worker when the server stops.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from inbox.demo import DEMO_LOGINS, DEMO_WORKSPACE_SLUG


class Command(BaseCommand):
    help = "Run the web server and an embedded Celery worker (with beat) for development."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument("--no-worker", action="store_true", help="Do not start a worker.")

    def handle(self, *args: Any, addrport: str, no_worker: bool, **options: Any) -> None:
        worker = None
        # runserver's autoreloader re-runs this command in a child process
        # (RUN_MAIN=true); only the parent starts the worker.
        if not no_worker and os.environ.get("RUN_MAIN") != "true":
            worker = self._start_worker()
            self._banner(addrport)
        # A SIGTERM (from a supervisor or `kill`) must still stop the worker.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            call_command("runserver", addrport)
        finally:
            if worker is not None and worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    worker.kill()

    def _start_worker(self) -> subprocess.Popen:
        log_path = settings.VAR_DIR / "worker.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(log_path, "ab")  # noqa: SIM115  (kept open for the worker's life)
        cmd = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "inbox",
            "worker",
            "--beat",
            "--pool=threads",
            "--concurrency=4",
            "--loglevel=INFO",
        ]
        self.stdout.write(f"Starting Celery worker with beat (log: {log_path})")
        return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)

    def _banner(self, addrport: str) -> None:
        base = f"http://{addrport}"
        lines = [
            "",
            "Inbox is starting.",
            f"  Start page:    {base}/",
            f"  Agent inbox:   {base}/inbox/  (sign in with a login below)",
            f"  API docs:      {base}/api/v1/docs/",
            f"  Admin:         {base}/admin/",
            f"  Health:        {base}/healthz  {base}/readyz",
            f"  Demo workspace: {DEMO_WORKSPACE_SLUG}",
            "  Logins:",
        ]
        for email, password, role in DEMO_LOGINS:
            lines.append(f"    {email} / {password}  ({role})")
        lines.append("")
        self.stdout.write("\n".join(lines))
