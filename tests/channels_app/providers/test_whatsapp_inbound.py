"""WhatsApp webhooks posted to the channel's URL: messages, replies, reactions, refusals.

Bodies follow Meta's "messages webhook reference"; each test posts one to
the real endpoint and reads the outcome from the database.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from messaging.models import Contact, Conversation, EarlyStatusReport, Message, Reaction
from messaging.services import send_message
from tests.channels_app.providers.whatsapp_support import (
    CUSTOMER,
    VERIFY_TOKEN,
    inbound,
    notification,
    post_signed,
    sign,
    whatsapp_channel,
)

pytestmark = pytest.mark.django_db

SENT_AT = datetime.fromtimestamp(1749416383, tz=UTC)


@pytest.fixture
def channel(provider_channel, httpserver):
    return whatsapp_channel(provider_channel, httpserver)


def _only_message() -> Message:
    return Message.objects.get(direction="inbound")


def _our_message(channel, wamid: str) -> Message:
    """A message we sent the customer, which WhatsApp knows as `wamid`."""
    ours = send_message(
        workspace=channel.workspace,
        channel=channel,
        to=f"+{CUSTOMER}",
        content={"type": "template", "template": {"name": "hello", "language": "en"}},
    )
    Message.objects.filter(pk=ours.pk).update(provider_message_id=wamid, status="sent")
    return ours


def test_a_text_message_is_received(channel, post_webhook):
    payload = notification(
        messages=[inbound("wamid.text1", "text", {"body": "Does it come in another color?"})]
    )
    response = post_signed(post_webhook, channel, payload)

    assert response.status_code == 200
    assert response.json() == {"received": True}
    message = _only_message()
    assert message.provider_message_id == "wamid.text1"
    assert message.content == {"type": "text", "text": "Does it come in another color?"}
    assert message.from_address == f"+{CUSTOMER}"
    assert message.created_at == SENT_AT
    assert message.conversation.contact.name == "Sheena Nelson"
    assert message.conversation.contact.phone == f"+{CUSTOMER}"


def test_a_reply_links_to_the_quoted_message(channel, post_webhook):
    ours = _our_message(channel, "wamid.ours")
    payload = notification(
        messages=[
            inbound(
                "wamid.reply1",
                "text",
                {"body": "Yes please"},
                context={"from": "15550783881", "id": "wamid.ours"},
            )
        ]
    )
    post_signed(post_webhook, channel, payload)

    assert _only_message().reply_to_id == ours.pk


def test_a_location_is_received(channel, post_webhook):
    body = {
        "latitude": 37.4843,
        "longitude": -122.1484,
        "name": "Philz Coffee",
        "address": "101 Forest Ave, Palo Alto, CA 94301",
        "url": "https://philzcoffee.com/",
    }
    post_signed(
        post_webhook, channel, notification(messages=[inbound("wamid.loc", "location", body)])
    )

    message = _only_message()
    assert message.content == {
        "type": "location",
        "latitude": 37.4843,
        "longitude": -122.1484,
        "name": "Philz Coffee",
        "address": "101 Forest Ave, Palo Alto, CA 94301",
    }
    assert message.metadata == {"url": "https://philzcoffee.com/"}


@pytest.mark.parametrize(
    ("body", "text", "metadata"),
    [
        pytest.param(
            {"type": "button_reply", "button_reply": {"id": "yes", "title": "Yes"}},
            "Yes",
            {"replyType": "button_reply", "replyId": "yes"},
            id="button-reply",
        ),
        pytest.param(
            {
                "type": "list_reply",
                "list_reply": {
                    "id": "priority_express",
                    "title": "Priority Mail Express",
                    "description": "Next Day to 2 Days",
                },
            },
            "Priority Mail Express",
            {
                "replyType": "list_reply",
                "replyId": "priority_express",
                "replyDescription": "Next Day to 2 Days",
            },
            id="list-reply",
        ),
    ],
)
def test_an_interactive_reply_is_text_with_the_reply_id(
    channel, post_webhook, body, text, metadata
):
    message = inbound(
        "wamid.int", "interactive", body, context={"from": "15550783881", "id": "wamid.menu"}
    )
    post_signed(post_webhook, channel, notification(messages=[message]))

    received = _only_message()
    assert received.content == {"type": "text", "text": text}
    assert received.metadata == metadata


def test_a_template_quick_reply_is_text_with_its_payload(channel, post_webhook):
    message = inbound(
        "wamid.btn",
        "button",
        {"payload": "TRACK_ORDER", "text": "Track my order"},
        context={"from": "15550783881", "id": "wamid.template"},
    )
    post_signed(post_webhook, channel, notification(messages=[message]))

    received = _only_message()
    assert received.content == {"type": "text", "text": "Track my order"}
    assert received.metadata == {"replyType": "button", "replyId": "TRACK_ORDER"}


def test_a_shared_contact_card_is_text_with_the_card_in_metadata(channel, post_webhook):
    card = {
        "name": {"formatted_name": "Barbara Johnson", "first_name": "Barbara"},
        "phones": [{"phone": "+1 (940) 555-1234", "type": "HOME", "wa_id": "19405551234"}],
    }
    message = inbound("wamid.card", "contacts", contacts=[card])
    post_signed(post_webhook, channel, notification(messages=[message]))

    received = _only_message()
    assert received.content == {"type": "text", "text": "Barbara Johnson: +1 (940) 555-1234"}
    assert received.metadata == {"contacts": [card]}


def test_a_reaction_is_added_then_removed(channel, post_webhook):
    ours = _our_message(channel, "wamid.target")
    add = inbound("wamid.r1", "reaction", {"message_id": "wamid.target", "emoji": "😀"})
    post_signed(post_webhook, channel, notification(messages=[add]))

    reaction = Reaction.objects.get(message=ours)
    assert reaction.emoji == "😀"
    assert reaction.actor_contact.phone == f"+{CUSTOMER}"
    assert reaction.removed_at is None

    # Removing a reaction: the same webhook without `emoji`.
    remove = inbound("wamid.r2", "reaction", {"message_id": "wamid.target"})
    post_signed(post_webhook, channel, notification(messages=[remove]))

    reaction.refresh_from_db()
    assert reaction.removed_at is not None
    # A reaction is not a message.
    assert not Message.objects.filter(direction="inbound").exists()


def test_the_same_webhook_five_times_makes_one_message(channel, post_webhook):
    payload = notification(messages=[inbound("wamid.retry", "text", {"body": "Hello?"})])
    responses = [post_signed(post_webhook, channel, payload) for _ in range(5)]

    assert [r.status_code for r in responses] == [200] * 5
    assert Message.objects.filter(provider_message_id="wamid.retry").count() == 1
    conversation = Conversation.objects.get()
    assert conversation.message_count == 1
    assert conversation.unread_count == 1


# --- Refusals and things we do not record --------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="missing"),
        pytest.param({"X-Hub-Signature-256": "sha256=" + "0" * 64}, id="wrong"),
        pytest.param("other-secret", id="signed-with-another-secret"),
    ],
)
def test_a_bad_signature_is_401_and_records_nothing(channel, post_webhook, headers):
    body = json.dumps(
        notification(messages=[inbound("wamid.forged", "text", {"body": "Send me money"})])
    ).encode()
    if isinstance(headers, str):
        headers = {"X-Hub-Signature-256": sign(body, headers)}
    response = post_webhook(channel, body, headers=headers)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "INVALID_SIGNATURE"
    assert Message.objects.count() == 0
    assert Contact.objects.count() == 0


def test_a_signature_over_other_bytes_is_refused(channel, post_webhook):
    signed = json.dumps(notification(messages=[inbound("wamid.a", "text", {"body": "a"})]))
    tampered = signed.replace('"a"}', '"b"}').encode()
    response = post_webhook(
        channel, tampered, headers={"X-Hub-Signature-256": sign(signed.encode())}
    )

    assert response.status_code == 401
    assert Message.objects.count() == 0


def test_the_subscription_handshake_echoes_the_challenge(channel, get_webhook):
    good = get_webhook(
        channel,
        {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"},
    )
    bad = get_webhook(
        channel,
        {"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1158201444"},
    )

    assert good.status_code == 200
    assert good.content == b"1158201444"
    assert bad.status_code == 403
    assert b"1158201444" not in bad.content


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(
            {
                "object": "whatsapp_business_account",
                "entry": [
                    {
                        "id": "102290129340398",
                        "changes": [
                            {
                                "field": "message_template_status_update",
                                "value": {
                                    "event": "APPROVED",
                                    "message_template_id": 1234,
                                    "message_template_name": "order_update",
                                    "message_template_language": "en_US",
                                    "reason": "NONE",
                                },
                            }
                        ],
                    }
                ],
            },
            id="unknown-field",
        ),
        pytest.param({"object": "page", "entry": []}, id="other-object"),
        pytest.param(
            notification(
                messages=[inbound("wamid.x", "text", {"body": "for another number"})],
                phone_number_id="999999999999999",
            ),
            id="another-phone-number",
        ),
        pytest.param(
            notification(
                messages=[
                    inbound(
                        "wamid.unsup",
                        "unsupported",
                        errors=[
                            {
                                "code": 131051,
                                "title": "Message type unknown",
                                "message": "Message type unknown",
                                "error_data": {
                                    "details": "Message type is currently not supported."
                                },
                            }
                        ],
                    )
                ]
            ),
            id="unsupported-message-type",
        ),
    ],
)
def test_events_we_do_not_handle_are_acknowledged_and_not_recorded(channel, post_webhook, payload):
    response = post_signed(post_webhook, channel, payload)

    assert response.status_code == 200
    assert Message.objects.count() == 0
    assert Contact.objects.count() == 0
    assert EarlyStatusReport.objects.count() == 0


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]"])
def test_a_signed_body_that_is_not_a_json_object_is_400(channel, post_webhook, body):
    response = post_signed(post_webhook, channel, body)

    assert response.status_code == 400
    assert Message.objects.count() == 0
