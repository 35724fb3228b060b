"""Channel services: config rules, initial status, duplicates, update, delete, deactivate, check."""

from __future__ import annotations

import json

import pytest

from channels_app.capabilities import MASK
from channels_app.models import Channel
from channels_app.services import (
    ActiveConversationsExist,
    ChannelAlreadyExists,
    InvalidChannelType,
    check_channel,
    create_channel,
    deactivate_channel,
    delete_channel,
    update_channel,
)
from inbox.errors import ValidationFailed
from messaging.models import Conversation, Message, OutboxEvent
from messaging.services import close_conversation, receive_message

WHATSAPP = {"phoneNumberId": "109876543210", "accessToken": "EAAG-secret-token"}
VALID = {
    "whatsapp": WHATSAPP,
    "sms": {"accountSid": "AC123", "authToken": "twilio-secret", "phoneNumber": "+14155550100"},
    "telegram": {"botToken": "123456789:AAH-telegram-secret"},
    "email": {"fromEmail": "support@acme.test", "smtpPort": 587, "smtpPassword": "smtp-secret"},
    "webchat": {"allowedOrigins": ["https://acme.test", "http://localhost:8000"]},
    "api": {"callbackUrl": "https://crm.acme.test/hooks", "callbackSecret": "cb-secret"},
}


def _events(name: str) -> list[OutboxEvent]:
    return list(OutboxEvent.objects.filter(event=name).order_by("pk"))


def _field(exc: pytest.ExceptionInfo) -> str:
    return exc.value.details[0]["field"]


# --- create: status, validation, events ------------------------------------------


@pytest.mark.parametrize("channel_type", sorted(VALID))
def test_a_real_channel_starts_pending_and_its_event_hides_secrets(workspace, channel_type):
    channel = create_channel(
        workspace=workspace, type=channel_type, name=" Line ", config=VALID[channel_type]
    )
    assert channel.status == Channel.Status.PENDING
    assert channel.name == "Line"
    [event] = _events("channel.created")
    assert event.data["id"] == channel.public_id
    assert channel.config == VALID[channel_type]  # stored as given
    text = json.dumps(event.data)
    for value in VALID[channel_type].values():
        if isinstance(value, str) and "secret" in value:
            assert value not in text


def test_sandbox_and_callbackless_api_channels_start_active(workspace):
    sandbox = create_channel(
        workspace=workspace, type="whatsapp", name="S", config={"sandbox": True}
    )
    api = create_channel(workspace=workspace, type="api", name="A")
    assert sandbox.status == api.status == Channel.Status.ACTIVE


def test_an_explicit_status_wins(workspace):
    channel = create_channel(
        workspace=workspace, type="telegram", name="T", config=VALID["telegram"], status="active"
    )
    assert channel.status == Channel.Status.ACTIVE


@pytest.mark.parametrize(
    ("channel_type", "missing"),
    [
        ("whatsapp", "phoneNumberId"),
        ("whatsapp", "accessToken"),
        ("sms", "accountSid"),
        ("sms", "authToken"),
        ("sms", "phoneNumber"),
        ("telegram", "botToken"),
        ("email", "fromEmail"),
        ("webchat", "allowedOrigins"),
    ],
)
def test_required_credentials_per_type(workspace, channel_type, missing):
    config = {k: v for k, v in VALID[channel_type].items() if k != missing}
    with pytest.raises(ValidationFailed) as exc:
        create_channel(workspace=workspace, type=channel_type, name="X", config=config)
    assert _field(exc) == f"config.{missing}"
    # Sandbox channels skip the credential requirements.
    create_channel(workspace=workspace, type=channel_type, name="X", config={"sandbox": True})
    assert Channel.objects.count() == 1
    assert len(_events("channel.created")) == 1


@pytest.mark.parametrize(
    ("channel_type", "config", "field"),
    [
        ("sms", {**VALID["sms"], "phoneNumber": "4155550100"}, "config.phoneNumber"),
        ("sms", {**VALID["sms"], "phoneNumber": "+1 415 555 0100"}, "config.phoneNumber"),
        ("telegram", {"botToken": "not-a-token"}, "config.botToken"),
        ("whatsapp", {**WHATSAPP, "accessToken": 42}, "config.accessToken"),
        ("whatsapp", {**WHATSAPP, "appSecret": ""}, "config.appSecret"),
        ("email", {"fromEmail": "nobody"}, "config.fromEmail"),
        ("email", {"fromEmail": "a@acme.test", "smtpPort": 70000}, "config.smtpPort"),
        ("email", {"fromEmail": "a@acme.test", "smtpPort": "587"}, "config.smtpPort"),
        ("email", {"fromEmail": "a@acme.test", "smtpUseTls": "yes"}, "config.smtpUseTls"),
        ("webchat", {"allowedOrigins": "https://acme.test"}, "config.allowedOrigins"),
        ("webchat", {"allowedOrigins": ["https://acme.test/page"]}, "config.allowedOrigins[0]"),
        ("webchat", {"allowedOrigins": ["https://a.test", "ftp://b"]}, "config.allowedOrigins[1]"),
        ("webchat", {"allowedOrigins": ["https://a.test"], "theme": "blue"}, "config.theme"),
        ("api", {"callbackUrl": "ftp://crm.acme.test"}, "config.callbackUrl"),
        ("api", {"callbackUrl": "https://user:pw@crm.acme.test"}, "config.callbackUrl"),
        ("api", {"sandbox": "yes"}, "config.sandbox"),
    ],
)
def test_config_formats_are_checked(workspace, channel_type, config, field):
    with pytest.raises(ValidationFailed) as exc:
        create_channel(workspace=workspace, type=channel_type, name="X", config=config)
    assert _field(exc) == field
    assert not Channel.objects.exists()
    assert not _events("channel.created")


def test_formats_are_checked_on_sandbox_channels_too(workspace):
    with pytest.raises(ValidationFailed) as exc:
        create_channel(
            workspace=workspace, type="api", name="X", config={"sandbox": True, "callbackUrl": "x"}
        )
    assert _field(exc) == "config.callbackUrl"


def test_unknown_type_name_and_shapes(workspace):
    with pytest.raises(InvalidChannelType) as exc:
        create_channel(workspace=workspace, type="pigeon", name="X")
    assert (exc.value.code, exc.value.status, _field(exc)) == ("INVALID_CHANNEL_TYPE", 400, "type")
    with pytest.raises(ValidationFailed) as exc:
        create_channel(workspace=workspace, type="api", name="  ")
    assert _field(exc) == "name"
    with pytest.raises(ValidationFailed) as exc:
        create_channel(workspace=workspace, type="api", name="X", config=["x"])  # type: ignore[arg-type]
    assert _field(exc) == "config"
    with pytest.raises(ValidationFailed) as exc:
        create_channel(workspace=workspace, type="api", name="X", metadata="x")  # type: ignore[arg-type]
    assert _field(exc) == "metadata"


def test_the_mask_is_never_stored_as_a_credential(workspace):
    with pytest.raises(ValidationFailed) as exc:
        create_channel(
            workspace=workspace,
            type="whatsapp",
            name="X",
            config={"phoneNumberId": "1", "accessToken": MASK},
        )
    assert _field(exc) == "config.accessToken"


# --- duplicates -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel_type", "key", "second"),
    [
        ("whatsapp", "phoneNumberId", {"phoneNumberId": "109876543210", "accessToken": "other"}),
        ("sms", "phoneNumber", {**VALID["sms"], "accountSid": "AC999"}),
        ("telegram", "botToken", {"botToken": "123456789:AAH-telegram-secret"}),
        ("email", "fromEmail", {"fromEmail": "Support@ACME.test"}),
    ],
)
def test_a_second_channel_for_the_same_address_is_409(workspace, channel_type, key, second):
    create_channel(workspace=workspace, type=channel_type, name="First", config=VALID[channel_type])
    with pytest.raises(ChannelAlreadyExists) as exc:
        create_channel(workspace=workspace, type=channel_type, name="Second", config=second)
    assert (exc.value.code, exc.value.status) == ("CHANNEL_ALREADY_EXISTS", 409)
    assert _field(exc) == f"config.{key}"
    # The message never repeats the (possibly secret) value.
    assert str(second[key]) not in exc.value.message
    assert Channel.objects.count() == 1


def test_duplicates_are_per_workspace_and_type(workspace, other_workspace):
    create_channel(workspace=workspace, type="whatsapp", name="A", config=WHATSAPP)
    create_channel(workspace=other_workspace, type="whatsapp", name="B", config=WHATSAPP)
    # Channels without an identifying address never clash.
    create_channel(workspace=workspace, type="api", name="C")
    create_channel(workspace=workspace, type="api", name="D")
    assert Channel.objects.count() == 4


def test_update_cannot_take_another_channels_address(workspace):
    create_channel(workspace=workspace, type="whatsapp", name="A", config=WHATSAPP)
    other = create_channel(
        workspace=workspace,
        type="whatsapp",
        name="B",
        config={"phoneNumberId": "555", "accessToken": "t"},
    )
    with pytest.raises(ChannelAlreadyExists):
        update_channel(channel=other, config={"phoneNumberId": WHATSAPP["phoneNumberId"]})
    other.refresh_from_db()
    assert other.config["phoneNumberId"] == "555"
    # Re-saving its own address is not a clash.
    update_channel(channel=other, config={"phoneNumberId": "555"})


# --- update -------------------------------------------------------------------------


def test_update_merges_config_keeps_masked_secrets_and_validates_the_result(workspace):
    channel = create_channel(workspace=workspace, type="whatsapp", name="W", config=WHATSAPP)
    channel = update_channel(
        channel=channel,
        name="Renamed",
        config={"accessToken": MASK, "businessAccountId": "777"},
        metadata={"team": "sales"},
    )
    assert channel.config == {**WHATSAPP, "businessAccountId": "777"}
    assert (channel.name, channel.metadata) == ("Renamed", {"team": "sales"})
    [event] = _events("channel.updated")
    assert WHATSAPP["accessToken"] not in json.dumps(event.data)

    # Removing a required credential of a real channel is refused, atomically.
    with pytest.raises(ValidationFailed) as exc:
        update_channel(channel=channel, name="Again", config={"accessToken": None})
    assert _field(exc) == "config.accessToken"
    channel.refresh_from_db()
    assert channel.name == "Renamed"
    assert channel.config["accessToken"] == WHATSAPP["accessToken"]
    assert len(_events("channel.updated")) == 1


# --- delete -------------------------------------------------------------------------


def test_delete_is_refused_while_conversations_are_active(workspace, conversation):
    channel = conversation.channel
    with pytest.raises(ActiveConversationsExist) as exc:
        delete_channel(channel=channel)
    assert (exc.value.code, exc.value.status) == ("ACTIVE_CONVERSATIONS_EXIST", 400)
    assert Channel.objects.filter(pk=channel.pk).exists()
    assert not _events("channel.deleted")


def test_force_deletes_the_channel_with_its_history(workspace, conversation):
    channel = conversation.channel
    delete_channel(channel=channel, force=True)
    assert not Channel.objects.filter(pk=channel.pk).exists()
    assert not Conversation.objects.filter(pk=conversation.pk).exists()
    assert not Message.objects.filter(channel_id=channel.pk).exists()
    [event] = _events("channel.deleted")
    assert event.data["id"] == channel.public_id
    assert event.data["meta"] == {"deletedConversations": 1, "forced": True}


def test_closed_conversations_do_not_block_delete(workspace, conversation):
    close_conversation(conversation=conversation)
    delete_channel(channel=conversation.channel)
    assert not Channel.objects.exists()


# --- deactivate ---------------------------------------------------------------------


def test_deactivate_can_close_the_active_conversations(workspace, conversation, agent):
    channel = conversation.channel
    second = receive_message(
        channel=channel, sender="+5511988887777", content={"type": "text", "text": "hi"}
    ).message.conversation
    close_conversation(conversation=second)  # already closed: left alone

    channel, closed = deactivate_channel(
        channel=channel, reason="Number moved", close_conversations=True, by=agent
    )
    assert (channel.status, channel.status_reason, closed) == ("inactive", "Number moved", 1)
    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.CLOSED
    assert conversation.resolution == Conversation.Resolution.UNRESOLVED
    assert conversation.closure_reason == "Number moved"
    assert conversation.closed_by == agent
    assert len(_events("channel.deactivated")) == 1
    assert len(_events("conversation.closed")) == 2  # one above, one by the deactivation


def test_deactivate_leaves_conversations_open_by_default(workspace, conversation):
    _, closed = deactivate_channel(channel=conversation.channel)
    conversation.refresh_from_db()
    assert (closed, conversation.status) == (0, Conversation.Status.OPEN)


# --- check (no network: sandbox and types without a provider) ----------------------


def test_check_on_a_sandbox_channel_succeeds_and_activates_it(workspace, make_channel):
    channel = make_channel(workspace, status=Channel.Status.PENDING)
    result = check_channel(channel=channel)
    assert result.ok and result.error == "" and result.latency_ms is not None
    channel.refresh_from_db()
    assert channel.status == Channel.Status.ACTIVE
    assert len(_events("channel.activated")) == 1


def test_check_of_an_unreachable_provider_changes_nothing(workspace):
    # Port 9 (discard) on loopback: nothing listens, the connection is refused.
    config = {**WHATSAPP, "apiBaseUrl": "http://127.0.0.1:9/v21.0"}
    channel = create_channel(workspace=workspace, type="whatsapp", name="W", config=config)
    result = check_channel(channel=channel)
    assert not result.ok
    assert not result.rejected
    assert "127.0.0.1" in result.error
    channel.refresh_from_db()
    assert channel.status == Channel.Status.PENDING
    assert not _events("channel.error")


def test_check_success_does_not_wake_a_deactivated_channel(workspace, make_channel):
    channel = make_channel(workspace, status=Channel.Status.INACTIVE)
    assert check_channel(channel=channel).ok
    channel.refresh_from_db()
    assert channel.status == Channel.Status.INACTIVE
