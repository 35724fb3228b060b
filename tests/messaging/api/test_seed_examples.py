"""Each curl example of the Linktor seed, with our ids, answers the documented shape."""

from __future__ import annotations

from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from messaging.services import deliver_message, receive_message, send_message

# The smallest valid PNG: signature, IHDR, IDAT, IEND.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6300010000050001"
    "0d0a2db40000000049454e44ae426082"
)


def _keys(obj):
    return set(obj)


def test_list_example(api, channel, conversation):
    # curl ".../messages?conversationId=conv_abc123&direction=inbound&perPage=50"
    receive_message(
        channel=channel,
        sender="+5511999999999",
        content={
            "type": "image",
            "url": "https://cdn.example.test/receipt.jpg",
            "caption": "Here's my receipt",
        },
    )
    status, body = api.get(
        "/messages",
        {"conversationId": conversation.public_id, "direction": "inbound", "perPage": 50},
    )
    assert status == 200
    assert len(body["data"]) == 2
    assert {"page", "perPage", "totalPages", "totalCount"} <= _keys(body["meta"]["pagination"])
    assert body["meta"]["pagination"]["perPage"] == 50
    for item in body["data"]:
        assert item["type"] == "message"
        assert {
            "conversationId",
            "channelId",
            "direction",
            "from",
            "to",
            "content",
            "status",
            "createdAt",
        } <= _keys(item["attributes"])
        assert item["attributes"]["from"] == "+5511999999999"


def test_get_example(api, workspace, conversation):
    message = send_message(
        workspace=workspace,
        conversation=conversation,
        content={"type": "text", "text": "Your order has been shipped!"},
        metadata={"orderId": "12345"},
    )
    deliver_message(message_pk=message.pk)
    status, body = api.get(f"/messages/{message.public_id}")
    assert status == 200
    attrs = body["data"]["attributes"]
    assert {
        "conversationId",
        "channelId",
        "channelType",
        "direction",
        "from",
        "to",
        "content",
        "status",
        "statusHistory",
        "externalId",
        "metadata",
        "createdAt",
        "sentAt",
        "deliveredAt",
    } <= _keys(attrs)
    assert attrs["metadata"] == {"orderId": "12345"}


def test_thread_example(api, conversation):
    # curl ".../conversations/conv_abc123/messages?limit=20"
    status, body = api.get(f"/conversations/{conversation.public_id}/messages", {"limit": 20})
    assert status == 200
    assert body["data"][0]["attributes"]["content"]["type"] == "text"
    assert set(body["meta"]["cursor"]) == {"next", "hasMore"}


def test_mark_read_example(api, conversation):
    message = conversation.messages.get()
    status, body = api.post(f"/messages/{message.public_id}/read")
    assert status == 200
    assert body["data"]["attributes"]["status"] == "read"
    assert body["data"]["attributes"]["readAt"]


def test_bulk_read_example(api, channel, conversation):
    for _ in range(14):
        receive_message(
            channel=channel, sender="+5511999999999", content={"type": "text", "text": "x"}
        )
    before = (timezone.now() + timedelta(seconds=1)).isoformat().replace("+00:00", "Z")
    status, body = api.post(
        "/messages/bulk-read",
        {"conversationId": conversation.public_id, "beforeTimestamp": before},
    )
    assert status == 200
    assert body["data"] == {"markedCount": 15, "conversationId": conversation.public_id}


def test_delete_example(api, workspace, make_channel):
    # DELETE ".../messages/msg_abc123?forEveryone=true" on a channel that can.
    telegram = make_channel(workspace, "telegram")
    conversation = receive_message(
        channel=telegram, sender="123456", content={"type": "text", "text": "hi"}
    ).message.conversation
    message = send_message(
        workspace=workspace, conversation=conversation, content={"type": "text", "text": "oops"}
    )
    deliver_message(message_pk=message.pk)
    status, body = api.delete(f"/messages/{message.public_id}", {"forEveryone": "true"})
    assert status == 200
    assert {"id", "deleted", "deletedAt"} <= _keys(body["data"])
    assert body["data"]["deleted"] is True


def test_media_upload_then_send_example(api, workspace, make_channel):
    sms = make_channel(workspace, "sms")
    status, body = api.post(
        "/media/upload",
        {"file": SimpleUploadedFile("image.png", PNG, "image/png"), "type": "image"},
        format="multipart",
    )
    assert status == 201
    upload = body["data"]
    assert upload["id"].startswith("media_")
    assert (upload["type"], upload["mimeType"], upload["size"]) == ("image", "image/png", len(PNG))
    assert upload["url"].startswith("http") and upload["expiresAt"].endswith("Z")
    status, body = api.post(
        "/messages",
        {
            "channelId": sms.public_id,
            "to": "+5511999999999",
            "content": {"type": "image", "url": upload["url"], "caption": "Check out this image!"},
        },
    )
    assert status == 201
    attachments = body["data"]["attributes"]["attachments"]
    assert [(a["mimeType"], a["size"]) for a in attachments] == [("image/png", len(PNG))]
