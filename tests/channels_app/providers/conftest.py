"""Fixtures for provider tests: real channels, and posting to their webhook URL.

Outbound requests go to `pytest_httpserver`'s `httpserver` (a real local HTTP
server that plays the provider); inbound webhooks are posted through
Django's test client to the channel's real webhook path.
"""

from __future__ import annotations

import pytest
from django.test import Client

from channels_app.links import channel_webhook_path, channel_webhook_url
from channels_app.models import Channel
from messaging.models import Message
from messaging.services import send_message


@pytest.fixture
def provider_channel(db, workspace):
    """Make an active, non-sandbox channel of `type` with `config`."""

    def make(type: str, config: dict, **kwargs) -> Channel:
        return Channel.objects.create(
            workspace=workspace,
            type=type,
            name=kwargs.pop("name", f"{type} test"),
            status=kwargs.pop("status", Channel.Status.ACTIVE),
            config=config,
            **kwargs,
        )

    return make


@pytest.fixture
def send_on_commit(workspace, django_capture_on_commit_callbacks):
    """`send_message(content=..., **kwargs)` in the workspace, its delivery task run on commit.

    Answers the Message as delivery left it.
    """

    def send(content: dict, **kwargs) -> Message:
        with django_capture_on_commit_callbacks(execute=True):
            message = send_message(workspace=workspace, content=content, **kwargs)
        message.refresh_from_db()
        return message

    return send


@pytest.fixture
def post_webhook():
    """POST raw bytes to a channel's webhook path; answers the Django response."""
    client = Client()

    def post(
        channel: Channel,
        body: bytes,
        *,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
        query: str = "",
    ):
        path = channel_webhook_path(channel) + (f"?{query}" if query else "")
        return client.generic("POST", path, body, content_type=content_type, headers=headers or {})

    return post


@pytest.fixture
def get_webhook():
    client = Client()

    def get(channel: Channel, params: dict[str, str]):
        return client.get(channel_webhook_path(channel), params)

    return get


@pytest.fixture
def webhook_url():
    """The absolute URL a provider is given (and signs): SITE_URL + path."""
    return channel_webhook_url
