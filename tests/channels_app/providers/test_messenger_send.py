"""Messenger outbound against a local stand-in for the Graph API Send API.

Every message goes through `send_message` and the delivery task, so the
request the stand-in receives is the one Meta would: `POST /{page-id}/messages`
with the Page token as a Bearer header and the documented body.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial

import pytest
from django.utils import timezone

from messaging.errors import OutsideMessageWindow
from messaging.models import Conversation, Message
from messaging.services import react_to_message, send_message
from tests.channels_app.providers.meta_support import MESSENGER

PSID = MESSENGER.customer
SEND_PATH = MESSENGER.send_path
AUTH = MESSENGER.auth
IMAGE_URL = "https://files.example.com/receipt.png"


@pytest.fixture
def inbound(provider_channel, httpserver):
    """The customer's message that opened the 24-hour window."""
    messenger = MESSENGER.channel(provider_channel, httpserver)
    return MESSENGER.customer_wrote(messenger, "Is my order on its way?", mid="m_inbound_1")


@pytest.fixture
def deliver(send_on_commit, inbound):
    """Send `content` in the customer's conversation; the delivery task runs on commit."""
    return partial(send_on_commit, conversation=inbound.conversation)


def expect_send(httpserver, message: dict, message_id: str = "m_out_1", **extra) -> None:
    body = {"recipient": {"id": PSID}, "messaging_type": "RESPONSE", "message": message, **extra}
    httpserver.expect_ordered_request(
        SEND_PATH, method="POST", json=body, headers=AUTH
    ).respond_with_json({"recipient_id": PSID, "message_id": message_id})


def attachment(kind: str, url: str) -> dict:
    return {"attachment": {"type": kind, "payload": {"url": url, "is_reusable": True}}}


def template(text: str, buttons: list[dict]) -> dict:
    payload = {"template_type": "button", "text": text, "buttons": buttons}
    return {"attachment": {"type": "template", "payload": payload}}


REPLY_BUTTONS = [{"type": "reply", "id": f"size_{n}", "title": f"Size {n}"} for n in range(5)]

CASES = {
    "text": ({"type": "text", "text": "It ships today."}, [{"text": "It ships today."}]),
    "text with quick replies": (
        {
            "type": "text",
            "text": "Which size?",
            "quickReplies": [{"id": "s", "title": "Small"}, {"id": "l", "title": "Large"}],
        },
        [
            {
                "text": "Which size?",
                "quick_replies": [
                    {"content_type": "text", "title": "Small", "payload": "s"},
                    {"content_type": "text", "title": "Large", "payload": "l"},
                ],
            }
        ],
    ),
    "image": ({"type": "image", "url": IMAGE_URL}, [attachment("image", IMAGE_URL)]),
    "image with caption": (
        {"type": "image", "url": IMAGE_URL, "caption": "Your receipt"},
        [attachment("image", IMAGE_URL), {"text": "Your receipt"}],
    ),
    "video": (
        {"type": "video", "url": "https://files.example.com/how-to.mp4"},
        [attachment("video", "https://files.example.com/how-to.mp4")],
    ),
    "audio": (
        {"type": "audio", "url": "https://files.example.com/note.mp3"},
        [attachment("audio", "https://files.example.com/note.mp3")],
    ),
    "document": (
        {"type": "document", "url": "https://files.example.com/inv.pdf", "filename": "inv.pdf"},
        [attachment("file", "https://files.example.com/inv.pdf")],
    ),
    "up to 3 buttons": (
        {
            "type": "buttons",
            "text": "What next?",
            "buttons": [
                {"type": "reply", "id": "track", "title": "Track it"},
                {"type": "url", "title": "Open site", "url": "https://shop.example.com"},
            ],
        },
        [
            template(
                "What next?",
                [
                    {"type": "postback", "title": "Track it", "payload": "track"},
                    {"type": "web_url", "url": "https://shop.example.com", "title": "Open site"},
                ],
            )
        ],
    ),
    "more than 3 reply buttons": (
        {"type": "buttons", "text": "Pick a size", "buttons": REPLY_BUTTONS},
        [
            {
                "text": "Pick a size",
                "quick_replies": [
                    {"content_type": "text", "title": f"Size {n}", "payload": f"size_{n}"}
                    for n in range(5)
                ],
            }
        ],
    ),
    "more than 3 buttons with links": (
        {
            "type": "buttons",
            "text": "Pick a size",
            "buttons": [
                *REPLY_BUTTONS[:3],
                {"type": "url", "title": "Size chart", "url": "https://shop.example.com/sizes"},
            ],
        },
        [
            {
                **template(
                    "Pick a size",
                    [
                        {
                            "type": "web_url",
                            "url": "https://shop.example.com/sizes",
                            "title": "Size chart",
                        }
                    ],
                ),
                "quick_replies": [
                    {"content_type": "text", "title": f"Size {n}", "payload": f"size_{n}"}
                    for n in range(3)
                ],
            }
        ],
    ),
}


@pytest.mark.parametrize("content,messages", list(CASES.values()), ids=list(CASES))
def test_each_content_type_is_sent_as_the_send_api_documents(
    httpserver, deliver, content, messages
):
    for index, message in enumerate(messages):
        expect_send(httpserver, message, message_id=f"m_out_{index + 1}")

    sent = deliver(content)

    httpserver.check_assertions()
    assert len(httpserver.log) == len(messages)
    assert sent.status == "sent"
    # A caption follows the file; the file's id is the message's.
    assert sent.provider_message_id == "m_out_1"


def test_a_reply_names_the_message_it_answers(httpserver, deliver, inbound):
    expect_send(httpserver, {"text": "Yes!"}, reply_to={"mid": "m_inbound_1"})
    sent = deliver({"type": "text", "text": "Yes!"}, reply_to=inbound)
    httpserver.check_assertions()
    assert sent.status == "sent"


def test_four_link_buttons_fail_before_any_request(httpserver, deliver):
    links = [{"type": "url", "title": f"L{n}", "url": f"https://x.example/{n}"} for n in range(4)]
    sent = deliver({"type": "buttons", "text": "Links", "buttons": links})
    assert httpserver.log == []
    assert sent.status == "failed"
    assert sent.failure_code == "UNSUPPORTED_CONTENT"


def test_outside_the_24_hour_window_nothing_is_sent(httpserver, workspace, inbound):
    Conversation.objects.filter(pk=inbound.conversation_id).update(
        last_inbound_at=timezone.now() - timedelta(hours=24, minutes=1)
    )
    inbound.conversation.refresh_from_db()
    with pytest.raises(OutsideMessageWindow):
        send_message(
            workspace=workspace,
            conversation=inbound.conversation,
            content={"type": "text", "text": "Still there?"},
        )
    assert httpserver.log == []
    assert not Message.objects.filter(direction="outbound").exists()


def test_an_agents_reaction_and_its_removal_reach_messenger(
    httpserver, inbound, agent, django_capture_on_commit_callbacks
):
    MESSENGER.expect_sender_action(
        httpserver, "react", {"message_id": "m_inbound_1", "reaction": "👍"}
    )
    MESSENGER.expect_sender_action(httpserver, "unreact", {"message_id": "m_inbound_1"})

    with django_capture_on_commit_callbacks(execute=True):
        react_to_message(message=inbound, reaction="👍", actor_user=agent)
    with django_capture_on_commit_callbacks(execute=True):
        react_to_message(message=inbound, reaction="👍", operation="remove", actor_user=agent)

    httpserver.check_assertions()
    assert len(httpserver.log) == 2
