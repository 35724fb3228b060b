"""Twilio's X-Twilio-Signature, checked against Twilio's documented example.

`twilio_signature` (in sms_support) is this test suite's own implementation
of the documented algorithm (https://www.twilio.com/docs/usage/security#validating-requests),
written apart from the provider's; the other SMS tests sign their webhooks
with it. It reproduces Twilio's published example before anything trusts it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import urlencode

import pytest

from channels_app.providers.base import InboundRequest
from channels_app.providers.sms.provider import TwilioSmsProvider
from tests.channels_app.providers.sms_support import twilio_signature

# Twilio's documented example: Auth Token, URL, POST parameters and signature.
DOC_TOKEN = "12345"
DOC_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
DOC_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+12349013030",
    "Digits": "1234",
    "From": "+12349013030",
    "To": "+18005551212",
}
DOC_SIGNATURE = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


def _request(url: str, params: dict[str, str], signature: str | None) -> InboundRequest:
    headers = {"content-type": "application/x-www-form-urlencoded"}
    if signature is not None:
        headers["x-twilio-signature"] = signature
    return InboundRequest(method="POST", url=url, headers=headers, body=urlencode(params).encode())


def test_the_test_helper_reproduces_twilios_documented_example():
    assert twilio_signature(DOC_TOKEN, DOC_URL, DOC_PARAMS) == DOC_SIGNATURE


def test_the_provider_accepts_twilios_documented_example():
    request = _request(DOC_URL, DOC_PARAMS, DOC_SIGNATURE)
    assert TwilioSmsProvider().verify(request, {"authToken": DOC_TOKEN})


@pytest.mark.parametrize(
    ("url", "params", "token", "signature"),
    [
        # Another token signed it.
        (DOC_URL, DOC_PARAMS, "54321", DOC_SIGNATURE),
        # A parameter changed after signing.
        (DOC_URL, {**DOC_PARAMS, "Digits": "9999"}, DOC_TOKEN, DOC_SIGNATURE),
        # A parameter added after signing.
        (DOC_URL, {**DOC_PARAMS, "Body": "x"}, DOC_TOKEN, DOC_SIGNATURE),
        # The query string is part of what is signed.
        ("https://mycompany.com/myapp.php?foo=2&bar=2", DOC_PARAMS, DOC_TOKEN, DOC_SIGNATURE),
        # Not Base64 of anything sensible, and not ASCII.
        (DOC_URL, DOC_PARAMS, DOC_TOKEN, "ünicode"),
        # Present but empty.
        (DOC_URL, DOC_PARAMS, DOC_TOKEN, ""),
    ],
)
def test_anything_else_is_refused(url, params, token, signature):
    assert not TwilioSmsProvider().verify(_request(url, params, signature), {"authToken": token})


def test_a_missing_header_or_token_is_refused():
    provider = TwilioSmsProvider()
    assert not provider.verify(_request(DOC_URL, DOC_PARAMS, None), {"authToken": DOC_TOKEN})
    assert not provider.verify(_request(DOC_URL, DOC_PARAMS, DOC_SIGNATURE), {})


def test_the_default_port_may_be_in_or_out_of_the_signed_url():
    # Twilio's helper libraries accept both: Twilio's signing side is not
    # consistent about a default port.
    signed_with_port = twilio_signature(
        DOC_TOKEN, "https://mycompany.com:443/myapp.php?foo=1&bar=2", DOC_PARAMS
    )
    assert TwilioSmsProvider().verify(
        _request(DOC_URL, DOC_PARAMS, signed_with_port), {"authToken": DOC_TOKEN}
    )


def test_a_repeated_parameter_signs_each_value_in_sorted_order():
    body = b"MediaUrl=https%3A%2F%2Fb.test%2F2&MediaUrl=https%3A%2F%2Fa.test%2F1&To=%2B1"
    payload = "https://x.test/hook" + "MediaUrlhttps://a.test/1" + "MediaUrlhttps://b.test/2To+1"
    expected = base64.b64encode(hmac.new(b"tok", payload.encode(), hashlib.sha1).digest()).decode()
    request = InboundRequest(
        method="POST",
        url="https://x.test/hook",
        headers={"x-twilio-signature": expected},
        body=body,
    )
    assert TwilioSmsProvider().verify(request, {"authToken": "tok"})


def test_a_json_body_is_signed_through_its_bodysha256_query_parameter():
    body = b'{"MessageSid":"SM1"}'
    url = "https://x.test/hook?bodySHA256=" + hashlib.sha256(body).hexdigest()
    signature = twilio_signature("tok", url, {})
    request = InboundRequest(
        method="POST", url=url, headers={"x-twilio-signature": signature}, body=body
    )
    assert TwilioSmsProvider().verify(request, {"authToken": "tok"})
    tampered = InboundRequest(
        method="POST",
        url=url,
        headers={"x-twilio-signature": signature},
        body=b'{"MessageSid":"SM2"}',
    )
    assert not TwilioSmsProvider().verify(tampered, {"authToken": "tok"})
