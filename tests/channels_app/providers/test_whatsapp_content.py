"""Every Linktor content type, as the exact Cloud API request the stand-in receives.

Sent through the real pipeline (`send_message`, then `deliver_message`);
the expected bodies follow Meta's Messages API reference for text, media by
link, location, interactive (reply buttons, list, cta_url) and templates.
"""

from __future__ import annotations

import pytest

from tests.channels_app.providers.whatsapp_support import (
    CUSTOMER,
    answer_sends,
    last_json,
    send_and_deliver,
    window_open_channel,
)

pytestmark = pytest.mark.django_db

ENVELOPE = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": CUSTOMER}


@pytest.fixture
def channel(provider_channel, httpserver):
    return window_open_channel(provider_channel, httpserver)


def reply_buttons(text: str, *buttons: tuple[str, str]) -> dict:
    """The expected interactive message with a reply button per (id, title)."""
    return {
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": text},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": key, "title": title}}
                    for key, title in buttons
                ]
            },
        },
    }


def template_body() -> dict:
    """A template's body component; it goes out exactly as given."""
    return {
        "type": "body",
        "parameters": [
            {"type": "text", "text": "Ana"},
            {
                "type": "currency",
                "currency": {"fallback_value": "R$ 10,00", "code": "BRL", "amount_1000": 10000},
            },
        ],
    }


CONTENT_CASES = [
    pytest.param(
        {"type": "text", "text": "Your order has shipped."},
        {"type": "text", "text": {"body": "Your order has shipped."}},
        id="text",
    ),
    pytest.param(
        {"type": "text", "text": "Track it at https://shop.example/t/42"},
        {
            "type": "text",
            "text": {"body": "Track it at https://shop.example/t/42", "preview_url": True},
        },
        id="text-with-url",
    ),
    pytest.param(
        {"type": "image", "url": "https://cdn.example/a.jpg", "caption": "Your receipt"},
        {
            "type": "image",
            "image": {"link": "https://cdn.example/a.jpg", "caption": "Your receipt"},
        },
        id="image",
    ),
    pytest.param(
        {"type": "video", "url": "https://cdn.example/v.mp4", "caption": "How to"},
        {"type": "video", "video": {"link": "https://cdn.example/v.mp4", "caption": "How to"}},
        id="video",
    ),
    pytest.param(
        {"type": "audio", "url": "https://cdn.example/a.ogg"},
        {"type": "audio", "audio": {"link": "https://cdn.example/a.ogg"}},
        id="audio",
    ),
    pytest.param(
        {
            "type": "document",
            "url": "https://cdn.example/i.pdf",
            "filename": "invoice.pdf",
            "caption": "Invoice 42",
        },
        {
            "type": "document",
            "document": {
                "link": "https://cdn.example/i.pdf",
                "caption": "Invoice 42",
                "filename": "invoice.pdf",
            },
        },
        id="document",
    ),
    pytest.param(
        {
            "type": "location",
            "latitude": -23.5614,
            "longitude": -46.6559,
            "name": "Paulista store",
            "address": "Av. Paulista, 1000",
        },
        {
            "type": "location",
            "location": {
                "latitude": -23.5614,
                "longitude": -46.6559,
                "name": "Paulista store",
                "address": "Av. Paulista, 1000",
            },
        },
        id="location",
    ),
    pytest.param(
        {
            "type": "buttons",
            "text": "Did this solve it?",
            "buttons": [
                {"type": "reply", "id": "yes", "title": "Yes"},
                {"type": "reply", "id": "no", "title": "No, I still need help"},
            ],
        },
        # "No, I still need help" is 21 characters: cut to WhatsApp's 20.
        reply_buttons("Did this solve it?", ("yes", "Yes"), ("no", "No, I still need he…")),
        id="reply-buttons",
    ),
    pytest.param(
        {
            "type": "buttons",
            "text": "Pick a size",
            "buttons": [
                {"type": "reply", "id": f"size-{s}", "title": s} for s in ("S", "M", "L", "XL")
            ],
        },
        {
            "type": "interactive",
            "interactive": {
                "type": "list",
                "body": {"text": "Pick a size"},
                "action": {
                    "button": "Options",
                    "sections": [
                        {
                            "title": "Options",
                            "rows": [
                                {"id": f"size-{s}", "title": s} for s in ("S", "M", "L", "XL")
                            ],
                        }
                    ],
                },
            },
        },
        id="list",
    ),
    pytest.param(
        {
            "type": "buttons",
            "text": "Your boarding pass is ready.",
            "buttons": [{"type": "url", "title": "Open", "url": "https://air.example/bp/9"}],
        },
        {
            "type": "interactive",
            "interactive": {
                "type": "cta_url",
                "body": {"text": "Your boarding pass is ready."},
                "action": {
                    "name": "cta_url",
                    "parameters": {"display_text": "Open", "url": "https://air.example/bp/9"},
                },
            },
        },
        id="cta-url",
    ),
    pytest.param(
        {
            "type": "text",
            "text": "Rate us",
            "quickReplies": [{"id": "good", "title": "Good"}, {"id": "bad", "title": "Bad"}],
        },
        reply_buttons("Rate us", ("good", "Good"), ("bad", "Bad")),
        id="quick-replies",
    ),
    pytest.param(
        {
            "type": "template",
            "template": {
                "name": "order_update",
                "language": "pt_BR",
                "components": [
                    {
                        "type": "header",
                        "parameters": [
                            {"type": "image", "image": {"url": "https://cdn.example/h.png"}}
                        ],
                    },
                    template_body(),
                    {"type": "footer", "parameters": []},
                    {"type": "button", "parameters": [{"type": "payload", "payload": "TRACK"}]},
                    {
                        "type": "button",
                        "sub_type": "url",
                        "index": 1,
                        "parameters": [{"type": "text", "text": "42"}],
                    },
                ],
            },
        },
        {
            "type": "template",
            "template": {
                "name": "order_update",
                "language": {"code": "pt_BR"},
                "components": [
                    {
                        "type": "header",
                        "parameters": [
                            {"type": "image", "image": {"link": "https://cdn.example/h.png"}}
                        ],
                    },
                    template_body(),
                    {
                        "type": "button",
                        "sub_type": "quick_reply",
                        "index": "0",
                        "parameters": [{"type": "payload", "payload": "TRACK"}],
                    },
                    {
                        "type": "button",
                        "sub_type": "url",
                        "index": "1",
                        "parameters": [{"type": "text", "text": "42"}],
                    },
                ],
            },
        },
        id="template",
    ),
    pytest.param(
        {"type": "template", "template": {"name": "hello_world", "language": "en_US"}},
        {"type": "template", "template": {"name": "hello_world", "language": {"code": "en_US"}}},
        id="template-without-variables",
    ),
]


@pytest.mark.parametrize(("content", "expected"), CONTENT_CASES)
def test_every_content_type_is_the_documented_request(channel, httpserver, content, expected):
    answer_sends(httpserver, "wamid.sent-1")
    message = send_and_deliver(channel, content)

    assert last_json(httpserver) == {**ENVELOPE, **expected}
    assert message.status == "sent"
    assert message.provider_message_id == "wamid.sent-1"
