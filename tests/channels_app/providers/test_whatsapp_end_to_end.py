"""The issue's "done when", for WhatsApp: a send, its statuses and a reply, seen via the API.

A channel points its `apiBaseUrl` at the stand-in. `send_message` goes out
through the Celery task (eager here) to the stand-in, which answers as the
Cloud API does; then signed webhooks post a status sequence and the
customer's reply to the channel's webhook URL, and the public API shows it all.
"""

from __future__ import annotations

import time

import pytest

from inbox.services import create_api_key
from messaging.services import send_message
from tests.channels_app.providers.whatsapp_support import (
    ACCESS_TOKEN,
    CUSTOMER,
    MESSAGES_PATH,
    answer_sends,
    customer_wrote,
    inbound,
    last_json,
    notification,
    post_signed,
    status,
    whatsapp_channel,
)
from tests.messaging.api.conftest import Api

pytestmark = pytest.mark.django_db

WAMID = "wamid.HBgLMTY1MDUwNzY1MjAVAgARGBIyRjA5QTg1RTkzMkE0MDY1NUEA"


def test_send_statuses_and_reply_round_trip_through_the_api(
    provider_channel, httpserver, post_webhook, django_capture_on_commit_callbacks
):
    channel = whatsapp_channel(provider_channel, httpserver)
    _, raw_key = create_api_key(workspace=channel.workspace, name="e2e")
    api = Api(raw_key)
    first = customer_wrote(channel, "Where is my order?", provider_message_id="wamid.question")
    answer_sends(httpserver, WAMID)

    # 1. Send: the stand-in receives the exact Cloud API request.
    with django_capture_on_commit_callbacks(execute=True):
        message = send_message(
            workspace=channel.workspace,
            conversation=first.conversation,
            content={"type": "text", "text": "It ships today."},
            reply_to=first,
        )
    request, _ = httpserver.log[-1]
    assert request.path == MESSAGES_PATH
    assert request.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert last_json(httpserver) == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": CUSTOMER,
        "type": "text",
        "text": {"body": "It ships today."},
        "context": {"message_id": "wamid.question"},
    }
    code, body = api.get(f"/messages/{message.public_id}")
    assert code == 200
    assert body["data"]["attributes"]["status"] == "sent"
    assert body["data"]["attributes"]["externalId"] == WAMID

    # 2. Statuses, read overtaking delivered, posted signed to the webhook URL.
    now = int(time.time()) + 2
    for report in (status(WAMID, "read", now + 30), status(WAMID, "delivered", now)):
        response = post_signed(post_webhook, channel, notification(statuses=[report]))
        assert response.status_code == 200

    # 3. The customer's reply, quoting ours.
    reply = inbound(
        "wamid.thanks",
        "text",
        {"body": "Great, thanks!"},
        context={"from": "15550783881", "id": WAMID},
    )
    response = post_signed(post_webhook, channel, notification(messages=[reply]))
    assert response.status_code == 200

    code, body = api.get(f"/messages/{message.public_id}")
    attributes = body["data"]["attributes"]
    assert code == 200
    assert attributes["status"] == "read"
    assert [h["status"] for h in attributes["statusHistory"]] == [
        "pending",
        "sent",
        "delivered",
        "read",
    ]
    assert attributes["deliveredAt"] is not None and attributes["readAt"] is not None

    code, body = api.get(f"/conversations/{first.conversation.public_id}/messages")
    assert code == 200
    latest = next(m for m in body["data"] if m["attributes"]["externalId"] == "wamid.thanks")
    assert latest["attributes"]["direction"] == "inbound"
    assert latest["attributes"]["content"] == {"type": "text", "text": "Great, thanks!"}
    assert latest["attributes"]["replyToId"] == message.public_id
    assert latest["attributes"]["from"] == f"+{CUSTOMER}"
