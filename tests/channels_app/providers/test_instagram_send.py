"""Instagram outbound against a local stand-in for graph.instagram.com.

Instagram API with Instagram Login: `POST /{ig-id}/messages` with an
Instagram User token as Bearer, body `{recipient: {id: IGSID}, message}`.
"""

from __future__ import annotations

import json
from datetime import timedelta
from functools import partial

import pytest
from django.utils import timezone

from channels_app.services import check_channel
from messaging.errors import OutsideMessageWindow, UnsupportedContentType
from messaging.models import Conversation
from messaging.services import deliver_message, react_to_message, send_message
from messaging.services.reactions import push_reaction
from tests.channels_app.providers.meta_support import INSTAGRAM

IG_ID = INSTAGRAM.id
IGSID = INSTAGRAM.customer
SEND_PATH = INSTAGRAM.send_path
AUTH = INSTAGRAM.auth


@pytest.fixture
def instagram(provider_channel, httpserver):
    return INSTAGRAM.channel(provider_channel, httpserver)


@pytest.fixture
def inbound(instagram):
    return INSTAGRAM.customer_wrote(
        instagram, "Do you ship to Lisbon?", mid="aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQx"
    )


@pytest.fixture
def deliver(send_on_commit, inbound):
    return partial(send_on_commit, conversation=inbound.conversation)


def expect_send(httpserver, message: dict, message_id: str = "ig_out_1", **extra) -> None:
    httpserver.expect_ordered_request(
        SEND_PATH,
        method="POST",
        json={"recipient": {"id": IGSID}, "message": message, **extra},
        headers=AUTH,
    ).respond_with_json({"recipient_id": IGSID, "message_id": message_id})


def media(kind: str, url: str) -> dict:
    return {"attachment": {"type": kind, "payload": {"url": url}}}


CASES = {
    "text": ({"type": "text", "text": "We do!"}, [{"text": "We do!"}]),
    "text with quick replies": (
        {"type": "text", "text": "Track it?", "quickReplies": [{"id": "yes", "title": "Yes"}]},
        [
            {
                "text": "Track it?",
                "quick_replies": [{"content_type": "text", "title": "Yes", "payload": "yes"}],
            }
        ],
    ),
    "image": (
        {"type": "image", "url": "https://files.example.com/a.png"},
        [media("image", "https://files.example.com/a.png")],
    ),
    "image with caption": (
        {"type": "image", "url": "https://files.example.com/a.png", "caption": "New in"},
        [media("image", "https://files.example.com/a.png"), {"text": "New in"}],
    ),
    "video": (
        {"type": "video", "url": "https://files.example.com/a.mp4"},
        [media("video", "https://files.example.com/a.mp4")],
    ),
    "audio": (
        {"type": "audio", "url": "https://files.example.com/a.m4a"},
        [media("audio", "https://files.example.com/a.m4a")],
    ),
}


@pytest.mark.parametrize("content,messages", list(CASES.values()), ids=list(CASES))
def test_each_content_type_is_sent_as_documented(httpserver, deliver, content, messages):
    for index, message in enumerate(messages):
        expect_send(httpserver, message, message_id=f"ig_out_{index + 1}")
    sent = deliver(content)
    httpserver.check_assertions()
    assert len(httpserver.log) == len(messages)
    assert sent.status == "sent"
    assert sent.provider_message_id == "ig_out_1"


def test_a_reply_names_the_message_it_answers(httpserver, deliver, inbound):
    expect_send(httpserver, {"text": "Yes"}, reply_to={"mid": inbound.provider_message_id})
    assert deliver({"type": "text", "text": "Yes"}, reply_to=inbound).status == "sent"
    httpserver.check_assertions()


def test_documents_and_buttons_are_refused_before_sending(httpserver, workspace, inbound):
    for content in (
        {"type": "document", "url": "https://files.example.com/a.pdf"},
        {
            "type": "buttons",
            "text": "Pick",
            "buttons": [{"type": "reply", "id": "a", "title": "A"}],
        },
    ):
        with pytest.raises(UnsupportedContentType):
            send_message(workspace=workspace, conversation=inbound.conversation, content=content)
    assert httpserver.log == []


def test_outside_the_24_hour_window_nothing_is_sent(httpserver, workspace, inbound):
    Conversation.objects.filter(pk=inbound.conversation_id).update(
        last_inbound_at=timezone.now() - timedelta(hours=25)
    )
    inbound.conversation.refresh_from_db()
    with pytest.raises(OutsideMessageWindow):
        send_message(
            workspace=workspace,
            conversation=inbound.conversation,
            content={"type": "text", "text": "Hello again"},
        )
    assert httpserver.log == []


def test_a_permanent_error_fails_the_message_with_metas_code(httpserver, deliver):
    httpserver.expect_request(SEND_PATH, method="POST").respond_with_json(
        {
            "error": {
                "message": "The user is not available to receive messages.",
                "type": "IGApiException",
                "code": 551,
                "error_subcode": 2534014,
                "fbtrace_id": "A1b2C3",
            }
        },
        status=400,
    )
    sent = deliver({"type": "text", "text": "Hi"})
    assert len(httpserver.log) == 1
    assert sent.status == "failed"
    assert sent.failure_code == "551"
    assert sent.failure_reason == "The user is not available to receive messages."


def test_a_rate_limit_stays_pending_for_a_retry(httpserver, workspace, inbound):
    message = send_message(
        workspace=workspace,
        conversation=inbound.conversation,
        content={"type": "text", "text": "x"},
    )
    httpserver.expect_request(SEND_PATH, method="POST").respond_with_json(
        {"error": {"message": "Application request limit reached", "code": 4}},
        status=400,
        headers={"Retry-After": "60"},
    )
    before = timezone.now()
    result = deliver_message(message_pk=message.pk)
    message.refresh_from_db()
    assert result.retryable
    assert message.status == "pending"
    assert message.failure_code == "4"
    assert 59 <= (message.next_attempt_at - before).total_seconds() <= 65


def test_a_heart_goes_out_as_love_and_its_removal_as_unreact(
    httpserver, inbound, agent, django_capture_on_commit_callbacks
):
    mid = inbound.provider_message_id
    INSTAGRAM.expect_sender_action(httpserver, "react", {"message_id": mid, "reaction": "love"})
    INSTAGRAM.expect_sender_action(httpserver, "unreact", {"message_id": mid})

    with django_capture_on_commit_callbacks(execute=True):
        react_to_message(message=inbound, reaction="love", actor_user=agent)
    with django_capture_on_commit_callbacks(execute=True):
        react_to_message(message=inbound, reaction="love", operation="remove", actor_user=agent)

    httpserver.check_assertions()
    assert [json.loads(r.get_data())["sender_action"] for r, _ in httpserver.log] == [
        "react",
        "unreact",
    ]


def test_other_emoji_are_not_sent_as_a_heart(
    httpserver, inbound, agent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        reaction = react_to_message(message=inbound, reaction="👍", actor_user=agent)
    assert httpserver.log == []
    # What the push task got back: a permanent refusal, not a retry.
    result = push_reaction(reaction_pk=reaction.pk, operation="add")
    assert (result.ok, result.retryable, result.error_code) == (
        False,
        False,
        "UNSUPPORTED_REACTION",
    )


def test_check_reads_the_account_with_the_token(httpserver, instagram):
    httpserver.expect_request(
        f"/v21.0/{IG_ID}", method="GET", query_string="fields=user_id,username", headers=AUTH
    ).respond_with_json({"user_id": IG_ID, "username": "acme.shoes", "id": "7215521315195"})
    assert check_channel(channel=instagram).ok
    httpserver.check_assertions()


def test_check_with_an_expired_token_is_rejected(httpserver, instagram):
    httpserver.expect_request(f"/v21.0/{IG_ID}", method="GET").respond_with_json(
        {"error": {"message": "Error validating access token", "code": 190}}, status=400
    )
    result = check_channel(channel=instagram)
    assert not result.ok and result.rejected
    assert "Error validating access token" in result.error
