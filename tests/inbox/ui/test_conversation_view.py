"""The conversation page `/inbox/c/<id>/` and its fragments: the thread's rendering of
every content type, status and marker, system events, older pages by cursor, catching
up, marking read on open, isolation, escaping and query counts.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from inbox.services import create_agent
from inbox.ui.conversation_view import THREAD_PAGE_SIZE
from messaging.models import Message, OutboxEvent
from messaging.services import (
    assign_conversation,
    close_conversation,
    delete_message,
    edit_message,
    react_to_message,
    send_message,
    snooze_conversation,
    update_message_status,
)
from messaging.services.conversations import set_conversation_status, transfer_conversation
from messaging.services.inbound import note_media_error, store_inbound_media
from tests.inbox.ui.conversation_support import (
    ESCAPED_IMG,
    ESCAPED_SCRIPT,
    XSS_IMG,
    XSS_SCRIPT,
    ControlLabels,
    bubble,
    event_kinds,
    htmx_get,
    inbound,
    message_ids,
    minutes_ago,
    page,
    reply,
    sign_in,
)

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x9a\xa0\xa0"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture
def signed_in(client: Client, agent, workspace) -> Client:
    return sign_in(client, agent, workspace)


# --- The page ---------------------------------------------------------------------------


def test_page_has_the_thread_header_contact_and_list(signed_in, conversation):
    html = page(signed_in, conversation)
    first = conversation.messages.get()
    # The thread: a labelled section holding a live log of messages.
    assert (
        '<section class="thread" id="thread" tabindex="0" aria-label="Conversation with Ana Souza">'
        in html
    )
    assert re.search(
        r'<ol class="thread-items" id="thread-items" role="log" aria-live="polite"', html
    )
    assert "Hi, I need help with my order" in bubble(html, first)
    # Header with the actions the keyboard shortcuts press.
    assert '<h1 id="conv-title" class="conv-title" tabindex="-1">Ana Souza</h1>' in html
    assert 'id="action-close" data-action="close"' in html
    assert 'id="action-assign-me" data-action="assign-me"' in html
    # Contact sidebar in the aside, the list of conversations on the left.
    assert '<aside id="contact-panel"' in html
    assert re.search(rf'id="conv-{conversation.public_id}"[^>]*aria-current="true"', html)
    # The composer (helper 6C2) sits under the thread.
    assert html.index('id="thread-items"') < html.index("data-composer")
    # Landmarks of the layout and the page's script.
    assert '<main id="main"' in html and '<nav id="sidebar"' in html
    assert "/static/inbox/conversation.js" in html


def test_inbound_and_outbound_bubbles_name_their_sender_and_time(
    signed_in, conversation, agent, workspace
):
    answer = reply(conversation, "Sure, which order?", by=agent)
    api = reply(conversation, "Automated follow-up")
    system = send_message(
        workspace=workspace,
        conversation=conversation,
        content={"type": "text", "text": "Chat transferred"},
        sender_type=Message.Sender.SYSTEM,
    )
    first = conversation.messages.order_by("pk").first()
    html = page(signed_in, conversation)
    incoming = bubble(html, first)
    assert 'class="msg msg-inbound"' in incoming
    assert '<span class="msg-sender" id="msg-' in incoming and ">Ana Souza</span>" in incoming
    assert re.search(
        r'<time class="msg-time" datetime="[^"]+Z" data-local-time>\d\d:\d\d</time>', incoming
    )
    mine = bubble(html, answer)
    assert 'class="msg msg-outbound"' in mine and f">{agent.name}</span>" in mine
    assert ">API</span>" in bubble(html, api)
    assert ">System</span>" in bubble(html, system)
    # Oldest at the top.
    assert message_ids(html) == [first.public_id, answer.public_id, api.public_id, system.public_id]


def test_delivery_status_ticks_and_failure_with_retry(signed_in, conversation, agent):
    pending = reply(conversation, "pending one", by=agent)
    sent = reply(conversation, "sent one", by=agent)
    update_message_status(message=sent, status="sent")
    delivered = reply(conversation, "delivered one", by=agent)
    update_message_status(message=delivered, status="delivered")
    read = reply(conversation, "read one", by=agent)
    update_message_status(message=read, status="read")
    failed = reply(conversation, "failed one", by=agent)
    update_message_status(
        message=failed, status="failed", error_code="131026", error_message="Recipient blocked us"
    )
    html = page(signed_in, conversation)
    assert 'class="ticks ticks-pending"' in bubble(html, pending) and "Pending" in bubble(
        html, pending
    )
    assert 'class="ticks ticks-sent"' in bubble(html, sent) and "✓<" in bubble(html, sent)
    assert 'class="ticks ticks-delivered"' in bubble(html, delivered)
    assert "✓✓" in bubble(html, delivered)
    assert 'class="ticks ticks-read"' in bubble(html, read)
    failed_html = bubble(html, failed)
    assert "msg-failed" in failed_html and 'class="ticks ticks-failed"' in failed_html
    assert "Not delivered:</strong> Recipient blocked us" in failed_html
    retry_url = f"/inbox/c/{conversation.public_id}/messages/{failed.public_id}/retry/"
    assert f'action="{retry_url}"' in failed_html and f'hx-post="{retry_url}"' in failed_html
    # Only failed messages offer a retry; inbound messages have no ticks.
    assert "retry" not in bubble(html, read)
    assert "ticks" not in bubble(html, conversation.messages.order_by("pk").first())


def test_private_note_is_visibly_different(signed_in, conversation, agent, workspace):
    note = send_message(
        workspace=workspace,
        conversation=conversation,
        content={"type": "text", "text": "Customer is VIP, be nice"},
        sender_user=agent,
        is_private=True,
    )
    html = bubble(page(signed_in, conversation), note)
    assert "msg-note" in html
    assert 'class="note-label"' in html and "Private note" in html and "🔒" in html
    assert "Customer is VIP, be nice" in html
    assert "ticks" not in html  # a note is never delivered anywhere


def test_images_inline_and_other_files_as_links_with_name_and_size(signed_in, conversation):
    by_url = inbound(
        conversation,
        {"type": "image", "url": "https://cdn.example.test/cat.jpg", "caption": "My cat"},
    )
    stored = inbound(conversation, {"type": "image"})
    store_inbound_media(message=stored, data=PNG, filename="photo.png", mime_type="image/png")
    document = inbound(conversation, {"type": "document", "filename": "invoice.pdf"})
    store_inbound_media(message=document, data=b"%!binary" * 128, filename="invoice.pdf")
    html = page(signed_in, conversation)
    cat = bubble(html, by_url)
    assert (
        '<img class="msg-image" src="https://cdn.example.test/cat.jpg" loading="lazy" alt="My cat">'
        in cat
    )
    assert 'class="msg-text msg-caption">My cat' in cat
    photo = bubble(html, stored)
    assert re.search(
        r'<img class="msg-image" src="/media/attachments/[^"]+\.png" '
        r'loading="lazy" alt="photo.png">',
        photo,
    )
    doc = bubble(html, document)
    assert re.search(r'<a class="attachment" href="/media/attachments/[^"]+" download>', doc)
    assert "invoice.pdf" in doc and '<span class="att-size">(1.0\xa0KB)</span>' in doc


def test_location_buttons_and_template_are_rendered_sensibly(signed_in, conversation):
    location = inbound(
        conversation,
        {
            "type": "location",
            "latitude": -23.5505,
            "longitude": -46.6333,
            "name": "Loja Paulista",
            "address": "Av. Paulista, 1000",
        },
    )
    buttons = inbound(
        conversation,
        {
            "type": "buttons",
            "text": "Pick one",
            "buttons": [
                {"type": "reply", "id": "yes", "title": "Yes please"},
                {"type": "url", "title": "Track order", "url": "https://shop.example.test/t/1"},
                {"type": "url", "title": "Sneaky", "url": "javascript:alert(1)"},
            ],
        },
    )
    template = inbound(
        conversation,
        {
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
                    },
                ],
            },
        },
    )
    html = page(signed_in, conversation)
    loc = bubble(html, location)
    assert "<strong>Loja Paulista</strong>" in loc and "Av. Paulista, 1000" in loc
    assert (
        'href="https://www.openstreetmap.org/?mlat=-23.550500&amp;mlon=-46.633300'
        '#map=16/-23.550500/-46.633300"' in loc
    )
    assert 'rel="noopener noreferrer"' in loc
    btn = bubble(html, buttons)
    assert "Pick one" in btn and '<span class="msg-button">Yes please</span>' in btn
    assert (
        '<a class="msg-button" href="https://shop.example.test/t/1" target="_blank" '
        'rel="noopener noreferrer">Track order' in btn
    )
    # A URL that is not http(s) never becomes a link.
    assert "javascript:" not in btn and '<span class="msg-button">Sneaky</span>' in btn
    tpl = bubble(html, template)
    assert "order_update" in tpl and "(pt_BR)" in tpl
    assert '<span class="tpl-param">Ana</span>, <span class="tpl-param">#1234</span>' in tpl


def test_reactions_edited_and_deleted_markers_and_media_errors(
    signed_in, conversation, agent, workspace
):
    liked = conversation.messages.get()
    react_to_message(message=liked, reaction="👍", actor_contact=conversation.contact)
    react_to_message(message=liked, reaction="👍", actor_user=agent)
    react_to_message(message=liked, reaction="❤️", actor_contact=conversation.contact)
    note = send_message(
        workspace=workspace,
        conversation=conversation,
        content={"type": "text", "text": "first draft"},
        sender_user=agent,
        is_private=True,
    )
    edit_message(message=note, content={"type": "text", "text": "second draft"})
    gone = inbound(conversation, "secret that was deleted")
    delete_message(message=gone)
    broken = inbound(conversation, {"type": "image", "url": "https://cdn.example.test/x.jpg"})
    note_media_error(message=broken, reason="The provider sent an empty file.")
    html = page(signed_in, conversation)
    reactions = bubble(html, liked)
    assert re.search(
        r'<li class="reaction is-mine"><span aria-hidden="true">👍</span>.*?</span> 2</li>',
        reactions,
    )
    assert "❤️ reaction:</span> 1" in reactions
    edited = bubble(html, note)
    assert "second draft" in edited and 'class="msg-edited"' in edited and "Edited" in edited
    deleted = bubble(html, gone)
    assert "This message was deleted" in deleted and "msg-deleted" in deleted
    assert "secret that was deleted" not in html
    assert "File not available: The provider sent an empty file." in bubble(html, broken)


def test_reply_to_is_quoted(signed_in, conversation, agent, workspace):
    original = conversation.messages.get()
    answer = send_message(
        workspace=workspace,
        conversation=conversation,
        content={"type": "text", "text": "Here it is"},
        sender_user=agent,
        reply_to=original,
    )
    html = bubble(page(signed_in, conversation), answer)
    assert '<blockquote class="msg-quote">' in html and "Hi, I need help with my order" in html


# --- System events ----------------------------------------------------------------------


def test_system_events_are_merged_into_the_thread_in_order(
    signed_in, conversation, agent, admin_user
):
    first = conversation.messages.get()
    assign_conversation(conversation=conversation, assignee=admin_user, by=agent)
    second = reply(conversation, "Looking into it", by=admin_user)
    snooze_conversation(
        conversation=conversation, until=timezone.now() + timedelta(hours=2), by=admin_user
    )
    set_conversation_status(conversation=conversation, status="pending", by=agent)
    close_conversation(conversation=conversation, by=admin_user, resolution="unresolved")
    third = inbound(conversation, "Still broken!")  # reopens the conversation by itself
    set_conversation_status(conversation=conversation, status="pending", by=agent)
    html = page(signed_in, conversation)
    # Pending from snoozed is recorded as the snooze ending ("unsnoozed").
    assert event_kinds(html) == [
        "created",
        "assigned",
        "snoozed",
        "unsnoozed",
        "closed",
        "reopened",
        "status",
    ]
    order = [
        html.index(f'id="msg-{first.public_id}"'),
        html.index("sys-assigned"),
        html.index(f'id="msg-{second.public_id}"'),
        html.index("sys-snoozed"),
        html.index("sys-unsnoozed"),
        html.index("sys-closed"),
        # The contact's message reopens the conversation: the row follows it.
        html.index(f'id="msg-{third.public_id}"'),
        html.index("sys-reopened"),
        html.index("sys-status"),
    ]
    assert order == sorted(order)
    assert (
        f'Assigned to {admin_user.name}</span> <span class="sys-by">by {agent.name}</span>' in html
    )
    assert re.search(r"Snoozed until <time datetime=\"[^\"]+Z\" data-local-time>", html)
    assert 'Woken from snooze</span> <span class="sys-by">by' in html
    assert "Closed as unresolved" in html
    assert "Marked pending" in html
    assert "Reopened</span> <span" not in html  # reopened by the contact's message, by nobody
    # The read marker and other bookkeeping updates are not timeline events.
    assert "sys-read" not in html


def test_a_transfer_shows_once_with_who_and_why(signed_in, conversation, agent, admin_user):
    assign_conversation(conversation=conversation, assignee=agent, by=agent)
    transfer_conversation(
        conversation=conversation, to_assignee=admin_user, by=agent, reason="Billing question"
    )
    html = page(signed_in, conversation)
    assert event_kinds(html) == ["created", "assigned", "transferred"]
    # Taking the conversation oneself is not credited twice ("... by Alice").
    assert re.search(rf'Assigned to {agent.name}</span>\s*<span class="sys-sep"', html)
    assert (
        f"Transferred to {admin_user.name} from {agent.name}</span> "
        f'<span class="sys-by">by {agent.name}</span><span class="sys-reason">: Billing question'
        in html
    )


def test_events_of_a_removed_agent_still_read(signed_in, conversation, agent, workspace):
    gone, _ = create_agent(workspace=workspace, email="gone@acme.test", password="x" * 20)
    assign_conversation(conversation=conversation, assignee=gone, by=agent)
    gone.memberships.all().delete()
    html = page(signed_in, conversation)
    assert "Assigned to a former agent" in html


# --- Paging -------------------------------------------------------------------------------


def _thread(conversation, n: int, *, start: float = 500) -> list[Message]:
    return [
        inbound(conversation, f"message number {i}", at=minutes_ago(start - i)) for i in range(n)
    ]


def test_older_messages_load_through_the_cursor(signed_in, conversation, agent):
    early = _thread(conversation, 5, start=600)
    # An assignment between the early and the late messages (events are stamped now).
    assign_conversation(conversation=conversation, assignee=agent, by=agent)
    late = [inbound(conversation, f"late {i}") for i in range(THREAD_PAGE_SIZE + 2)]
    html = page(signed_in, conversation)
    shown = message_ids(html)
    assert shown == [m.public_id for m in late[-THREAD_PAGE_SIZE:]]
    assert "sys-assigned" not in html  # it happened before the page's oldest message
    match = re.search(r'hx-get="(/inbox/c/[^"]+/messages/\?before=[^"]+)"', html)
    assert match and 'hx-trigger="intersect once, click"' in html
    older = htmx_get(signed_in, match.group(1).replace("&amp;", "&"))
    assert older.status_code == 200
    older_html = older.content.decode()
    # The fixture's message came "now", after the back-dated early ones.
    everything = [*early, conversation.messages.order_by("pk").first(), *late[:2]]
    assert message_ids(older_html) == [m.public_id for m in everything]
    assert event_kinds(older_html) == ["created", "assigned"]
    assert 'id="thread-older"' not in older_html  # nothing older than this
    assert older_html.index("sys-assigned") < older_html.index(f'msg-{late[0].public_id}"')


def test_older_page_without_javascript(signed_in, conversation):
    _thread(conversation, THREAD_PAGE_SIZE + 3)
    html = page(signed_in, conversation)
    link = re.search(
        r'<a class="button button-small" href="/inbox/c/[^"?]+/(\?before=[^"]+)"', html
    )
    assert link
    older = page(signed_in, conversation, link.group(1))
    assert "Show the newest messages" in older
    assert len(message_ids(older)) == 4


def test_catch_up_after_a_cursor_returns_what_came_later(signed_in, conversation, agent):
    html = page(signed_in, conversation)
    cursor = re.findall(r'data-cursor="([^"]+)"', html)[-1]
    later = inbound(conversation, "are you there?")
    assign_conversation(conversation=conversation, assignee=agent, by=agent)
    response = htmx_get(signed_in, f"/inbox/c/{conversation.public_id}/messages/?after={cursor}")
    assert response.status_code == 200
    body = response.content.decode()
    assert message_ids(body) == [later.public_id]
    assert "assigned" in event_kinds(body)
    assert response["X-Thread-Has-More"] == "false"
    assert response["X-Thread-Cursor"]


def test_bad_cursors_are_refused(signed_in, conversation):
    base = f"/inbox/c/{conversation.public_id}/messages/"
    assert htmx_get(signed_in, base + "?before=nonsense").status_code == 400
    assert htmx_get(signed_in, base + "?after=nonsense").status_code == 400
    assert htmx_get(signed_in, base).status_code == 400
    # The page ignores a bad cursor and shows the newest messages.
    assert "Show the newest messages" not in page(signed_in, conversation, "?before=nonsense")


def test_one_bubble_fragment_for_live_updates(signed_in, conversation, agent):
    message = reply(conversation, "hello there", by=agent)
    url = f"/inbox/c/{conversation.public_id}/messages/{message.public_id}/"
    body = htmx_get(signed_in, url).content.decode()
    assert body.strip().startswith(f'<li id="msg-{message.public_id}"')
    assert message_ids(body) == [message.public_id]
    delete_message(message=message)
    assert "This message was deleted" in htmx_get(signed_in, url).content.decode()


# --- Read state -----------------------------------------------------------------------------


def test_opening_marks_the_conversation_read_once(signed_in, conversation):
    inbound(conversation, "one more")
    conversation.refresh_from_db()
    assert conversation.unread_count == 2
    read_events = OutboxEvent.objects.filter(
        event="conversation.updated", data__meta__change="read"
    )
    assert read_events.count() == 0
    page(signed_in, conversation)
    conversation.refresh_from_db()
    assert conversation.unread_count == 0
    assert not conversation.messages.filter(read_at__isnull=True, direction="inbound").exists()
    assert read_events.count() == 1
    assert read_events.get().conversation_public_id == conversation.public_id
    # Opening it again changes nothing and records nothing.
    page(signed_in, conversation)
    assert read_events.count() == 1


def test_read_endpoint_marks_new_messages_read(signed_in, conversation):
    page(signed_in, conversation)
    inbound(conversation, "new while the page is open")
    url = f"/inbox/c/{conversation.public_id}/read/"
    response = signed_in.post(url, headers={"X-Requested-With": "fetch"})
    assert response.status_code == 204
    conversation.refresh_from_db()
    assert conversation.unread_count == 0
    assert signed_in.post(url).status_code == 302  # without JavaScript: back to the page
    assert signed_in.get(url).status_code == 405


# --- Isolation ---------------------------------------------------------------------------


@pytest.fixture
def foreign(other_workspace, make_channel):
    """A conversation and message of another workspace."""
    channel = make_channel(other_workspace)
    message = inbound(channel, "their message", name="Their Customer")
    return message.conversation, message


def test_foreign_and_missing_ids_are_404_on_every_url(signed_in, conversation, foreign):
    their_conversation, their_message = foreign
    mine = conversation.messages.get()
    for conv_id in (their_conversation.public_id, "conv_doesnotexist"):
        for url in (
            f"/inbox/c/{conv_id}/",
            f"/inbox/c/{conv_id}/messages/?before=x",
            f"/inbox/c/{conv_id}/messages/{their_message.public_id}/",
            f"/inbox/c/{conv_id}/header/",
            f"/inbox/c/{conv_id}/list/",
        ):
            assert signed_in.get(url).status_code == 404, url
            assert htmx_get(signed_in, url).status_code == 404, url
        assert signed_in.post(f"/inbox/c/{conv_id}/read/").status_code == 404
    # Their message under our conversation, and our message under a wrong id.
    ours = conversation.public_id
    assert signed_in.get(f"/inbox/c/{ours}/messages/{their_message.public_id}/").status_code == 404
    assert signed_in.get(f"/inbox/c/{ours}/messages/msg_nope/").status_code == 404
    assert (
        signed_in.get(
            f"/inbox/c/{their_conversation.public_id}/messages/{mine.public_id}/"
        ).status_code
        == 404
    )
    # Nothing of theirs was read or changed.
    their_conversation.refresh_from_db()
    assert their_conversation.unread_count == 1


def test_a_message_of_another_conversation_is_404(signed_in, conversation, channel):
    other = inbound(channel, "other customer", name="Bruno")
    url = f"/inbox/c/{conversation.public_id}/messages/{other.public_id}/"
    assert signed_in.get(url).status_code == 404


def test_signed_out_visitors_go_to_sign_in(client, conversation):
    response = client.get(f"/inbox/c/{conversation.public_id}/")
    assert response.status_code == 302 and response.url.startswith("/inbox/login/")


# --- Escaping ----------------------------------------------------------------------------


def test_user_content_is_escaped_everywhere_in_the_thread(signed_in, channel, agent, workspace):
    text = inbound(channel, f"{XSS_SCRIPT} and {XSS_IMG}", name=XSS_SCRIPT)
    conversation = text.conversation
    caption = inbound(
        conversation,
        {"type": "image", "url": "https://cdn.example.test/a.jpg", "caption": XSS_IMG},
    )
    doc = inbound(
        conversation,
        {"type": "document", "url": "https://cdn.example.test/f.bin", "filename": XSS_IMG},
    )
    loc = inbound(
        conversation,
        {"type": "location", "latitude": 1, "longitude": 2, "name": XSS_SCRIPT, "address": XSS_IMG},
    )
    btn = inbound(
        conversation,
        {
            "type": "buttons",
            "text": XSS_IMG,
            "buttons": [{"type": "reply", "id": "a", "title": XSS_SCRIPT}],
        },
    )
    tpl = inbound(
        conversation,
        {
            "type": "template",
            "template": {
                "name": XSS_SCRIPT,
                "language": XSS_IMG,
                "components": [
                    {"type": "body", "parameters": [{"type": "text", "text": XSS_SCRIPT}]}
                ],
            },
        },
    )
    failed = reply(conversation, "will fail", by=agent)
    update_message_status(message=failed, status="failed", error_message=XSS_IMG)
    html = page(signed_in, conversation)
    assert XSS_SCRIPT not in html and XSS_IMG not in html
    assert "<script>alert" not in html and 'onerror="alert' not in html
    for message in (text, caption, loc, btn, tpl, failed):
        part = bubble(html, message)
        assert ESCAPED_SCRIPT in part or ESCAPED_IMG in part, message.content_type
    assert ESCAPED_IMG in bubble(html, doc)  # the file's name


# --- Accessibility -----------------------------------------------------------------------


def test_every_control_on_the_page_is_labelled(signed_in, conversation, agent):
    failed = reply(conversation, "x", by=agent)
    update_message_status(message=failed, status="failed", error_message="nope")
    html = page(signed_in, conversation)
    parser = ControlLabels()
    parser.feed(html)
    assert parser.controls, "no controls parsed"
    assert parser.unlabelled() == []
    assert parser.nameless_buttons() == []
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    for refs in re.findall(r'aria-(?:describedby|labelledby)="([^"]+)"', html):
        assert all(ref in ids for ref in refs.split()), refs


# --- Query counts ------------------------------------------------------------------------


def _read_page_queries(client, conversation, django_assert_num_queries, expected):
    client.get(
        f"/inbox/c/{conversation.public_id}/"
    )  # marks read: the measured load writes nothing
    with django_assert_num_queries(expected):
        response = client.get(f"/inbox/c/{conversation.public_id}/")
    return response.content.decode()


# Session, agent, memberships, conversation, agents; messages, attachments, reactions,
# system events; contact identifiers, other conversations; the list; the unread count.
PAGE_QUERIES = 13


@pytest.mark.parametrize("extra", [0, 49])
def test_page_query_count_does_not_grow_with_messages(
    signed_in, conversation, agent, admin_user, extra, django_assert_num_queries
):
    assign_conversation(conversation=conversation, assignee=admin_user, by=agent)
    for i in range(extra):
        message = (
            reply(conversation, f"answer {i}", by=agent if i % 2 else admin_user)
            if i % 3
            else inbound(conversation, f"question {i}")
        )
        if i % 5 == 0:
            react_to_message(message=message, reaction="👍", actor_user=agent)
    html = _read_page_queries(signed_in, conversation, django_assert_num_queries, PAGE_QUERIES)
    assert len(message_ids(html)) == min(1 + extra, THREAD_PAGE_SIZE)


# Session, agent, memberships, conversation, agents; messages, attachments, reactions, events.
OLDER_QUERIES = 9


@pytest.mark.parametrize("older", [1, 40])
def test_older_fragment_query_count_does_not_grow(
    signed_in, conversation, older, django_assert_num_queries
):
    _thread(conversation, older - 1 + THREAD_PAGE_SIZE)
    html = _read_page_queries(signed_in, conversation, django_assert_num_queries, PAGE_QUERIES)
    url = re.search(r'hx-get="(/inbox/c/[^"]+/messages/\?before=[^"]+)"', html).group(1)
    with django_assert_num_queries(OLDER_QUERIES):
        response = htmx_get(signed_in, url)
    assert len(message_ids(response.content.decode())) == min(older, THREAD_PAGE_SIZE)
