"""Content validation: every type of the Linktor seed, field by field."""

import pytest

from inbox.errors import ValidationFailed
from messaging.content import content_preview, content_text, validate_content

SEED_EXAMPLES = [
    {"type": "text", "text": "Hello! How can I help you today?"},
    {"type": "image", "url": "https://cdn.linktor.io/images/product.jpg", "caption": "Our latest"},
    {
        "type": "document",
        "url": "https://cdn.linktor.io/docs/invoice.pdf",
        "filename": "invoice_2024.pdf",
        "caption": "Your invoice for January 2024",
    },
    {"type": "audio", "url": "https://cdn.linktor.io/audio/message.ogg"},
    {"type": "video", "url": "https://cdn.linktor.io/videos/tutorial.mp4", "caption": "Quick"},
    {
        "type": "location",
        "latitude": -23.5505,
        "longitude": -46.6333,
        "name": "Linktor Office",
        "address": "Av. Paulista, 1000, Sao Paulo",
    },
    {
        "type": "buttons",
        "text": "How would you like to proceed?",
        "buttons": [
            {"type": "reply", "id": "btn_yes", "title": "Yes, continue"},
            {"type": "reply", "id": "btn_no", "title": "No, cancel"},
            {"type": "url", "title": "Learn more", "url": "https://example.com/info"},
        ],
    },
    {
        "type": "text",
        "text": "What's your preferred contact method?",
        "quickReplies": [
            {"id": "qr_email", "title": "Email"},
            {"id": "qr_phone", "title": "Phone"},
        ],
    },
    {
        "type": "template",
        "template": {
            "name": "order_confirmation",
            "language": "en",
            "components": [
                {
                    "type": "header",
                    "parameters": [
                        {"type": "image", "image": {"url": "https://cdn.linktor.io/images/o.jpg"}}
                    ],
                },
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": "John"},
                        {"type": "text", "text": "ORD-12345"},
                    ],
                },
            ],
        },
    },
]


@pytest.mark.parametrize("content", SEED_EXAMPLES, ids=lambda c: c["type"])
def test_it_accepts_every_seed_example_unchanged(content):
    assert validate_content(content) == content


@pytest.mark.parametrize(
    ("content", "field"),
    [
        (None, "content"),
        ("text", "content"),
        ({}, "content.type"),
        ({"type": "sticker"}, "content.type"),
        ({"type": "text"}, "content.text"),
        ({"type": "text", "text": "   "}, "content.text"),
        ({"type": "text", "text": 5}, "content.text"),
        ({"type": "text", "text": "x" * 5000}, "content.text"),
        ({"type": "text", "text": "hi", "colour": "red"}, "content.colour"),
        (
            {"type": "text", "text": "hi", "quickReplies": [{"id": "a"}]},
            "content.quickReplies[0].title",
        ),
        ({"type": "image"}, "content.url"),
        ({"type": "image", "url": "ftp://x/y.png"}, "content.url"),
        ({"type": "image", "url": "not a url"}, "content.url"),
        ({"type": "audio", "url": "https://x.test/a.ogg", "caption": "no"}, "content.caption"),
        ({"type": "location", "longitude": 1}, "content.latitude"),
        ({"type": "location", "latitude": 91, "longitude": 1}, "content.latitude"),
        ({"type": "location", "latitude": "1", "longitude": 1}, "content.latitude"),
        ({"type": "location", "latitude": True, "longitude": 1}, "content.latitude"),
        ({"type": "buttons", "text": "t"}, "content.buttons"),
        ({"type": "buttons", "text": "t", "buttons": []}, "content.buttons"),
        (
            {"type": "buttons", "text": "t", "buttons": [{"type": "call"}]},
            "content.buttons[0].type",
        ),
        (
            {"type": "buttons", "text": "t", "buttons": [{"type": "url", "title": "x"}]},
            "content.buttons[0].url",
        ),
        (
            {"type": "buttons", "text": "t", "buttons": [{"type": "reply", "title": "x"}]},
            "content.buttons[0].id",
        ),
        ({"type": "template"}, "content.template"),
        ({"type": "template", "template": {"language": "en"}}, "content.template.name"),
        ({"type": "template", "template": {"name": "x"}}, "content.template.language"),
        (
            {
                "type": "template",
                "template": {"name": "x", "language": "en", "components": [{"type": "side"}]},
            },
            "content.template.components[0].type",
        ),
        (
            {
                "type": "template",
                "template": {
                    "name": "x",
                    "language": "en",
                    "components": [{"type": "body", "parameters": [{"type": "text"}]}],
                },
            },
            "content.template.components[0].parameters[0].text",
        ),
    ],
)
def test_it_names_the_bad_field(content, field):
    with pytest.raises(ValidationFailed) as excinfo:
        validate_content(content)
    assert excinfo.value.code == "VALIDATION_ERROR"
    assert field in [d["field"] for d in excinfo.value.details]


def test_it_reports_every_bad_field_at_once():
    with pytest.raises(ValidationFailed) as excinfo:
        validate_content({"type": "location", "latitude": 100, "longitude": 500})
    fields = [d["field"] for d in excinfo.value.details]
    assert fields == ["content.latitude", "content.longitude"]


def test_text_and_preview():
    assert content_text(SEED_EXAMPLES[0]) == "Hello! How can I help you today?"
    assert content_text(SEED_EXAMPLES[5]) == "Linktor Office Av. Paulista, 1000, Sao Paulo"
    assert content_text(SEED_EXAMPLES[8]) == "order_confirmation John ORD-12345"
    assert content_preview({"type": "audio", "url": "https://x.test/a"}) == "Audio"
    assert content_preview({"type": "text", "text": "y" * 300}, limit=10) == "y" * 9 + "…"
