"""The SSRF guard on webhook URLs, in production mode and in development mode.

Production mode is `settings.IS_PRODUCTION = True` with private URLs not
allowed. Public destinations are IP literals, so no test needs a DNS server;
one test feeds `socket.getaddrinfo` a mixed answer to show that one private
address among public ones is enough to refuse.
"""

from __future__ import annotations

import socket

import pytest

from messaging.models import WebhookDelivery
from messaging.services.webhooks import create_webhook, send_test_webhook, update_webhook
from messaging.webhooks.errors import InvalidWebhookUrl
from messaging.webhooks.urls import check_destination, validate_webhook_url


@pytest.fixture
def production(settings):
    settings.IS_PRODUCTION = True
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    return settings


REFUSED_IN_PRODUCTION = [
    ("http://93.184.216.34/hook", "https"),
    ("https://127.0.0.1/hook", "loopback"),
    ("https://127.8.9.10:8443/hook", "loopback"),
    ("https://localhost/hook", "loopback"),
    ("https://[::1]/hook", "loopback"),
    ("https://[::ffff:127.0.0.1]/hook", "loopback"),
    ("https://2130706433/hook", "loopback"),  # 127.0.0.1 written as one number
    ("https://10.0.0.5/hook", "private"),
    ("https://172.16.3.4/hook", "private"),
    ("https://192.168.1.20/hook", "private"),
    ("https://169.254.169.254/latest/meta-data", "link-local"),
    ("https://[fe80::1]/hook", "link-local"),
    ("https://0.0.0.0/hook", "unspecified"),
    ("https://224.0.0.1/hook", "multicast"),
    ("https://100.64.0.1/hook", "non-public"),
]


@pytest.mark.parametrize(("url", "reason"), REFUSED_IN_PRODUCTION)
def test_production_refuses_http_and_internal_addresses(production, url, reason):
    with pytest.raises(InvalidWebhookUrl) as caught:
        validate_webhook_url(url)
    assert caught.value.code == "INVALID_URL"
    assert caught.value.details[0]["field"] == "url"
    assert reason in caught.value.message


def test_production_accepts_a_public_https_address(production):
    assert (
        validate_webhook_url("https://93.184.216.34/hook?x=1") == "https://93.184.216.34/hook?x=1"
    )
    destination = check_destination("https://93.184.216.34:8443/hook?x=1")
    # Delivery connects to the checked address, not to a second DNS answer.
    assert destination.address == "93.184.216.34"
    assert (destination.port, destination.path) == (8443, "/hook?x=1")


def test_one_private_address_among_public_ones_is_enough_to_refuse(production, monkeypatch):
    def resolve(host, port, *args, **kwargs):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    with pytest.raises(InvalidWebhookUrl, match="private"):
        validate_webhook_url("https://hooks.example.com/x")


def test_an_unresolvable_host_is_refused_in_production(production, monkeypatch):
    def fail(*args, **kwargs):
        raise socket.gaierror("no such host")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    with pytest.raises(InvalidWebhookUrl, match="could not be resolved"):
        validate_webhook_url("https://nowhere.example/x")


@pytest.mark.parametrize(
    "url",
    [
        "",
        "not a url",
        "ftp://93.184.216.34/x",
        "https:///nohost",
        "https://user:pass@93.184.216.34/x",
        "https://93.184.216.34:99999/x",
        "https://" + "a" * 2000 + ".com/",
    ],
)
def test_malformed_urls_are_refused_everywhere(url):
    with pytest.raises(InvalidWebhookUrl):
        validate_webhook_url(url)


def test_development_allows_http_and_local_servers(settings):
    settings.IS_PRODUCTION = False
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    assert validate_webhook_url("http://127.0.0.1:8000/hook") == "http://127.0.0.1:8000/hook"
    assert check_destination("http://localhost:8000/hook").address is None


def test_production_with_private_urls_allowed_still_requires_https(settings):
    settings.IS_PRODUCTION = True
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    assert validate_webhook_url("https://127.0.0.1/hook")
    with pytest.raises(InvalidWebhookUrl, match="https"):
        validate_webhook_url("http://127.0.0.1/hook")


def test_services_refuse_on_create_and_update(production, workspace):
    with pytest.raises(InvalidWebhookUrl):
        create_webhook(workspace=workspace, url="https://10.0.0.1/x", events=["*"])
    webhook = create_webhook(workspace=workspace, url="https://93.184.216.34/x", events=["*"])
    with pytest.raises(InvalidWebhookUrl):
        update_webhook(webhook=webhook, url="https://169.254.169.254/")
    webhook.refresh_from_db()
    assert webhook.url == "https://93.184.216.34/x"


def test_delivery_rechecks_the_url_and_sends_nothing_to_a_now_internal_address(settings, workspace):
    # Saved while local URLs were allowed (or DNS pointed elsewhere) ...
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    webhook = create_webhook(workspace=workspace, url="https://127.0.0.1:9/x", events=["*"])
    # ... and delivered in production mode: refused before any connection.
    settings.IS_PRODUCTION = True
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    delivery = send_test_webhook(webhook=webhook)
    assert delivery.status == "failed"
    assert delivery.response_status_code is None
    assert delivery.error.startswith("Refused: ") and "loopback" in delivery.error
    assert WebhookDelivery.objects.get().duration_ms == 0
