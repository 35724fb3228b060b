"""Instagram webhooks posted to the channel's endpoint, signed with the app secret.

Bodies follow the Instagram messaging webhook examples (`object: instagram`,
`entry[].id` the professional account, `messaging[]` events); attachment
URLs point at a local server standing in for Instagram's CDN.
"""

from __future__ import annotations

import json
import time

import pytest

from channels_app.providers.meta.webhooks import signature
from messaging.models import Attachment, Message, Reaction
from messaging.services import receive_message, send_message
from messaging.services.inbound import fetch_and_store_media
from tests.messaging.api.test_media import PNG

IG_ID = "17841405822304914"
IGSID = "1254459154682919"
SECRET = "ig-app-secret"


@pytest.fixture
def instagram(provider_channel, httpserver):
    return provider_channel(
        "instagram",
        {
            "accountId": IG_ID,
            "accessToken": "IGAAJ0ZCm1nInstagramUserToken",
            "appSecret": SECRET,
            "verifyToken": "verify-me",
            "apiBaseUrl": httpserver.url_for("/v21.0"),
        },
    )


def now_ms() -> int:
    return int(time.time() * 1000) - 5000


def notification(*events: dict, account_id: str = IG_ID) -> dict:
    return {
        "object": "instagram",
        "entry": [{"id": account_id, "time": now_ms(), "messaging": list(events)}],
    }


def from_customer(**event) -> dict:
    return {"sender": {"id": IGSID}, "recipient": {"id": IG_ID}, "timestamp": now_ms(), **event}


@pytest.fixture
def deliver_webhook(instagram, post_webhook, django_capture_on_commit_callbacks):
    def post(payload: dict, *, secret: str = SECRET):
        body = json.dumps(payload).encode()
        headers = {"X-Hub-Signature-256": signature(secret, body)}
        with django_capture_on_commit_callbacks(execute=True):
            return post_webhook(instagram, body, headers=headers)

    return post


def test_a_text_message_is_received_once_however_often_it_comes(deliver_webhook):
    payload = notification(from_customer(message={"mid": "aWdfZAG1fTEXT", "text": "Olá!"}))
    for _ in range(5):
        assert deliver_webhook(payload).status_code == 200
    message = Message.objects.get(provider_message_id="aWdfZAG1fTEXT")
    assert message.content == {"type": "text", "text": "Olá!"}
    assert message.from_address == IGSID
    assert Message.objects.count() == 1


def test_a_bad_signature_is_401_and_records_nothing(deliver_webhook):
    payload = notification(from_customer(message={"mid": "aWdfZAG1fFORGED", "text": "x"}))
    assert deliver_webhook(payload, secret="someone-else").status_code == 401
    assert not Message.objects.exists()


def test_the_handshake_echoes_the_challenge_only_for_our_token(instagram, get_webhook):
    good = {"hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": "42"}
    assert get_webhook(instagram, good).content == b"42"
    assert get_webhook(instagram, {**good, "hub.mode": "unsubscribe"}).status_code == 403


def test_several_images_are_all_fetched_and_stored(deliver_webhook, httpserver):
    httpserver.expect_request("/ig-cdn/one.png").respond_with_data(PNG, content_type="image/png")
    httpserver.expect_request("/ig-cdn/two.png").respond_with_data(PNG, content_type="image/png")
    attachments = [
        {"type": "image", "payload": {"url": httpserver.url_for("/ig-cdn/one.png")}},
        {"type": "image", "payload": {"url": httpserver.url_for("/ig-cdn/two.png")}},
    ]
    deliver_webhook(
        notification(from_customer(message={"mid": "aWdfZAG1fIMG", "attachments": attachments}))
    )
    message = Message.objects.get(provider_message_id="aWdfZAG1fIMG")
    assert message.content["type"] == "image"
    assert Attachment.objects.filter(message=message).count() == 2
    assert len(httpserver.log) == 2


def test_a_failing_cdn_is_retried_until_it_answers(instagram, post_webhook, httpserver):
    httpserver.expect_ordered_request("/ig-cdn/voice.m4a").respond_with_data("busy", status=503)
    httpserver.expect_ordered_request("/ig-cdn/voice.m4a").respond_with_data(
        PNG, content_type="image/png"
    )
    url = httpserver.url_for("/ig-cdn/voice.m4a")
    attachment = {"type": "audio", "payload": {"url": url}}
    body = json.dumps(
        notification(from_customer(message={"mid": "aWdfZAG1fAUDIO", "attachments": [attachment]}))
    ).encode()
    # Posted without running the on-commit fetch: the attempts are made here,
    # one by one, as the fetch task makes them.
    post_webhook(instagram, body, headers={"X-Hub-Signature-256": signature(SECRET, body)})
    message = Message.objects.get(provider_message_id="aWdfZAG1fAUDIO")
    assert message.content["type"] == "audio"
    payload = {"kind": "audio", "ref": url}
    assert fetch_and_store_media(message_pk=message.pk, payload=payload) == "retry"
    assert fetch_and_store_media(message_pk=message.pk, payload=payload) == "stored"
    assert Attachment.objects.filter(message=message).count() == 1


def test_a_quick_reply_keeps_its_payload(deliver_webhook):
    deliver_webhook(
        notification(
            from_customer(
                message={"mid": "aWdfZAG1fQR", "text": "Yes", "quick_reply": {"payload": "yes"}}
            )
        )
    )
    message = Message.objects.get(provider_message_id="aWdfZAG1fQR")
    assert message.metadata["quickReply"] == {"payload": "yes"}


def test_a_story_reply_and_a_shared_post_keep_their_links(deliver_webhook):
    story = {"url": "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1", "id": "1789"}
    share = {"type": "share", "payload": {"url": "https://www.instagram.com/p/Cx1/"}}
    deliver_webhook(
        notification(
            from_customer(
                message={"mid": "aWdfZAG1fSTORY", "text": "Love it", "reply_to": {"story": story}}
            ),
            from_customer(message={"mid": "aWdfZAG1fSHARE", "attachments": [share]}),
        )
    )
    reply = Message.objects.get(provider_message_id="aWdfZAG1fSTORY")
    assert reply.content == {"type": "text", "text": "Love it"}
    assert reply.metadata["storyReply"] == story
    shared = Message.objects.get(provider_message_id="aWdfZAG1fSHARE")
    assert shared.content == {"type": "text", "text": "https://www.instagram.com/p/Cx1/"}
    assert shared.metadata["attachmentTypes"] == ["share"]


def test_a_postback_is_the_button_title_with_its_payload(deliver_webhook):
    deliver_webhook(
        notification(
            from_customer(
                postback={"mid": "aWdfZAG1fPB", "title": "Talk to us", "payload": "HUMAN"}
            )
        )
    )
    message = Message.objects.get(provider_message_id="aWdfZAG1fPB")
    assert message.content == {"type": "text", "text": "Talk to us"}
    assert message.metadata["postback"] == {"title": "Talk to us", "payload": "HUMAN"}


def test_a_reaction_and_its_removal(deliver_webhook, instagram):
    target = receive_message(
        channel=instagram,
        sender=IGSID,
        content={"type": "text", "text": "ok"},
        provider_message_id="aWdfZAG1fTARGET",
    ).message
    live = Reaction.objects.filter(message=target, removed_at__isnull=True)
    react = {"mid": "aWdfZAG1fTARGET", "action": "react", "reaction": "love", "emoji": "❤"}
    deliver_webhook(notification(from_customer(reaction=react)))
    assert list(live.values_list("emoji", flat=True)) == ["❤"]
    unreact = {"mid": "aWdfZAG1fTARGET", "action": "unreact"}
    deliver_webhook(notification(from_customer(reaction=unreact)))
    assert not live.exists()


def test_a_seen_event_marks_our_message_read(
    deliver_webhook, instagram, workspace, httpserver, django_capture_on_commit_callbacks
):
    receive_message(
        channel=instagram,
        sender=IGSID,
        content={"type": "text", "text": "hi"},
        provider_message_id="aWdfZAG1fIN",
    )
    httpserver.expect_request(f"/v21.0/{IG_ID}/messages", method="POST").respond_with_json(
        {"recipient_id": IGSID, "message_id": "aWdfZAG1fOUT"}
    )
    with django_capture_on_commit_callbacks(execute=True):
        ours = send_message(
            workspace=workspace, channel=instagram, to=IGSID, content={"type": "text", "text": "Hi"}
        )
    seen_at = int(time.time() * 1000)  # after the send
    for _ in range(2):  # a repeated receipt changes nothing more
        deliver_webhook(
            notification(from_customer(timestamp=seen_at, read={"mid": "aWdfZAG1fOUT"}))
        )
    ours.refresh_from_db()
    assert ours.status == "read"
    assert int(ours.read_at.timestamp() * 1000) == seen_at
    assert [h["status"] for h in ours.status_history] == ["pending", "sent", "read"]


@pytest.mark.parametrize(
    "event",
    [
        {
            "sender": {"id": IG_ID},
            "recipient": {"id": IGSID},
            "timestamp": 1,
            "message": {"mid": "aWdfZAG1fECHO", "text": "from us", "is_echo": True},
        },
        from_customer(message={"mid": "aWdfZAG1fDEL", "is_deleted": True}),
        from_customer(referral={"ref": "summer", "source": "IGME", "type": "OPEN_THREAD"}),
    ],
    ids=["echo", "deleted", "referral"],
)
def test_events_we_do_not_record_are_acknowledged(deliver_webhook, event):
    assert deliver_webhook(notification(event)).status_code == 200
    assert not Message.objects.exists()


def test_entries_for_another_account_are_ignored(deliver_webhook):
    payload = notification(
        from_customer(message={"mid": "aWdfZAG1fOTHER", "text": "hi"}), account_id="178414000"
    )
    assert deliver_webhook(payload).status_code == 200
    assert not Message.objects.exists()
