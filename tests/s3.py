"""An S3-compatible server for tests: moto in server mode, on a free loopback port.

The S3 path of the media service runs against it exactly as against AWS:
django-storages and boto3 talk HTTP to the endpoint, and signed URLs are
fetched with a plain HTTP client. Nothing leaves the machine.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from typing import IO, Any

import boto3
import pytest
from botocore.config import Config

REGION = "us-east-1"
ACCESS_KEY = "test"
SECRET_KEY = "test"

# urllib and botocore both honour *_PROXY variables; the loopback server must
# be reached directly whatever the CI environment sets.
_direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_get(url: str, timeout: float = 5) -> tuple[int, dict[str, str], bytes]:
    with _direct.open(url, timeout=timeout) as response:
        return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(
    process: subprocess.Popen, log: IO[bytes], endpoint: str, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            log.seek(0)
            output = log.read().decode(errors="replace")
            raise RuntimeError(f"moto_server exited with {process.returncode}: {output}")
        try:
            http_get(f"{endpoint}/moto-api/", timeout=1)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"moto_server did not answer on {endpoint}") from None
            time.sleep(0.1)


@contextlib.contextmanager
def moto_server(startup_timeout: float = 30) -> Iterator[str]:
    """Run `python -m moto.server` until the block ends; yields its endpoint URL."""
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    patch = pytest.MonkeyPatch()
    for name in ("NO_PROXY", "no_proxy"):
        current = os.environ.get(name)
        patch.setenv(name, f"{current},127.0.0.1" if current else "127.0.0.1,localhost")
    # A file, not a pipe: the server logs every request, and a full pipe would stall it.
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_up(process, log, endpoint, startup_timeout)
            yield endpoint
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            patch.undo()


def s3_client(endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=Config(s3={"addressing_style": "path"}),
    )


def s3_storage_options(endpoint: str, bucket: str, **overrides: Any) -> dict[str, Any]:
    """OPTIONS for `storages.backends.s3.S3Storage`, as production sets them."""
    options = {
        "bucket_name": bucket,
        "endpoint_url": endpoint,
        "region_name": REGION,
        "access_key": ACCESS_KEY,
        "secret_key": SECRET_KEY,
        "addressing_style": "path",
        # botocore would otherwise sign URLs with SigV2, which AWS no longer
        # accepts for buckets created since 2020 nor in newer regions.
        "signature_version": "s3v4",
        "default_acl": None,
        "querystring_auth": True,
        "file_overwrite": False,
    }
    options.update(overrides)
    return options
