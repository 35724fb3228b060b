"""Telegram channel setup: getMe as the check, setWebhook on activation, the secret token."""

from __future__ import annotations

import re

import pytest

from channels_app.capabilities import MASK
from channels_app.links import channel_webhook_url
from channels_app.models import Channel
from channels_app.services import ChannelActivationFailed, activate_channel, check_channel
from inbox.services import create_api_key
from messaging.models import Message, OutboxEvent
from tests.channels_app.providers.telegram_support import (
    BOT,
    BOT_TOKEN,
    body,
    error,
    incoming,
    method_path,
    ok,
    requests_to,
    telegram_channel,
)
from tests.messaging.api.conftest import Api


@pytest.fixture
def capi(workspace) -> Api:
    return Api(create_api_key(workspace=workspace, name="tests")[1])


@pytest.fixture
def pending(provider_channel, httpserver) -> Channel:
    """A new bot channel: credentials given, no webhook registered yet."""
    return provider_channel(
        "telegram",
        {"botToken": BOT_TOKEN, "apiBaseUrl": httpserver.url_for("/")},
        status=Channel.Status.PENDING,
    )


def answer(httpserver, method: str, payload: dict, status: int = 200) -> None:
    httpserver.expect_request(method_path(method), method="POST").respond_with_json(
        payload, status=status
    )


# --- check: getMe -------------------------------------------------------------------


def test_check_asks_get_me(httpserver, provider_channel):
    channel = telegram_channel(provider_channel, httpserver)
    answer(httpserver, "getMe", ok({**BOT, "can_join_groups": True}))
    result = check_channel(channel=channel)
    assert result.ok and not result.rejected
    assert requests_to(httpserver, "getMe") == [{}]


@pytest.mark.parametrize(("status", "description"), [(401, "Unauthorized"), (404, "Not Found")])
def test_a_refused_token_puts_the_channel_in_error(
    httpserver, provider_channel, status, description
):
    channel = telegram_channel(provider_channel, httpserver)
    answer(httpserver, "getMe", error(status, description), status=status)
    result = check_channel(channel=channel)
    assert (result.ok, result.rejected) == (False, True)
    assert result.error == f"TELEGRAM_{status}: {description}"
    channel.refresh_from_db()
    assert channel.status == "error"


def test_an_outage_during_the_check_changes_nothing(httpserver, provider_channel):
    channel = telegram_channel(provider_channel, httpserver)
    answer(httpserver, "getMe", error(502, "Bad Gateway"), status=502)
    result = check_channel(channel=channel)
    assert (result.ok, result.rejected) == (False, False)
    channel.refresh_from_db()
    assert channel.status == "active"


# --- activate: setWebhook -------------------------------------------------------------


def test_activation_registers_the_webhook_with_a_new_secret(
    httpserver, capi, pending, post_webhook
):
    answer(httpserver, "setWebhook", ok(True))
    status, response = capi.post(f"/channels/{pending.public_id}/activate")
    assert status == 200, response
    attributes = response["data"]["attributes"]
    assert attributes["status"] == "active"
    assert attributes["config"]["webhookSecret"] == MASK
    assert attributes["config"]["botToken"] == MASK

    [registered] = requests_to(httpserver, "setWebhook")
    secret = registered.pop("secret_token")
    assert re.fullmatch(r"[A-Za-z0-9_-]{32,256}", secret)
    assert registered == {
        "url": channel_webhook_url(pending),
        "allowed_updates": ["message", "edited_message", "callback_query", "message_reaction"],
        "drop_pending_updates": False,
    }
    pending.refresh_from_db()
    assert pending.status == "active"
    assert pending.config["webhookSecret"] == secret
    assert OutboxEvent.objects.filter(event="channel.activated").count() == 1

    # Telegram's deliveries carry that secret, and are accepted with it.
    response = post_webhook(
        pending,
        body(incoming(text="Hi")),
        headers={"X-Telegram-Bot-Api-Secret-Token": secret},
    )
    assert response.status_code == 200
    assert Message.objects.filter(channel=pending, text="Hi").count() == 1


def test_activation_keeps_an_existing_secret(httpserver, pending):
    Channel.objects.filter(pk=pending.pk).update(
        config={**pending.config, "webhookSecret": "kept_secret-1"}
    )
    pending.refresh_from_db()
    answer(httpserver, "getMe", ok(BOT))
    answer(httpserver, "setWebhook", ok(True))
    # A passing check activates a pending channel, registering the webhook.
    assert check_channel(channel=pending).ok
    assert requests_to(httpserver, "setWebhook")[0]["secret_token"] == "kept_secret-1"
    pending.refresh_from_db()
    assert (pending.status, pending.config["webhookSecret"]) == ("active", "kept_secret-1")


def test_a_refused_activation_puts_the_channel_in_error(httpserver, capi, pending):
    answer(httpserver, "setWebhook", error(401, "Unauthorized"), status=401)
    status, response = capi.post(f"/channels/{pending.public_id}/activate")
    assert status == 400
    assert response["error"]["code"] == "CHANNEL_ACTIVATION_FAILED"
    assert "Unauthorized" in response["error"]["message"]
    pending.refresh_from_db()
    assert pending.status == "error"
    assert "webhookSecret" not in pending.config
    assert OutboxEvent.objects.filter(event="channel.error").count() == 1


def test_an_https_url_refusal_is_reported_as_telegram_words_it(httpserver, pending):
    answer(
        httpserver,
        "setWebhook",
        error(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"),
        status=400,
    )
    with pytest.raises(ChannelActivationFailed) as caught:
        activate_channel(channel=pending)
    assert "An HTTPS URL must be provided" in caught.value.message


def test_an_outage_during_activation_leaves_the_channel_pending(httpserver, capi, pending):
    answer(httpserver, "setWebhook", error(502, "Bad Gateway"), status=502)
    status, response = capi.post(f"/channels/{pending.public_id}/activate")
    assert status == 503
    assert response["error"]["code"] == "PROVIDER_UNAVAILABLE"
    pending.refresh_from_db()
    assert pending.status == "pending"
    assert OutboxEvent.objects.filter(event="channel.error").count() == 0
