"""Who is signed in and in which workspace: the `@inbox_view` decorator and page rendering.

The current workspace lives in the session (`SESSION_WORKSPACE_KEY`, the
workspace's primary key) and is re-checked against `Membership` on every
request, in the same single query that lists the agent's workspaces for the
header switcher. So removing an agent from a workspace takes effect on their
next click, and a session can never act in a workspace it has no membership
of, whatever was stored in it.

Every inbox view is wrapped in `@inbox_view` and renders with `render_inbox`,
which adds what `templates/inbox/base.html` reads.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers

from inbox.models import Membership
from messaging.selectors import unread_conversation_count

SESSION_WORKSPACE_KEY = "inbox_workspace_id"
# Where `templates/inbox/base.html` points live.js (helper 6B's SSE endpoint).
EVENTS_PATH = "/inbox/events/"

View = Callable[..., HttpResponse]


def is_htmx(request: HttpRequest) -> bool:
    """A request made by htmx (partial page update) rather than a navigation.

    History restores are full-page loads even though htmx makes them; the
    config in base.html turns `historyRestoreAsHxRequest` off, and the header
    is checked here as well.
    """
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def memberships_of(user: Any) -> list[Membership]:
    """The agent's memberships with their workspaces, by workspace name: one query."""
    return list(
        Membership.objects.select_related("workspace")
        .filter(user=user)
        .order_by("workspace__name", "workspace_id")
    )


def select_workspace(request: HttpRequest, membership: Membership) -> None:
    """Make `membership`'s workspace the current one for this session."""
    request.session[SESSION_WORKSPACE_KEY] = membership.workspace_id


def _htmx_aware_redirect(request: HttpRequest, url: str, *, htmx_status: int) -> HttpResponse:
    """A redirect that also works for htmx: HX-Redirect makes it a full navigation.

    A plain 302 would be followed inside the XHR and the sign-in page swapped
    into a list region. htmx acts on HX-Redirect whatever the status, so the
    status can say why (401 signed out, 403 no workspace).
    """
    if is_htmx(request):
        response = HttpResponse(status=htmx_status)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


def inbox_view(view: View) -> View:
    """Require a signed-in agent and resolve their current workspace.

    Sets `request.memberships` (all of the agent's, for the switcher),
    `request.membership` and `request.workspace`. Anonymous visitors go to the
    sign-in page with `next`; an agent whose session names no workspace, or
    one they are no longer a member of, goes to the workspace chooser (which
    answers 403 when no membership is left).
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            login_url = reverse("inbox:login")
            if is_htmx(request):
                return _htmx_aware_redirect(request, login_url, htmx_status=401)
            return redirect_to_login(request.get_full_path(), login_url=login_url)
        memberships = memberships_of(request.user)
        wanted = request.session.get(SESSION_WORKSPACE_KEY)
        current = next((m for m in memberships if m.workspace_id == wanted), None)
        if current is None:
            if wanted is not None:
                # Removed from that workspace since: forget it.
                del request.session[SESSION_WORKSPACE_KEY]
            if len(memberships) == 1:
                current = memberships[0]
                select_workspace(request, current)
            else:
                return _htmx_aware_redirect(request, reverse("inbox:workspaces"), htmx_status=403)
        request.memberships = memberships
        request.membership = current
        request.workspace = current.workspace
        response = view(request, *args, **kwargs)
        # Fragments and full pages share URLs: caches must keep them apart.
        patch_vary_headers(response, ("HX-Request",))
        return response

    return wrapper


def layout_context(request: HttpRequest) -> dict[str, Any]:
    """What `templates/inbox/base.html` reads.

    `unread_count` is a callable the template calls only when it renders the
    title, so fragments that extend nothing never pay its query.
    """
    workspace, user = request.workspace, request.user

    @cache
    def unread_count() -> int:
        return unread_conversation_count(workspace, user)

    return {
        "workspace": workspace,
        "membership": request.membership,
        "memberships": request.memberships,
        "agent": user,
        "unread_count": unread_count,
        "events_url": EVENTS_PATH,
    }


def render_inbox(
    request: HttpRequest,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
) -> HttpResponse:
    """`render` with the layout context of an `@inbox_view` request."""
    return render(request, template, {**layout_context(request), **(context or {})}, status=status)
