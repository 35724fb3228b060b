"""Read state, delete, edit and reactions through the API."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from messaging.models import Conversation, Message, OutboxEvent
from messaging.services import deliver_message, receive_message, send_message

TEXT = {"type": "text", "text": "Hello"}


def _outbound(workspace, conversation, content=TEXT):
    message = send_message(workspace=workspace, conversation=conversation, content=content)
    deliver_message(message_pk=message.pk)
    return message


# --- Read ---------------------------------------------------------------------


def test_mark_read_sets_read_at_and_counts_down(api, conversation):
    message = conversation.messages.get()
    status, body = api.post(f"/messages/{message.public_id}/read")
    assert status == 200
    assert body["data"]["id"] == message.public_id
    assert body["data"]["attributes"]["status"] == "read"
    assert body["data"]["attributes"]["readAt"].endswith("Z")
    conversation.refresh_from_db()
    assert conversation.unread_count == 0


def test_mark_read_of_an_unknown_message_is_404(api, db):
    status, body = api.post("/messages/msg_nope/read")
    assert (status, body["error"]["code"]) == (404, "MESSAGE_NOT_FOUND")


def test_bulk_read_by_conversation_before_a_timestamp(api, channel, conversation):
    later = receive_message(channel=channel, sender="+5511999999999", content=TEXT).message
    Message.objects.filter(pk=later.pk).update(created_at=timezone.now() + timedelta(minutes=5))
    cut = (timezone.now() + timedelta(minutes=1)).isoformat()
    status, body = api.post(
        "/messages/bulk-read", {"conversationId": conversation.public_id, "beforeTimestamp": cut}
    )
    assert status == 200
    assert body["data"] == {"markedCount": 1, "conversationId": conversation.public_id}
    conversation.refresh_from_db()
    assert conversation.unread_count == 1


def test_bulk_read_by_ids(api, channel, conversation):
    second = receive_message(channel=channel, sender="+5511999999999", content=TEXT).message
    first = conversation.messages.order_by("created_at").first()
    status, body = api.post(
        "/messages/bulk-read", {"messageIds": [first.public_id, second.public_id, "msg_x"]}
    )
    assert status == 200
    assert body["data"] == {"markedCount": 2}
    conversation.refresh_from_db()
    assert conversation.unread_count == 0
    # Again: nothing left to mark.
    assert (
        api.post("/messages/bulk-read", {"messageIds": [first.public_id]})[1]["data"]["markedCount"]
        == 0
    )


def test_bulk_read_needs_ids_or_a_conversation(api, db):
    status, body = api.post("/messages/bulk-read", {})
    assert (status, body["error"]["code"]) == (400, "VALIDATION_ERROR")
    assert body["error"]["details"][0]["field"] == "messageIds"


# --- Delete -------------------------------------------------------------------


def test_delete_is_soft_and_keeps_counters_right(api, workspace, conversation):
    message = _outbound(workspace, conversation)
    status, body = api.delete(f"/messages/{message.public_id}")
    assert status == 200
    assert body["data"]["id"] == message.public_id and body["data"]["deleted"] is True
    assert body["data"]["deletedAt"].endswith("Z")
    message.refresh_from_db()
    assert message.deleted_at is not None  # kept for operators
    conversation.refresh_from_db()
    assert conversation.message_count == 1
    assert conversation.last_message_id != message.pk
    assert OutboxEvent.objects.filter(event="message.deleted").count() == 1
    status, body = api.delete(f"/messages/{message.public_id}")
    assert (status, body["error"]["code"]) == (404, "MESSAGE_NOT_FOUND")


def test_delete_for_everyone_not_supported_on_whatsapp(api, workspace, conversation):
    message = _outbound(workspace, conversation)
    status, body = api.delete(f"/messages/{message.public_id}", {"forEveryone": "true"})
    assert (status, body["error"]["code"]) == (400, "DELETE_NOT_SUPPORTED")
    message.refresh_from_db()
    assert message.deleted_at is None


def test_delete_for_everyone_window_on_telegram(api, workspace, make_channel):
    telegram = make_channel(workspace, "telegram")
    conversation = receive_message(
        channel=telegram, sender="123456", content=TEXT
    ).message.conversation
    old = _outbound(workspace, conversation)
    Message.objects.filter(pk=old.pk).update(sent_at=timezone.now() - timedelta(hours=49))
    status, body = api.delete(f"/messages/{old.public_id}", {"forEveryone": "true"})
    assert (status, body["error"]["code"]) == (400, "DELETE_WINDOW_EXPIRED")
    fresh = _outbound(workspace, conversation)
    status, body = api.delete(f"/messages/{fresh.public_id}", {"forEveryone": "true"})
    assert status == 200 and body["data"]["forEveryone"] is True


def test_delete_with_a_bad_boolean_is_400(api, conversation):
    message = conversation.messages.get()
    status, body = api.delete(f"/messages/{message.public_id}", {"forEveryone": "maybe"})
    assert (status, body["error"]["details"][0]["field"]) == (400, "forEveryone")


# --- Edit ---------------------------------------------------------------------


def test_edit_where_the_channel_allows_it(api, workspace, make_channel):
    telegram = make_channel(workspace, "telegram")
    conversation = receive_message(
        channel=telegram, sender="123456", content=TEXT
    ).message.conversation
    message = _outbound(workspace, conversation)
    new = {"type": "text", "text": "Hello, corrected"}
    status, body = api.patch(f"/messages/{message.public_id}", {"content": new})
    assert status == 200
    assert body["data"]["attributes"]["content"] == new
    assert body["data"]["attributes"]["editedAt"].endswith("Z")


def test_edit_errors(api, workspace, conversation, make_channel):
    whatsapp_message = _outbound(workspace, conversation)
    status, body = api.patch(
        f"/messages/{whatsapp_message.public_id}", {"content": {"type": "text", "text": "x"}}
    )
    assert (status, body["error"]["code"]) == (400, "EDIT_NOT_SUPPORTED")

    telegram = make_channel(workspace, "telegram")
    tconv = receive_message(channel=telegram, sender="123456", content=TEXT).message.conversation
    old = _outbound(workspace, tconv)
    Message.objects.filter(pk=old.pk).update(sent_at=timezone.now() - timedelta(hours=49))
    status, body = api.patch(
        f"/messages/{old.public_id}", {"content": {"type": "text", "text": "x"}}
    )
    assert (status, body["error"]["code"]) == (400, "EDIT_WINDOW_EXPIRED")

    inbound = tconv.messages.filter(direction="inbound").first()
    status, body = api.patch(
        f"/messages/{inbound.public_id}", {"content": {"type": "text", "text": "x"}}
    )
    assert (status, body["error"]["code"]) == (400, "EDIT_NOT_SUPPORTED")
    status, body = api.patch(f"/messages/{old.public_id}", {"content": {"type": "text"}})
    assert (status, body["error"]["code"]) == (400, "VALIDATION_ERROR")


# --- Reactions ----------------------------------------------------------------


def test_react_list_and_remove(api, conversation):
    message = conversation.messages.get()
    status, body = api.post(
        f"/messages/{message.public_id}/reactions", {"type": "love", "operation": "add"}
    )
    assert status == 201
    reaction = body["data"]
    assert reaction["id"].startswith("rx_")
    assert (reaction["type"], reaction["isFromMe"]) == ("love", True)
    again = api.post(f"/messages/{message.public_id}/reactions", {"type": "love"})[1]["data"]
    assert again["id"] == reaction["id"]
    status, body = api.get(f"/messages/{message.public_id}/reactions")
    assert [r["id"] for r in body["data"]] == [reaction["id"]]
    status, body = api.post(
        f"/messages/{message.public_id}/reactions", {"type": "love", "operation": "remove"}
    )
    assert status == 200
    assert api.get(f"/messages/{message.public_id}/reactions")[1]["data"] == []


def test_reaction_errors(api, conversation):
    message = conversation.messages.get()
    for body in ({"type": "thumbs"}, {"type": "love", "operation": "toggle"}, {}):
        status, answer = api.post(f"/messages/{message.public_id}/reactions", body)
        assert (status, answer["error"]["code"]) == (400, "VALIDATION_ERROR"), body


def test_conversation_unread_count_matches_after_everything(api, workspace, channel, conversation):
    for _ in range(3):
        receive_message(channel=channel, sender="+5511999999999", content=TEXT)
    first = conversation.messages.order_by("created_at").first()
    api.post(f"/messages/{first.public_id}/read")
    api.delete(f"/messages/{conversation.messages.order_by('created_at').last().public_id}")
    conversation.refresh_from_db()
    unread = Message.objects.filter(
        conversation=conversation,
        direction="inbound",
        read_at__isnull=True,
        deleted_at__isnull=True,
    ).count()
    assert conversation.unread_count == unread == 2
    assert Conversation.objects.get(pk=conversation.pk).message_count == 3
