"""Contacts API: another workspace's key sees nothing of ours; the OpenAPI schema covers it all."""

from __future__ import annotations

import pytest
import yaml
from django.core.management import call_command

from messaging.models import Contact, ContactIdentifier, Conversation, OutboxEvent
from messaging.services.contacts import create_contact


@pytest.fixture
def ours(workspace, conversation):
    """Our contact (Ana, with a conversation and an identifier) and a second one."""
    ana = conversation.contact
    create_contact(workspace=workspace, name="Bruno", email="bruno@acme.test", tags=["vip"])
    return ana


@pytest.fixture
def theirs(other_workspace):
    return create_contact(workspace=other_workspace, name="Their contact")


def _snapshot():
    return (
        list(Contact.objects.order_by("pk").values()),
        list(ContactIdentifier.objects.order_by("pk").values()),
        list(Conversation.objects.order_by("pk").values()),
    )


def test_every_id_of_ours_is_404_for_them(stranger_api, ours, theirs):
    before = _snapshot()
    events = OutboxEvent.objects.count()
    path = f"/contacts/{ours.public_id}"
    calls = [
        ("get", path, None),
        ("patch", path, {"name": "hijack"}),
        ("delete", path, None),
        ("delete", path, {"force": "true"}),
        ("post", f"{path}/merge", {"sourceContactId": theirs.public_id}),
        # Their own contact as target, ours as source: still not found.
        ("post", f"/contacts/{theirs.public_id}/merge", {"sourceContactId": ours.public_id}),
    ]
    for method, url, data in calls:
        status, body = getattr(stranger_api, method)(url, data)
        assert status == 404, (method, url, status, body)
        assert body["error"]["code"] == "CONTACT_NOT_FOUND", (method, url, body)
    assert _snapshot() == before
    assert OutboxEvent.objects.count() == events
    assert Contact.objects.filter(pk=theirs.pk).exists()


def test_a_foreign_id_answers_like_a_missing_one(stranger_api, ours):
    foreign = stranger_api.get(f"/contacts/{ours.public_id}")
    missing = stranger_api.get("/contacts/contact_doesnotexist0000000000")
    assert foreign[0] == missing[0] == 404
    assert foreign[1]["error"]["code"] == missing[1]["error"]["code"]


def test_their_list_never_shows_our_contacts(stranger_api, ours, theirs):
    status, body = stranger_api.get("/contacts")
    assert status == 200
    assert [d["id"] for d in body["data"]] == [theirs.public_id]
    assert body["meta"]["pagination"]["totalCount"] == 1
    for params in (
        {"search": "Ana"},
        {"search": "+5511999999999"},
        {"search": "bruno@acme.test"},
        {"channelType": "whatsapp"},
        {"tag": "vip"},
    ):
        status, body = stranger_api.get("/contacts", params)
        assert (status, body["data"]) == (200, []), params


def test_their_phone_and_email_do_not_collide_with_ours(stranger_api, ours):
    # Uniqueness is per workspace: the same phone is free in theirs, and the
    # 409 never reveals that ours exists.
    status, body = stranger_api.post("/contacts", {"phone": ours.phone, "email": "bruno@acme.test"})
    assert status == 201, body


def test_merge_cannot_take_our_contact_as_source(stranger_api, ours, theirs):
    status, _ = stranger_api.post(
        f"/contacts/{theirs.public_id}/merge", {"sourceContactId": ours.public_id}
    )
    assert status == 404
    ours.refresh_from_db()
    assert ours.identifiers.count() == 1
    assert ours.conversations.count() == 1


# --- OpenAPI ------------------------------------------------------------------


def test_the_schema_documents_every_contacts_endpoint(tmp_path, db):
    out = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    schema = yaml.safe_load(out.read_text())
    paths = schema["paths"]
    assert set(paths["/api/v1/contacts"]) >= {"get", "post"}
    assert set(paths["/api/v1/contacts/{contact_id}"]) >= {"get", "patch", "delete"}
    assert set(paths["/api/v1/contacts/{contact_id}/merge"]) >= {"post"}

    listing = paths["/api/v1/contacts"]["get"]
    names = {p["name"] for p in listing["parameters"]}
    assert {
        "page",
        "perPage",
        "search",
        "channelType",
        "tag",
        "startDate",
        "endDate",
        "sortBy",
        "sortOrder",
    } <= names
    delete = paths["/api/v1/contacts/{contact_id}"]["delete"]
    assert "force" in {p["name"] for p in delete["parameters"]}
    assert {"204", "404", "409"} <= set(delete["responses"])
    assert "CONTACT_HAS_OPEN_CONVERSATIONS" in delete["responses"]["409"]["description"]
    create = paths["/api/v1/contacts"]["post"]
    assert {"201", "400", "401", "403", "409", "429"} <= set(create["responses"])
    assert "RESOURCE_ALREADY_EXISTS" in create["responses"]["409"]["description"]
    merge = paths["/api/v1/contacts/{contact_id}/merge"]["post"]
    merge_body = schema["components"]["schemas"]["ContactMergeRequest"]
    assert merge_body["required"] == ["sourceContactId"]
    assert "CONTACT_NOT_FOUND" in merge["responses"]["404"]["description"]
    attributes = schema["components"]["schemas"]["ContactAttributes"]["properties"]
    assert {"identifiers", "conversationCount", "createdAt", "updatedAt"} <= set(attributes)
