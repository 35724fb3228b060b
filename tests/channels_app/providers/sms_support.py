"""What the SMS tests share: a channel on the Twilio stand-in, Twilio's bodies, its signature.

The stand-in is pytest-httpserver playing api.twilio.com (the Messages and
Account resources under `/2010-04-01/Accounts/<sid>`). Webhooks are posted
form-encoded to the channel's real webhook path, signed by `twilio_signature`:
this suite's own implementation of Twilio's documented algorithm
(https://www.twilio.com/docs/usage/security#validating-requests), written
apart from the provider's and checked in test_sms_signature.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any
from urllib.parse import urlencode

from channels_app.links import channel_webhook_url
from channels_app.models import Channel

ACCOUNT_SID = "AC" + "a1" * 16
AUTH_TOKEN = "twilio-auth-token-1"
OUR_NUMBER = "+14155550100"
CUSTOMER = "+14155552671"
MESSAGES_PATH = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
SID = "SM" + "c3" * 16
EMPTY_TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def twilio_channel(provider_channel, httpserver, **config: Any) -> Channel:
    """An active SMS channel for OUR_NUMBER whose Twilio API base is the stand-in."""
    return provider_channel(
        "sms",
        {
            "accountSid": ACCOUNT_SID,
            "authToken": AUTH_TOKEN,
            "phoneNumber": OUR_NUMBER,
            "apiBaseUrl": httpserver.url_for("/"),
            **config,
        },
    )


def created(sid: str = SID, status: str = "queued", **extra) -> dict:
    """Twilio's 201 answer: the new Message resource."""
    return {
        "account_sid": ACCOUNT_SID,
        "api_version": "2010-04-01",
        "body": "",
        "date_created": "Thu, 24 Aug 2023 05:01:45 +0000",
        "date_sent": None,
        "date_updated": "Thu, 24 Aug 2023 05:01:45 +0000",
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": OUR_NUMBER,
        "messaging_service_sid": None,
        "num_media": "0",
        "num_segments": "1",
        "price": None,
        "price_unit": "USD",
        "sid": sid,
        "status": status,
        "subresource_uris": {
            "media": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}/Media.json"
        },
        "to": CUSTOMER,
        "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json",
        **extra,
    }


def twilio_error(code: int, message: str, status: int) -> dict:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def basic_auth() -> str:
    """The Authorization header Twilio expects: the account's sid and token."""
    return "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()


def twilio_signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    """URL, then each POST parameter's name and value sorted by name; HMAC-SHA1; Base64."""
    payload = url
    for name in sorted(params):
        payload += name + params[name]
    mac = hmac.new(auth_token.encode("utf-8"), payload.encode("utf-8"), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode("ascii")


def post_form(
    post_webhook,
    channel: Channel,
    params: dict[str, str],
    *,
    token: str = AUTH_TOKEN,
    signature: str | None = None,
    headers: dict[str, str] | None = None,
):
    """POST `params` form-encoded to the channel's webhook, as Twilio does.

    Signed with `token` for the channel's webhook URL, unless `signature` is
    given; an empty `signature` sends no X-Twilio-Signature at all.
    """
    if signature is None:
        signature = twilio_signature(token, channel_webhook_url(channel), params)
    sent = {"X-Twilio-Signature": signature} if signature else {}
    return post_webhook(
        channel,
        urlencode(params).encode(),
        content_type="application/x-www-form-urlencoded",
        headers={**sent, **(headers or {})},
    )
