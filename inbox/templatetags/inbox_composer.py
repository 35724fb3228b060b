"""`{% composer conversation %}`: the reply / private-note composer under a thread.

Used by the conversation page (`{% load inbox_composer %}{% composer conversation %}`).
The conversation must come from `messaging.selectors.get_conversation_for`
(channel and contact joined), so the composer costs no query of its own;
canned responses are fetched by composer.js only when the agent types `/`.
"""

from __future__ import annotations

from typing import Any

from django import template

from inbox.ui.composer import composer_context, pop_session_draft
from messaging.models import Conversation

register = template.Library()


@register.inclusion_tag("inbox/conversation/_composer.html", takes_context=True)
def composer(context: template.Context, conversation: Conversation) -> dict[str, Any]:
    request = context["request"]
    # A send made without JavaScript comes back here through a redirect,
    # carrying its draft and error (or the news that it was sent) in the session.
    stashed = pop_session_draft(request, conversation)
    data = composer_context(request, conversation, **stashed)
    # An inclusion tag renders in a fresh context: {% csrf_token %} needs it passed on.
    data["csrf_token"] = context.get("csrf_token")
    data["request"] = request
    return data
