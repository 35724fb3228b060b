"""Root URLs: the agent inbox, admin, the API, health probes, media in development."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.static import serve

from inbox.views.health import healthz, readyz
from inbox.views.home import home

urlpatterns = [
    path("", home, name="home"),
    # The agent inbox (server-rendered pages, namespace `inbox`).
    path("inbox/", include("inbox.ui.urls")),
    # Its live updates: the server-sent events stream `/inbox/events/`.
    path("inbox/", include("inbox.live.urls")),
    path("admin/", admin.site.urls),
    path("api/", include("inbox.api.urls")),
    # Providers post inbound events here; `channels_app.links` spells the path.
    path("webhooks/", include("channels_app.urls")),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
]

if not settings.USE_S3:
    # Local media in the embedded default. Production keeps files on S3.
    urlpatterns += [
        path(
            f"{settings.MEDIA_URL.strip('/')}/<path:path>",
            serve,
            {"document_root": settings.MEDIA_ROOT},
        )
    ]
