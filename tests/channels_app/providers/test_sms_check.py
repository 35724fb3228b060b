"""`check` for an SMS channel: Twilio's Account resource, fetched from a local stand-in."""

from __future__ import annotations

from functools import partial

import pytest

from channels_app.services import check_channel
from tests.channels_app.providers.sms_support import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    basic_auth,
    twilio_channel,
    twilio_error,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def sms_channel(provider_channel, httpserver):
    return partial(twilio_channel, provider_channel, httpserver)


ACCOUNT_PATH = f"/2010-04-01/Accounts/{ACCOUNT_SID}.json"


def account(status: str) -> dict:
    return {
        "auth_token": "[Redacted]",
        "date_created": "Thu, 24 Aug 2023 05:01:45 +0000",
        "date_updated": "Thu, 24 Aug 2023 05:01:45 +0000",
        "friendly_name": "Acme",
        "owner_account_sid": ACCOUNT_SID,
        "sid": ACCOUNT_SID,
        "status": status,
        "type": "Full",
        "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}.json",
    }


def test_check_fetches_the_account_with_the_channels_credentials(sms_channel, httpserver):
    channel = sms_channel()
    httpserver.expect_request(ACCOUNT_PATH, method="GET").respond_with_json(account("active"))

    result = check_channel(channel=channel)

    assert result.ok
    assert httpserver.log[0][0].headers["Authorization"] == basic_auth()


@pytest.mark.parametrize(
    ("status", "body", "rejected", "error"),
    [
        (401, twilio_error(20003, "Authenticate", 401), True, "HTTP 401: Authenticate (20003)"),
        (
            404,
            twilio_error(20404, "The requested resource was not found", 404),
            True,
            "HTTP 404: The requested resource was not found (20404)",
        ),
        (200, account("suspended"), True, "The Twilio account is suspended."),
        (503, {}, False, "HTTP 503"),
    ],
)
def test_check_failures_say_whether_the_config_is_wrong(
    sms_channel, httpserver, status, body, rejected, error
):
    channel = sms_channel()
    httpserver.expect_request(ACCOUNT_PATH, method="GET").respond_with_json(body, status=status)

    result = check_channel(channel=channel)

    assert not result.ok
    assert result.rejected is rejected
    assert error in result.error
    assert AUTH_TOKEN not in result.error
