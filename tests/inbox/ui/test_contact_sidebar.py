"""The contact sidebar of the conversation page and its edit-in-place form
(`/inbox/contacts/<id>/`): what it shows, saving through `update_contact`, validation
errors inline with the input kept, isolation, CSRF, escaping and query counts.
"""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from messaging.models import Contact, Conversation, OutboxEvent
from messaging.services import close_conversation, create_contact, update_contact
from tests.inbox.ui.conversation_support import (
    ESCAPED_IMG,
    ESCAPED_SCRIPT,
    XSS_IMG,
    XSS_SCRIPT,
    ControlLabels,
    csrf_token_of,
    htmx_get,
    htmx_post,
    inbound,
    page,
    sign_in,
)

PHONE = "+5511999999999"


@pytest.fixture
def signed_in(client: Client, agent, workspace) -> Client:
    return sign_in(client, agent, workspace)


@pytest.fixture
def contact(conversation) -> Contact:
    update_contact(
        contact=conversation.contact,
        email="ana@example.test",
        tags=["vip", "pt-br"],
        metadata={"plan": "pro", "orders": 3, "address": {"city": "São Paulo"}},
    )
    return Contact.objects.get(pk=conversation.contact_id)


def panel_url(contact: Contact, conversation: Conversation | None = None) -> str:
    url = f"/inbox/contacts/{contact.public_id}/"
    return f"{url}?conversation={conversation.public_id}" if conversation else url


def panel(html: str) -> str:
    start = html.index('<aside id="contact-panel"')
    return html[start : html.index("</aside>", start)]


def save(client: Client, contact: Contact, conversation=None, **fields: str):
    data = {
        "name": contact.name,
        "phone": contact.phone,
        "email": contact.email,
        "tags": ", ".join(contact.tags),
        "metadata": json.dumps(contact.metadata),
    }
    data.update(fields)
    if conversation is not None:
        data["conversation"] = conversation.public_id
    return htmx_post(client, f"/inbox/contacts/{contact.public_id}/", data)


def other_conversations(contact: Contact, workspace, make_channel, n: int) -> list[Conversation]:
    """`n` more conversations of the contact, one on each of `n` new WhatsApp lines."""
    made = []
    for i in range(n):
        channel = make_channel(workspace, name=f"Line {i}")
        made.append(inbound(channel, f"hello on line {i}", sender=PHONE).conversation)
    return made


# --- What it shows ----------------------------------------------------------------------


def test_sidebar_shows_the_contact(signed_in, conversation, contact):
    html = panel(page(signed_in, conversation))
    assert '<h2 id="contact-panel-title" class="contact-name">Ana Souza</h2>' in html
    assert f'<a href="tel:{PHONE}">{PHONE}</a>' in html
    assert '<a href="mailto:ana@example.test">ana@example.test</a>' in html
    # The address per channel type.
    assert re.search(
        rf'<span class="ident-type">WhatsApp:</span> '
        rf'<span class="ident-value">{re.escape(PHONE)}</span>',
        html,
    )
    assert '<li class="tag">vip</li>' in html and '<li class="tag">pt-br</li>' in html
    assert "<dt>plan</dt><dd>pro</dd>" in html
    assert "<dt>orders</dt><dd>3</dd>" in html
    assert "<dt>address</dt><dd>{&quot;city&quot;: &quot;São Paulo&quot;}</dd>" in html
    assert "No other conversations." in html


def test_sidebar_lists_other_conversations_newest_first_up_to_ten(
    signed_in, conversation, contact, workspace, make_channel, agent
):
    others = other_conversations(contact, workspace, make_channel, 11)
    close_conversation(conversation=others[0], by=agent)
    html = panel(page(signed_in, conversation))
    linked = re.findall(r'<a href="/inbox/c/([^/]+)/" class="previous-link">', html)
    assert len(linked) == 10
    assert conversation.public_id not in linked  # the one beside it is not "other"
    assert linked == [c.public_id for c in reversed(others[1:])]  # the oldest one is cut
    assert 'class="status status-open">Open</span>' in html
    assert re.search(r'<time class="previous-time" datetime="[^"]+Z" data-ago>', html)


def test_sidebar_fragment_and_contact_page(signed_in, conversation, contact):
    fragment = htmx_get(signed_in, panel_url(contact, conversation))
    assert fragment.status_code == 200
    body = fragment.content.decode()
    assert body.lstrip().startswith('<aside id="contact-panel"')
    assert "<html" not in body
    full = signed_in.get(panel_url(contact, conversation)).content.decode()
    assert "<!doctype html>" in full and '<aside id="contact-panel"' in full
    assert f'href="/inbox/c/{conversation.public_id}/">Back to the conversation' in full


# --- Editing -------------------------------------------------------------------------------


def test_edit_in_place_saves_through_the_service(signed_in, conversation, contact):
    response = save(
        signed_in,
        contact,
        conversation,
        name="Ana Maria Souza",
        email="ANA.MARIA@Example.test",
        phone="+55 11 98888-7777",
        tags="vip, gold , vip,",
        metadata='{"plan": "enterprise"}',
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Contact saved." in html and "Ana Maria Souza" in html
    contact.refresh_from_db()
    assert contact.name == "Ana Maria Souza"
    assert contact.email == "ana.maria@example.test"
    assert contact.phone == "+5511988887777"
    assert contact.tags == ["vip", "gold"]
    assert contact.metadata == {"plan": "enterprise"}  # replaced, not merged
    event = OutboxEvent.objects.filter(event="contact.updated").latest("id")
    assert event.data["attributes"]["name"] == "Ana Maria Souza"
    # The form is closed again after a save.
    assert '<details class="contact-edit" id="contact-edit">' in html


def test_clearing_fields(signed_in, conversation, contact):
    save(signed_in, contact, conversation, email="", tags="", metadata="")
    contact.refresh_from_db()
    assert (contact.email, contact.tags, contact.metadata) == ("", [], {})


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"email": "not-an-email"}, "email", "email"),
        ({"phone": "12"}, "phone", "phone"),
        ({"metadata": "{not json"}, "metadata", "This is not valid JSON (line 1, column 2)."),
        ({"metadata": "[1, 2]"}, "metadata", "Enter a JSON object"),
        ({"tags": "ok, " + "x" * 65}, "tags", "Each tag can have at most 64 characters."),
        ({"name": "n" * 201}, "name", "Keep the name under 200 characters."),
    ],
)
def test_invalid_input_is_shown_next_to_its_field_and_kept(
    signed_in, conversation, contact, fields, field, message
):
    before = Contact.objects.get(pk=contact.pk)
    events_before = OutboxEvent.objects.filter(event="contact.updated").count()
    response = save(signed_in, contact, conversation, **fields)
    assert response.status_code == 422
    html = response.content.decode()
    error = re.search(rf'<p class="form-error" id="contact-{field}-error">([^<]*)</p>', html)
    assert error and message.lower() in error.group(1).lower()
    assert re.search(rf'id="contact-{field}"[^>]*aria-invalid="true"', html)
    assert '<details class="contact-edit" id="contact-edit" open>' in html
    typed = next(iter(fields.values()))
    assert (f">{typed}</textarea>" if field == "metadata" else f'value="{typed}"') in html
    after = Contact.objects.get(pk=contact.pk)
    assert (after.name, after.email, after.phone, after.tags, after.metadata) == (
        before.name,
        before.email,
        before.phone,
        before.tags,
        before.metadata,
    )
    assert OutboxEvent.objects.filter(event="contact.updated").count() == events_before


def test_a_phone_another_contact_has_is_refused_by_the_service(
    signed_in, conversation, contact, workspace
):
    create_contact(workspace=workspace, name="Bruno", phone="+5511977776666")
    response = save(signed_in, contact, conversation, phone="+5511977776666")
    assert response.status_code == 422
    assert "A contact with this phone already exists." in response.content.decode()
    contact.refresh_from_db()
    assert contact.phone == PHONE


def test_without_javascript_saving_returns_to_the_conversation(signed_in, conversation, contact):
    response = signed_in.post(
        f"/inbox/contacts/{contact.public_id}/",
        {
            "name": "Ana S.",
            "phone": PHONE,
            "email": "",
            "tags": "",
            "metadata": "{}",
            "conversation": conversation.public_id,
        },
    )
    assert response.status_code == 302
    assert response.url == f"/inbox/c/{conversation.public_id}/"
    assert "Contact saved." in page(signed_in, conversation)
    # An invalid form renders the contact page with the errors.
    response = signed_in.post(
        f"/inbox/contacts/{contact.public_id}/", {"name": "x", "metadata": "nope"}
    )
    assert response.status_code == 422
    assert "<!doctype html>" in response.content.decode()
    # A made-up conversation id is not followed anywhere but the contact page.
    response = signed_in.post(
        f"/inbox/contacts/{contact.public_id}/",
        {"name": "Ana", "phone": PHONE, "conversation": "https://evil.example/"},
    )
    assert response.status_code == 302 and response.url == f"/inbox/contacts/{contact.public_id}/"


def test_edit_form_controls_are_labelled(signed_in, conversation, contact):
    parser = ControlLabels()
    parser.feed(panel(page(signed_in, conversation)))
    assert {c.get("id") for c in parser.controls} >= {
        "contact-name",
        "contact-phone",
        "contact-email",
        "contact-tags",
        "contact-metadata",
    }
    assert parser.unlabelled() == []


# --- Isolation and CSRF ----------------------------------------------------------------------


def test_a_foreign_or_missing_contact_is_404(signed_in, other_workspace):
    theirs = create_contact(workspace=other_workspace, name="Their Contact", phone="+5511977770000")
    for contact_id in (theirs.public_id, "contact_missing"):
        url = f"/inbox/contacts/{contact_id}/"
        assert signed_in.get(url).status_code == 404
        assert htmx_get(signed_in, url).status_code == 404
        assert signed_in.post(url, {"name": "Hacked"}).status_code == 404
        assert htmx_post(signed_in, url, {"name": "Hacked"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.name == "Their Contact"


def test_csrf_is_enforced_on_the_contact_form(agent, workspace, conversation, contact):
    browser = sign_in(Client(enforce_csrf_checks=True), agent, workspace)
    url = f"/inbox/contacts/{contact.public_id}/"
    assert browser.post(url, {"name": "No token"}).status_code == 403
    contact.refresh_from_db()
    assert contact.name == "Ana Souza"
    token = csrf_token_of(page(browser, conversation))
    response = browser.post(
        url, {"name": "With token", "phone": PHONE, "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.name == "With token"


# --- Escaping ----------------------------------------------------------------------------------


def test_contact_fields_are_escaped(signed_in, channel, workspace, make_channel):
    evil_channel = make_channel(workspace, name=XSS_IMG)
    message = inbound(channel, "hi", name=XSS_SCRIPT)
    contact = message.conversation.contact
    # Another conversation of the contact, on a line with a hostile name.
    inbound(evil_channel, "hi too", sender=message.from_address)
    update_contact(
        contact=contact,
        tags=[XSS_IMG],
        metadata={XSS_SCRIPT: XSS_IMG, "nested": {"k": XSS_SCRIPT}},
    )
    html = page(signed_in, message.conversation)
    sidebar = panel(html)
    assert XSS_SCRIPT not in html and XSS_IMG not in html
    assert f'<h2 id="contact-panel-title" class="contact-name">{ESCAPED_SCRIPT}</h2>' in sidebar
    assert f'<li class="tag">{ESCAPED_IMG}</li>' in sidebar
    assert f"<dt>{ESCAPED_SCRIPT}</dt><dd>{ESCAPED_IMG}</dd>" in sidebar
    assert f'<span class="previous-channel">{ESCAPED_IMG}</span>' in sidebar
    # The edit form holds the same values, escaped in attributes and the textarea.
    assert f'id="contact-name" name="name" value="{ESCAPED_SCRIPT}"' in sidebar
    assert "&lt;script&gt;" in sidebar[sidebar.index('id="contact-metadata"') :]
    # A failed save echoes the input back escaped too.
    response = htmx_post(
        signed_in,
        f"/inbox/contacts/{contact.public_id}/",
        {"name": XSS_SCRIPT, "email": XSS_IMG, "metadata": XSS_SCRIPT},
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert XSS_SCRIPT not in body and XSS_IMG not in body


# --- Query counts ----------------------------------------------------------------------------

# Session, agent, memberships, contact, identifiers, other conversations.
SIDEBAR_QUERIES = 6


@pytest.mark.parametrize("others", [0, 12])
def test_sidebar_query_count_does_not_grow(
    signed_in, conversation, contact, workspace, make_channel, others, django_assert_num_queries
):
    other_conversations(contact, workspace, make_channel, others)
    with django_assert_num_queries(SIDEBAR_QUERIES):
        response = htmx_get(signed_in, panel_url(contact, conversation))
    assert response.content.decode().count('class="previous-link"') == min(others, 10)
