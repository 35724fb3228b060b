"""What the WhatsApp tests share: a channel pointed at the stand-in, signed webhooks.

The stand-in is pytest-httpserver playing graph.facebook.com under
`/v21.0`; webhook bodies follow Meta's "messages webhook reference" and are
signed here with hashlib/hmac directly, not with the code under test.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from channels_app.models import Channel
from channels_app.providers.base import SendResult
from messaging.models import Message
from messaging.services import deliver_message, receive_message, send_message

PHONE_NUMBER_ID = "106540352242922"
WABA_ID = "102290129340398"
DISPLAY_NUMBER = "15550783881"
ACCESS_TOKEN = "EAAG-test-access-token"
APP_SECRET = "app-secret-for-tests"
VERIFY_TOKEN = "verify-me-please"
CUSTOMER = "16505551234"
API_PREFIX = "/v21.0"
MESSAGES_PATH = f"{API_PREFIX}/{PHONE_NUMBER_ID}/messages"


def whatsapp_channel(provider_channel, httpserver, **config: Any) -> Channel:
    """An active WhatsApp channel whose Graph API base is the stand-in."""
    return provider_channel(
        "whatsapp",
        {
            "phoneNumberId": PHONE_NUMBER_ID,
            "accessToken": ACCESS_TOKEN,
            "appSecret": APP_SECRET,
            "verifyToken": VERIFY_TOKEN,
            "businessAccountId": WABA_ID,
            "displayPhoneNumber": f"+{DISPLAY_NUMBER}",
            "apiBaseUrl": httpserver.url_for(API_PREFIX),
            **config,
        },
    )


def window_open_channel(provider_channel, httpserver, **config: Any) -> Channel:
    """A WhatsApp channel whose customer wrote a moment ago (`wamid.customer-hi`).

    The 24-hour customer service window is open, so free-form sends are allowed.
    """
    channel = whatsapp_channel(provider_channel, httpserver, **config)
    customer_wrote(channel, provider_message_id="wamid.customer-hi")
    return channel


def customer_wrote(channel: Channel, text: str = "Hi", **kwargs: Any) -> Message:
    """The customer's text message on `channel` (`receive_message` keyword arguments)."""
    return receive_message(
        channel=channel, sender=f"+{CUSTOMER}", content={"type": "text", "text": text}, **kwargs
    ).message


def send_and_attempt(
    channel: Channel, content: dict, **kwargs: Any
) -> tuple[Message, SendResult | None]:
    """`send_message` to the customer, then one delivery attempt: the Message after, the result."""
    message = send_message(
        workspace=channel.workspace, channel=channel, to=f"+{CUSTOMER}", content=content, **kwargs
    )
    result = deliver_message(message_pk=message.pk)
    message.refresh_from_db()
    return message, result


def send_and_deliver(channel: Channel, content: dict, **kwargs: Any) -> Message:
    """`send_message` to the customer, then one delivery attempt; the Message after it."""
    return send_and_attempt(channel, content, **kwargs)[0]


def answer_sends(httpserver, wamid: str = "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI4") -> None:
    """The stand-in accepts every send, answering with `wamid`."""
    httpserver.expect_request(MESSAGES_PATH, method="POST").respond_with_json(sent_response(wamid))


def sent_response(wamid: str, to: str = CUSTOMER) -> dict[str, Any]:
    """The Messages API's 200 answer."""
    return {
        "messaging_product": "whatsapp",
        "contacts": [{"input": to, "wa_id": to}],
        "messages": [{"id": wamid, "message_status": "accepted"}],
    }


def graph_error(code: int, message: str, details: str = "", **extra: Any) -> dict[str, Any]:
    error: dict[str, Any] = {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "AazVqCZ4fJ3Tp3G4dpX1iQ5",
        **extra,
    }
    if details:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    return {"error": error}


def sign(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def notification(
    *,
    messages: list[dict] | None = None,
    statuses: list[dict] | None = None,
    name: str = "Sheena Nelson",
    phone_number_id: str = PHONE_NUMBER_ID,
    field: str = "messages",
) -> dict[str, Any]:
    """A `whatsapp_business_account` webhook with one change."""
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": DISPLAY_NUMBER, "phone_number_id": phone_number_id},
    }
    if messages is not None:
        value["contacts"] = [{"profile": {"name": name}, "wa_id": CUSTOMER}]
        value["messages"] = messages
    if statuses is not None:
        value["statuses"] = statuses
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": WABA_ID, "changes": [{"value": value, "field": field}]}],
    }


def inbound(wamid: str, kind: str, body: dict | None = None, **extra: Any) -> dict[str, Any]:
    """One `messages[]` item from the customer."""
    message: dict[str, Any] = {
        "from": CUSTOMER,
        "id": wamid,
        "timestamp": "1749416383",
        "type": kind,
        **extra,
    }
    if body is not None:
        message[kind] = body
    return message


def status(wamid: str, name: str, timestamp: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": wamid,
        "status": name,
        "timestamp": str(timestamp),
        "recipient_id": CUSTOMER,
        **extra,
    }


def post_signed(post_webhook, channel: Channel, payload: dict | bytes, secret: str = APP_SECRET):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return post_webhook(channel, body, headers={"X-Hub-Signature-256": sign(body, secret)})


def last_json(httpserver) -> dict[str, Any]:
    """The JSON body of the stand-in's last request."""
    request, _ = httpserver.log[-1]
    return json.loads(request.get_data())
