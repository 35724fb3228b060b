"""The composer: replies and notes through `send_message`, errors inline with the draft
kept, the 24-hour window and templates, a disabled channel, uploads and attachments,
isolation, CSRF, escaping, and the composer's query budget.
"""

from __future__ import annotations

import json
import re
import struct
import zlib
from datetime import timedelta

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template import RequestContext, Template
from django.test import Client, RequestFactory
from django.utils import timezone

from channels_app.models import Channel
from inbox.models import Membership
from inbox.ui.composer import SESSION_DRAFT_KEY, message_window
from inbox.ui.context import SESSION_WORKSPACE_KEY
from messaging.models import Attachment, Conversation, MediaUpload, Message
from messaging.selectors import get_conversation_for
from messaging.services import receive_message, send_message, update_contact

XSS_SCRIPT = "<script>alert(1)</script>"
XSS_IMG = '<img src=x onerror="alert(2)">'


def _png(padding: int = 0) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    body = chunk(b"IHDR", header) + chunk(b"IDAT", pixels)
    # A private ancillary chunk carries the padding: still a PNG to every sniffer.
    if padding:
        body += chunk(b"teXt", b"x" * padding)
    return b"\x89PNG\r\n\x1a\n" + body + chunk(b"IEND", b"")


PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
# A Windows executable's header: a format the sniffer knows, no media type accepts.
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"PE\x00\x00"


@pytest.fixture
def signed_in(client: Client, agent, workspace) -> Client:
    client.force_login(agent)
    session = client.session
    session[SESSION_WORKSPACE_KEY] = workspace.pk
    session.save()
    return client


def send_url(conversation: Conversation) -> str:
    return f"/inbox/c/{conversation.public_id}/send/"


def upload_url(conversation: Conversation) -> str:
    return f"/inbox/c/{conversation.public_id}/upload/"


def hx_post(client: Client, url: str, data: dict | None = None, **kwargs):
    return client.post(url, data or {}, headers={"HX-Request": "true"}, **kwargs)


def render_composer(conversation: Conversation, user, workspace, session=None) -> str:
    """The `{% composer %}` tag as the conversation page renders it."""
    request = RequestFactory().get(f"/inbox/c/{conversation.public_id}/")
    request.user = user
    request.workspace = workspace
    request.membership = Membership.objects.get(workspace=workspace, user=user)
    request.session = session or SessionStore()
    template = Template("{% load inbox_composer %}{% composer conversation %}")
    return template.render(RequestContext(request, {"conversation": conversation}))


def loaded(conversation: Conversation) -> Conversation:
    """The conversation as the page loads it (channel and contact joined)."""
    return get_conversation_for(conversation.workspace, conversation.public_id)


def age_window(conversation: Conversation, hours: float) -> Conversation:
    """Move the contact's last message `hours` into the past (fixture data, not a change)."""
    Conversation.objects.filter(pk=conversation.pk).update(
        last_inbound_at=timezone.now() - timedelta(hours=hours)
    )
    return loaded(conversation)


def section(html: str, name: str) -> str:
    """The opening tag of the composer part `data-section=name`."""
    match = re.search(rf'<[^>]*data-section="{name}"[^>]*>', html)
    assert match, f"no {name} section"
    return match.group(0)


def upload(client: Client, conversation: Conversation, name: str, data: bytes, ctype: str):
    return client.post(
        upload_url(conversation), {"file": SimpleUploadedFile(name, data, content_type=ctype)}
    )


# --- Rendering ---------------------------------------------------------------------------


def test_composer_offers_reply_and_note_with_a_labelled_text_box(conversation, agent, workspace):
    html = render_composer(loaded(conversation), agent, workspace)
    uid = conversation.public_id
    assert f'id="composer-{uid}"' in html
    assert f'action="/inbox/c/{uid}/send/"' in html and f'hx-post="/inbox/c/{uid}/send/"' in html
    assert re.search(r'name="csrfmiddlewaretoken" value="\w{32,}"', html)
    assert re.search(r'name="mode" value="reply" checked', html)
    assert 'name="mode" value="note"' in html
    assert f'<label class="composer-label" for="composer-text-{uid}">' in html
    assert f'id="composer-text-{uid}" name="text"' in html
    assert "Reply to Ana Souza" in html
    # The canned-response combobox is wired to its listbox.
    assert 'aria-expanded="false"' in html and f'aria-controls="composer-canned-{uid}"' in html
    assert f'<ul id="composer-canned-{uid}" class="canned-popup" role="listbox"' in html
    assert f'data-upload-url="/inbox/c/{uid}/upload/"' in html
    assert 'data-canned-url="/inbox/canned/"' in html
    assert f'data-workspace-id="{workspace.public_id}"' in html
    assert 'role="alert"' in html
    assert "composer.js" in html


def test_open_window_shows_when_it_closes_and_free_text(conversation, agent, workspace):
    conversation = age_window(conversation, hours=20.5)
    html = render_composer(conversation, agent, workspace)
    assert "Window closes in 3 h" in html
    assert 'data-window="open"' in html
    assert "hidden" not in section(html, "text")
    assert "hidden" in section(html, "template")


def test_closed_window_switches_reply_to_the_template_form(conversation, agent, workspace):
    conversation = age_window(conversation, hours=25)
    html = render_composer(conversation, agent, workspace)
    assert "The 24-hour window is closed: send a template." in html
    assert 'data-window="closed"' in html
    assert "hidden" not in section(html, "template")
    assert "hidden" in section(html, "text")
    for field in ("template_name", "template_language", "template_param"):
        assert f'name="{field}"' in html
    assert 'name="kind" value="template"' in html


def test_a_contact_who_never_wrote_means_a_closed_window(workspace, channel, agent):
    message = send_message(
        workspace=workspace,
        channel=channel,
        to="+5511988887777",
        content={"type": "template", "template": {"name": "hello", "language": "en"}},
        sender_user=agent,
    )
    conversation = loaded(message.conversation)
    assert conversation.last_inbound_at is None
    window = message_window(conversation)
    assert window is not None and not window.is_open
    assert "window is closed" in render_composer(conversation, agent, workspace)


def test_channels_without_a_window_show_no_notice(workspace, make_channel, agent):
    telegram = make_channel(workspace, "telegram", config={"botToken": "x"})
    received = receive_message(
        channel=telegram,
        sender="12345",
        content={"type": "text", "text": "hi"},
        provider_message_id="tg-1",
        sender_name="Tom",
    )
    conversation = loaded(received.message.conversation)
    html = render_composer(conversation, agent, workspace)
    assert message_window(conversation) is None
    assert 'data-window="none"' in html
    assert "window" not in html.split('data-window="none"')[1].split("</form>")[0].lower()
    assert 'data-section="template"' not in html


def test_inactive_channel_disables_reply_says_why_and_keeps_notes(
    conversation, channel, agent, workspace, signed_in
):
    Channel.objects.filter(pk=channel.pk).update(
        status=Channel.Status.ERROR, status_reason="Access token expired"
    )
    conversation = loaded(conversation)
    html = render_composer(conversation, agent, workspace)
    assert re.search(r'name="mode" value="reply" disabled', html)
    assert re.search(r'name="mode" value="note" checked', html)
    assert "Replies are unavailable: whatsapp line is in error: Access token expired." in html
    assert "Private notes still work." in html

    response = hx_post(signed_in, send_url(conversation), {"mode": "note", "text": "check token"})
    assert response.status_code == 200
    note = conversation.messages.get(direction="outbound")
    assert note.is_private and note.text == "check token"


# --- Sending -------------------------------------------------------------------------------


def test_send_reply_goes_through_the_service(signed_in, conversation, agent):
    response = hx_post(signed_in, send_url(conversation), {"mode": "reply", "text": "On its way!"})
    assert response.status_code == 200
    message = conversation.messages.get(direction="outbound")
    assert message.content == {"type": "text", "text": "On its way!"}
    assert message.status == Message.Status.PENDING
    assert message.sender_user == agent
    assert message.is_private is False
    html = response.content.decode()
    # A fresh composer: empty, marked sent (composer.js drops the saved draft).
    assert 'data-sent="true"' in html
    assert re.search(r"<textarea[^>]*>\s*</textarea>", html)
    assert f'id="composer-{conversation.public_id}"' in html
    assert re.search(r'name="csrfmiddlewaretoken" value="\w{32,}"', html)


def test_send_note_is_private(signed_in, conversation, agent):
    response = hx_post(signed_in, send_url(conversation), {"mode": "note", "text": "VIP, be quick"})
    assert response.status_code == 200
    note = conversation.messages.get(direction="outbound")
    assert note.is_private is True
    assert note.status == Message.Status.SENT
    assert note.sender_user == agent
    # The next composer stays in note mode.
    assert re.search(r'name="mode" value="note" checked', response.content.decode())


def test_enter_style_line_breaks_are_kept(signed_in, conversation):
    hx_post(signed_in, send_url(conversation), {"text": "line one\r\nline two"})
    assert conversation.messages.get(direction="outbound").text == "line one\nline two"


def test_empty_text_is_an_inline_error(signed_in, conversation):
    response = hx_post(signed_in, send_url(conversation), {"mode": "reply", "text": "   "})
    assert response.status_code == 422
    html = response.content.decode()
    assert "Write a message or attach a file." in html
    assert 'data-error="true"' in html
    assert not conversation.messages.filter(direction="outbound").exists()


def test_service_error_is_inline_and_the_text_is_kept(signed_in, conversation, channel):
    Channel.objects.filter(pk=channel.pk).update(status=Channel.Status.INACTIVE)
    text = f"Your refund is on its way {XSS_SCRIPT}"
    # The page was rendered while the channel was still active: reply was chosen.
    response = hx_post(signed_in, send_url(conversation), {"mode": "reply", "text": text})
    assert response.status_code == 422
    html = response.content.decode()
    assert re.search(r'role="alert"><p>Channel ch_\w+ is inactive; activate it', html)
    # The draft comes back in the text box, escaped.
    assert "Your refund is on its way &lt;script&gt;alert(1)&lt;/script&gt;</textarea>" in html
    assert XSS_SCRIPT not in html
    assert not conversation.messages.filter(direction="outbound").exists()


def test_outside_the_window_a_reply_is_refused_and_the_template_form_shown(signed_in, conversation):
    conversation = age_window(conversation, hours=30)
    response = hx_post(signed_in, send_url(conversation), {"mode": "reply", "text": "Still there?"})
    assert response.status_code == 422
    html = response.content.decode()
    assert "More than 24 hours have passed" in html
    assert "Still there?</textarea>" in html
    assert "hidden" not in section(html, "template")


def test_template_send_when_the_window_is_closed(signed_in, conversation, agent):
    conversation = age_window(conversation, hours=48)
    response = hx_post(
        signed_in,
        send_url(conversation),
        {
            "mode": "reply",
            "kind": "template",
            "template_name": "order_update",
            "template_language": "pt_BR",
            "template_param": ["Ana", "#1234", ""],
        },
    )
    assert response.status_code == 200
    message = conversation.messages.get(direction="outbound")
    assert message.content == {
        "type": "template",
        "template": {
            "name": "order_update",
            "language": "pt_BR",
            "components": [
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": "Ana"},
                        {"type": "text", "text": "#1234"},
                    ],
                }
            ],
        },
    }
    assert message.is_private is False and message.sender_user == agent


def test_template_without_a_name_is_an_inline_error(signed_in, conversation):
    conversation = age_window(conversation, hours=48)
    response = hx_post(
        signed_in,
        send_url(conversation),
        {"kind": "template", "template_name": "", "template_param": [XSS_IMG]},
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "Enter the template&#x27;s name." in html
    # The parameters typed so far come back, escaped.
    assert 'value="&lt;img src=x onerror=&quot;alert(2)&quot;&gt;"' in html
    assert XSS_IMG not in html


def test_a_double_submit_sends_once(signed_in, conversation, agent, workspace):
    html = render_composer(loaded(conversation), agent, workspace)
    key = re.search(r'name="key" value="([^"]+)"', html).group(1)
    for _ in range(2):
        response = hx_post(signed_in, send_url(conversation), {"text": "once", "key": key})
        assert response.status_code == 200
    assert conversation.messages.filter(direction="outbound").count() == 1
    # Edited after a failed request: the same key sends the new text, not the old one.
    hx_post(signed_in, send_url(conversation), {"text": "once more", "key": key})
    assert list(
        conversation.messages.filter(direction="outbound")
        .order_by("id")
        .values_list("text", flat=True)
    ) == ["once", "once more"]
    # A new composer has a new key.
    assert key not in render_composer(loaded(conversation), agent, workspace)


def test_without_javascript_errors_and_drafts_survive_the_redirect(
    signed_in, conversation, channel, agent, workspace
):
    Channel.objects.filter(pk=channel.pk).update(status=Channel.Status.INACTIVE)
    response = signed_in.post(send_url(conversation), {"mode": "reply", "text": "keep me"})
    assert response.status_code == 302
    assert response["Location"] == f"/inbox/c/{conversation.public_id}/"
    session = signed_in.session
    assert session[SESSION_DRAFT_KEY]["draft"]["text"] == "keep me"

    html = render_composer(loaded(conversation), agent, workspace, session=session)
    assert "keep me</textarea>" in html
    assert "is inactive; activate it before sending." in html
    # Shown once: the next render is clean.
    assert "keep me" not in render_composer(loaded(conversation), agent, workspace, session=session)


def test_without_javascript_a_sent_draft_is_cleared(signed_in, conversation, agent, workspace):
    response = signed_in.post(send_url(conversation), {"mode": "note", "text": "plain form"})
    assert response.status_code == 302
    assert conversation.messages.get(direction="outbound").is_private
    html = render_composer(loaded(conversation), agent, workspace, session=signed_in.session)
    assert 'data-sent="true"' in html
    assert re.search(r'name="mode" value="note" checked', html)


def test_another_conversations_draft_is_left_alone(
    signed_in, conversation, channel, agent, workspace
):
    other = receive_message(
        channel=channel,
        sender="+5511977776666",
        content={"type": "text", "text": "hello"},
        provider_message_id="wamid.other",
    ).message.conversation
    Channel.objects.filter(pk=channel.pk).update(status=Channel.Status.INACTIVE)
    signed_in.post(send_url(conversation), {"mode": "reply", "text": "for the first"})
    session = signed_in.session
    assert "for the first" not in render_composer(loaded(other), agent, workspace, session=session)
    assert "for the first" in render_composer(
        loaded(conversation), agent, workspace, session=session
    )


# --- Attachments ---------------------------------------------------------------------------


def test_upload_a_png(signed_in, conversation, workspace):
    response = upload(signed_in, conversation, "receipt.png", _png(), "image/png")
    assert response.status_code == 201
    body = response.json()
    assert body["type"] == "image"
    assert body["filename"] == "receipt.png"
    assert body["size"] == len(_png())
    assert body["url"].startswith("http") and "/uploads/" in body["url"]
    stored = MediaUpload.objects.get(public_id=body["id"])
    assert stored.workspace == workspace and stored.mime_type == "image/png"


def test_upload_reads_the_type_from_the_bytes(signed_in, conversation):
    # Named and declared like an image, but the bytes are a PDF: a document.
    response = upload(signed_in, conversation, "scan.pdf", PDF, "application/octet-stream")
    assert response.status_code == 201
    assert response.json()["type"] == "document"


def test_upload_too_big_answers_the_services_message(signed_in, conversation):
    big = _png(padding=5 * 1024 * 1024)
    response = upload(signed_in, conversation, "huge.png", big, "image/png")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["message"].startswith("Image files may be at most 5 MB")
    assert not MediaUpload.objects.exists()


def test_upload_of_a_wrong_type_is_refused(signed_in, conversation):
    response = upload(signed_in, conversation, "setup.exe", EXE, "application/octet-stream")
    assert response.status_code == 400
    assert "not an accepted document type" in response.json()["error"]["message"]
    assert not MediaUpload.objects.exists()


def test_upload_without_a_file(signed_in, conversation):
    response = signed_in.post(upload_url(conversation), {})
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Choose a file to upload."


def test_send_with_an_attachment_uses_the_text_as_caption(signed_in, conversation):
    body = upload(signed_in, conversation, "receipt.png", _png(), "image/png").json()
    attachment = json.dumps({k: body[k] for k in ("url", "type", "filename", "size")})
    response = hx_post(
        signed_in,
        send_url(conversation),
        {"mode": "reply", "text": "Here is your receipt", "attachment": attachment},
    )
    assert response.status_code == 200
    message = conversation.messages.get(direction="outbound")
    assert message.content == {
        "type": "image",
        "url": body["url"],
        "caption": "Here is your receipt",
    }
    row = Attachment.objects.get(message=message)
    assert row.filename == "receipt.png" and row.mime_type == "image/png"
    assert MediaUpload.objects.get(public_id=body["id"]).used_at is not None


def test_text_too_long_for_a_caption_goes_first_then_one_message_per_file(signed_in, conversation):
    files = []
    for name, data, ctype in (("a.png", _png(), "image/png"), ("b.pdf", PDF, "application/pdf")):
        body = upload(signed_in, conversation, name, data, ctype).json()
        files.append(json.dumps({k: body[k] for k in ("url", "type", "filename", "size")}))
    text = "x" * 1500
    response = hx_post(
        signed_in, send_url(conversation), {"mode": "note", "text": text, "attachment": files}
    )
    assert response.status_code == 200
    sent = list(conversation.messages.filter(direction="outbound").order_by("id"))
    assert [m.content["type"] for m in sent] == ["text", "image", "document"]
    assert sent[0].text == text
    assert "caption" not in sent[1].content
    assert sent[2].content["filename"] == "b.pdf"
    assert all(m.is_private for m in sent)
    assert Attachment.objects.filter(message__in=sent).count() == 2


def test_a_refused_file_sends_nothing_and_keeps_the_draft(signed_in, conversation, workspace):
    good = upload(signed_in, conversation, "a.png", _png(), "image/png").json()
    files = [
        json.dumps({k: good[k] for k in ("url", "type", "filename", "size")}),
        # A URL the content validator refuses: the whole send is undone.
        json.dumps({"url": "ftp://nowhere", "type": "image", "filename": XSS_IMG, "size": 3}),
    ]
    response = hx_post(
        signed_in, send_url(conversation), {"text": "both files", "attachment": files}
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "Must be an http(s) URL." in html
    assert not conversation.messages.filter(direction="outbound").exists()
    # Both files are still listed in the echoed composer, names escaped.
    assert html.count('name="attachment"') == 2
    assert "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;" in html
    assert XSS_IMG not in html
    assert "both files</textarea>" in html


def test_an_unreadable_attachment_field_is_an_error(signed_in, conversation):
    response = hx_post(signed_in, send_url(conversation), {"text": "hi", "attachment": "{not json"})
    assert response.status_code == 422
    assert "An attachment could not be read" in response.content.decode()
    assert not conversation.messages.filter(direction="outbound").exists()


# --- Isolation, sign-in, CSRF --------------------------------------------------------------


@pytest.fixture
def foreign_conversation(other_workspace, make_channel) -> Conversation:
    channel = make_channel(other_workspace)
    return receive_message(
        channel=channel,
        sender="+5511966665555",
        content={"type": "text", "text": "theirs"},
        provider_message_id="wamid.foreign",
    ).message.conversation


def test_a_foreign_conversation_is_a_404_on_send(signed_in, foreign_conversation):
    response = hx_post(signed_in, send_url(foreign_conversation), {"text": "hello"})
    assert response.status_code == 404
    missing = hx_post(signed_in, "/inbox/c/conv_doesnotexist000000000000/send/", {"text": "x"})
    assert missing.status_code == 404
    assert not foreign_conversation.messages.filter(direction="outbound").exists()


def test_a_foreign_conversation_is_a_404_on_upload(signed_in, foreign_conversation):
    response = upload(signed_in, foreign_conversation, "a.png", _png(), "image/png")
    assert response.status_code == 404
    assert not MediaUpload.objects.exists()


def test_signed_out_sends_are_refused(client, conversation):
    assert client.post(send_url(conversation), {"text": "x"}).status_code == 302
    response = hx_post(client, send_url(conversation), {"text": "x"})
    assert response.status_code == 401 and response["HX-Redirect"] == "/inbox/login/"
    assert client.post(upload_url(conversation), {}).status_code == 302
    assert not conversation.messages.filter(direction="outbound").exists()


def test_only_post(signed_in, conversation):
    assert signed_in.get(send_url(conversation)).status_code == 405
    assert signed_in.get(upload_url(conversation)).status_code == 405


def test_csrf_is_enforced(agent, workspace, conversation):
    client = Client(enforce_csrf_checks=True)
    client.force_login(agent)
    session = client.session
    session[SESSION_WORKSPACE_KEY] = workspace.pk
    session.save()
    assert hx_post(client, send_url(conversation), {"text": "forged"}).status_code == 403
    assert upload(client, conversation, "a.png", _png(), "image/png").status_code == 403
    assert not conversation.messages.filter(direction="outbound").exists()
    assert not MediaUpload.objects.exists()

    # With the token the page renders, the same post goes through.
    client.get("/inbox/")  # sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    response = client.post(
        send_url(conversation),
        {"text": "real"},
        headers={"HX-Request": "true", "X-CSRFToken": token},
    )
    assert response.status_code == 200


# --- Escaping --------------------------------------------------------------------------------


def test_contact_and_agent_names_are_escaped(conversation, agent, workspace):
    update_contact(contact=conversation.contact, name=XSS_SCRIPT)
    agent.display_name = XSS_IMG
    agent.save()
    html = render_composer(loaded(conversation), agent, workspace)
    assert XSS_SCRIPT not in html and XSS_IMG not in html
    assert 'data-contact-name="&lt;script&gt;alert(1)&lt;/script&gt;"' in html
    assert "Reply to &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'data-agent-name="&lt;img src=x onerror=&quot;alert(2)&quot;&gt;"' in html


def test_channel_reason_is_escaped(conversation, channel, agent, workspace):
    Channel.objects.filter(pk=channel.pk).update(
        status=Channel.Status.ERROR, status_reason=XSS_SCRIPT, name=XSS_IMG
    )
    html = render_composer(loaded(conversation), agent, workspace)
    assert XSS_SCRIPT not in html and XSS_IMG not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# --- Query budget ---------------------------------------------------------------------


@pytest.mark.parametrize("messages", [1, 30])
def test_the_composer_costs_no_query(
    conversation, channel, agent, workspace, messages, django_assert_num_queries
):
    for n in range(messages - 1):
        receive_message(
            channel=channel,
            sender="+5511999999999",
            content={"type": "text", "text": f"more {n}"},
            provider_message_id=f"wamid.more{n}",
        )
    conversation = loaded(conversation)
    assert conversation.message_count == messages
    session = SessionStore()
    membership = Membership.objects.get(workspace=workspace, user=agent)
    request = RequestFactory().get("/")
    request.user, request.workspace, request.membership, request.session = (
        agent,
        workspace,
        membership,
        session,
    )
    template = Template("{% load inbox_composer %}{% composer conversation %}")
    with django_assert_num_queries(0):
        html = template.render(RequestContext(request, {"conversation": conversation}))
    assert "composer-text" in html


# Session, user, memberships, the conversation (4); the send's transaction and
# send_message (12: savepoints, the contact's address, the conversation
# locked, the insert, the counters and their refresh, the reload with its two
# prefetches); the new bubble for the thread (3: messages, attachments,
# reactions). The thread's length changes none of it.
SEND_QUERIES = 19
# A note also records its `message.sent` event at once (the message reloaded
# with its two prefetches, and the outbox insert).
NOTE_QUERIES = SEND_QUERIES + 4


@pytest.mark.parametrize("earlier", [0, 30])
@pytest.mark.parametrize(("mode", "expected"), [("note", NOTE_QUERIES), ("reply", SEND_QUERIES)])
def test_send_runs_a_fixed_number_of_queries(
    signed_in, conversation, channel, earlier, mode, expected, django_assert_num_queries
):
    for n in range(earlier):
        receive_message(
            channel=channel,
            sender="+5511999999999",
            content={"type": "text", "text": f"earlier {n}"},
            provider_message_id=f"wamid.earlier{n}",
        )
    with django_assert_num_queries(expected):
        response = hx_post(signed_in, send_url(conversation), {"mode": mode, "text": "counted"})
    assert response.status_code == 200
    # The new bubble came back for the thread (the conversation page's template).
    sent = conversation.messages.get(text="counted")
    assert f'id="msg-{sent.public_id}"' in response.content.decode()


def test_composer_element_ids_are_unique_and_referenced(conversation, agent, workspace):
    html = render_composer(age_window(conversation, hours=30), agent, workspace)
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids))
    for ref in re.findall(r'(?:for|aria-controls|aria-labelledby)="([^"]+)"', html):
        assert ref in ids, ref
    for refs in re.findall(r'aria-describedby="([^"]+)"', html):
        assert all(ref in ids for ref in refs.split()), refs
