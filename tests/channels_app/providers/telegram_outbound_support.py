"""What the Telegram outbound tests share (sends, edits, deletes, reactions).

Bot API bodies and the stand-in's paths are in `telegram_support`; this adds
the message the tests send and the stand-in's canned answers to a method.
"""

from __future__ import annotations

from tests.channels_app.providers.telegram_support import method_path

TEXT = {"type": "text", "text": "Your order has shipped."}


def answer(httpserver, method: str, body: dict, status: int = 200, **kwargs) -> None:
    """The stand-in answers every POST to the Bot API `method` with `body`."""
    httpserver.expect_request(method_path(method), method="POST").respond_with_json(
        body, status=status, **kwargs
    )
