"""Twilio's webhooks to an SMS channel: incoming SMS/MMS, signatures, dedupe.

Webhooks are posted to the channel's real webhook path with Twilio's
form-encoded parameters, signed by the test suite's own implementation of
Twilio's algorithm (sms_support, checked in test_sms_signature). MMS files are
fetched from a local server that plays Twilio's media URLs, redirect to a CDN
included.
"""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage

from channels_app.providers.base import InboundMedia
from messaging.models import Attachment, Contact, Message
from messaging.services.inbound import fetch_and_store_media, media_payload
from tests.channels_app.providers.sms_support import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    CUSTOMER,
    EMPTY_TWIML,
    OUR_NUMBER,
    basic_auth,
    post_form,
    twilio_channel,
    twilio_signature,
)
from tests.messaging.api.test_media import PDF, PNG

pytestmark = pytest.mark.django_db


@pytest.fixture
def sms_channel(provider_channel, httpserver):
    return twilio_channel(provider_channel, httpserver)


@pytest.fixture
def post_twilio(post_webhook, django_capture_on_commit_callbacks):
    """POST form parameters as Twilio does, signed with `token` (the channel's by default)."""

    def post(channel, params, **kwargs):
        # The media fetch is queued on commit; run it as a worker would.
        with django_capture_on_commit_callbacks(execute=True):
            return post_form(post_webhook, channel, params, **kwargs)

    return post


def incoming(sid: str, body: str, **extra: str) -> dict[str, str]:
    """Twilio's parameters for an incoming SMS, as its webhook request documents them."""
    return {
        "ToCountry": "US",
        "ToState": "CA",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ToCity": "SAN FRANCISCO",
        "FromZip": "94105",
        "SmsSid": sid,
        "FromState": "CA",
        "SmsStatus": "received",
        "FromCity": "SAN FRANCISCO",
        "Body": body,
        "FromCountry": "US",
        "To": OUR_NUMBER,
        "ToZip": "94105",
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": CUSTOMER,
        "ApiVersion": "2010-04-01",
        **extra,
    }


def incoming_mms(sid: str, body: str, *files: tuple[str, str]) -> dict[str, str]:
    """`incoming` with one file per (content type, media URL), numbered as Twilio numbers them."""
    media = {"NumMedia": str(len(files))}
    for index, (content_type, url) in enumerate(files):
        media[f"MediaContentType{index}"] = content_type
        media[f"MediaUrl{index}"] = url
    return incoming(sid, body, **media)


def test_an_incoming_sms_becomes_a_message_and_gets_empty_twiml(sms_channel, post_twilio):
    sid = "SM" + "11" * 16
    response = post_twilio(sms_channel, incoming(sid, "Where is my order? 📦"))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    assert response.content == EMPTY_TWIML
    message = Message.objects.get(channel=sms_channel)
    assert message.provider_message_id == sid
    assert message.direction == "inbound" and message.status == "delivered"
    assert message.content == {"type": "text", "text": "Where is my order? 📦"}
    assert message.from_address == CUSTOMER
    assert message.conversation.contact.phone == CUSTOMER


def _media_path(message_sid: str, media_sid: str) -> str:
    return f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{message_sid}/Media/{media_sid}"


def test_an_mms_is_one_message_with_every_file_fetched_with_basic_auth(
    sms_channel, post_twilio, httpserver
):
    sid = "MM" + "22" * 16
    image_path, pdf_path = _media_path(sid, "ME1"), _media_path(sid, "ME2")
    # Twilio answers a media URL with a redirect to its CDN, on another host.
    cdn = httpserver.url_for("/cdn/receipt.png").replace("localhost", "127.0.0.1")
    httpserver.expect_request(image_path, method="GET").respond_with_data(
        "", status=307, headers={"Location": cdn}
    )
    httpserver.expect_request("/cdn/receipt.png").respond_with_data(PNG, content_type="image/png")
    httpserver.expect_request(pdf_path, method="GET").respond_with_data(
        PDF, content_type="application/pdf"
    )
    params = incoming_mms(
        sid,
        "Receipt and invoice",
        ("image/png", httpserver.url_for(image_path)),
        ("application/pdf", httpserver.url_for(pdf_path)),
    )

    response = post_twilio(sms_channel, params)

    assert response.status_code == 200
    message = Message.objects.get(channel=sms_channel)
    assert message.content["type"] == "image"
    assert message.content["caption"] == "Receipt and invoice"
    attachments = {a.mime_type: a for a in Attachment.objects.filter(message=message)}
    assert set(attachments) == {"image/png", "application/pdf"}
    assert default_storage.open(attachments["image/png"].file.name).read() == PNG
    assert default_storage.open(attachments["application/pdf"].file.name).read() == PDF
    assert message.content["url"].endswith(attachments["image/png"].file.url)

    requests = {request.path: request for request, _ in httpserver.log}
    assert requests[image_path].headers["Authorization"] == basic_auth()
    assert requests[pdf_path].headers["Authorization"] == basic_auth()
    # The credentials never travel to the CDN's host.
    assert "Authorization" not in requests["/cdn/receipt.png"].headers


def test_a_media_url_twilio_no_longer_has_is_noted_on_the_message(
    sms_channel, post_twilio, httpserver
):
    sid = "MM" + "33" * 16
    path = _media_path(sid, "ME1")
    httpserver.expect_request(path).respond_with_json(
        {"code": 20404, "message": "Not found", "status": 404}, status=404
    )
    params = incoming_mms(sid, "", ("image/jpeg", httpserver.url_for(path)))

    assert post_twilio(sms_channel, params).status_code == 200

    message = Message.objects.get(channel=sms_channel)
    assert message.content == {"type": "image"}
    assert not Attachment.objects.filter(message=message).exists()
    assert "404" in message.metadata["mediaErrors"][0]
    assert len(httpserver.log) == 1  # a 404 is not retried


def test_a_media_server_error_is_worth_retrying(sms_channel, post_webhook, httpserver):
    sid = "MM" + "44" * 16
    path = _media_path(sid, "ME1")
    httpserver.expect_ordered_request(path).respond_with_data("busy", status=503)
    httpserver.expect_ordered_request(path).respond_with_data(PNG, content_type="image/png")
    params = incoming_mms(sid, "", ("image/png", httpserver.url_for(path)))
    # Posted without running the queued fetch: each attempt is made below,
    # through the service the fetch task calls.
    response = post_form(post_webhook, sms_channel, params)
    assert response.status_code == 200
    message = Message.objects.get(channel=sms_channel)
    payload = media_payload(InboundMedia(kind="image", ref=params["MediaUrl0"]))

    assert fetch_and_store_media(message_pk=message.pk, payload=payload) == "retry"
    assert fetch_and_store_media(message_pk=message.pk, payload=payload) == "stored"

    assert Attachment.objects.get(message=message).mime_type == "image/png"
    assert len(httpserver.log) == 2


def test_an_audio_only_mms_keeps_its_text(sms_channel, post_twilio, httpserver):
    sid = "MM" + "55" * 16
    path = _media_path(sid, "ME1")
    httpserver.expect_request(path).respond_with_data(b"\x00" * 64, content_type="audio/amr")
    params = incoming_mms(sid, "Listen to this", ("audio/amr", httpserver.url_for(path)))

    post_twilio(sms_channel, params)

    message = Message.objects.get(channel=sms_channel)
    assert message.content["type"] == "audio"
    assert message.metadata["body"] == "Listen to this"


def test_the_text_goes_with_a_file_that_can_carry_a_caption(sms_channel, post_twilio, httpserver):
    sid = "MM" + "99" * 16
    audio_path, image_path = _media_path(sid, "ME1"), _media_path(sid, "ME2")
    httpserver.expect_request(audio_path).respond_with_data(b"\x00" * 64, content_type="audio/amr")
    httpserver.expect_request(image_path).respond_with_data(PNG, content_type="image/png")
    params = incoming_mms(
        sid,
        "Look",
        ("audio/amr", httpserver.url_for(audio_path)),
        ("image/png", httpserver.url_for(image_path)),
    )

    post_twilio(sms_channel, params)

    message = Message.objects.get(channel=sms_channel)
    image = Attachment.objects.get(message=message, mime_type="image/png")
    assert Attachment.objects.filter(message=message).count() == 2
    assert message.content == {"type": "image", "caption": "Look", "url": message.content["url"]}
    assert message.content["url"].endswith(image.file.url)
    assert "body" not in message.metadata


def test_the_same_webhook_five_times_makes_one_message(sms_channel, post_twilio):
    params = incoming("SM" + "66" * 16, "Hello?")

    responses = [post_twilio(sms_channel, params) for _ in range(5)]

    assert [r.status_code for r in responses] == [200] * 5
    assert all(r.content == EMPTY_TWIML for r in responses)
    assert Message.objects.filter(channel=sms_channel).count() == 1
    message = Message.objects.get(channel=sms_channel)
    assert message.conversation.message_count == 1
    assert message.conversation.unread_count == 1


@pytest.mark.parametrize(
    "kwargs",
    [
        {"token": "not-the-channels-token"},
        {"signature": ""},  # no header at all
        {"signature": "0/KCTR6DLpKmkAf8muzZqo1nDgQ="},
    ],
    ids=["wrong-token", "missing", "foreign"],
)
def test_a_bad_signature_is_401_and_records_nothing(sms_channel, post_twilio, kwargs):
    response = post_twilio(sms_channel, incoming("SM" + "77" * 16, "Spoofed"), **kwargs)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "INVALID_SIGNATURE"
    assert not Message.objects.exists()
    assert not Contact.objects.exists()


def test_a_body_changed_after_signing_is_401(sms_channel, post_webhook, webhook_url):
    params = incoming("SM" + "88" * 16, "Original")
    signature = twilio_signature(AUTH_TOKEN, webhook_url(sms_channel), params)
    tampered = {**params, "Body": "Changed"}

    response = post_form(post_webhook, sms_channel, tampered, signature=signature)

    assert response.status_code == 401
    assert not Message.objects.exists()


def test_an_unknown_kind_of_event_is_acknowledged_and_recorded_nowhere(sms_channel, post_twilio):
    # Signed by Twilio, but neither a message (no Body, no NumMedia) nor a status.
    params = {"AccountSid": ACCOUNT_SID, "From": CUSTOMER, "EventType": "UNDOCUMENTED"}

    response = post_twilio(sms_channel, params)

    assert response.status_code == 200
    assert response.content == EMPTY_TWIML
    assert not Message.objects.exists()
    assert not Contact.objects.exists()


def test_an_empty_signed_body_is_400(sms_channel, post_twilio):
    response = post_twilio(sms_channel, {})

    assert response.status_code == 400
    assert not Message.objects.exists()
