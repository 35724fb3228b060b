"""send_message and the delivery path: validation, counters, claim, statuses."""

from datetime import timedelta

import pytest
from django.utils import timezone

from inbox.errors import ValidationFailed
from messaging.errors import (
    ChannelNotConnected,
    InvalidRecipient,
    OutsideMessageWindow,
    UnsupportedContentType,
)
from messaging.models import Contact, Conversation, Message, OutboxEvent
from messaging.services import deliver_message, receive_message, retry_message, send_message
from messaging.tasks import send_due_scheduled_messages

TEXT = {"type": "text", "text": "Your order has shipped."}
TEMPLATE = {"type": "template", "template": {"name": "order_update", "language": "en"}}
# Callbacks every `record_event` transaction queues (webhooks, live updates).
EVENT_CALLBACKS = ("dispatch_outbox_after_commit", "notify_live_streams")


def test_it_saves_pending_and_delivers_after_commit(
    workspace, conversation, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        message = send_message(workspace=workspace, conversation=conversation, content=TEXT)
        # Nothing has left before the transaction committed.
        assert message.status == "pending"
        assert message.provider_message_id is None
    # The delivery task, and the webhook dispatcher and live-update signal
    # asked for by record_event.
    assert len([c for c in callbacks if c.__name__ not in EVENT_CALLBACKS]) == 1
    message.refresh_from_db()
    assert message.status == "sent"
    assert message.provider_message_id.startswith("sbx_")
    assert [h["status"] for h in message.status_history] == ["pending", "sent"]
    assert message.sent_at is not None
    assert message.from_address == "+15550001111"
    assert message.to_address == "+5511999999999"
    assert OutboxEvent.objects.filter(event="message.sent").count() == 1


def test_it_keeps_the_conversation_counters(workspace, conversation):
    send_message(workspace=workspace, conversation=conversation, content=TEXT)
    conversation.refresh_from_db()
    assert conversation.message_count == 2
    assert conversation.unread_count == 1  # the inbound one, still unread
    assert conversation.last_message.text == TEXT["text"]
    assert conversation.last_message_at == conversation.last_message.created_at


def test_a_duplicated_delivery_task_sends_once(workspace, conversation):
    message = send_message(workspace=workspace, conversation=conversation, content=TEXT)
    first = deliver_message(message_pk=message.pk)
    second = deliver_message(message_pk=message.pk)
    assert first is not None and first.ok
    assert second is None
    message.refresh_from_db()
    assert message.delivery_attempts == 1


def test_to_without_conversation_creates_contact_and_conversation(workspace, make_channel):
    sms = make_channel(workspace, "sms", name="SMS")
    message = send_message(workspace=workspace, channel=sms, to="+14155552671", content=TEXT)
    assert message.conversation.contact.phone == "+14155552671"
    assert message.conversation.status == "open"
    again = send_message(workspace=workspace, channel=sms, to="+1 415 555 2671", content=TEXT)
    assert again.conversation_id == message.conversation_id
    assert Contact.objects.filter(workspace=workspace).count() == 1


def test_to_reuses_the_contact_known_from_another_phone_channel(
    workspace, conversation, make_channel
):
    sms = make_channel(workspace, "sms", name="SMS")
    message = send_message(workspace=workspace, channel=sms, to="+5511999999999", content=TEXT)
    assert message.conversation.contact_id == conversation.contact_id
    assert message.conversation_id != conversation.pk


def test_it_refuses_a_content_type_the_channel_cannot_carry(workspace, make_channel):
    sms = make_channel(workspace, "sms")
    content = {"type": "location", "latitude": 1.0, "longitude": 2.0}
    with pytest.raises(UnsupportedContentType):
        send_message(workspace=workspace, channel=sms, to="+14155552671", content=content)
    assert not Message.objects.exists()


def test_it_refuses_an_inactive_channel(workspace, make_channel):
    sms = make_channel(workspace, "sms", status="inactive")
    with pytest.raises(ChannelNotConnected):
        send_message(workspace=workspace, channel=sms, to="+14155552671", content=TEXT)


@pytest.mark.parametrize("to", ["5511999999999", "hello", "+1"])
def test_it_refuses_a_recipient_that_is_not_e164(workspace, channel, to):
    with pytest.raises(InvalidRecipient) as excinfo:
        send_message(workspace=workspace, channel=channel, to=to, content=TEMPLATE)
    assert excinfo.value.details[0]["field"] == "to"


def test_to_must_match_the_conversation(workspace, conversation):
    with pytest.raises(InvalidRecipient):
        send_message(
            workspace=workspace, conversation=conversation, to="+14155552671", content=TEXT
        )


def test_whatsapp_outside_the_window_needs_a_template(workspace, conversation):
    Conversation.objects.filter(pk=conversation.pk).update(
        last_inbound_at=timezone.now() - timedelta(hours=24, minutes=1)
    )
    conversation.refresh_from_db()
    with pytest.raises(OutsideMessageWindow):
        send_message(workspace=workspace, conversation=conversation, content=TEXT)
    message = send_message(workspace=workspace, conversation=conversation, content=TEMPLATE)
    assert message.content_type == "template"


def test_whatsapp_to_a_contact_who_never_wrote_needs_a_template(workspace, channel):
    with pytest.raises(OutsideMessageWindow):
        send_message(workspace=workspace, channel=channel, to="+14155552671", content=TEXT)
    assert not Conversation.objects.exists()  # the refusal wrote nothing
    send_message(workspace=workspace, channel=channel, to="+14155552671", content=TEMPLATE)


def test_sms_has_no_window(workspace, make_channel):
    sms = make_channel(workspace, "sms")
    send_message(workspace=workspace, channel=sms, to="+14155552671", content=TEXT)


def test_scheduled_in_the_past_is_refused(workspace, conversation):
    with pytest.raises(ValidationFailed) as excinfo:
        send_message(
            workspace=workspace,
            conversation=conversation,
            content=TEXT,
            scheduled_at=timezone.now() - timedelta(seconds=1),
        )
    assert excinfo.value.details[0]["field"] == "scheduledAt"


def test_scheduled_messages_wait_for_their_time(
    workspace, conversation, django_capture_on_commit_callbacks
):
    at = timezone.now() + timedelta(minutes=10)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        message = send_message(
            workspace=workspace, conversation=conversation, content=TEXT, scheduled_at=at
        )
    # The countdown task ran at once (eager mode ignores countdowns) and the
    # claim refused it: not due yet.
    assert len(callbacks) == 1
    message.refresh_from_db()
    assert message.status == "pending" and message.delivery_attempts == 0
    assert deliver_message(message_pk=message.pk) is None
    assert send_due_scheduled_messages() == 0
    Message.objects.filter(pk=message.pk).update(scheduled_at=timezone.now())
    assert send_due_scheduled_messages() == 1
    message.refresh_from_db()
    assert message.status == "sent"


def test_an_idempotency_key_makes_one_message(workspace, conversation):
    first = send_message(
        workspace=workspace, conversation=conversation, content=TEXT, idempotency_key="k-1"
    )
    second = send_message(
        workspace=workspace, conversation=conversation, content=TEXT, idempotency_key="k-1"
    )
    assert first.pk == second.pk
    assert Message.objects.filter(idempotency_key="k-1").count() == 1


def test_private_notes_are_never_delivered(
    workspace, conversation, agent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        note = send_message(
            workspace=workspace,
            conversation=conversation,
            content={"type": "text", "text": "Customer is a VIP"},
            is_private=True,
            sender_user=agent,
        )
    # No delivery task: only the event's on-commit hooks (webhooks, live pages).
    assert {c.__name__ for c in callbacks} <= {
        "dispatch_outbox_after_commit",
        "notify_live_streams",
    }
    assert note.is_private and note.provider_message_id is None
    assert deliver_message(message_pk=note.pk) is None
    # Other agents learn of the note at once; it is never handed to a provider.
    event = OutboxEvent.objects.get(event="message.sent")
    assert event.data["id"] == note.public_id
    assert event.data["attributes"]["isPrivate"] is True


def test_a_misconfigured_channel_fails_the_message_and_retry_requeues(
    workspace, make_channel, django_capture_on_commit_callbacks
):
    real = make_channel(workspace, "sms", config={"sandbox": False})
    with django_capture_on_commit_callbacks(execute=True):
        message = send_message(workspace=workspace, channel=real, to="+14155552671", content=TEXT)
    message.refresh_from_db()
    assert message.status == "failed"
    # No Twilio credentials: the provider refuses before any request.
    assert message.failure_code == "CHANNEL_MISCONFIGURED"
    assert OutboxEvent.objects.filter(event="message.failed").count() == 1

    real.config = {"sandbox": True}
    real.save()
    with django_capture_on_commit_callbacks(execute=True):
        retry_message(message=message)
    message.refresh_from_db()
    assert message.status == "sent"
    assert [h["status"] for h in message.status_history] == ["pending", "failed", "pending", "sent"]


def test_retry_refuses_what_did_not_fail(workspace, conversation):
    message = send_message(workspace=workspace, conversation=conversation, content=TEXT)
    with pytest.raises(ValidationFailed):
        retry_message(message=message)


def test_a_conversation_of_another_workspace_is_refused(workspace, other_workspace, make_channel):
    foreign_channel = make_channel(other_workspace, "sms")
    foreign = receive_message(
        channel=foreign_channel, sender="+14155552671", content={"type": "text", "text": "x"}
    ).message.conversation
    with pytest.raises(ValidationFailed):
        send_message(workspace=workspace, conversation=foreign, content=TEXT)
    with pytest.raises(ValidationFailed):
        send_message(workspace=workspace, channel=foreign_channel, to="+14155552671", content=TEXT)
    assert Message.objects.filter(direction="outbound").count() == 0
