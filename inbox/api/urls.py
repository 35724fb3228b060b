"""/api/v1/: every resource's routes, the OpenAPI schema and docs, and a JSON 404."""

from django.http import HttpRequest, JsonResponse
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from inbox.api.envelope import error_body

app_name = "api"


@csrf_exempt
def not_found(request: HttpRequest, *args: object, **kwargs: object) -> JsonResponse:
    body = error_body(
        getattr(request, "request_id", "-"),
        "RESOURCE_NOT_FOUND",
        f"No API endpoint at {request.method} {request.path}.",
    )
    return JsonResponse(body, status=404)


urlpatterns = [
    path("v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("v1/docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("v1/", include("messaging.api.urls")),
    path("v1/", include("messaging.api.webhook_urls")),
    path("v1/", include("messaging.api.conversation_urls")),
    path("v1/", include("channels_app.api.urls")),
    path("v1/", include("inbox.api.auth_urls")),
    path("v1/", include("messaging.api.contact_urls")),
    # Last: any other path under /api/ answers in the envelope, never HTML.
    re_path(r"^.*$", not_found),
]
