"""What the Telegram tests share: a bot channel pointed at the stand-in, and Bot API bodies.

The stand-in is pytest-httpserver playing api.telegram.org: methods under
`/bot<token>/<method>`, files under `/file/bot<token>/<file_path>`. Bodies
follow https://core.telegram.org/bots/api (Message, Update, the
`{"ok": ..., "result": ...}` envelope and its error form).
"""

from __future__ import annotations

import json
from typing import Any

from channels_app.models import Channel

BOT_TOKEN = "7012345678:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
WEBHOOK_SECRET = "s3cr3t_Token-for-tests"
CHAT_ID = 987654321
BOT = {"id": 7012345678, "is_bot": True, "first_name": "Acme Support", "username": "acme_bot"}
USER = {
    "id": CHAT_ID,
    "is_bot": False,
    "first_name": "Ana",
    "last_name": "Souza",
    "username": "anasouza",
    "language_code": "pt-br",
}
PRIVATE_CHAT = {
    "id": CHAT_ID,
    "first_name": "Ana",
    "last_name": "Souza",
    "username": "anasouza",
    "type": "private",
}
SECRET_HEADER = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
DATE = 1718000000


def method_path(method: str) -> str:
    return f"/bot{BOT_TOKEN}/{method}"


def file_path(path: str) -> str:
    return f"/file/bot{BOT_TOKEN}/{path}"


def telegram_channel(provider_channel, httpserver, **config: Any) -> Channel:
    """An active Telegram channel whose Bot API base is the stand-in."""
    return provider_channel(
        "telegram",
        {
            "botToken": BOT_TOKEN,
            "webhookSecret": WEBHOOK_SECRET,
            "apiBaseUrl": httpserver.url_for("/"),
            **config,
        },
    )


def ok(result: Any) -> dict[str, Any]:
    return {"ok": True, "result": result}


def error(code: int, description: str, **parameters: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return body


def sent_message(message_id: int = 42, **fields: Any) -> dict[str, Any]:
    """The Message a send method returns: from the bot, in the customer's chat."""
    return {"message_id": message_id, "from": BOT, "chat": PRIVATE_CHAT, "date": DATE, **fields}


def incoming(message_id: int = 100, update_id: int = 500001, **fields: Any) -> dict[str, Any]:
    """An Update with a private `message` from the customer."""
    return {
        "update_id": update_id,
        "message": {
            "message_id": message_id,
            "from": USER,
            "chat": PRIVATE_CHAT,
            "date": DATE,
            **fields,
        },
    }


def body(update: dict[str, Any]) -> bytes:
    return json.dumps(update).encode()


def requests_to(httpserver, method: str) -> list[dict[str, Any]]:
    """JSON bodies the stand-in received for one Bot API method, in order."""
    return [json.loads(req.data) for req, _ in httpserver.log if req.path == method_path(method)]
