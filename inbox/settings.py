"""Django settings for the inbox, read from the environment.

One module serves every deployment. With no environment at all it runs the
embedded default (SQLite, a local media folder, a file-system Celery broker) so
`make run` needs no server; production sets `DJANGO_ENV=production` plus the
variables listed in README.md, and `inbox.checks` refuses unsafe combinations.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DJANGO_ENV = os.environ.get("DJANGO_ENV", "development").strip().lower()
IS_PRODUCTION = DJANGO_ENV == "production"

# The development key is public (it is in this file); `inbox.checks` refuses to
# start in production with it.
DEV_SECRET_KEY = "dev-insecure-secret-key-change-me-8f3b1c0e2a7d4e59b6f1"
SECRET_KEY = os.environ.get("SECRET_KEY", DEV_SECRET_KEY)
DEBUG = env_bool("DEBUG", default=not IS_PRODUCTION)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "" if IS_PRODUCTION else "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
# Public base URL, used to build absolute links (webhook URLs, media URLs).
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "inbox",
    "channels_app",
    "messaging",
]

MIDDLEWARE = [
    "inbox.middleware.RequestIdMiddleware",
    "inbox.middleware.ApiErrorMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "inbox.urls"
WSGI_APPLICATION = "inbox.wsgi.application"
ASGI_APPLICATION = "inbox.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while the embedded worker writes; the
    # timeout waits out the short write locks instead of failing.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
    # A file, not memory, so the real-worker test's Celery process sees the
    # rows the test wrote.
    # Per process, so two test runs in one checkout never share a file.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-db-{os.getpid()}.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "inbox.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Files: static via WhiteNoise, uploads on local disk or S3 ----------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))

AWS_STORAGE_BUCKET_NAME = os.environ.get("AWS_STORAGE_BUCKET_NAME", "")
USE_S3 = bool(AWS_STORAGE_BUCKET_NAME)
if USE_S3:
    AWS_S3_ENDPOINT_URL = os.environ.get("AWS_S3_ENDPOINT_URL") or None
    AWS_S3_REGION_NAME = os.environ.get("AWS_S3_REGION_NAME") or None
    AWS_ACCESS_KEY_ID = os.environ.get("AWS_ACCESS_KEY_ID") or None
    AWS_SECRET_ACCESS_KEY = os.environ.get("AWS_SECRET_ACCESS_KEY") or None
    AWS_S3_CUSTOM_DOMAIN = os.environ.get("AWS_S3_CUSTOM_DOMAIN") or None
    # Uploaded files are customer data: private objects, reached by signed URLs.
    AWS_DEFAULT_ACL = None
    AWS_QUERYSTRING_AUTH = env_bool("AWS_QUERYSTRING_AUTH", True)
    AWS_S3_FILE_OVERWRITE = False
    # SigV4 presigned URLs: AWS refuses the older SigV2 in newer regions.
    AWS_S3_SIGNATURE_VERSION = "s3v4"
    # "path" for S3-compatible servers (MinIO) that serve no virtual hosts.
    AWS_S3_ADDRESSING_STYLE = os.environ.get("AWS_S3_ADDRESSING_STYLE") or None
    default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {"location": os.environ.get("AWS_LOCATION", "")},
    }
else:
    default_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
STORAGES = {
    "default": default_storage,
    "staticfiles": {
        # Production serves hashed, compressed files built by collectstatic;
        # elsewhere WhiteNoise serves straight from the source folders, so
        # pages work with DEBUG off and no build step.
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if IS_PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not IS_PRODUCTION
if not IS_PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)

# --- Cache: rate-limit counters --------------------------------------------
# Process memory in the embedded default; production shares counters across
# web processes through Redis (`CACHE_URL=redis://host:6379/1`).
CACHE_URL = os.environ.get("CACHE_URL", "")
if CACHE_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Live updates (server-sent events, inbox.live) ------------------------------
# Streams wake through Redis pub/sub across every web and worker process.
# Defaults to CACHE_URL when that is Redis (production sets it anyway); with
# no Redis, streams poll the outbox table, which also reaches the embedded
# default's worker process.
LIVE_UPDATES_REDIS_URL = os.environ.get("LIVE_UPDATES_REDIS_URL") or (
    CACHE_URL if CACHE_URL.startswith(("redis://", "rediss://", "unix://")) else ""
)

# --- Celery -------------------------------------------------------------------
# The embedded default is kombu's file-system transport: a worker started by
# `make run` exchanges tasks with the web process through files under var/,
# so no broker server is needed. Production points this at Redis or RabbitMQ.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "filesystem://localhost/"
if CELERY_BROKER_URL.startswith("filesystem://"):
    _celery_dir = VAR_DIR / "celery"
    for _sub in ("queue", "processed"):
        (_celery_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_celery_dir / "queue"),
        "data_folder_out": str(_celery_dir / "queue"),
        "processed_folder": str(_celery_dir / "processed"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_TASK_DEFAULT_QUEUE") or "celery"
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "send-due-scheduled-messages": {
        "task": "messaging.tasks.send_due_scheduled_messages",
        "schedule": 10.0,
    },
    "purge-expired-uploads": {
        "task": "messaging.tasks.purge_expired_uploads_task",
        "schedule": 3600.0,
    },
    "purge-idempotency-records": {
        "task": "messaging.tasks.purge_idempotency_records_task",
        "schedule": 3600.0,
    },
    # Messages whose worker died mid-send, or whose task the broker lost.
    "requeue-stuck-deliveries": {
        "task": "messaging.tasks.requeue_stuck_deliveries_task",
        "schedule": 60.0,
    },
    "purge-early-status-reports": {
        "task": "messaging.tasks.purge_early_status_reports_task",
        "schedule": 3600.0,
    },
    "wake-snoozed-conversations": {
        "task": "messaging.tasks.wake_snoozed_conversations_task",
        "schedule": 60.0,
    },
    # Safety net of the on-commit trigger: events whose trigger was lost still go out.
    "dispatch-webhook-outbox": {
        "task": "messaging.tasks.dispatch_outbox_task",
        "schedule": 30.0,
    },
    # Webhook retries and attempts whose task or worker was lost.
    "queue-due-webhook-deliveries": {
        "task": "messaging.tasks.queue_due_webhook_deliveries_task",
        "schedule": 30.0,
    },
}

# --- REST framework -----------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    "EXCEPTION_HANDLER": "inbox.api.exceptions.api_exception_handler",
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Inbox API",
    "DESCRIPTION": "Native REST API of the multi-tenant messaging inbox.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from the installed package, not a CDN: docs work offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- Security -----------------------------------------------------------------
# Agent sessions of the inbox (`/inbox/`): a working day, not sliding, so a
# session left open on a shared machine ends by itself. Lax keeps the
# cookies off cross-site POSTs; the CSRF token reaches htmx from the page
# (`hx-headers` on <body>), so scripts never need to read the cookie.
LOGIN_URL = "/inbox/login/"
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", str(12 * 60 * 60)))
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if IS_PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # `__Host-` cookies are only accepted over HTTPS, for this exact host and
    # path `/`: a sibling subdomain cannot plant or overwrite them.
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # Health probes come from the load balancer over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# --- Logging: every line carries the request id -------------------------------
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "inbox.request_context.RequestIdLogFilter"}},
    "formatters": {
        "plain": {
            "format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s",
        }
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": "plain",
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
    },
}

# --- API ----------------------------------------------------------------------
# Requests per API key (or per client IP before authentication) per window.
API_RATE_LIMIT = int(os.environ.get("API_RATE_LIMIT", "600"))
API_RATE_WINDOW_SECONDS = int(os.environ.get("API_RATE_WINDOW_SECONDS", "60"))
# Lists count exactly up to this many rows; beyond it PostgreSQL's estimate
# is reported (`totalCountExact: false`) so large lists stay fast.
API_EXACT_COUNT_LIMIT = int(os.environ.get("API_EXACT_COUNT_LIMIT", "10000"))

# --- Agent auth (API access tokens) -------------------------------------------
ACCESS_TOKEN_TTL_SECONDS = int(os.environ.get("ACCESS_TOKEN_TTL_SECONDS", "900"))
REFRESH_TOKEN_TTL_DAYS = int(os.environ.get("REFRESH_TOKEN_TTL_DAYS", "30"))
# Failed logins before an account is locked, and for how long.
LOGIN_LOCKOUT_ATTEMPTS = int(os.environ.get("LOGIN_LOCKOUT_ATTEMPTS", "5"))
LOGIN_LOCKOUT_SECONDS = int(os.environ.get("LOGIN_LOCKOUT_SECONDS", "900"))

# --- Webhooks to integrations -------------------------------------------------
WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("WEBHOOK_TIMEOUT_SECONDS", "10"))
# Endpoints on loopback, private or link-local addresses are refused in
# production (SSRF); development and tests deliver to local servers.
WEBHOOK_ALLOW_PRIVATE_URLS = env_bool("WEBHOOK_ALLOW_PRIVATE_URLS", not IS_PRODUCTION)

# --- Channel providers ----------------------------------------------------------
# Base URLs of the providers' APIs. Tests and local demos point them at local
# stand-ins; a channel may override its own with the `apiBaseUrl` config key.
WHATSAPP_API_BASE_URL = os.environ.get("WHATSAPP_API_BASE_URL", "https://graph.facebook.com/v21.0")
MESSENGER_API_BASE_URL = os.environ.get(
    "MESSENGER_API_BASE_URL", "https://graph.facebook.com/v21.0"
)
INSTAGRAM_API_BASE_URL = os.environ.get(
    "INSTAGRAM_API_BASE_URL", "https://graph.instagram.com/v21.0"
)
TWILIO_API_BASE_URL = os.environ.get("TWILIO_API_BASE_URL", "https://api.twilio.com")
TELEGRAM_API_BASE_URL = os.environ.get("TELEGRAM_API_BASE_URL", "https://api.telegram.org")
PROVIDER_HTTP_TIMEOUT_SECONDS = float(os.environ.get("PROVIDER_HTTP_TIMEOUT_SECONDS", "10"))
# A message claimed for sending this long ago and still pending had its
# worker die mid-send: the sweep puts it back in the queue.
DELIVERY_CLAIM_TIMEOUT_SECONDS = int(os.environ.get("DELIVERY_CLAIM_TIMEOUT_SECONDS", "300"))
# Largest body the channel webhook endpoint reads (raw MIME email with files).
INBOUND_WEBHOOK_MAX_BYTES = int(os.environ.get("INBOUND_WEBHOOK_MAX_BYTES", str(30 * 1024 * 1024)))
# How often email channels with IMAP settings are polled for new mail.
EMAIL_IMAP_POLL_SECONDS = float(os.environ.get("EMAIL_IMAP_POLL_SECONDS", "60"))
# The beat task queues one poll per email channel with an IMAP server.
CELERY_BEAT_SCHEDULE["poll-email-inboxes"] = {
    "task": "channels_app.tasks.poll_email_inboxes_task",
    "schedule": EMAIL_IMAP_POLL_SECONDS,
}

# --- Product ------------------------------------------------------------------
# Media uploads not used by a message are deleted after this long.
MEDIA_UPLOAD_TTL_HOURS = int(os.environ.get("MEDIA_UPLOAD_TTL_HOURS", "168"))

# --- Production guard ---------------------------------------------------------
# Refuse to start at all (web, worker, beat, manage.py) rather than run a
# production deployment with a public key or debug pages.
if IS_PRODUCTION:
    from django.core.exceptions import ImproperlyConfigured

    if SECRET_KEY == DEV_SECRET_KEY or len(SECRET_KEY) < 50:
        raise ImproperlyConfigured(
            "DJANGO_ENV=production needs SECRET_KEY set to a random value of 50+ characters "
            "(python -c 'import secrets; print(secrets.token_urlsafe(64))')."
        )
    if DEBUG:
        raise ImproperlyConfigured("DJANGO_ENV=production refuses DEBUG=true.")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("DJANGO_ENV=production needs ALLOWED_HOSTS.")
