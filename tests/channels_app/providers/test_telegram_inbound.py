"""Telegram inbound messages: every kind of content, and the files they reference.

Updates are posted to the channel's webhook URL and checked in the database.

Updates follow https://core.telegram.org/bots/api#update; files referenced by
`file_id` are fetched from the stand-in with getFile and the file download URL.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from celery.exceptions import Retry

from messaging.models import Attachment, Message
from messaging.services import receive_message
from tests.channels_app.providers.telegram_support import (
    BOT,
    CHAT_ID,
    DATE,
    PRIVATE_CHAT,
    SECRET_HEADER,
    body,
    error,
    file_path,
    incoming,
    method_path,
    ok,
    requests_to,
    telegram_channel,
)

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64
OGG = b"OggS\x00\x02" + b"\x00" * 64
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


@pytest.fixture
def tg(provider_channel, httpserver):
    return telegram_channel(provider_channel, httpserver)


@pytest.fixture
def deliver(post_webhook, tg, django_capture_on_commit_callbacks):
    """Post an Update with the right secret; run what it queued (file fetches)."""

    def go(update: dict, headers: dict | None = None):
        with django_capture_on_commit_callbacks(execute=True):
            response = post_webhook(
                tg, body(update), headers=SECRET_HEADER if headers is None else headers
            )
        return response

    return go


def only_message(channel) -> Message:
    [message] = Message.objects.filter(channel=channel)
    return message


def serve_file(httpserver, file_id: str, path: str, data: bytes) -> None:
    httpserver.expect_request(
        method_path("getFile"), method="POST", json={"file_id": file_id}
    ).respond_with_json(
        ok({"file_id": file_id, "file_unique_id": "u1", "file_size": len(data), "file_path": path})
    )
    httpserver.expect_request(file_path(path), method="GET").respond_with_data(
        data, content_type="application/octet-stream"
    )


# --- Messages -------------------------------------------------------------------------


def test_a_text_message_is_received(deliver, tg):
    response = deliver(incoming(100, text="Where is my order?"))
    assert response.status_code == 200
    message = only_message(tg)
    assert message.direction == "inbound"
    assert message.content == {"type": "text", "text": "Where is my order?"}
    assert message.provider_message_id == f"{CHAT_ID}:100"
    assert message.from_address == str(CHAT_ID)
    assert message.created_at == datetime.fromtimestamp(DATE, tz=UTC)
    assert message.conversation.contact.name == "Ana Souza"
    assert message.metadata["telegram"] == {"chatType": "private"}


def test_a_photo_is_fetched_largest_size_first(deliver, tg, httpserver):
    serve_file(httpserver, "AgAD-large", "photos/file_7.jpg", JPEG)
    sizes = [
        {"file_id": "AgAD-small", "file_unique_id": "s", "width": 90, "height": 67},
        {"file_id": "AgAD-large", "file_unique_id": "l", "width": 1280, "height": 960},
        {"file_id": "AgAD-medium", "file_unique_id": "m", "width": 320, "height": 240},
    ]
    assert deliver(incoming(101, photo=sizes, caption="The box arrived damaged")).status_code == 200
    assert requests_to(httpserver, "getFile") == [{"file_id": "AgAD-large"}]
    message = only_message(tg)
    assert message.content["type"] == "image"
    assert message.content["caption"] == "The box arrived damaged"
    [attachment] = Attachment.objects.filter(message=message)
    assert (attachment.mime_type, attachment.size) == ("image/jpeg", len(JPEG))
    assert attachment.file.read() == JPEG
    assert message.content["url"].endswith(attachment.url)


def test_a_document_keeps_its_name_and_caption(deliver, tg, httpserver):
    serve_file(httpserver, "BQAD-doc", "documents/file_3.pdf", PDF)
    document = {
        "file_name": "invoice-12.pdf",
        "mime_type": "application/pdf",
        "file_id": "BQAD-doc",
        "file_unique_id": "d",
        "file_size": len(PDF),
    }
    deliver(incoming(102, document=document, caption="Wrong amount"))
    message = only_message(tg)
    assert message.content == {
        "type": "document",
        "caption": "Wrong amount",
        "filename": "invoice-12.pdf",
        "url": message.content["url"],
    }
    [attachment] = Attachment.objects.filter(message=message)
    assert (attachment.filename, attachment.mime_type) == ("invoice-12.pdf", "application/pdf")


def test_a_voice_note_is_audio(deliver, tg, httpserver):
    serve_file(httpserver, "AwAD-voice", "voice/file_9.oga", OGG)
    voice = {
        "duration": 3,
        "mime_type": "audio/ogg",
        "file_id": "AwAD-voice",
        "file_unique_id": "v",
    }
    deliver(incoming(103, voice=voice))
    message = only_message(tg)
    assert message.content["type"] == "audio"
    [attachment] = Attachment.objects.filter(message=message)
    assert attachment.mime_type == "audio/ogg"


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {
                "video": {
                    "duration": 5,
                    "width": 640,
                    "height": 360,
                    "mime_type": "video/mp4",
                    "file_id": "BAAD-video",
                    "file_unique_id": "vd",
                },
                "caption": "See the scratch",
            },
            {"type": "video", "caption": "See the scratch"},
        ),
        (
            {
                "video_note": {
                    "duration": 4,
                    "length": 240,
                    "file_id": "DQAD-note",
                    "file_unique_id": "vn",
                }
            },
            {"type": "video"},
        ),
        (
            {
                "audio": {
                    "duration": 180,
                    "title": "Jingle",
                    "file_name": "jingle.mp3",
                    "mime_type": "audio/mpeg",
                    "file_id": "CQAD-audio",
                    "file_unique_id": "au",
                }
            },
            {"type": "audio"},
        ),
        (
            {
                "sticker": {
                    "width": 512,
                    "height": 512,
                    "emoji": "😀",
                    "set_name": "Acme",
                    "is_animated": False,
                    "is_video": False,
                    "type": "regular",
                    "file_id": "CAAD-sticker",
                    "file_unique_id": "st",
                }
            },
            {"type": "image"},
        ),
        (
            {"location": {"latitude": -23.5505, "longitude": -46.6333}},
            {"type": "location", "latitude": -23.5505, "longitude": -46.6333},
        ),
        (
            {
                "location": {"latitude": -23.5614, "longitude": -46.6559},
                "venue": {
                    "location": {"latitude": -23.5614, "longitude": -46.6559},
                    "title": "Acme Store Paulista",
                    "address": "Av. Paulista, 1578",
                },
            },
            {
                "type": "location",
                "latitude": -23.5614,
                "longitude": -46.6559,
                "name": "Acme Store Paulista",
                "address": "Av. Paulista, 1578",
            },
        ),
        (
            {"contact": {"phone_number": "+5511988887777", "first_name": "Bruno", "user_id": 5}},
            {"type": "text", "text": "Bruno +5511988887777"},
        ),
    ],
    ids=["video", "video_note", "audio", "sticker", "location", "venue", "contact"],
)
def test_each_message_kind_is_read(post_webhook, tg, fields, expected):
    # Without running on-commit work: the content as received, before any fetch.
    assert post_webhook(tg, body(incoming(104, **fields)), headers=SECRET_HEADER).status_code == 200
    assert only_message(tg).content == expected


def test_a_reply_points_at_the_message_it_quotes(deliver, tg):
    ours = receive_message(
        channel=tg,
        sender=str(CHAT_ID),
        content={"type": "text", "text": "Hello"},
        provider_message_id=f"{CHAT_ID}:42",
    ).message
    quoted = {"message_id": 42, "from": BOT, "chat": PRIVATE_CHAT, "date": DATE, "text": "Hello"}
    deliver(incoming(105, text="Yes, that one", reply_to_message=quoted))
    reply = Message.objects.get(provider_message_id=f"{CHAT_ID}:105")
    assert reply.reply_to_id == ours.pk


def test_a_group_is_the_contact_and_the_writer_is_kept(deliver, tg):
    group = {"id": -4012345678, "title": "Acme Buyers", "type": "group"}
    update = incoming(106, text="Any news?")
    update["message"]["chat"] = group
    deliver(update)
    message = only_message(tg)
    assert message.from_address == "-4012345678"
    assert message.conversation.contact.name == "Acme Buyers"
    assert message.metadata["telegram"]["from"] == {"id": CHAT_ID, "name": "Ana Souza"}


# --- File fetch failures -----------------------------------------------------------------------


def test_a_file_over_20_mb_is_noted_and_not_retried(deliver, tg, httpserver):
    httpserver.expect_request(method_path("getFile"), method="POST").respond_with_json(
        error(400, "Bad Request: file is too big"), status=400
    )
    video = {
        "duration": 600,
        "width": 1920,
        "height": 1080,
        "file_id": "BAAD-big",
        "file_unique_id": "b",
    }
    deliver(incoming(111, video=video))
    assert len(requests_to(httpserver, "getFile")) == 1
    message = only_message(tg)
    assert message.metadata["mediaErrors"] == [
        "getFile failed: TELEGRAM_400: Bad Request: file is too big"
    ]
    assert not Attachment.objects.exists()


def test_a_telegram_outage_while_fetching_is_retried(deliver, tg, httpserver):
    httpserver.expect_request(method_path("getFile"), method="POST").respond_with_json(
        error(502, "Bad Gateway"), status=502
    )
    photo = [{"file_id": "AgAD-x", "file_unique_id": "x", "width": 1, "height": 1}]
    # Eager Celery surfaces the task's retry request instead of waiting it out.
    with pytest.raises(Retry):
        deliver(incoming(112, photo=photo))
    assert len(requests_to(httpserver, "getFile")) == 1
    message = only_message(tg)
    assert "mediaErrors" not in message.metadata
    assert not Attachment.objects.exists()
