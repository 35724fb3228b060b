"""GET /messages, GET /messages/:id and the conversation thread: filters, pages, query budgets."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from messaging.models import Message
from messaging.services import (
    delete_message,
    react_to_message,
    receive_message,
    send_message,
)


def _inbound(channel, n, sender="+5511999999999", text="hello"):
    return [
        receive_message(
            channel=channel, sender=sender, content={"type": "text", "text": f"{text} {i}"}
        ).message
        for i in range(n)
    ]


def _spread(messages, start=None):
    """Distinct, increasing created_at values a minute apart."""
    start = start or timezone.now() - timedelta(days=1)
    for i, m in enumerate(messages):
        Message.objects.filter(pk=m.pk).update(created_at=start + timedelta(minutes=i))


def test_list_shape_and_pagination(api, channel):
    _inbound(channel, 5)
    status, body = api.get("/messages", {"perPage": 2, "page": 2})
    assert status == 200
    assert len(body["data"]) == 2
    assert body["meta"]["pagination"] == {
        "page": 2,
        "perPage": 2,
        "totalPages": 3,
        "totalCount": 5,
        "hasNextPage": True,
        "hasPrevPage": True,
        "totalCountExact": True,
    }
    attrs = body["data"][0]["attributes"]
    for key in (
        "conversationId",
        "channelId",
        "direction",
        "from",
        "to",
        "content",
        "status",
        "createdAt",
        "reactions",
        "attachments",
    ):
        assert key in attrs
    assert api.get("/messages", {"page": 9})[1]["data"] == []


def test_default_sort_is_newest_first_and_sort_can_change(api, channel):
    messages = _inbound(channel, 3)
    _spread(messages)
    ids = [m.public_id for m in messages]
    assert [d["id"] for d in api.get("/messages")[1]["data"]] == ids[::-1]
    asc = api.get("/messages", {"sortBy": "createdAt", "sortOrder": "asc"})[1]["data"]
    assert [d["id"] for d in asc] == ids


def test_filters(
    api, workspace, channel, make_channel, conversation, django_capture_on_commit_callbacks
):
    sms = make_channel(workspace, "sms", name="SMS")
    other = receive_message(
        channel=sms, sender="+14155552671", content={"type": "text", "text": "refund please"}
    ).message
    with django_capture_on_commit_callbacks(execute=True):
        out = send_message(
            workspace=workspace,
            conversation=conversation,
            content={"type": "image", "url": "https://x.test/a.png"},
        )
    inbound = conversation.messages.filter(direction="inbound").get()

    def ids(**params):
        return {d["id"] for d in api.get("/messages", params)[1]["data"]}

    assert ids(conversationId=conversation.public_id) == {inbound.public_id, out.public_id}
    assert ids(channelId=sms.public_id) == {other.public_id}
    assert ids(direction="outbound") == {out.public_id}
    assert ids(status="sent") == {out.public_id}
    assert ids(contentType="image") == {out.public_id}
    assert ids(search="refund") == {other.public_id}
    _spread([inbound, other, out], start=timezone.now() - timedelta(hours=3))
    mid = (timezone.now() - timedelta(hours=3) + timedelta(seconds=30)).isoformat()
    assert ids(startDate=mid) == {other.public_id, out.public_id}
    assert ids(endDate=mid) == {inbound.public_id}
    assert ids(conversationId=conversation.public_id, direction="inbound") == {inbound.public_id}


def test_deleted_messages_leave_the_lists(api, channel, conversation):
    message = conversation.messages.get()
    delete_message(message=message)
    assert api.get("/messages")[1]["data"] == []
    assert api.get(f"/conversations/{conversation.public_id}/messages")[1]["data"] == []
    assert api.get(f"/messages/{message.public_id}")[1]["error"]["code"] == "MESSAGE_NOT_FOUND"


def test_get_message_includes_reactions_and_history(api, conversation, agent):
    message = conversation.messages.get()
    react_to_message(message=message, reaction="like", actor_contact=conversation.contact)
    status, body = api.get(f"/messages/{message.public_id}")
    assert status == 200
    attrs = body["data"]["attributes"]
    assert attrs["channelType"] == "whatsapp"
    assert attrs["statusHistory"][0]["status"] == "delivered"
    assert attrs["reactions"][0]["type"] == "like"
    assert attrs["reactions"][0]["isFromMe"] is False


# --- Query budgets ------------------------------------------------------------


def _queries(api, path, params):
    with CaptureQueriesContext(connection) as ctx:
        status, _ = api.get(path, params)
    assert status == 200
    return len(ctx.captured_queries)


@pytest.fixture
def busy_thread(channel, conversation, agent):
    """120 messages, each with a reaction and an attachment, to catch any N+1."""
    messages = _inbound(channel, 120)
    for m in messages:
        react_to_message(message=m, reaction="love", actor_user=agent)
        m.attachments.create(
            workspace_id=m.workspace_id, external_url="https://x.test/f.pdf", filename="f.pdf"
        )
    return conversation


def test_list_runs_a_constant_number_of_queries(api, busy_thread):
    api.get("/messages")  # warm the key's last_used_at write
    one = _queries(api, "/messages", {"perPage": 1})
    hundred = _queries(api, "/messages", {"perPage": 100})
    # 1 API key, 1 COUNT, 1 page (with conversation, channel, reply_to joined),
    # 1 attachments, 1 reactions (with their actors joined).
    assert one == hundred == 5


def test_thread_runs_a_constant_number_of_queries(api, busy_thread):
    path = f"/conversations/{busy_thread.public_id}/messages"
    api.get(path)
    one = _queries(api, path, {"limit": 1})
    hundred = _queries(api, path, {"limit": 100})
    # 1 API key, 1 conversation, 1 page, 1 attachments, 1 reactions.
    assert one == hundred == 5


# --- Thread cursors -----------------------------------------------------------


def test_thread_pages_backwards_then_forwards(api, channel, conversation):
    messages = [conversation.messages.get(), *_inbound(channel, 6)]
    _spread(messages)
    ids = [m.public_id for m in messages]
    path = f"/conversations/{conversation.public_id}/messages"

    first = api.get(path, {"limit": 3})[1]
    assert [d["id"] for d in first["data"]] == ids[4:]
    assert first["meta"]["cursor"]["hasMore"] is True
    second = api.get(path, {"limit": 3, "cursor": first["meta"]["cursor"]["next"]})[1]
    assert [d["id"] for d in second["data"]] == ids[1:4]
    third = api.get(path, {"limit": 3, "cursor": second["meta"]["cursor"]["next"]})[1]
    assert [d["id"] for d in third["data"]] == ids[:1]
    assert third["meta"]["cursor"] == {"next": None, "hasMore": False}

    forward = api.get(path, {"limit": 4, "direction": "after"})[1]
    assert [d["id"] for d in forward["data"]] == ids[:4]
    rest = api.get(
        path, {"limit": 4, "direction": "after", "cursor": forward["meta"]["cursor"]["next"]}
    )[1]
    assert [d["id"] for d in rest["data"]] == ids[4:]
    assert rest["meta"]["cursor"]["hasMore"] is False


def test_cursors_stay_correct_while_messages_arrive(api, channel, conversation):
    messages = [conversation.messages.get(), *_inbound(channel, 5)]
    _spread(messages)
    ids = [m.public_id for m in messages]
    path = f"/conversations/{conversation.public_id}/messages"
    first = api.get(path, {"limit": 2})[1]
    _inbound(channel, 3, text="new")  # arrive between page requests
    second = api.get(path, {"limit": 2, "cursor": first["meta"]["cursor"]["next"]})[1]
    assert [d["id"] for d in second["data"]] == ids[2:4]


@pytest.mark.parametrize(
    "params",
    [{"cursor": "not-a-cursor"}, {"limit": 0}, {"limit": 101}, {"direction": "sideways"}],
)
def test_thread_refuses_bad_paging(api, conversation, params):
    status, body = api.get(f"/conversations/{conversation.public_id}/messages", params)
    assert (status, body["error"]["code"]) == (400, "VALIDATION_ERROR")


def test_large_lists_report_an_estimate_past_the_exact_limit(api, channel, settings):
    settings.API_EXACT_COUNT_LIMIT = 3
    _inbound(channel, 5)
    status, body = api.get("/messages", {"perPage": 2})
    assert status == 200
    pagination = body["meta"]["pagination"]
    assert len(body["data"]) == 2
    if connection.vendor == "postgresql":
        # Past the limit: the planner's estimate, never below limit + 1.
        assert pagination["totalCountExact"] is False
        assert pagination["totalCount"] >= 4
    else:
        assert (pagination["totalCountExact"], pagination["totalCount"]) == (True, 5)
    settings.API_EXACT_COUNT_LIMIT = 10
    pagination = api.get("/messages", {"perPage": 2})[1]["meta"]["pagination"]
    assert (pagination["totalCountExact"], pagination["totalCount"]) == (True, 5)
