"""GET /contacts and GET /contacts/:id: shape, filters, sorting, pages and query budgets."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from messaging.models import Contact, ContactIdentifier, Conversation
from messaging.services import close_conversation, receive_message
from messaging.services.contacts import create_contact

TEXT = {"type": "text", "text": "hello"}


def _ids(api, **params):
    status, body = api.get("/contacts", params)
    assert status == 200, body
    return [d["id"] for d in body["data"]]


def _age(contact, **delta):
    """Move created_at (and updated_at) back, so sorts and date filters have distinct values."""
    at = timezone.now() - timedelta(**delta)
    Contact.objects.filter(pk=contact.pk).update(created_at=at, updated_at=at)


@pytest.fixture
def people(workspace, channel, make_channel):
    """Three contacts: Ana (WhatsApp + SMS, two conversations), Bruno (email only), Carla."""
    sms = make_channel(workspace, "sms", name="SMS")
    ana_conv = receive_message(
        channel=channel, sender="+5511999999999", content=TEXT, sender_name="Ana Souza"
    ).message.conversation
    receive_message(channel=sms, sender="+5511999999999", content=TEXT)
    close_conversation(conversation=ana_conv)
    ana = Contact.objects.get(phone="+5511999999999")
    bruno = create_contact(
        workspace=workspace, name="Bruno Lima", email="bruno@example.com", tags=["vip", "b2b"]
    )
    carla = create_contact(
        workspace=workspace, name="carla", phone="+14155552671", tags=["vip-plus"]
    )
    _age(ana, days=3)
    _age(bruno, days=2)
    _age(carla, days=1)
    return {"ana": ana, "bruno": bruno, "carla": carla}


def test_list_shape_and_pagination(api, people):
    status, body = api.get("/contacts", {"perPage": 2, "page": 2})
    assert status == 200
    assert body["meta"]["pagination"] == {
        "page": 2,
        "perPage": 2,
        "totalPages": 2,
        "totalCount": 3,
        "hasNextPage": False,
        "hasPrevPage": True,
        "totalCountExact": True,
    }
    [ana] = body["data"]  # oldest, last on the newest-first second page
    assert ana["id"] == people["ana"].public_id
    assert ana["type"] == "contact"
    attrs = ana["attributes"]
    assert set(attrs) == {
        "name",
        "phone",
        "email",
        "avatar",
        "metadata",
        "tags",
        "identifiers",
        "conversationCount",
        "createdAt",
        "updatedAt",
    }
    assert attrs["name"] == "Ana Souza"
    assert attrs["phone"] == "+5511999999999"
    assert attrs["email"] is None and attrs["avatar"] is None
    assert [(i["channelType"], i["value"]) for i in attrs["identifiers"]] == [
        ("sms", "+5511999999999"),
        ("whatsapp", "+5511999999999"),
    ]
    assert attrs["identifiers"][0]["createdAt"].endswith("Z")
    # One closed and one open conversation: the count covers every status.
    assert attrs["conversationCount"] == 2
    assert attrs["createdAt"].endswith("Z")


def test_get_one_with_identifiers_and_conversation_count(api, people):
    status, body = api.get(f"/contacts/{people['bruno'].public_id}")
    assert status == 200
    attrs = body["data"]["attributes"]
    assert attrs["identifiers"] == []
    assert attrs["conversationCount"] == 0
    assert attrs["email"] == "bruno@example.com"
    assert attrs["tags"] == ["vip", "b2b"]
    ana = api.get(f"/contacts/{people['ana'].public_id}")[1]["data"]["attributes"]
    assert ana["conversationCount"] == 2
    assert len(ana["identifiers"]) == 2


def test_unknown_contact_is_404(api, db):
    status, body = api.get("/contacts/contact_doesnotexist0000000000")
    assert status == 404
    assert body["error"]["code"] == "CONTACT_NOT_FOUND"


def test_search_is_case_insensitive_over_name_phone_and_email(api, people):
    ana, bruno, carla = (
        people["ana"].public_id,
        people["bruno"].public_id,
        people["carla"].public_id,
    )
    assert _ids(api, search="SOUZA") == [ana]
    assert _ids(api, search="BRUNO@EXAMPLE") == [bruno]
    assert _ids(api, search="4155552") == [carla]
    assert set(_ids(api, search="a")) == {ana, bruno, carla}
    assert _ids(api, search="nobody") == []


def test_channel_type_filter_does_not_repeat_or_inflate(api, people):
    # Ana has two identifiers and two conversations: a join would list her
    # twice or double her count; the EXISTS filter does neither.
    status, body = api.get("/contacts", {"channelType": "whatsapp"})
    assert status == 200
    assert [d["id"] for d in body["data"]] == [people["ana"].public_id]
    assert body["data"][0]["attributes"]["conversationCount"] == 2
    assert body["meta"]["pagination"]["totalCount"] == 1
    assert _ids(api, channelType="sms") == [people["ana"].public_id]
    assert _ids(api, channelType="telegram") == []


def test_tag_filter_matches_whole_tags(api, people):
    assert _ids(api, tag="vip") == [people["bruno"].public_id]
    assert _ids(api, tag="vip-plus") == [people["carla"].public_id]
    assert _ids(api, tag="VIP") == []
    assert _ids(api, tag="b2") == []


def test_date_filters_on_created_at(api, people):
    mid = (timezone.now() - timedelta(days=2, hours=12)).isoformat()
    assert _ids(api, startDate=mid) == [people["carla"].public_id, people["bruno"].public_id]
    assert _ids(api, endDate=mid) == [people["ana"].public_id]
    end = (timezone.now() - timedelta(days=1, hours=12)).isoformat()
    assert _ids(api, startDate=mid, endDate=end) == [people["bruno"].public_id]


def test_sorting(api, people):
    ana, bruno, carla = (
        people["ana"].public_id,
        people["bruno"].public_id,
        people["carla"].public_id,
    )
    assert _ids(api) == [carla, bruno, ana]  # createdAt, newest first
    assert _ids(api, sortOrder="asc") == [ana, bruno, carla]
    assert _ids(api, sortBy="name") == [ana, bruno, carla]  # names A to Z by default
    assert _ids(api, sortBy="name", sortOrder="desc") == [carla, bruno, ana]
    Contact.objects.filter(pk=people["ana"].pk).update(updated_at=timezone.now())
    assert _ids(api, sortBy="updatedAt") == [ana, carla, bruno]
    assert _ids(api, sortBy="updatedAt", sortOrder="asc") == [bruno, carla, ana]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"sortBy": "phone"}, "sortBy"),
        ({"sortOrder": "up"}, "sortOrder"),
        ({"channelType": "pigeon"}, "channelType"),
        ({"startDate": "yesterday"}, "startDate"),
        ({"endDate": "2026-13-45T00:00:00Z"}, "endDate"),
        ({"perPage": 101}, "perPage"),
        ({"page": "zero"}, "page"),
    ],
)
def test_bad_query_parameters_are_400_naming_the_field(api, people, params, field):
    status, body = api.get("/contacts", params)
    assert status == 400
    assert body["error"]["code"] == "VALIDATION_ERROR"
    assert body["error"]["details"][0]["field"] == field


# --- Query budgets ------------------------------------------------------------


def _queries(api, path, params=None):
    with CaptureQueriesContext(connection) as ctx:
        status, body = api.get(path, params)
    assert status == 200, body
    return len(ctx.captured_queries), body


@pytest.fixture
def crowd(workspace, channel, make_channel):
    """120 contacts, each with two identifiers and two conversations, to catch any N+1.

    Written in bulk: the services would take a minute for 240 conversations,
    and only the read path is under test here.
    """
    sms = make_channel(workspace, "sms", name="SMS")
    contacts = Contact.objects.bulk_create(
        Contact(workspace=workspace, name=f"Person {i:03d}", phone=f"+55119876{i:05d}")
        for i in range(120)
    )
    ContactIdentifier.objects.bulk_create(
        ContactIdentifier(workspace=workspace, contact=c, channel_type=ch.type, value=c.phone)
        for c in contacts
        for ch in (channel, sms)
    )
    Conversation.objects.bulk_create(
        Conversation(workspace=workspace, channel=ch, contact=c)
        for c in contacts
        for ch in (channel, sms)
    )


def test_list_runs_a_constant_number_of_queries(api, crowd):
    api.get("/contacts")  # warm the key's last_used_at write
    one, body_one = _queries(api, "/contacts", {"perPage": 1})
    hundred, body = _queries(api, "/contacts", {"perPage": 100})
    assert len(body_one["data"]) == 1 and len(body["data"]) == 100
    assert all(d["attributes"]["conversationCount"] == 2 for d in body["data"])
    assert all(len(d["attributes"]["identifiers"]) == 2 for d in body["data"])
    # 1 API key, 1 COUNT, 1 page (conversation count annotated), 1 identifiers.
    assert one == hundred == 4


def test_filtered_list_runs_the_same_number_of_queries(api, crowd):
    api.get("/contacts")
    params = {"channelType": "sms", "search": "+55119876", "sortBy": "name"}
    one, _ = _queries(api, "/contacts", {**params, "perPage": 1})
    hundred, _ = _queries(api, "/contacts", {**params, "perPage": 100})
    # Filters are WHERE clauses of the same COUNT and page queries.
    assert one == hundred == 4


def test_detail_runs_a_fixed_number_of_queries(api, crowd):
    contact = Contact.objects.first()
    path = f"/contacts/{contact.public_id}"
    api.get(path)
    count, body = _queries(api, path)
    assert body["data"]["attributes"]["conversationCount"] == 2
    # 1 API key, 1 contact (conversation count annotated), 1 identifiers.
    assert count == 3
