"""The contact sidebar of the conversation page, and its edit-in-place form.

`/inbox/contacts/<contact id>/`: GET answers the sidebar (`#contact-panel`)
to htmx and live updates, or a small contact page to a navigation; POST
saves the form through `update_contact` and answers the re-rendered sidebar
(htmx) or a redirect. Invalid input and the service's refusals (a phone or
email another contact has) come back inline next to their fields, with the
agent's input kept, and status 422.

The sidebar shows the name, phone, email, the contact's address on each
channel type, tags, metadata, and up to ten of the contact's other
conversations. `?conversation=<id>` names the conversation it sits next to,
which the list leaves out and a saved form returns to.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.contrib import messages as flash
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from inbox.errors import DomainError, NotFound
from inbox.ui.context import inbox_view, is_htmx, render_inbox
from messaging.models import Contact, Conversation
from messaging.selectors import contact_conversations, contact_identifiers, get_contact_for
from messaging.services import update_contact

PREVIOUS_LIMIT = 10
MAX_NAME = 200
MAX_TAG = 64
MAX_TAGS = 50
MAX_METADATA_CHARS = 16_000
ERROR_STATUS = 422
FORM_FIELDS = ("name", "phone", "email", "tags", "metadata")
_PUBLIC_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


def _current_id(query: QueryDict) -> str:
    value = (query.get("conversation") or "").strip()
    return value if _PUBLIC_ID.match(value) else ""


def contact_form_values(contact: Contact) -> dict[str, str]:
    """The edit form filled from the contact as it is."""
    return {
        "name": contact.name,
        "phone": contact.phone,
        "email": contact.email,
        "tags": ", ".join(contact.tags or []),
        "metadata": json.dumps(contact.metadata or {}, indent=2, ensure_ascii=False),
    }


def contact_panel_context(
    request: HttpRequest,
    contact: Contact,
    *,
    current: Conversation | None = None,
    current_id: str = "",
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    notice: str = "",
) -> dict[str, Any]:
    """What `_contact_panel.html` reads. Two queries: identifiers and other conversations."""
    current_id = current.public_id if current is not None else current_id
    url = reverse("inbox:contact", args=[contact.public_id])
    metadata = contact.metadata if isinstance(contact.metadata, dict) else {}
    return {
        "contact": contact,
        "identifiers": contact_identifiers(contact),
        "metadata_items": list(metadata.items()),
        "previous_conversations": contact_conversations(
            contact, limit=PREVIOUS_LIMIT, exclude=current_id
        ),
        "current_conversation_id": current_id,
        "panel_url": f"{url}?conversation={current_id}" if current_id else url,
        "contact_form": form if form is not None else contact_form_values(contact),
        "contact_errors": errors or {},
        "contact_edit_open": bool(errors),
        "contact_notice": notice,
        "max_name": MAX_NAME,
    }


def parse_contact_form(post: QueryDict) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    """(changes for `update_contact`, the submitted values, errors by field)."""
    values = {name: post.get(name) or "" for name in FORM_FIELDS}
    errors: dict[str, str] = {}
    changes: dict[str, Any] = {}

    name = values["name"].strip()
    if len(name) > MAX_NAME:
        errors["name"] = f"Keep the name under {MAX_NAME} characters."
    changes["name"] = name
    changes["phone"] = values["phone"].strip()
    changes["email"] = values["email"].strip()

    tags = list(dict.fromkeys(t.strip() for t in values["tags"].split(",") if t.strip()))
    if any(len(t) > MAX_TAG for t in tags):
        errors["tags"] = f"Each tag can have at most {MAX_TAG} characters."
    elif len(tags) > MAX_TAGS:
        errors["tags"] = f"At most {MAX_TAGS} tags."
    changes["tags"] = tags

    raw = values["metadata"].strip()
    if len(raw) > MAX_METADATA_CHARS:
        errors["metadata"] = f"Keep the metadata under {MAX_METADATA_CHARS} characters."
    elif raw:
        try:
            metadata = json.loads(raw)
        except json.JSONDecodeError as exc:
            errors["metadata"] = f"This is not valid JSON (line {exc.lineno}, column {exc.colno})."
        else:
            if isinstance(metadata, dict):
                changes["metadata"] = metadata
            else:
                errors["metadata"] = 'Enter a JSON object, like {"plan": "pro"}.'
    else:
        changes["metadata"] = {}
    return changes, values, errors


def _contact_or_404(request: HttpRequest, public_id: str) -> Contact:
    try:
        return get_contact_for(request.workspace, public_id)
    except NotFound as exc:
        raise Http404(exc.message) from None


def _render(
    request: HttpRequest, contact: Contact, current_id: str, *, status: int = 200, **extra: Any
) -> HttpResponse:
    context = contact_panel_context(request, contact, current_id=current_id, **extra)
    template = (
        "inbox/conversation/_contact_panel.html"
        if is_htmx(request)
        else "inbox/conversation/contact_page.html"
    )
    return render_inbox(request, template, context, status=status)


@require_http_methods(["GET", "POST"])
@inbox_view
def contact_view(request: HttpRequest, contact_id: str) -> HttpResponse:
    contact = _contact_or_404(request, contact_id)
    if request.method == "GET":
        return _render(request, contact, _current_id(request.GET))

    current_id = _current_id(request.POST)
    changes, values, errors = parse_contact_form(request.POST)
    if not errors:
        try:
            update_contact(contact=contact, **changes)
        except DomainError as exc:
            field = str(exc.details[0].get("field") or "") if exc.details else ""
            errors[field if field in FORM_FIELDS else "form"] = exc.message
    if errors:
        # Nothing was saved: the row is as it was, the agent's input stays in the form.
        return _render(
            request, contact, current_id, status=ERROR_STATUS, form=values, errors=errors
        )
    if is_htmx(request):
        return _render(request, contact, current_id, notice="Contact saved.")
    flash.success(request, "Contact saved.")
    if current_id:
        return redirect(reverse("inbox:conversation", args=[current_id]))
    return redirect(reverse("inbox:contact", args=[contact.public_id]))
