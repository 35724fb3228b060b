"""Inbound WhatsApp files: the webhook names a media id, the file is fetched from the stand-in.

Meta's two steps: GET /<MEDIA_ID> answers `{url, mime_type, sha256,
file_size, id}`; GET that url with the same Bearer token answers the bytes.
Here the url points back at the stand-in.
"""

from __future__ import annotations

import struct

import pytest
from django.core.files.storage import default_storage

from channels_app.providers.base import InboundMedia, MediaFetchError
from channels_app.providers.whatsapp.provider import WhatsAppProvider
from messaging.models import Attachment, Message
from tests.channels_app.providers.whatsapp_support import (
    ACCESS_TOKEN,
    API_PREFIX,
    graph_error,
    inbound,
    notification,
    post_signed,
    whatsapp_channel,
)
from tests.messaging.api.test_media import JPEG, MP4, OGG, PDF

pytestmark = pytest.mark.django_db

AUTH = {"Authorization": f"Bearer {ACCESS_TOKEN}"}
WEBP = b"RIFF" + struct.pack("<I", 30) + b"WEBPVP8 " + struct.pack("<I", 10) + b"\x00" * 18


@pytest.fixture
def channel(provider_channel, httpserver):
    return whatsapp_channel(provider_channel, httpserver)


def _serve(httpserver, media_id: str, data: bytes, mime_type: str) -> None:
    download = f"/whatsapp_business/attachments/{media_id}"
    httpserver.expect_request(
        f"{API_PREFIX}/{media_id}", method="GET", headers=AUTH
    ).respond_with_json(
        {
            "messaging_product": "whatsapp",
            "url": httpserver.url_for(download),
            "mime_type": mime_type,
            "sha256": "81d3bd8a8db4868c9520ed47186e8b7c5789e61ff79f7f834be6950b808a90d3",
            "file_size": str(len(data)),
            "id": media_id,
        }
    )
    httpserver.expect_request(download, method="GET", headers=AUTH).respond_with_data(
        data, content_type=mime_type
    )


MEDIA_CASES = [
    pytest.param(
        "image",
        {"caption": "Is this the right one?", "mime_type": "image/jpeg", "id": "1001"},
        JPEG,
        {"type": "image", "caption": "Is this the right one?"},
        "image/jpeg",
        {},
        id="image",
    ),
    pytest.param(
        "video",
        {"caption": "It makes this noise", "mime_type": "video/mp4", "id": "1002"},
        MP4,
        {"type": "video", "caption": "It makes this noise"},
        "video/mp4",
        {},
        id="video",
    ),
    pytest.param(
        "audio",
        {"mime_type": "audio/ogg; codecs=opus", "id": "1003", "voice": True},
        OGG,
        {"type": "audio"},
        "audio/ogg",
        {"voice": True},
        id="voice-note",
    ),
    pytest.param(
        "document",
        {
            "caption": "My invoice",
            "filename": "invoice-42.pdf",
            "mime_type": "application/pdf",
            "id": "1004",
        },
        PDF,
        {"type": "document", "caption": "My invoice", "filename": "invoice-42.pdf"},
        "application/pdf",
        {},
        id="document",
    ),
    pytest.param(
        "sticker",
        {"mime_type": "image/webp", "id": "1005", "animated": False},
        WEBP,
        {"type": "image"},
        "image/webp",
        {"sticker": True},
        id="sticker",
    ),
]


@pytest.mark.parametrize(("kind", "body", "data", "content", "mime", "metadata"), MEDIA_CASES)
def test_each_media_kind_is_received_then_fetched_and_stored(
    channel,
    post_webhook,
    httpserver,
    django_capture_on_commit_callbacks,
    kind,
    body,
    data,
    content,
    mime,
    metadata,
):
    _serve(httpserver, body["id"], data, body["mime_type"])
    payload = notification(messages=[inbound(f"wamid.{kind}", kind, body)])

    with django_capture_on_commit_callbacks(execute=True):
        response = post_signed(post_webhook, channel, payload)

    assert response.status_code == 200
    message = Message.objects.get(provider_message_id=f"wamid.{kind}")
    attachment = Attachment.objects.get(message=message)
    assert attachment.mime_type == mime
    assert default_storage.open(attachment.file.name).read() == data
    if kind == "document":
        assert attachment.filename == "invoice-42.pdf"
    # The content is what the webhook said, plus the stored file's URL.
    url = message.content.pop("url")
    assert url.endswith(attachment.file.url)
    assert message.content == content
    assert message.metadata == metadata
    # Both steps carried the token: the metadata lookup, then the download.
    assert [r.path for r, _ in httpserver.log] == [
        f"{API_PREFIX}/{body['id']}",
        f"/whatsapp_business/attachments/{body['id']}",
    ]


def test_a_media_id_whatsapp_no_longer_has_is_noted_on_the_message(
    channel, post_webhook, httpserver, django_capture_on_commit_callbacks
):
    httpserver.expect_request(f"{API_PREFIX}/2001", method="GET").respond_with_json(
        graph_error(100, "Unsupported get request. Object with ID '2001' does not exist."),
        status=400,
    )
    payload = notification(
        messages=[inbound("wamid.gone", "image", {"mime_type": "image/jpeg", "id": "2001"})]
    )

    with django_capture_on_commit_callbacks(execute=True):
        post_signed(post_webhook, channel, payload)

    message = Message.objects.get(provider_message_id="wamid.gone")
    assert not Attachment.objects.filter(message=message).exists()
    assert "does not exist" in message.metadata["mediaErrors"][0]
    assert "url" not in message.content
    assert len(httpserver.log) == 1


# fetch_media's own answers: which failures are worth another try.


@pytest.mark.parametrize(
    ("step", "status", "body", "retryable"),
    [
        pytest.param("lookup", 404, {"error": {"message": "Not found", "code": 100}}, False),
        pytest.param("lookup", 500, {"error": {"message": "Oops", "code": 1}}, True),
        pytest.param("lookup", 400, {"error": {"message": "Too many", "code": 130429}}, True),
        pytest.param("download", 404, {}, False),
        pytest.param("download", 503, {}, True),
    ],
)
def test_fetch_failures_say_whether_to_retry(channel, httpserver, step, status, body, retryable):
    download = "/whatsapp_business/attachments/3001"
    if step == "lookup":
        httpserver.expect_request(f"{API_PREFIX}/3001").respond_with_json(body, status=status)
    else:
        httpserver.expect_request(f"{API_PREFIX}/3001").respond_with_json(
            {"url": httpserver.url_for(download), "mime_type": "image/jpeg", "id": "3001"}
        )
        httpserver.expect_request(download).respond_with_data("", status=status)

    with pytest.raises(MediaFetchError) as failed:
        WhatsAppProvider().fetch_media(InboundMedia(kind="image", ref="3001"), channel.config)

    assert failed.value.retryable is retryable
    assert str(status) in failed.value.reason


def test_fetch_follows_a_redirect_to_the_file(channel, httpserver):
    httpserver.expect_request(f"{API_PREFIX}/4001").respond_with_json(
        {"url": httpserver.url_for("/lookaside/4001"), "mime_type": "image/jpeg", "id": "4001"}
    )
    httpserver.expect_request("/lookaside/4001").respond_with_data(
        "", status=302, headers={"Location": httpserver.url_for("/cdn/4001.jpg")}
    )
    httpserver.expect_request("/cdn/4001.jpg").respond_with_data(JPEG, content_type="image/jpeg")

    fetched = WhatsAppProvider().fetch_media(InboundMedia(kind="image", ref="4001"), channel.config)

    assert fetched.data == JPEG
    assert fetched.mime_type == "image/jpeg"


def test_a_file_over_the_limit_is_not_downloaded(channel, httpserver):
    httpserver.expect_request(f"{API_PREFIX}/5001").respond_with_json(
        {
            "url": httpserver.url_for("/lookaside/5001"),
            "mime_type": "video/mp4",
            "file_size": str(200 * 1024 * 1024),
            "id": "5001",
        }
    )

    with pytest.raises(MediaFetchError) as failed:
        WhatsAppProvider().fetch_media(InboundMedia(kind="video", ref="5001"), channel.config)

    assert not failed.value.retryable
    assert len(httpserver.log) == 1
