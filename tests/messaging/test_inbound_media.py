"""Files customers send: stored by their bytes' type, never served as HTML."""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage

from channels_app.providers.base import InboundMedia, InboundMessage
from inbox.errors import ValidationFailed
from messaging.models import Attachment, Message, OutboxEvent
from messaging.services.inbound import (
    INBOUND_MEDIA_MAX_BYTES,
    apply_inbound_events,
    store_inbound_media,
)
from tests.messaging.api.test_media import PNG

pytestmark = pytest.mark.django_db


def _image_message(channel, provider_id="wamid.img1", media=()):
    return InboundMessage(
        provider_message_id=provider_id,
        sender="+5511988887777",
        content={"type": "image", "caption": "my receipt"},
        sender_name="Bia",
        media=tuple(media),
    )


def test_inline_media_is_stored_and_becomes_the_content_url(channel):
    media = InboundMedia(kind="image", data=PNG, filename="receipt.png", mime_type="image/png")
    summary = apply_inbound_events(channel=channel, events=[_image_message(channel, media=[media])])

    message = Message.objects.get(provider_message_id="wamid.img1")
    attachment = Attachment.objects.get(message=message)
    assert summary.received == 1
    assert attachment.mime_type == "image/png"
    assert attachment.filename == "receipt.png"
    assert attachment.size == len(PNG)
    assert default_storage.open(attachment.file.name).read() == PNG
    assert message.content["url"].endswith(attachment.file.url)
    assert message.content["caption"] == "my receipt"
    assert OutboxEvent.objects.filter(
        event="message.updated", data__meta__change="media.stored"
    ).exists()


def test_html_claiming_to_be_an_image_is_never_stored_as_html(channel):
    html = b"<html><script>alert(document.cookie)</script></html>"
    media = InboundMedia(kind="image", data=html, filename="x.html", mime_type="image/png")
    apply_inbound_events(channel=channel, events=[_image_message(channel, media=[media])])

    attachment = Attachment.objects.get(message__provider_message_id="wamid.img1")
    # Its bytes are text: kept as plain text, which browsers never render.
    assert attachment.mime_type == "text/plain"
    assert attachment.file.name.endswith(".txt")


def test_an_unknown_binary_is_stored_as_a_download(channel):
    blob = bytes(range(256)) * 4
    media = InboundMedia(kind="document", data=blob, filename="firmware.bin")
    apply_inbound_events(channel=channel, events=[_image_message(channel, media=[media])])
    attachment = Attachment.objects.get(message__provider_message_id="wamid.img1")
    assert attachment.mime_type == "application/octet-stream"
    assert attachment.file.name.endswith(".bin")


def test_a_replayed_webhook_stores_the_file_once(channel):
    media = InboundMedia(kind="image", data=PNG, filename="a.png")
    for _ in range(3):
        apply_inbound_events(channel=channel, events=[_image_message(channel, media=[media])])
    assert Message.objects.filter(provider_message_id="wamid.img1").count() == 1
    assert Attachment.objects.count() == 1


def test_an_oversized_file_is_noted_on_the_message_not_lost_silently(channel, settings):
    received = apply_inbound_events(channel=channel, events=[_image_message(channel)])
    message = received.messages[0]
    with pytest.raises(ValidationFailed):
        store_inbound_media(message=message, data=b"x" * (INBOUND_MEDIA_MAX_BYTES + 1))
    with pytest.raises(ValidationFailed):
        store_inbound_media(message=message, data=b"")
    assert not Attachment.objects.exists()


def test_an_empty_inline_file_leaves_the_message_with_the_reason(channel):
    media = InboundMedia(kind="document", data=b"", filename="empty.pdf")
    apply_inbound_events(channel=channel, events=[_image_message(channel, media=[media])])
    message = Message.objects.get(provider_message_id="wamid.img1")
    assert message.metadata["mediaErrors"] == ["The provider sent an empty file."]
    assert not Attachment.objects.exists()
