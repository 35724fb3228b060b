"""Production guard and deployment checks, run as a real process per case."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GOOD_KEY = "k" * 20 + "x7Qp2LmZ9vBn4RtY6wEa1SdF3gHjK8cV5bN0mQ"


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DEBUG")}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION = {
    "DJANGO_ENV": "production",
    "SECRET_KEY": GOOD_KEY,
    "ALLOWED_HOSTS": "inbox.example.com",
    "DATABASE_URL": "postgres://inbox@db.internal:5432/inbox",
    "CELERY_BROKER_URL": "redis://redis.internal:6379/0",
}


def test_production_refuses_the_development_secret_key():
    env = {**PRODUCTION}
    env.pop("SECRET_KEY")
    result = manage("check", **env)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_refuses_debug():
    result = manage("check", **{**PRODUCTION, "DEBUG": "true"})
    assert result.returncode != 0
    assert "DEBUG" in result.stderr


def test_check_deploy_is_clean_in_production_mode():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_refuses_sqlite_and_the_file_broker_in_production():
    env = {**PRODUCTION, "DATABASE_URL": "sqlite:////tmp/x.sqlite3", "CELERY_BROKER_URL": ""}
    result = manage("check", "--deploy", **env)
    assert result.returncode != 0
    assert "inbox.E001" in result.stderr and "inbox.E002" in result.stderr


def test_s3_storage_is_used_when_a_bucket_is_set():
    code = (
        "import django; django.setup();"
        'from django.core.files.storage import storages; s = storages["default"];'
        "print(type(s).__module__, s.bucket_name, s.endpoint_url)"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)} | {
        "DJANGO_SETTINGS_MODULE": "inbox.settings",
        "AWS_STORAGE_BUCKET_NAME": "inbox-media",
        "AWS_S3_ENDPOINT_URL": "http://127.0.0.1:9000",
        "AWS_S3_REGION_NAME": "us-east-1",
    }
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["storages.backends.s3", "inbox-media", "http://127.0.0.1:9000"]
