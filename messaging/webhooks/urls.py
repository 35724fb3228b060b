"""The SSRF guard for webhook endpoint URLs.

An endpoint URL makes our workers send requests, so a tenant must not point
it at our own network: in production only https is accepted, and a URL whose
host resolves to ANY loopback, private, link-local, multicast, reserved,
unspecified or otherwise non-global address is refused. The check runs when
the URL is saved and again before every delivery (DNS can change in between);
`transport` then connects to the address checked here, so a second DNS answer
cannot swap in an internal one (DNS rebinding).

`settings.WEBHOOK_ALLOW_PRIVATE_URLS` (true outside production) lifts the
address check so development and tests can deliver to local servers.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from django.conf import settings

from messaging.webhooks.errors import InvalidWebhookUrl

MAX_URL_LENGTH = 2000


@dataclass(frozen=True)
class Destination:
    """Where a delivery connects: the URL's parts and, when checked, the address to use."""

    scheme: str
    host: str
    port: int
    path: str
    # The checked IP to connect to; None when private URLs are allowed and
    # the system resolver picks the address.
    address: str | None


def _parts(url: str) -> SplitResult:
    if not isinstance(url, str) or not url.strip():
        raise InvalidWebhookUrl("Give the URL the events are sent to.")
    if len(url) > MAX_URL_LENGTH:
        raise InvalidWebhookUrl(f"The URL is longer than {MAX_URL_LENGTH} characters.")
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise InvalidWebhookUrl("The URL is not valid.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidWebhookUrl("The URL must be an absolute http(s) URL, e.g. https://...")
    if settings.IS_PRODUCTION and parts.scheme != "https":
        raise InvalidWebhookUrl("The URL must use https.")
    if parts.username is not None or parts.password is not None:
        # `https://trusted@evil.example` reads as one host and is another.
        raise InvalidWebhookUrl("The URL must not carry a user name or password.")
    if any(c.isspace() for c in url.strip()):
        raise InvalidWebhookUrl("The URL must not contain spaces.")
    return parts


def _refusal(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why an address is not a public destination, or None if it is one."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for label, flag in (
        # Most specific first: Python counts link-local and 0.0.0.0 as private too.
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("unspecified", ip.is_unspecified),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
    ):
        if flag:
            return label
    if not ip.is_global:
        # Shared (100.64.0.0/10), benchmarking and other special ranges.
        return "non-public"
    return None


def resolve_public_addresses(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, refusing the URL if any is not public.

    Refusing on ANY bad answer (not just the first) closes the trick of a name
    that resolves to a public and a private address at once.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        raise InvalidWebhookUrl(f"The host {host} could not be resolved.") from None
    addresses: list[str] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        text = str(sockaddr[0]).split("%", 1)[0]  # drop an IPv6 zone id
        ip = ipaddress.ip_address(text)
        reason = _refusal(ip)
        if reason:
            raise InvalidWebhookUrl(
                f"The URL resolves to a {reason} address ({ip}); webhooks must "
                "point at a public internet address."
            )
        if text not in addresses:
            addresses.append(text)
    if not addresses:
        raise InvalidWebhookUrl(f"The host {host} could not be resolved.")
    return addresses


def validate_webhook_url(url: str) -> str:
    """The URL, stripped, if it may be stored; raises InvalidWebhookUrl (400 INVALID_URL)."""
    check_destination(url)
    return url.strip()


def check_destination(url: str) -> Destination:
    """Validate `url` now and answer where to connect."""
    parts = _parts(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = None
    if not settings.WEBHOOK_ALLOW_PRIVATE_URLS:
        address = resolve_public_addresses(parts.hostname, port)[0]
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Destination(
        scheme=parts.scheme, host=parts.hostname, port=port, path=path, address=address
    )
