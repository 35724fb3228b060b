"""Twilio's request signature: `X-Twilio-Signature` on every webhook it sends.

Twilio's documented scheme (https://www.twilio.com/docs/usage/webhooks/webhooks-security):
take the full URL Twilio requested (scheme through query string); for a
form-encoded POST, append every parameter's name and value, sorted by name
(case-sensitive), with no separators; HMAC-SHA1 that string with the
account's Auth Token as the key; Base64-encode the digest.

Two details follow Twilio's own helper libraries (twilio-python's
RequestValidator), because Twilio's signing side behaves that way:
- the URL is tried both with and without its port, since Twilio is
  inconsistent about including a default port when signing;
- a JSON-bodied request carries a `bodySHA256` query parameter: the
  signature then covers the URL alone and the body must hash to that value.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections import defaultdict
from urllib.parse import parse_qs, parse_qsl, urlsplit, urlunsplit

from channels_app.providers.base import InboundRequest

SIGNATURE_HEADER = "X-Twilio-Signature"
_DEFAULT_PORTS = {"http": 80, "https": 443}


def compute_signature(auth_token: str, url: str, params: list[tuple[str, str]]) -> str:
    """Base64(HMAC-SHA1(auth_token, url + sorted name/value pairs))."""
    grouped: dict[str, list[str]] = defaultdict(list)
    for name, value in params:
        grouped[name].append(value)
    # A repeated name contributes each of its values, in sorted order.
    data = url + "".join(
        name + value for name in sorted(grouped) for value in sorted(grouped[name])
    )
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _url_variants(url: str) -> set[str]:
    """The URL as given, without its port, and with its scheme's default port."""
    parts = urlsplit(url)
    variants = {url}
    host = parts.hostname or ""
    netloc_host = parts.netloc.rsplit("@", 1)[-1]
    userinfo = parts.netloc[: len(parts.netloc) - len(netloc_host)]
    if parts.port is not None:
        bare = netloc_host.rsplit(":", 1)[0]
        variants.add(urlunsplit(parts._replace(netloc=userinfo + bare)))
    elif host and parts.scheme in _DEFAULT_PORTS:
        with_port = f"{userinfo}{netloc_host}:{_DEFAULT_PORTS[parts.scheme]}"
        variants.add(urlunsplit(parts._replace(netloc=with_port)))
    return variants


def is_valid(request: InboundRequest, auth_token: str) -> bool:
    """True when the request carries Twilio's signature for `auth_token`."""
    signature = request.header(SIGNATURE_HEADER).strip()
    if not signature or not auth_token:
        return False
    query = parse_qs(urlsplit(request.url).query)
    if "bodySHA256" in query:
        expected_hash = hashlib.sha256(request.body).hexdigest()
        if not hmac.compare_digest(expected_hash.encode(), query["bodySHA256"][0].encode()):
            return False
        params: list[tuple[str, str]] = []
    else:
        params = parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True)
    # Every variant is compared, so the time taken does not depend on which matched.
    given = signature.encode()
    matches = [
        hmac.compare_digest(compute_signature(auth_token, variant, params).encode(), given)
        for variant in sorted(_url_variants(request.url))
    ]
    return any(matches)
