"""Canned responses in the inbox: the settings page and the composer's `/` search.

* `GET /inbox/settings/canned/` lists the workspace's canned responses to
  every member; workspace admins also get the form to add one (POST to the
  same URL), and edit (`/inbox/settings/canned/<id>/`) and delete
  (`.../<id>/delete/`) buttons. Agents may use canned responses but not
  manage them: their POSTs, and the edit page, answer 403.
* `GET /inbox/canned/?q=` answers JSON for the composer's suggestions:
  up to 20, shortcut prefix matches first.

Writes go through `inbox.canned_services`; a refusal (a taken shortcut, a
missing text) comes back as the form again with the service's message on
the field it names. Another workspace's canned response is a 404, exactly
like an unknown id.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from inbox.canned_services import (
    MAX_TEXT,
    MAX_TITLE,
    create_canned_response,
    delete_canned_response,
    update_canned_response,
)
from inbox.errors import DomainError
from inbox.models import CannedResponse, Membership
from inbox.selectors import (
    CannedResponseNotFound,
    canned_responses_for,
    get_canned_response_for,
    search_canned_responses,
)
from inbox.ui.context import inbox_view, render_inbox

MAX_QUERY = 64
FORM_FIELDS = ("shortcut", "title", "text")


def _is_admin(request: HttpRequest) -> bool:
    return request.membership.role == Membership.Role.ADMIN


def _forbidden(request: HttpRequest) -> HttpResponse:
    return render_inbox(
        request,
        "inbox/settings/forbidden.html",
        {"nav_current": "canned"},
        status=403,
    )


def _form_values(request: HttpRequest) -> dict[str, str]:
    return {
        "shortcut": (request.POST.get("shortcut") or "")[:64],
        "title": (request.POST.get("title") or "")[: MAX_TITLE * 2],
        "text": (request.POST.get("text") or "")[: MAX_TEXT * 2],
    }


def _error_context(exc: DomainError) -> dict[str, Any]:
    """The service's message, and the form field it is about (None: the whole form)."""
    field = next((d.get("field") for d in exc.details if d.get("field")), None)
    return {"error": exc.message, "error_field": field if field in FORM_FIELDS else None}


def _list_page(request: HttpRequest, **extra: Any) -> HttpResponse:
    context: dict[str, Any] = {
        "canned_responses": list(canned_responses_for(request.workspace)),
        "can_manage": _is_admin(request),
        "values": {"shortcut": "", "title": "", "text": ""},
        "max_title": MAX_TITLE,
        "max_text": MAX_TEXT,
        "nav_current": "canned",
    }
    status = extra.pop("status", 200)
    context.update(extra)
    return render_inbox(request, "inbox/settings/canned_list.html", context, status=status)


@require_http_methods(["GET", "POST"])
@inbox_view
def canned_list_view(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _list_page(request)
    if not _is_admin(request):
        return _forbidden(request)
    values = _form_values(request)
    try:
        canned = create_canned_response(
            workspace=request.workspace, created_by=request.user, **values
        )
    except DomainError as exc:
        return _list_page(request, values=values, status=exc.status, **_error_context(exc))
    messages.success(request, f"Canned response /{canned.shortcut} added.")
    return redirect(reverse("inbox:canned-list"))


def _canned_or_404(request: HttpRequest, public_id: str) -> CannedResponse:
    try:
        return get_canned_response_for(request.workspace, public_id)
    except CannedResponseNotFound as exc:
        raise Http404(exc.message) from exc


@require_http_methods(["GET", "POST"])
@inbox_view
def canned_edit_view(request: HttpRequest, public_id: str) -> HttpResponse:
    if not _is_admin(request):
        return _forbidden(request)
    canned = _canned_or_404(request, public_id)
    context: dict[str, Any] = {
        "canned": canned,
        "values": {"shortcut": canned.shortcut, "title": canned.title, "text": canned.text},
        "max_title": MAX_TITLE,
        "max_text": MAX_TEXT,
        "nav_current": "canned",
    }
    status = 200
    if request.method == "POST":
        values = _form_values(request)
        try:
            update_canned_response(canned=canned, **values)
        except DomainError as exc:
            context.update(values=values, **_error_context(exc))
            status = exc.status
        else:
            messages.success(request, f"Canned response /{canned.shortcut} saved.")
            return redirect(reverse("inbox:canned-list"))
    return render_inbox(request, "inbox/settings/canned_edit.html", context, status=status)


@require_POST
@inbox_view
def canned_delete_view(request: HttpRequest, public_id: str) -> HttpResponse:
    if not _is_admin(request):
        return _forbidden(request)
    canned = _canned_or_404(request, public_id)
    delete_canned_response(canned=canned)
    messages.success(request, f"Canned response /{canned.shortcut} deleted.")
    return redirect(reverse("inbox:canned-list"))


@require_GET
@inbox_view
def canned_search_view(request: HttpRequest) -> HttpResponse:
    """The composer's suggestions as JSON; composer.js inserts them as text, never HTML."""
    query = (request.GET.get("q") or "")[:MAX_QUERY]
    found = search_canned_responses(request.workspace, query)
    return JsonResponse(
        {
            "results": [
                {"id": c.public_id, "shortcut": c.shortcut, "title": c.title, "text": c.text}
                for c in found
            ]
        }
    )
