"""POST, PATCH, DELETE /contacts and POST /contacts/:id/merge through the API."""

from __future__ import annotations

import pytest

from inbox.services import create_api_key
from messaging.models import Contact, ContactIdentifier, Conversation, Message, OutboxEvent
from messaging.services import close_conversation, receive_message
from messaging.services.contacts import create_contact
from tests.messaging.api.conftest import Api

TEXT = {"type": "text", "text": "hello"}


def _events(name):
    return list(OutboxEvent.objects.filter(event=name).order_by("id"))


def _error(body):
    return body["error"]["code"], [d["field"] for d in body["error"].get("details", [])]


# --- POST /contacts -------------------------------------------------------------


def test_create_normalises_and_renders_like_its_event(api, workspace):
    status, body = api.post(
        "/contacts",
        {
            "name": "  Ana Souza ",
            "phone": "+55 11 99999-9999",
            "email": "Ana@Example.COM",
            "avatar": "https://cdn.example.com/ana.png",
            "metadata": {"crmId": "10482"},
            "tags": ["vip", " vip", "b2b"],
        },
    )
    assert status == 201, body
    attrs = body["data"]["attributes"]
    assert attrs["name"] == "Ana Souza"
    assert attrs["phone"] == "+5511999999999"
    assert attrs["email"] == "ana@example.com"
    assert attrs["avatar"] == "https://cdn.example.com/ana.png"
    assert attrs["metadata"] == {"crmId": "10482"}
    assert attrs["tags"] == ["vip", "b2b"]
    assert attrs["identifiers"] == [] and attrs["conversationCount"] == 0
    assert body["data"]["id"].startswith("contact_")
    [event] = _events("contact.created")
    # One renderer: webhook consumers see exactly what the API answered.
    assert event.data == body["data"]
    assert Contact.objects.get(public_id=body["data"]["id"]).workspace == workspace


def test_create_with_nothing_but_a_name(api, db):
    status, body = api.post("/contacts", {"name": "Walk-in"})
    assert status == 201
    assert body["data"]["attributes"]["phone"] is None
    assert body["data"]["attributes"]["tags"] == []


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"phone": "11 99999-9999"}, "phone"),  # no country code: not E.164
        ({"phone": "+12"}, "phone"),
        ({"phone": 5511999999999}, "phone"),
        ({"email": "not-an-email"}, "email"),
        ({"avatar": "not a url"}, "avatar"),
        ({"metadata": ["a"]}, "metadata"),
        ({"tags": "vip"}, "tags"),
        ({"tags": [["vip"]]}, "tags.0"),
        ({"tags": [""]}, "tags.0"),
        ({"tags": ["ok", "x" * 65]}, "tags.1"),
        ({"tags": ["t"] * 51}, "tags"),
        ({"name": "x" * 201}, "name"),
        ({"nickname": "Ana"}, "nickname"),
    ],
)
def test_create_refuses_bad_input_naming_the_field(api, db, data, field):
    status, body = api.post("/contacts", {"name": "Ana", **data})
    assert status == 400, body
    code, fields = _error(body)
    assert code == "VALIDATION_ERROR"
    assert fields[0] == field, fields
    assert not Contact.objects.exists()
    assert not _events("contact.created")


def test_create_refuses_a_body_that_is_not_an_object(api, db):
    status, body = api.post("/contacts", b"[1, 2]", content_type="application/json")
    assert status == 400
    assert _error(body)[0] == "VALIDATION_ERROR"
    status, body = api.post("/contacts", b"{not json", content_type="application/json")
    assert status == 400
    assert _error(body) == ("VALIDATION_ERROR", ["body"])


def test_create_duplicate_phone_or_email_is_409(api, workspace):
    create_contact(workspace=workspace, phone="+5511999999999", email="ana@example.com")
    status, body = api.post("/contacts", {"phone": "+55 11 99999 9999"})
    assert status == 409
    assert _error(body) == ("RESOURCE_ALREADY_EXISTS", ["phone"])
    status, body = api.post("/contacts", {"email": "ANA@example.com"})
    assert status == 409
    assert _error(body) == ("RESOURCE_ALREADY_EXISTS", ["email"])
    assert Contact.objects.count() == 1


def test_the_same_phone_is_fine_in_another_workspace(api, other_workspace):
    create_contact(workspace=other_workspace, phone="+5511999999999")
    assert api.post("/contacts", {"phone": "+5511999999999"})[0] == 201


def test_create_replays_an_idempotency_key(api, db):
    first = api.post("/contacts", {"name": "Ana"}, HTTP_IDEMPOTENCY_KEY="k-1")
    again = api.post("/contacts", {"name": "Ana"}, HTTP_IDEMPOTENCY_KEY="k-1")
    assert first == again
    assert first[0] == 201
    assert Contact.objects.count() == 1
    status, body = api.post("/contacts", {"name": "Bob"}, HTTP_IDEMPOTENCY_KEY="k-1")
    assert (status, body["error"]["code"]) == (409, "IDEMPOTENCY_KEY_REUSED")


# --- PATCH /contacts/:id --------------------------------------------------------


@pytest.fixture
def ana(workspace):
    return create_contact(
        workspace=workspace,
        name="Ana",
        phone="+5511999999999",
        email="ana@example.com",
        avatar_url="https://cdn.example.com/ana.png",
        metadata={"plan": "basic", "crmId": "1", "keep": True},
        tags=["vip"],
    )


def test_patch_changes_only_what_it_names_and_merges_metadata(api, ana):
    status, body = api.patch(
        f"/contacts/{ana.public_id}",
        {"name": "Ana Souza", "metadata": {"plan": "premium", "crmId": None, "new": 1}},
    )
    assert status == 200, body
    attrs = body["data"]["attributes"]
    assert attrs["name"] == "Ana Souza"
    assert attrs["phone"] == "+5511999999999"
    assert attrs["email"] == "ana@example.com"
    assert attrs["tags"] == ["vip"]
    # Merged: changed and new keys set, a null removes its key, the rest stays.
    assert attrs["metadata"] == {"plan": "premium", "keep": True, "new": 1}
    [event] = _events("contact.updated")
    assert event.data == body["data"]


def test_patch_replaces_tags_and_clears_with_null_or_empty(api, ana):
    status, body = api.patch(
        f"/contacts/{ana.public_id}",
        {"tags": ["b2b", "b2b ", "late"], "phone": None, "avatar": "", "email": None},
    )
    assert status == 200, body
    attrs = body["data"]["attributes"]
    assert attrs["tags"] == ["b2b", "late"]
    assert attrs["phone"] is None and attrs["avatar"] is None and attrs["email"] is None
    ana.refresh_from_db()
    assert (ana.phone, ana.email, ana.avatar_url) == ("", "", "")


def test_patch_normalises_a_new_phone(api, ana):
    status, body = api.patch(f"/contacts/{ana.public_id}", {"phone": "+1 (415) 555-2671"})
    assert status == 200
    assert body["data"]["attributes"]["phone"] == "+14155552671"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"phone": "555-2671"}, "phone"),
        ({"email": "nope"}, "email"),
        ({"metadata": "x"}, "metadata"),
        ({"metadata": None}, "metadata"),
        ({"tags": None}, "tags"),
        ({"avatar": "ftp:/x"}, "avatar"),
        ({"id": "contact_x"}, "id"),
    ],
)
def test_patch_refuses_bad_input_and_changes_nothing(api, ana, data, field):
    before = Contact.objects.filter(pk=ana.pk).values().get()
    status, body = api.patch(f"/contacts/{ana.public_id}", {"name": "Changed", **data})
    assert status == 400, body
    assert _error(body) == ("VALIDATION_ERROR", [field])
    assert Contact.objects.filter(pk=ana.pk).values().get() == before
    assert not _events("contact.updated")


def test_patch_to_a_taken_phone_or_email_is_409(api, workspace, ana):
    bruno = create_contact(workspace=workspace, name="Bruno")
    status, body = api.patch(f"/contacts/{bruno.public_id}", {"phone": "+5511999999999"})
    assert status == 409
    assert _error(body) == ("RESOURCE_ALREADY_EXISTS", ["phone"])
    status, body = api.patch(f"/contacts/{bruno.public_id}", {"email": "ANA@example.com"})
    assert status == 409
    assert _error(body) == ("RESOURCE_ALREADY_EXISTS", ["email"])
    # Its own phone again is not a duplicate.
    assert api.patch(f"/contacts/{ana.public_id}", {"phone": "+5511999999999"})[0] == 200


def test_patch_unknown_contact_is_404(api, db):
    status, body = api.patch("/contacts/contact_nope", {"name": "x"})
    assert (status, body["error"]["code"]) == (404, "CONTACT_NOT_FOUND")


# --- DELETE /contacts/:id -------------------------------------------------------


def test_delete_a_contact_without_conversations(api, ana):
    status, body = api.delete(f"/contacts/{ana.public_id}")
    assert (status, body) == (204, None)
    assert not Contact.objects.filter(pk=ana.pk).exists()
    [event] = _events("contact.deleted")
    assert event.data["id"] == ana.public_id
    assert event.data["attributes"]["phone"] == "+5511999999999"
    assert event.data["meta"] == {"deletedConversationIds": [], "forced": False}
    status, body = api.get(f"/contacts/{ana.public_id}")
    assert (status, body["error"]["code"]) == (404, "CONTACT_NOT_FOUND")


def test_delete_refuses_while_a_conversation_is_active(api, conversation):
    contact = conversation.contact
    status, body = api.delete(f"/contacts/{contact.public_id}")
    assert status == 409
    assert body["error"]["code"] == "CONTACT_HAS_OPEN_CONVERSATIONS"
    assert conversation.public_id in body["error"]["message"]
    assert Contact.objects.filter(pk=contact.pk).exists()
    assert Conversation.objects.filter(pk=conversation.pk).exists()
    assert not _events("contact.deleted")
    assert api.delete(f"/contacts/{contact.public_id}", {"force": "false"})[0] == 409


def test_force_deletes_the_contact_with_its_conversations(api, conversation, channel):
    contact = conversation.contact
    status, _ = api.delete(f"/contacts/{contact.public_id}", {"force": "true"})
    assert status == 204
    assert not Contact.objects.filter(pk=contact.pk).exists()
    assert not Conversation.objects.filter(pk=conversation.pk).exists()
    assert not Message.objects.filter(conversation_id=conversation.pk).exists()
    assert not ContactIdentifier.objects.filter(contact_id=contact.pk).exists()
    [event] = _events("contact.deleted")
    assert event.data["meta"] == {
        "deletedConversationIds": [conversation.public_id],
        "forced": True,
    }


def test_closed_conversations_do_not_block_a_delete(api, conversation):
    close_conversation(conversation=conversation)
    assert api.delete(f"/contacts/{conversation.contact.public_id}")[0] == 204
    assert not Conversation.objects.filter(pk=conversation.pk).exists()


def test_delete_with_a_bad_force_value_is_400(api, ana):
    status, body = api.delete(f"/contacts/{ana.public_id}", {"force": "maybe"})
    assert status == 400
    assert _error(body) == ("VALIDATION_ERROR", ["force"])
    assert Contact.objects.filter(pk=ana.pk).exists()


def test_delete_unknown_contact_is_404(api, db):
    status, body = api.delete("/contacts/contact_nope")
    assert (status, body["error"]["code"]) == (404, "CONTACT_NOT_FOUND")


# --- POST /contacts/:id/merge ---------------------------------------------------


def test_merge_moves_everything_into_the_target(api, workspace, channel, ana):
    received = receive_message(channel=channel, sender="+14155552671", content=TEXT)
    source = received.message.conversation.contact
    status, body = api.post(
        f"/contacts/{ana.public_id}/merge", {"sourceContactId": source.public_id}
    )
    assert status == 200, body
    attrs = body["data"]["attributes"]
    assert body["data"]["id"] == ana.public_id
    assert attrs["conversationCount"] == 1
    assert [i["value"] for i in attrs["identifiers"]] == ["+14155552671"]
    assert attrs["phone"] == "+5511999999999"  # the target's own phone wins
    assert not Contact.objects.filter(pk=source.pk).exists()
    status, body = api.get(f"/contacts/{source.public_id}")
    assert (status, body["error"]["code"]) == (404, "CONTACT_NOT_FOUND")
    [event] = _events("contact.merged")
    assert event.data["id"] == ana.public_id
    assert event.data["meta"]["source"]["id"] == source.public_id


def test_merge_into_itself_is_400(api, ana):
    status, body = api.post(f"/contacts/{ana.public_id}/merge", {"sourceContactId": ana.public_id})
    assert status == 400
    assert _error(body) == ("VALIDATION_ERROR", ["sourceContactId"])
    assert Contact.objects.filter(pk=ana.pk).exists()


def test_merge_with_an_unknown_source_is_404_naming_it(api, ana):
    status, body = api.post(f"/contacts/{ana.public_id}/merge", {"sourceContactId": "contact_x"})
    assert status == 404
    assert _error(body) == ("CONTACT_NOT_FOUND", ["sourceContactId"])


def test_merge_into_an_unknown_target_is_404(api, ana):
    status, body = api.post("/contacts/contact_x/merge", {"sourceContactId": ana.public_id})
    assert (status, body["error"]["code"]) == (404, "CONTACT_NOT_FOUND")
    assert Contact.objects.filter(pk=ana.pk).exists()


@pytest.mark.parametrize(
    ("data", "field"),
    [({}, "sourceContactId"), ({"sourceContactId": 5, "x": 1}, "x"), ([], "body")],
)
def test_merge_refuses_bad_bodies(api, ana, data, field):
    status, body = api.post(f"/contacts/{ana.public_id}/merge", data)
    assert status == 400
    assert field in _error(body)[1]


# --- Scopes -----------------------------------------------------------------------


@pytest.fixture
def read_only_api(workspace):
    _, raw = create_api_key(workspace=workspace, name="ro", scopes=["contacts:read"])
    return Api(raw)


@pytest.fixture
def messages_api(workspace):
    _, raw = create_api_key(workspace=workspace, name="msg", scopes=["messages:read"])
    return Api(raw)


def test_reads_need_contacts_read_and_writes_contacts_write(
    read_only_api, messages_api, anonymous_api, ana
):
    path = f"/contacts/{ana.public_id}"
    assert read_only_api.get("/contacts")[0] == 200
    assert read_only_api.get(path)[0] == 200
    writes = [
        ("post", "/contacts", {"name": "x"}),
        ("patch", path, {"name": "x"}),
        ("delete", path, None),
        ("post", f"{path}/merge", {"sourceContactId": ana.public_id}),
    ]
    for method, url, data in writes:
        status, body = getattr(read_only_api, method)(url, data)
        assert (status, body["error"]["code"]) == (403, "INSUFFICIENT_PERMISSIONS"), url
    for url in ("/contacts", path):
        status, body = messages_api.get(url)
        assert (status, body["error"]["code"]) == (403, "INSUFFICIENT_PERMISSIONS")
        status, body = anonymous_api.get(url)
        assert (status, body["error"]["code"]) == (401, "AUTHENTICATION_REQUIRED")
    ana.refresh_from_db()
    assert ana.name == "Ana"
    assert Contact.objects.count() == 1
