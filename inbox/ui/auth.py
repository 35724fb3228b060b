"""Sign in and out of the inbox, and choose or switch the current workspace.

Sign-in checks the password through `inbox.auth_services.check_credentials`,
the same function (and the same per-email lockout) as the API's token login,
then starts an ordinary Django session (`django.contrib.auth.login`, which
also rotates the session key against fixation). The current workspace is a
session value that `inbox.ui.context` re-checks against `Membership` on every
request. Every form is a POST with a CSRF token; sign-out is POST only, so a
link or an image elsewhere cannot sign an agent out.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from inbox.auth_services import AccountLocked, InvalidCredentials, check_credentials
from inbox.ui.context import SESSION_WORKSPACE_KEY, memberships_of, select_workspace

# Longest email (RFC 5321) and a generous password bound: nothing longer is hashed.
MAX_EMAIL = 254
MAX_PASSWORD = 4096


def _safe_next(request: HttpRequest, default: str | None = None) -> str:
    """`next` from the form or query when it points back into this site, else the inbox."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default or reverse("inbox:list")


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    next_url = _safe_next(request)
    if request.method == "GET":
        if request.user.is_authenticated:
            return redirect(next_url)
        return render(request, "inbox/login.html", {"next": next_url, "email": ""})

    email = (request.POST.get("email") or "").strip()[:MAX_EMAIL]
    password = (request.POST.get("password") or "")[:MAX_PASSWORD]
    context = {"next": next_url, "email": email}
    if not email or not password:
        context["error"] = "Enter your email and password."
        return render(request, "inbox/login.html", context, status=400)
    try:
        user = check_credentials(email=email, password=password, request=request)
    except (InvalidCredentials, AccountLocked) as exc:
        context["error"] = exc.message
        return render(request, "inbox/login.html", context, status=exc.status)
    memberships = memberships_of(user)
    if not memberships:
        # An account outside every workspace gets the answer a wrong password
        # gets: the sign-in page does not tell accounts apart.
        context["error"] = InvalidCredentials.default_message
        return render(request, "inbox/login.html", context, status=InvalidCredentials.status)
    auth_login(request, user)
    if len(memberships) == 1:
        select_workspace(request, memberships[0])
        return redirect(next_url)
    chooser = reverse("inbox:workspaces")
    if next_url != reverse("inbox:list"):
        chooser = f"{chooser}?{urlencode({'next': next_url})}"
    return redirect(chooser)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    # Flushes the session (current workspace included) and rotates the CSRF token.
    auth_logout(request)
    messages.info(request, "You have signed out.")
    return redirect("inbox:login")


@never_cache
@require_GET
def workspaces_view(request: HttpRequest) -> HttpResponse:
    """The workspace chooser: after signing in to several, or when access was lost."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), login_url=reverse("inbox:login"))
    memberships = memberships_of(request.user)
    return render(
        request,
        "inbox/workspaces.html",
        {
            "memberships": memberships,
            "current_id": request.session.get(SESSION_WORKSPACE_KEY),
            "next": _safe_next(request),
        },
        # Signed in, but a member of nothing: forbidden, with a way out.
        status=200 if memberships else 403,
    )


@require_POST
def switch_workspace_view(request: HttpRequest) -> HttpResponse:
    """Make another of the agent's workspaces current; anything else is a 404."""
    if not request.user.is_authenticated:
        return redirect("inbox:login")
    wanted = (request.POST.get("workspace") or "").strip()
    membership = next(
        (m for m in memberships_of(request.user) if m.workspace.public_id == wanted), None
    )
    if membership is None:
        # Unknown and foreign workspaces alike: nothing about other tenants leaks.
        raise Http404("No such workspace.")
    select_workspace(request, membership)
    return redirect(_safe_next(request))
