"""Actions on the conversation page: POST `/inbox/c/<id>/actions/<action>/` and message
retry. Each goes through its service (state and events asserted), answers the header to
htmx and a redirect without JavaScript, shows refusals inline, is CSRF-protected, and
is a 404 for another workspace's ids.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.http import QueryDict
from django.test import Client
from django.utils import timezone

from inbox.services import create_agent
from inbox.ui.conversation_actions import snooze_until
from messaging.models import Conversation, Message, OutboxEvent
from messaging.services import close_conversation, update_message_status
from tests.inbox.ui.conversation_support import (
    ESCAPED_IMG,
    ESCAPED_SCRIPT,
    XSS_IMG,
    XSS_SCRIPT,
    csrf_token_of,
    htmx_post,
    inbound,
    page,
    reply,
    sign_in,
)


@pytest.fixture
def signed_in(client: Client, agent, workspace) -> Client:
    return sign_in(client, agent, workspace)


def action_url(conversation: Conversation, action: str) -> str:
    return f"/inbox/c/{conversation.public_id}/actions/{action}/"


def act(client: Client, conversation: Conversation, action: str, **data: str):
    return htmx_post(client, action_url(conversation, action), data)


def events(conversation: Conversation, name: str) -> list[OutboxEvent]:
    return list(
        OutboxEvent.objects.filter(conversation_public_id=conversation.public_id, event=name)
    )


# --- Assignment -------------------------------------------------------------------------


def test_assign_to_me_answers_the_header(signed_in, conversation, agent):
    response = act(signed_in, conversation, "assign-me")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<header id="conv-header"')
    assert "Assigned to you." in html  # the notice
    assert re.search(r'id="action-assign-me"[^>]* disabled>Assigned to you</button>', html)
    conversation.refresh_from_db()
    assert conversation.assignee == agent
    [event] = events(conversation, "conversation.assigned")
    assert event.data["meta"]["by"] == agent.public_id


def test_assign_to_another_agent_and_unassign(signed_in, conversation, agent, admin_user):
    response = act(signed_in, conversation, "assign", assignee=admin_user.public_id)
    assert response.status_code == 200
    assert f"Assigned to {admin_user.name}." in response.content.decode()
    conversation.refresh_from_db()
    assert conversation.assignee == admin_user
    response = act(signed_in, conversation, "unassign")
    assert "Unassigned." in response.content.decode()
    conversation.refresh_from_db()
    assert conversation.assignee is None
    assert len(events(conversation, "conversation.assigned")) == 2


def test_assigning_an_agent_of_another_workspace_is_refused_inline(
    signed_in, conversation, stranger
):
    response = act(signed_in, conversation, "assign", assignee=stranger.public_id)
    assert response.status_code == 422
    html = response.content.decode()
    assert re.search(r'<p class="form-error" id="action-error" role="alert"[^>]*>No agent', html)
    assert (
        'id="assign-agent" name="assignee" aria-invalid="true" aria-describedby="action-error"'
        in html
    )
    conversation.refresh_from_db()
    assert conversation.assignee is None
    assert events(conversation, "conversation.assigned") == []


# --- Status, snooze, close, reopen ---------------------------------------------------------


def test_status_pending_then_open(signed_in, conversation, agent):
    response = act(signed_in, conversation, "status", status="pending")
    assert "Marked pending." in response.content.decode()
    conversation.refresh_from_db()
    assert conversation.status == "pending"
    [event] = events(conversation, "conversation.updated")
    assert event.data["meta"] == {
        "by": agent.public_id,
        "change": "status",
        "previousStatus": "open",
    }
    act(signed_in, conversation, "status", status="open")
    conversation.refresh_from_db()
    assert conversation.status == "open"


def test_status_other_than_open_or_pending_is_refused(signed_in, conversation):
    response = act(signed_in, conversation, "status", status="closed")
    assert response.status_code == 422
    assert "Must be open or pending." in response.content.decode()
    conversation.refresh_from_db()
    assert conversation.status == "open"


@pytest.mark.parametrize(
    ("data", "expected_local"),
    [
        ({"preset": "tomorrow", "tz": "America/Sao_Paulo"}, "tomorrow 09:00"),
        ({"preset": "custom", "until": "2099-05-04T18:30", "tz": "Asia/Tokyo"}, "2099-05-04 18:30"),
    ],
)
def test_snooze_reads_times_in_the_browser_zone(
    signed_in, conversation, agent, data, expected_local
):
    response = act(signed_in, conversation, "snooze", **data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Snoozed." in html and "Snoozed until <time" in html
    conversation.refresh_from_db()
    assert conversation.status == "snoozed"
    zone = ZoneInfo(data["tz"])
    local = conversation.snoozed_until.astimezone(zone)
    if expected_local == "tomorrow 09:00":
        assert local.date() == (timezone.now().astimezone(zone) + timedelta(days=1)).date()
        assert (local.hour, local.minute) == (9, 0)
    else:
        assert local.strftime("%Y-%m-%d %H:%M") == expected_local
    [event] = events(conversation, "conversation.updated")
    assert event.data["meta"]["change"] == "snoozed"


def test_snooze_in_an_hour(signed_in, conversation):
    before = timezone.now()
    act(signed_in, conversation, "snooze", preset="1h")
    conversation.refresh_from_db()
    delta = conversation.snoozed_until - before
    assert timedelta(minutes=59) < delta < timedelta(minutes=61)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"preset": "custom", "until": "2001-01-01T10:00"}, "Must be a time in the future."),
        ({"preset": "custom", "until": "next tuesday"}, "Enter a valid date and time."),
        ({"preset": "custom", "until": ""}, "Choose when the conversation should come back."),
    ],
)
def test_snooze_refusals_are_inline_and_keep_the_menu_open(signed_in, conversation, data, message):
    response = act(signed_in, conversation, "snooze", **data)
    assert response.status_code == 422
    html = response.content.decode()
    assert message in html
    assert '<details class="action-menu" id="snooze-menu" open>' in html
    assert 'id="snooze-until" name="until"' in html and 'aria-invalid="true"' in html
    conversation.refresh_from_db()
    assert conversation.status == "open" and conversation.snoozed_until is None


def _form(**fields: str) -> QueryDict:
    query = QueryDict(mutable=True)
    for name, value in fields.items():
        query[name] = value
    return query


def test_snooze_time_rules():
    # Saturday 8 March 2025, 15:00 UTC; New York moves to summer time on the 9th.
    now = datetime(2025, 3, 8, 15, 0, tzinfo=UTC)
    ny = "America/New_York"
    assert snooze_until(_form(tz=ny, preset="tomorrow"), now) == datetime(
        2025, 3, 9, 13, 0, tzinfo=UTC
    )  # 9:00 EDT
    assert snooze_until(_form(tz=ny, preset="nextweek"), now) == datetime(
        2025, 3, 10, 13, 0, tzinfo=UTC
    )  # Monday 9:00 EDT
    assert snooze_until(_form(tz=ny, preset="1h"), now) == now + timedelta(hours=1)
    assert snooze_until(_form(tz=ny, preset="custom", until="2025-03-08T18:00"), now) == (
        datetime(2025, 3, 8, 23, 0, tzinfo=UTC)  # 18:00 EST
    )
    # An explicit offset wins over the zone; an unusable zone means the server's (UTC).
    assert snooze_until(_form(tz=ny, until="2025-03-08T18:00+02:00"), now) == datetime(
        2025, 3, 8, 16, 0, tzinfo=UTC
    )
    for bad in ("../../etc/passwd", "Not/AZone", "/etc/localtime", ""):
        assert snooze_until(_form(tz=bad, until="2025-03-08T18:00"), now) == datetime(
            2025, 3, 8, 18, 0, tzinfo=UTC
        ), bad
    # On a Monday "next week" is the Monday after.
    monday = datetime(2025, 3, 10, 8, 0, tzinfo=UTC)
    assert snooze_until(_form(tz="UTC", preset="nextweek"), monday) == datetime(
        2025, 3, 17, 9, 0, tzinfo=UTC
    )


def test_close_with_resolution_and_reason_then_reopen(signed_in, conversation, agent):
    response = act(signed_in, conversation, "close", resolution="spam", reason="Bot traffic")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Closed as spam." in html
    assert 'id="action-reopen"' in html and 'id="action-close"' not in html
    assert f"Closed as spam by {agent.name}: Bot traffic" in html
    conversation.refresh_from_db()
    assert (conversation.status, conversation.resolution, conversation.closure_reason) == (
        "closed",
        "spam",
        "Bot traffic",
    )
    assert conversation.closed_by == agent
    [closed] = events(conversation, "conversation.closed")
    assert closed.data["attributes"]["resolution"] == "spam"

    response = act(signed_in, conversation, "reopen")
    assert "Reopened." in response.content.decode()
    conversation.refresh_from_db()
    assert conversation.status == "open" and conversation.reopened_by == agent
    assert len(events(conversation, "conversation.reopened")) == 1


def test_close_defaults_to_resolved_and_refuses_a_closed_conversation(signed_in, conversation):
    act(signed_in, conversation, "close")
    conversation.refresh_from_db()
    assert conversation.resolution == "resolved"
    response = act(signed_in, conversation, "close")
    assert response.status_code == 422
    assert "The conversation is already closed." in response.content.decode()
    assert len(events(conversation, "conversation.closed")) == 1


def test_close_refuses_an_unknown_resolution_and_a_long_reason(signed_in, conversation):
    response = act(signed_in, conversation, "close", resolution="whatever")
    assert response.status_code == 422 and "Must be one of resolved" in response.content.decode()
    response = act(signed_in, conversation, "close", reason="x" * 501)
    assert response.status_code == 422 and "under 500 characters" in response.content.decode()
    # The typed reason is put back.
    assert 'value="' + "x" * 501 + '"' in response.content.decode()
    conversation.refresh_from_db()
    assert conversation.status == "open"


def test_reopen_refused_when_the_contact_has_another_open_conversation(
    signed_in, conversation, agent
):
    close_conversation(conversation=conversation, by=agent)
    # A new outbound-first thread with the same contact on the same channel.
    from messaging.services.conversations import create_conversation

    create_conversation(
        workspace=conversation.workspace,
        channel=conversation.channel,
        contact=conversation.contact,
    )
    response = act(signed_in, conversation, "reopen")
    assert response.status_code == 422
    assert "another open conversation" in response.content.decode()
    conversation.refresh_from_db()
    assert conversation.status == "closed"


# --- Labels and priority -------------------------------------------------------------------


def test_labels_are_added_and_removed(signed_in, conversation):
    act(signed_in, conversation, "add-label", label="billing")
    response = act(signed_in, conversation, "add-label", label="  vip ")
    html = response.content.decode()
    assert "Label “vip” added." in html
    assert 'aria-label="Remove label billing"' in html and 'aria-label="Remove label vip"' in html
    conversation.refresh_from_db()
    assert conversation.tags == ["billing", "vip"]
    act(signed_in, conversation, "remove-label", label="billing")
    conversation.refresh_from_db()
    assert conversation.tags == ["vip"]
    assert len(events(conversation, "conversation.updated")) == 3


def test_empty_or_long_labels_are_refused(signed_in, conversation):
    for label in ("", "   ", "x" * 65):
        response = act(signed_in, conversation, "add-label", label=label)
        assert response.status_code == 422
        assert "Enter a label of 1 to 64 characters." in response.content.decode()
    conversation.refresh_from_db()
    assert conversation.tags == []


def test_priority(signed_in, conversation, agent):
    response = act(signed_in, conversation, "priority", priority="urgent")
    html = response.content.decode()
    assert "Priority set to urgent." in html and "Urgent priority" in html
    assert '<option value="urgent" selected>' in html
    conversation.refresh_from_db()
    assert conversation.priority == "urgent"
    response = act(signed_in, conversation, "priority", priority="extreme")
    assert response.status_code == 422
    conversation.refresh_from_db()
    assert conversation.priority == "urgent"


def test_unknown_action_is_404(signed_in, conversation):
    assert act(signed_in, conversation, "delete-everything").status_code == 404


def test_actions_are_post_only(signed_in, conversation):
    assert signed_in.get(action_url(conversation, "close")).status_code == 405
    conversation.refresh_from_db()
    assert conversation.status == "open"


# --- Without JavaScript ---------------------------------------------------------------------


def test_without_javascript_an_action_redirects_back_with_a_notice(signed_in, conversation):
    response = signed_in.post(action_url(conversation, "priority"), {"priority": "high"})
    assert response.status_code == 302
    assert response.url == f"/inbox/c/{conversation.public_id}/"
    html = page(signed_in, conversation)
    assert "Priority set to high." in html
    # Shown once.
    assert "Priority set to high." not in page(signed_in, conversation)


def test_without_javascript_a_refusal_renders_the_page_with_the_error(signed_in, conversation):
    response = signed_in.post(action_url(conversation, "add-label"), {"label": ""})
    assert response.status_code == 422
    html = response.content.decode()
    assert "<!doctype html>" in html and 'id="thread-items"' in html
    assert "Enter a label of 1 to 64 characters." in html


# --- Retry ---------------------------------------------------------------------------------


def retry_url(conversation: Conversation, message: Message) -> str:
    return f"/inbox/c/{conversation.public_id}/messages/{message.public_id}/retry/"


def test_retry_puts_a_failed_message_back_in_the_queue(signed_in, conversation, agent):
    message = reply(conversation, "did not go", by=agent)
    update_message_status(message=message, status="failed", error_message="Timeout")
    response = htmx_post(signed_in, retry_url(conversation, message))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.strip().startswith(f'<li id="msg-{message.public_id}"')
    assert "ticks-pending" in html and "Not delivered" not in html
    message.refresh_from_db()
    assert message.status == "pending" and message.failure_reason == ""
    assert message.status_history[-1]["status"] == "pending"


def test_retry_of_a_message_that_did_not_fail_is_refused_inline(signed_in, conversation, agent):
    message = reply(conversation, "fine", by=agent)
    update_message_status(message=message, status="delivered")
    response = htmx_post(signed_in, retry_url(conversation, message))
    assert response.status_code == 422
    assert "Only failed outbound messages can be retried." in response.content.decode()
    message.refresh_from_db()
    assert message.status == "delivered"


def test_retry_without_javascript_redirects_to_the_message(signed_in, conversation, agent):
    message = reply(conversation, "did not go", by=agent)
    update_message_status(message=message, status="failed", error_message="Timeout")
    response = signed_in.post(retry_url(conversation, message))
    assert response.status_code == 302
    assert response.url == f"/inbox/c/{conversation.public_id}/#msg-{message.public_id}"
    assert "Sending the message again." in page(signed_in, conversation)


# --- Isolation and CSRF ----------------------------------------------------------------------


@pytest.fixture
def foreign(other_workspace, make_channel, stranger):
    channel = make_channel(other_workspace)
    message = inbound(channel, "theirs", name="Their Customer")
    failed = reply(message.conversation, "their reply", by=stranger)
    update_message_status(message=failed, status="failed", error_message="x")
    return message.conversation, failed


ALL_ACTIONS = {
    "assign-me": {},
    "assign": {},
    "unassign": {},
    "status": {"status": "pending"},
    "snooze": {"preset": "1h"},
    "close": {},
    "reopen": {},
    "priority": {"priority": "urgent"},
    "add-label": {"label": "x"},
    "remove-label": {"label": "x"},
}


def test_every_action_on_a_foreign_conversation_is_404(signed_in, conversation, foreign, agent):
    theirs, their_failed = foreign
    for action, data in ALL_ACTIONS.items():
        data = {**data, "assignee": agent.public_id}
        for conv_id in (theirs.public_id, "conv_missing"):
            url = f"/inbox/c/{conv_id}/actions/{action}/"
            assert signed_in.post(url, data).status_code == 404, action
            assert htmx_post(signed_in, url, data).status_code == 404, action
    assert signed_in.post(retry_url(theirs, their_failed)).status_code == 404
    # Their message under our conversation id is not found either.
    assert signed_in.post(retry_url(conversation, their_failed)).status_code == 404
    before = Conversation.objects.get(pk=theirs.pk)
    assert (before.status, before.assignee_id, before.priority, before.tags) == (
        "open",
        None,
        "normal",
        [],
    )
    their_failed.refresh_from_db()
    assert their_failed.status == "failed"


def test_csrf_is_enforced_on_actions_and_retry(agent, workspace, conversation):
    browser = sign_in(Client(enforce_csrf_checks=True), agent, workspace)
    message = reply(conversation, "x", by=agent)
    update_message_status(message=message, status="failed", error_message="x")
    for url in (
        action_url(conversation, "close"),
        retry_url(conversation, message),
        f"/inbox/c/{conversation.public_id}/read/",
    ):
        assert browser.post(url).status_code == 403, url
        assert htmx_post(browser, url).status_code == 403, url
    conversation.refresh_from_db()
    assert conversation.status == "open"
    # With the page's token (form field or the X-CSRFToken header htmx sends) it works.
    token = csrf_token_of(page(browser, conversation))
    response = browser.post(
        action_url(conversation, "close"),
        headers={"HX-Request": "true", "X-CSRFToken": token},
    )
    assert response.status_code == 200
    conversation.refresh_from_db()
    assert conversation.status == "closed"


# --- Escaping --------------------------------------------------------------------------------


def test_header_escapes_labels_reasons_and_agent_names(signed_in, conversation, workspace, agent):
    evil, _ = create_agent(
        workspace=workspace, email="evil@acme.test", password="x" * 20, display_name=XSS_SCRIPT
    )
    act(signed_in, conversation, "add-label", label=XSS_IMG)
    act(signed_in, conversation, "assign", assignee=evil.public_id)
    response = act(signed_in, conversation, "close", reason=XSS_SCRIPT)
    html = response.content.decode()
    assert XSS_SCRIPT not in html and XSS_IMG not in html
    assert ESCAPED_SCRIPT in html and ESCAPED_IMG in html
    full = page(signed_in, conversation)
    assert XSS_SCRIPT not in full and XSS_IMG not in full
    assert f'aria-label="Remove label {ESCAPED_IMG}"' in full
    assert f"Assigned to {ESCAPED_SCRIPT}" in full  # the system event


def test_refusal_messages_with_user_input_are_escaped(signed_in, conversation):
    response = act(signed_in, conversation, "assign", assignee=XSS_SCRIPT)
    assert response.status_code == 422
    html = response.content.decode()
    assert XSS_SCRIPT not in html and ESCAPED_SCRIPT in html


HEADER_QUERIES = 5


def test_header_fragment_query_count(signed_in, conversation, workspace, django_assert_num_queries):
    for i in range(8):
        create_agent(workspace=workspace, email=f"a{i}@acme.test", password="x" * 20)
    act(signed_in, conversation, "add-label", label="one")
    # Session, agent, memberships, conversation, agents.
    with django_assert_num_queries(HEADER_QUERIES):
        response = signed_in.get(
            f"/inbox/c/{conversation.public_id}/header/", headers={"HX-Request": "true"}
        )
    assert response.content.decode().count('<option value="user_') == 9
