"""Contact services: create/update details, delete_contact and merge_contacts."""

from __future__ import annotations

import pytest

from inbox.errors import Conflict, ValidationFailed
from messaging.errors import ContactNotFound
from messaging.models import (
    Attachment,
    Contact,
    ContactIdentifier,
    Conversation,
    Message,
    OutboxEvent,
    Reaction,
)
from messaging.representations import contact_resource
from messaging.selectors import contacts_for
from messaging.services import close_conversation, react_to_message, receive_message
from messaging.services.contacts import (
    ContactHasOpenConversations,
    contact_data,
    create_contact,
    delete_contact,
    merge_contacts,
    update_contact,
)

TEXT = {"type": "text", "text": "hello"}


def _events(name):
    return list(OutboxEvent.objects.filter(event=name).order_by("id"))


def _inbound(channel, sender, name=""):
    return receive_message(channel=channel, sender=sender, content=TEXT, sender_name=name).message


# --- create / update --------------------------------------------------------------


def test_contact_data_is_the_api_rendering(workspace, conversation):
    contact = conversation.contact
    rendered = contact_resource(contacts_for(workspace).get(pk=contact.pk))
    assert contact_data(contact) == rendered
    assert rendered["attributes"]["conversationCount"] == 1
    assert rendered["attributes"]["identifiers"][0]["channelType"] == "whatsapp"


def test_create_cleans_tags_and_checks_types(workspace):
    contact = create_contact(workspace=workspace, name=" Ana ", tags=[" vip", "vip", "", "b2b"])
    assert (contact.name, contact.tags) == ("Ana", ["vip", "b2b"])
    with pytest.raises(ValidationFailed) as exc:
        create_contact(workspace=workspace, tags="vip")
    assert exc.value.details[0]["field"] == "tags"
    with pytest.raises(ValidationFailed) as exc:
        create_contact(workspace=workspace, metadata=["x"])
    assert exc.value.details[0]["field"] == "metadata"
    assert Contact.objects.count() == 1


def test_update_replaces_metadata_unless_asked_to_merge(workspace):
    contact = create_contact(workspace=workspace, metadata={"a": 1, "b": 2})
    # The admin edits the whole object: replacing is its default.
    update_contact(contact=contact, metadata={"c": 3})
    assert contact.metadata == {"c": 3}
    update_contact(contact=contact, metadata={"d": 4, "c": None}, merge_metadata=True)
    contact.refresh_from_db()
    assert contact.metadata == {"d": 4}
    [*_, last] = _events("contact.updated")
    assert last.data["attributes"]["metadata"] == {"d": 4}


def test_update_merges_into_the_stored_metadata_not_a_stale_copy(workspace):
    contact = create_contact(workspace=workspace, metadata={"a": 1})
    stale = Contact.objects.get(pk=contact.pk)
    update_contact(contact=contact, metadata={"b": 2}, merge_metadata=True)
    update_contact(contact=stale, metadata={"c": 3}, merge_metadata=True)
    contact.refresh_from_db()
    assert contact.metadata == {"a": 1, "b": 2, "c": 3}


def test_update_of_a_deleted_contact_is_not_found(workspace):
    contact = create_contact(workspace=workspace, name="Gone")
    Contact.objects.filter(pk=contact.pk).delete()
    with pytest.raises(ContactNotFound):
        update_contact(contact=contact, name="x")
    assert not _events("contact.updated")


# --- delete_contact ---------------------------------------------------------------------


def test_delete_refuses_with_an_active_conversation(conversation):
    for status in ("open", "pending"):
        Conversation.objects.filter(pk=conversation.pk).update(status=status)
        with pytest.raises(ContactHasOpenConversations) as exc:
            delete_contact(contact=conversation.contact)
        assert exc.value.status == 409
    assert Contact.objects.filter(pk=conversation.contact_id).exists()
    assert not _events("contact.deleted")


def test_forced_delete_takes_conversations_messages_attachments_and_reactions(
    workspace, channel, conversation, agent
):
    contact = conversation.contact
    message = conversation.messages.get()
    message.attachments.create(
        workspace=workspace, external_url="https://x.test/f.pdf", filename="f.pdf"
    )
    react_to_message(message=message, reaction="like", actor_contact=contact)
    # A reaction of this contact on someone else's message goes too.
    other = _inbound(channel, "+14155552671")
    react_to_message(message=other, reaction="love", actor_contact=contact)

    delete_contact(contact=contact, force=True)

    assert not Contact.objects.filter(pk=contact.pk).exists()
    assert not Conversation.objects.filter(contact_id=contact.pk).exists()
    assert not Message.objects.filter(pk=message.pk).exists()
    assert not Attachment.objects.filter(message_id=message.pk).exists()
    assert not Reaction.objects.filter(actor_contact_id=contact.pk).exists()
    assert not ContactIdentifier.objects.filter(contact_id=contact.pk).exists()
    # The other contact's conversation is untouched.
    assert Message.objects.filter(pk=other.pk).exists()
    [event] = _events("contact.deleted")
    assert event.data["id"] == contact.public_id
    assert event.data["attributes"]["conversationCount"] == 1
    assert event.data["meta"]["deletedConversationIds"] == [conversation.public_id]


def test_delete_with_only_closed_conversations_needs_no_force(conversation):
    close_conversation(conversation=conversation)
    delete_contact(contact=conversation.contact)
    assert not Conversation.objects.filter(pk=conversation.pk).exists()
    [event] = _events("contact.deleted")
    assert event.data["meta"]["forced"] is False


# --- merge_contacts -----------------------------------------------------------


@pytest.fixture
def two(workspace, channel, make_channel):
    """Target Ana (WhatsApp, open) and source Bia (SMS, open; email and tags of her own)."""
    sms = make_channel(workspace, "sms", name="SMS")
    ana_conv = _inbound(channel, "+5511999999999", "Ana").conversation
    bia_conv = _inbound(sms, "+14155552671", "").conversation
    target = ana_conv.contact
    source = bia_conv.contact
    update_contact(contact=target, tags=["vip", "b2b"], metadata={"plan": "gold", "crm": "A1"})
    update_contact(
        contact=source,
        name="Bia",
        email="bia@example.com",
        avatar_url="https://cdn.example.com/bia.png",
        tags=["b2b", "late-payer"],
        metadata={"plan": "basic", "source": "ads"},
    )
    return {"target": target, "source": source, "ana_conv": ana_conv, "bia_conv": bia_conv}


def test_merge_moves_identifiers_and_conversations_and_fills_fields(two):
    target, source = two["target"], two["source"]
    merged = merge_contacts(target=target, source=source)

    assert merged.pk == target.pk
    assert not Contact.objects.filter(pk=source.pk).exists()
    merged.refresh_from_db()
    assert merged.name == "Ana"  # not empty: kept
    assert merged.phone == "+5511999999999"  # the target's own
    assert merged.email == "bia@example.com"  # empty on the target: filled
    assert merged.avatar_url == "https://cdn.example.com/bia.png"
    assert merged.tags == ["vip", "b2b", "late-payer"]
    assert merged.metadata == {"plan": "gold", "crm": "A1", "source": "ads"}
    assert set(merged.identifiers.values_list("channel_type", "value")) == {
        ("whatsapp", "+5511999999999"),
        ("sms", "+14155552671"),
    }
    assert set(merged.conversations.values_list("pk", flat=True)) == {
        two["ana_conv"].pk,
        two["bia_conv"].pk,
    }
    # Different channels: nothing needed closing.
    assert merged.conversations.filter(status="open").count() == 2

    [event] = _events("contact.merged")
    assert event.data["id"] == target.public_id
    assert event.data["attributes"]["conversationCount"] == 2
    assert event.data["meta"]["source"]["id"] == source.public_id
    assert event.data["meta"]["source"]["attributes"]["email"] == "bia@example.com"
    assert event.data["meta"]["movedConversationIds"] == [two["bia_conv"].public_id]
    assert event.data["meta"]["closedConversationIds"] == []
    [moved] = [e for e in _events("conversation.updated") if e.data.get("meta")]
    assert moved.conversation_public_id == two["bia_conv"].public_id
    assert moved.data["attributes"]["contactId"] == target.public_id
    assert moved.data["meta"] == {
        "change": "contact_merged",
        "previousContactId": source.public_id,
    }


def test_after_a_merge_the_sources_address_reaches_the_target(two, workspace):
    merge_contacts(target=two["target"], source=two["source"])
    sms = two["bia_conv"].channel
    message = _inbound(sms, "+14155552671")
    assert message.conversation.contact_id == two["target"].pk
    assert message.conversation_id == two["bia_conv"].pk


def test_the_sources_phone_moves_only_to_a_target_without_one(workspace, channel):
    target = create_contact(workspace=workspace, name="Email only", email="t@example.com")
    source = _inbound(channel, "+5511999999999").conversation.contact
    merge_contacts(target=target, source=source)
    target.refresh_from_db()
    # The source's phone is free again (it is deleted) and now the target's.
    assert target.phone == "+5511999999999"
    assert target.email == "t@example.com"


def test_active_conversations_on_the_same_channel_clash_and_the_sources_closes(workspace, channel):
    target_conv = _inbound(channel, "+5511999999999", "Ana").conversation
    source_conv = _inbound(channel, "+14155552671", "Ana (work)").conversation
    target, source = target_conv.contact, source_conv.contact

    merge_contacts(target=target, source=source)

    target_conv.refresh_from_db()
    source_conv.refresh_from_db()
    assert target_conv.status == "open"
    assert source_conv.status == "closed"
    assert source_conv.resolution == "unresolved"
    assert source_conv.closure_reason == "merged"
    assert source_conv.contact_id == target.pk == target_conv.contact_id
    # The constraint holds: one active conversation per contact and channel.
    assert Conversation.objects.filter(contact=target, channel=channel, status="open").count() == 1
    [closed] = _events("conversation.closed")
    assert closed.conversation_public_id == source_conv.public_id
    [merged] = _events("contact.merged")
    assert merged.data["meta"]["closedConversationIds"] == [source_conv.public_id]
    # A new message from either address continues the target's open conversation.
    assert _inbound(channel, "+14155552671").conversation_id == target_conv.pk


def test_reactions_move_and_a_duplicate_keeps_the_targets(workspace, two, agent):
    message = two["ana_conv"].messages.get()
    other_message = two["bia_conv"].messages.get()
    target, source = two["target"], two["source"]
    react_to_message(message=message, reaction="like", actor_contact=target)
    react_to_message(message=message, reaction="like", actor_contact=source)  # same one
    react_to_message(message=other_message, reaction="love", actor_contact=source)

    merge_contacts(target=target, source=source)

    live = Reaction.objects.filter(removed_at__isnull=True)
    assert sorted(live.values_list("message_id", "emoji", "actor_contact_id")) == sorted(
        [
            (message.pk, "👍", target.pk),
            (other_message.pk, "❤️", target.pk),
        ]
    )
    # The duplicate is kept as a removed reaction of the target, not lost silently.
    assert Reaction.objects.filter(removed_at__isnull=False, actor_contact=target).count() == 1


def test_merge_into_itself_is_refused(two):
    with pytest.raises(ValidationFailed) as exc:
        merge_contacts(target=two["target"], source=two["target"])
    assert exc.value.details[0]["field"] == "sourceContactId"
    assert not _events("contact.merged")


def test_merge_across_workspaces_is_refused(two, other_workspace):
    theirs = create_contact(workspace=other_workspace, name="Theirs")
    with pytest.raises(ContactNotFound):
        merge_contacts(target=two["target"], source=theirs)
    with pytest.raises(ContactNotFound):
        merge_contacts(target=theirs, source=two["source"])
    assert Contact.objects.filter(pk=theirs.pk).exists()
    assert not _events("contact.merged")


def test_merge_is_one_transaction(two, monkeypatch):
    """A failure at the very end (the last event) leaves everything as it was."""
    from messaging.services import contacts as contact_services

    real = contact_services.record_event

    def failing(**kwargs):
        if kwargs["event"] == "contact.merged":
            raise RuntimeError("boom")
        return real(**kwargs)

    monkeypatch.setattr(contact_services, "record_event", failing)
    before = (
        list(Contact.objects.order_by("pk").values()),
        list(ContactIdentifier.objects.order_by("pk").values()),
        list(Conversation.objects.order_by("pk").values()),
        OutboxEvent.objects.count(),
    )
    with pytest.raises(RuntimeError):
        merge_contacts(target=two["target"], source=two["source"])
    after = (
        list(Contact.objects.order_by("pk").values()),
        list(ContactIdentifier.objects.order_by("pk").values()),
        list(Conversation.objects.order_by("pk").values()),
        OutboxEvent.objects.count(),
    )
    assert after == before


def test_a_clash_appearing_mid_merge_is_a_conflict_and_changes_nothing(
    workspace, channel, monkeypatch
):
    """If a clashing active conversation slips past the check, the constraint stops it."""
    target_conv = _inbound(channel, "+5511999999999").conversation
    source_conv = _inbound(channel, "+14155552671").conversation
    from messaging.services import contacts as contact_services

    # Simulate the race: the check sees no clash, as if the source's
    # conversation had been opened just after it.
    monkeypatch.setattr(contact_services, "_close_clashing_conversations", lambda **kw: [])
    with pytest.raises(Conflict):
        merge_contacts(target=target_conv.contact, source=source_conv.contact)
    source_conv.refresh_from_db()
    assert source_conv.contact_id != target_conv.contact_id
    assert source_conv.status == "open"
    assert Contact.objects.filter(pk=source_conv.contact_id).exists()
    assert not _events("contact.merged")
