"""Channel admin: writes through channels_app.services, and secrets never reach a page."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from channels_app.capabilities import MASK
from channels_app.models import Channel
from inbox.models import User
from messaging.models import OutboxEvent
from tests.test_admin_site import form_data

ACCESS_TOKEN = "EAAG-very-secret-access-token-1234567890"
APP_SECRET = "app-secret-0f9e8d7c6b5a"


@pytest.fixture
def operator(db) -> User:
    return User.objects.create_superuser(email="ops@inbox.test", password="ops-password-123")


@pytest.fixture
def ops_client(client, operator):
    client.force_login(operator)
    return client


@pytest.fixture
def secret_channel(workspace, make_channel) -> Channel:
    return make_channel(
        workspace,
        config={"accessToken": ACCESS_TOKEN, "appSecret": APP_SECRET, "phoneNumberId": "1098"},
    )


def _events(name: str) -> list[OutboxEvent]:
    return list(OutboxEvent.objects.filter(event=name))


def _assert_no_secret(html: str) -> None:
    assert ACCESS_TOKEN not in html
    assert APP_SECRET not in html


def test_changelist_and_change_page_never_show_secrets(ops_client, secret_channel):
    changelist = ops_client.get(reverse("admin:channels_app_channel_changelist"))
    change = ops_client.get(reverse("admin:channels_app_channel_change", args=[secret_channel.pk]))
    for response in (changelist, change):
        assert response.status_code == 200
        html = response.content.decode()
        _assert_no_secret(html)
        assert MASK in html
    # The form's config field starts from the masked config.
    form = change.context["adminform"].form
    assert json.loads(form["config"].value())["accessToken"] == MASK
    assert "1098" in change.content.decode()


def test_view_only_staff_see_the_masked_config_too(client, secret_channel):
    viewer = User.objects.create_user(email="viewer@inbox.test", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_channel"))
    client.force_login(viewer)
    response = client.get(reverse("admin:channels_app_channel_change", args=[secret_channel.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    _assert_no_secret(html)
    assert MASK in html
    # Without the change permission there are no service actions either.
    changelist = client.get(reverse("admin:channels_app_channel_changelist"))
    assert "activate_channels" not in changelist.content.decode()


def test_secrets_cannot_be_probed_through_changelist_filters(ops_client, secret_channel):
    response = ops_client.get(
        reverse("admin:channels_app_channel_changelist"),
        {"config__accessToken__startswith": "EAAG"},
    )
    assert response.status_code == 400


def test_saving_with_the_mask_keeps_the_secret(ops_client, secret_channel):
    url = reverse("admin:channels_app_channel_change", args=[secret_channel.pk])
    page = ops_client.get(url)
    response = ops_client.post(url, form_data(page, name="Support line"))
    assert response.status_code == 302

    secret_channel.refresh_from_db()
    assert secret_channel.name == "Support line"
    assert secret_channel.config["accessToken"] == ACCESS_TOKEN
    assert secret_channel.config["appSecret"] == APP_SECRET
    # update_channel ran: it is the only writer of channel.updated events.
    [event] = _events("channel.updated")
    assert event.data["attributes"]["name"] == "Support line"
    assert ACCESS_TOKEN not in json.dumps(event.data)


def test_config_edits_replace_remove_and_add_keys(ops_client, secret_channel):
    url = reverse("admin:channels_app_channel_change", args=[secret_channel.pk])
    page = ops_client.get(url)
    config = {
        "accessToken": "EAAG-rotated-token",  # replaced
        "appSecret": MASK,  # kept
        "sandbox": True,  # kept (was there)
        "phoneNumber": "+15550001111",
        "webhookSecret": "new-webhook-secret",  # added
        # phoneNumberId removed
    }
    response = ops_client.post(url, form_data(page, config=json.dumps(config)))
    assert response.status_code == 302

    secret_channel.refresh_from_db()
    assert secret_channel.config == {
        "accessToken": "EAAG-rotated-token",
        "appSecret": APP_SECRET,
        "sandbox": True,
        "phoneNumber": "+15550001111",
        "webhookSecret": "new-webhook-secret",
    }
    html = ops_client.get(url).content.decode()
    assert "EAAG-rotated-token" not in html
    assert "new-webhook-secret" not in html


def test_config_must_be_an_object(ops_client, secret_channel):
    url = reverse("admin:channels_app_channel_change", args=[secret_channel.pk])
    page = ops_client.get(url)
    response = ops_client.post(url, form_data(page, config="[1, 2]"))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["config"]
    secret_channel.refresh_from_db()
    assert secret_channel.config["accessToken"] == ACCESS_TOKEN


def test_add_calls_create_channel(ops_client, workspace):
    response = ops_client.post(
        reverse("admin:channels_app_channel_add"),
        {
            "workspace": workspace.pk,
            "type": "telegram",
            "name": "Support bot",
            "status": "active",
            "config": json.dumps({"botToken": "123456:telegram-bot-secret"}),
            "metadata": "{}",
        },
    )
    assert response.status_code == 302
    channel = Channel.objects.get(name="Support bot")
    assert channel.config == {"botToken": "123456:telegram-bot-secret"}
    assert [e.data["id"] for e in _events("channel.created")] == [channel.public_id]

    changelist = ops_client.get(reverse("admin:channels_app_channel_changelist"))
    assert "telegram-bot-secret" not in changelist.content.decode()


def test_deactivate_and_activate_actions_call_set_channel_status(ops_client, secret_channel):
    url = reverse("admin:channels_app_channel_changelist")
    response = ops_client.post(
        url, {"action": "deactivate_channels", "_selected_action": [secret_channel.pk]}
    )
    assert response.status_code == 302
    secret_channel.refresh_from_db()
    assert secret_channel.status == Channel.Status.INACTIVE
    assert "ops@inbox.test" in secret_channel.status_reason
    assert len(_events("channel.deactivated")) == 1

    ops_client.post(url, {"action": "activate_channels", "_selected_action": [secret_channel.pk]})
    secret_channel.refresh_from_db()
    assert secret_channel.status == Channel.Status.ACTIVE
    assert len(_events("channel.activated")) == 1
