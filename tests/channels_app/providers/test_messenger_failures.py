"""Messenger send failures and channel checks against a local Graph API stand-in.

Meta answers errors as `{"error": {"message", "type", "code", "error_subcode",
"fbtrace_id"}}`: codes such as 10 (outside the window) and 551 (person
unavailable) fail the message with Meta's code and message; throttling
(4, 613), 5xx, 429 and unreachable hosts leave it pending for a retry.
"""

from __future__ import annotations

from functools import partial

import pytest
from django.utils import timezone

from channels_app.services import check_channel
from messaging.services import deliver_message, send_message
from tests.channels_app.providers.meta_support import MESSENGER

PAGE_ID = MESSENGER.id
PSID = MESSENGER.customer
SEND_PATH = MESSENGER.send_path
AUTH = MESSENGER.auth


@pytest.fixture
def messenger(provider_channel, httpserver):
    return MESSENGER.channel(provider_channel, httpserver)


@pytest.fixture
def inbound(messenger):
    """The customer's message that opened the 24-hour window."""
    return MESSENGER.customer_wrote(messenger, "Is my order on its way?", mid="m_inbound_1")


@pytest.fixture
def deliver(send_on_commit, inbound):
    """Send `content` in the customer's conversation; the delivery task runs on commit."""
    return partial(send_on_commit, conversation=inbound.conversation)


PERMANENT_ERRORS = [
    (
        {
            "message": "(#10) This message is sent outside of allowed window.",
            "type": "OAuthException",
            "code": 10,
            "error_subcode": 2018278,
            "fbtrace_id": "AbCdEf",
        },
        "10",
        "(#10) This message is sent outside of allowed window.",
    ),
    (
        {
            "message": "(#551) This person isn't available right now.",
            "type": "OAuthException",
            "code": 551,
            "error_subcode": 1545041,
            "fbtrace_id": "AbCdEg",
        },
        "551",
        "(#551) This person isn't available right now.",
    ),
]


@pytest.mark.parametrize("error,code,reason", PERMANENT_ERRORS, ids=["window", "unavailable"])
def test_a_permanent_graph_error_fails_the_message_with_metas_code(
    httpserver, deliver, error, code, reason
):
    httpserver.expect_request(SEND_PATH, method="POST").respond_with_json(
        {"error": error}, status=400
    )
    sent = deliver({"type": "text", "text": "Hello"})
    assert len(httpserver.log) == 1  # permanent: never retried
    assert sent.status == "failed"
    assert sent.failure_code == code
    assert sent.failure_reason == reason


@pytest.fixture
def pending(workspace, inbound):
    """A queued message whose delivery we run by hand, one attempt at a time."""
    return send_message(
        workspace=workspace,
        conversation=inbound.conversation,
        content={"type": "text", "text": "Hi"},
    )


@pytest.mark.parametrize(
    "status,body,code",
    [
        (
            400,
            {
                "error": {
                    "message": "(#613) Calls to this api have exceeded the rate limit.",
                    "code": 613,
                }
            },
            "613",
        ),
        (500, {"error": {"message": "An unexpected error has occurred.", "code": 2}}, "2"),
        (503, {}, "HTTP_503"),
    ],
    ids=["throttled", "graph-5xx", "plain-5xx"],
)
def test_throttling_and_5xx_stay_pending_for_a_retry(httpserver, pending, status, body, code):
    httpserver.expect_request(SEND_PATH, method="POST").respond_with_json(body, status=status)
    before = timezone.now()
    result = deliver_message(message_pk=pending.pk)
    pending.refresh_from_db()
    assert result.retryable
    assert pending.status == "pending"
    assert pending.failure_code == code
    assert pending.next_attempt_at > before


def test_429_waits_as_long_as_retry_after_says(httpserver, pending):
    httpserver.expect_request(SEND_PATH, method="POST").respond_with_data(
        "Too Many Requests", status=429, headers={"Retry-After": "120"}
    )
    before = timezone.now()
    deliver_message(message_pk=pending.pk)
    pending.refresh_from_db()
    assert pending.status == "pending"
    wait = (pending.next_attempt_at - before).total_seconds()
    assert 119 <= wait <= 125


def test_an_unreachable_api_is_retried(pending, messenger):
    messenger.config = {**messenger.config, "apiBaseUrl": "http://127.0.0.1:9/v21.0"}
    messenger.save(update_fields=["config"])
    result = deliver_message(message_pk=pending.pk)
    pending.refresh_from_db()
    assert result.retryable
    assert pending.status == "pending"
    assert pending.failure_code == "PROVIDER_UNREACHABLE"


def test_a_200_without_message_id_fails_instead_of_guessing(httpserver, pending):
    httpserver.expect_request(SEND_PATH, method="POST").respond_with_json({"recipient_id": PSID})
    deliver_message(message_pk=pending.pk)
    pending.refresh_from_db()
    assert pending.status == "failed"
    assert pending.failure_code == "UNEXPECTED_RESPONSE"


def test_check_reads_the_page_with_the_token(httpserver, messenger):
    httpserver.expect_request(
        f"/v21.0/{PAGE_ID}", method="GET", query_string="fields=id,name", headers=AUTH
    ).respond_with_json({"id": PAGE_ID, "name": "Acme Shoes"})
    result = check_channel(channel=messenger)
    httpserver.check_assertions()
    assert result.ok


def test_check_with_a_bad_token_is_rejected(httpserver, messenger):
    httpserver.expect_request(f"/v21.0/{PAGE_ID}", method="GET").respond_with_json(
        {
            "error": {
                "message": "Invalid OAuth access token - Cannot parse access token",
                "type": "OAuthException",
                "code": 190,
            }
        },
        status=400,
    )
    result = check_channel(channel=messenger)
    messenger.refresh_from_db()
    assert not result.ok and result.rejected
    assert "Invalid OAuth access token" in result.error
    assert messenger.status == "error"
