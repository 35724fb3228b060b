"""WhatsApp reactions from agents, and the credentials check, against the stand-in."""

from __future__ import annotations

import pytest

from channels_app.models import Channel
from channels_app.services import check_channel
from messaging.services.reactions import react_to_message
from tests.channels_app.providers.whatsapp_support import (
    ACCESS_TOKEN,
    API_PREFIX,
    CUSTOMER,
    PHONE_NUMBER_ID,
    answer_sends,
    customer_wrote,
    graph_error,
    last_json,
    whatsapp_channel,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def channel(provider_channel, httpserver):
    return whatsapp_channel(provider_channel, httpserver)


def test_an_agents_reaction_and_its_removal_reach_whatsapp(
    channel, agent, httpserver, django_capture_on_commit_callbacks
):
    message = customer_wrote(channel, "Thanks!", provider_message_id="wamid.thanks")
    answer_sends(httpserver, "wamid.reaction")

    with django_capture_on_commit_callbacks(execute=True):
        react_to_message(message=message, reaction="👍", actor_user=agent)
    added = last_json(httpserver)
    with django_capture_on_commit_callbacks(execute=True):
        react_to_message(message=message, reaction="👍", operation="remove", actor_user=agent)
    removed = last_json(httpserver)

    envelope = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": CUSTOMER}
    assert added == {
        **envelope,
        "type": "reaction",
        "reaction": {"message_id": "wamid.thanks", "emoji": "👍"},
    }
    # An empty emoji is how the Cloud API removes a reaction.
    assert removed == {
        **envelope,
        "type": "reaction",
        "reaction": {"message_id": "wamid.thanks", "emoji": ""},
    }
    assert len(httpserver.log) == 2
    assert httpserver.log[0][0].headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"


# --- check --------------------------------------------------------------------------

PHONE_PATH = f"{API_PREFIX}/{PHONE_NUMBER_ID}"


def test_check_reads_the_phone_number_with_the_token(channel, httpserver):
    httpserver.expect_request(
        PHONE_PATH,
        method="GET",
        query_string={"fields": "display_phone_number,verified_name"},
        headers={"Authorization": f"Bearer {ACCESS_TOKEN}"},
    ).respond_with_json(
        {
            "verified_name": "Acme Support",
            "display_phone_number": "+1 555-078-3881",
            "id": PHONE_NUMBER_ID,
        }
    )
    channel.status = Channel.Status.ERROR
    channel.save(update_fields=["status"])

    result = check_channel(channel=channel)

    assert result.ok, result.error
    assert len(httpserver.log) == 1
    channel.refresh_from_db()
    assert channel.status == Channel.Status.ACTIVE


@pytest.mark.parametrize(
    ("status", "body"),
    [
        pytest.param(
            401,
            graph_error(190, "Error validating access token: Session has expired."),
            id="expired-token",
        ),
        pytest.param(
            400,
            graph_error(
                100,
                "Unsupported get request. Object with ID '106540352242922' does not exist, "
                "cannot be loaded due to missing permissions, or does not support this operation.",
                error_subcode=33,
            ),
            id="unknown-phone-number-id",
        ),
    ],
)
def test_refused_credentials_are_rejected(channel, httpserver, status, body):
    httpserver.expect_request(PHONE_PATH, method="GET").respond_with_json(body, status=status)

    result = check_channel(channel=channel)

    assert not result.ok
    assert result.rejected
    assert body["error"]["message"] in result.error
    channel.refresh_from_db()
    assert channel.status == Channel.Status.ERROR


def test_a_meta_outage_is_not_a_rejection(channel, httpserver):
    httpserver.expect_request(PHONE_PATH, method="GET").respond_with_json(
        graph_error(2, "Service temporarily unavailable"), status=503
    )

    result = check_channel(channel=channel)

    assert not result.ok
    assert not result.rejected
    channel.refresh_from_db()
    assert channel.status == Channel.Status.ACTIVE
