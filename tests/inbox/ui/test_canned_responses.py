"""Canned responses: the services' rules, the settings page (admins manage, agents
read), the composer's JSON search, the Django admin through the services, isolation,
CSRF, escaping and the settings page's query budget.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from inbox.canned_services import (
    create_canned_response,
    delete_canned_response,
    update_canned_response,
)
from inbox.errors import AlreadyExists, ValidationFailed
from inbox.models import CannedResponse, Membership, User
from inbox.selectors import search_canned_responses
from inbox.services import create_agent
from inbox.ui.context import SESSION_WORKSPACE_KEY

XSS_SCRIPT = "<script>alert(1)</script>"
XSS_IMG = '<img src=x onerror="alert(2)">'
LIST_URL = "/inbox/settings/canned/"


def sign_in(client: Client, user: User, workspace) -> Client:
    client.force_login(user)
    session = client.session
    session[SESSION_WORKSPACE_KEY] = workspace.pk
    session.save()
    return client


@pytest.fixture
def as_admin(client, admin_user, workspace) -> Client:
    return sign_in(client, admin_user, workspace)


@pytest.fixture
def as_agent(agent, workspace) -> Client:
    return sign_in(Client(), agent, workspace)


def canned(workspace, shortcut: str = "thanks", title: str = "Thank you", text: str = "Thanks!"):
    return create_canned_response(workspace=workspace, shortcut=shortcut, title=title, text=text)


def edit_url(item: CannedResponse) -> str:
    return f"/inbox/settings/canned/{item.public_id}/"


def delete_url(item: CannedResponse) -> str:
    return f"/inbox/settings/canned/{item.public_id}/delete/"


# --- Services ----------------------------------------------------------------------------


def test_create_normalises_and_keeps_line_breaks(workspace, admin_user):
    item = create_canned_response(
        workspace=workspace,
        shortcut=" /Refund-Policy ",
        title="  Refund   policy ",
        text="Hello,\r\n\r\nRefunds take 5 days.  ",
        created_by=admin_user,
    )
    assert item.shortcut == "refund-policy"
    assert item.title == "Refund policy"
    assert item.text == "Hello,\n\nRefunds take 5 days."
    assert item.created_by == admin_user and item.public_id.startswith("canned_")


@pytest.mark.parametrize("shortcut", ["", "has space", "ünï", "a" * 33, "semi;colon", "/"])
def test_shortcut_rules(workspace, shortcut):
    with pytest.raises(ValidationFailed) as exc:
        canned(workspace, shortcut=shortcut)
    assert exc.value.details[0]["field"] == "shortcut"


@pytest.mark.parametrize(
    ("title", "text", "field"),
    [
        ("", "x", "title"),
        ("t" * 121, "x", "title"),
        ("ok", "   ", "text"),
        ("ok", "x" * 4097, "text"),
    ],
)
def test_title_and_text_rules(workspace, title, text, field):
    with pytest.raises(ValidationFailed) as exc:
        canned(workspace, title=title, text=text)
    assert exc.value.details[0]["field"] == field


def test_text_of_exactly_4096_characters_is_allowed(workspace):
    assert len(canned(workspace, text="x" * 4096).text) == 4096


def test_shortcuts_are_unique_per_workspace_only(workspace, other_workspace):
    canned(workspace, shortcut="hello")
    with pytest.raises(AlreadyExists):
        canned(workspace, shortcut="HELLO")
    assert canned(other_workspace, shortcut="hello").workspace == other_workspace


def test_update_and_delete(workspace):
    item = canned(workspace)
    taken = canned(workspace, shortcut="taken")
    update_canned_response(canned=item, shortcut="thx", text="Many thanks!")
    item.refresh_from_db()
    assert (item.shortcut, item.title, item.text) == ("thx", "Thank you", "Many thanks!")
    with pytest.raises(AlreadyExists):
        update_canned_response(canned=item, shortcut="taken")
    delete_canned_response(canned=taken)
    assert list(CannedResponse.objects.values_list("shortcut", flat=True)) == ["thx"]


# --- Settings page: admins manage ------------------------------------------------------


def test_admin_sees_the_list_and_the_form(as_admin, workspace):
    canned(workspace, shortcut="hello", title="Greeting", text="Hi there")
    response = as_admin.get(LIST_URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<code>/hello</code>" in html and "Greeting" in html and "Hi there" in html
    assert '<label for="canned-new-shortcut">Shortcut</label>' in html
    assert f'action="{LIST_URL}"' in html
    assert 'aria-current="page">Canned responses</a>' in html


def test_admin_creates_one(as_admin, workspace, admin_user):
    response = as_admin.post(
        LIST_URL, {"shortcut": "refund", "title": "Refunds", "text": "Refunds take 5 days."}
    )
    assert response.status_code == 302 and response["Location"] == LIST_URL
    item = CannedResponse.objects.get(workspace=workspace)
    assert (item.shortcut, item.title, item.created_by) == ("refund", "Refunds", admin_user)
    assert "Canned response /refund added." in as_admin.get(LIST_URL).content.decode()


def test_a_refused_create_shows_the_error_on_the_field_and_keeps_the_values(as_admin, workspace):
    canned(workspace, shortcut="taken")
    response = as_admin.post(
        LIST_URL, {"shortcut": "taken", "title": "Dup", "text": "Some long reply"}
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert re.search(
        r'<p class="form-error" id="canned-new-shortcut-error" role="alert">/taken is already', html
    )
    assert 'aria-invalid="true"' in html
    assert 'value="Dup"' in html and "Some long reply</textarea>" in html
    assert CannedResponse.objects.count() == 1


def test_admin_edits_one(as_admin, workspace):
    item = canned(workspace)
    page = as_admin.get(edit_url(item))
    assert page.status_code == 200
    assert 'value="thanks"' in page.content.decode()
    response = as_admin.post(
        edit_url(item), {"shortcut": "ty", "title": "Thanks", "text": "Thank you!"}
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert (item.shortcut, item.title, item.text) == ("ty", "Thanks", "Thank you!")


def test_a_refused_edit_is_shown_inline(as_admin, workspace):
    item = canned(workspace)
    response = as_admin.post(edit_url(item), {"shortcut": "ok", "title": "ok", "text": ""})
    assert response.status_code == 400
    assert "The text is required." in response.content.decode()
    item.refresh_from_db()
    assert item.shortcut == "thanks"


def test_admin_deletes_one(as_admin, workspace):
    item = canned(workspace)
    response = as_admin.post(delete_url(item))
    assert response.status_code == 302
    assert not CannedResponse.objects.exists()


# --- Settings page: agents read only ----------------------------------------------------


def test_agent_sees_a_read_only_list(as_agent, workspace):
    item = canned(workspace, shortcut="hello", title="Greeting", text="Hi there")
    html = as_agent.get(LIST_URL).content.decode()
    assert "<code>/hello</code>" in html
    assert "Only workspace admins can add, change or delete them." in html
    assert 'name="shortcut"' not in html
    assert edit_url(item) not in html and delete_url(item) not in html


def test_agent_cannot_manage(as_agent, workspace):
    item = canned(workspace)
    response = as_agent.post(LIST_URL, {"shortcut": "new", "title": "New", "text": "New"})
    assert response.status_code == 403
    assert "Only workspace admins can do this" in response.content.decode()
    assert as_agent.get(edit_url(item)).status_code == 403
    assert (
        as_agent.post(edit_url(item), {"shortcut": "x", "title": "x", "text": "x"}).status_code
        == 403
    )
    assert as_agent.post(delete_url(item)).status_code == 403
    item.refresh_from_db()
    assert item.shortcut == "thanks"
    assert list(CannedResponse.objects.values_list("shortcut", flat=True)) == ["thanks"]


def test_an_admin_of_another_workspace_is_only_an_agent_here(
    client, workspace, other_workspace, stranger
):
    """Roles are per workspace: admin there, agent here, read-only here."""
    create_agent(workspace=workspace, email=stranger.email)  # agent in ours
    Membership.objects.filter(workspace=other_workspace, user=stranger).update(role="admin")
    sign_in(client, stranger, workspace)
    assert client.post(LIST_URL, {"shortcut": "x", "title": "x", "text": "x"}).status_code == 403


# --- Isolation ----------------------------------------------------------------------------


def test_another_workspaces_canned_responses_are_invisible(as_admin, workspace, other_workspace):
    ours = canned(workspace, shortcut="ours", title="Ours", text="our text")
    theirs = canned(other_workspace, shortcut="theirs", title="Theirs", text="their secret")
    html = as_admin.get(LIST_URL).content.decode()
    assert "/ours" in html and "their secret" not in html and "/theirs" not in html
    search = as_admin.get("/inbox/canned/", {"q": ""}).json()["results"]
    assert [r["id"] for r in search] == [ours.public_id]
    assert as_admin.get("/inbox/canned/", {"q": "the"}).json()["results"] == []

    assert as_admin.get(edit_url(theirs)).status_code == 404
    assert (
        as_admin.post(edit_url(theirs), {"shortcut": "x", "title": "x", "text": "x"}).status_code
        == 404
    )
    assert as_admin.post(delete_url(theirs)).status_code == 404
    assert as_admin.get("/inbox/settings/canned/canned_doesnotexist0000000000/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.shortcut == "theirs"


# --- The composer's search --------------------------------------------------------------


def test_search_puts_shortcut_prefixes_first_then_titles(as_agent, workspace):
    canned(workspace, shortcut="address", title="Our address", text="1 Main St")
    canned(workspace, shortcut="hours", title="Address hours", text="9 to 5")
    canned(workspace, shortcut="adv", title="Advice", text="...")
    canned(workspace, shortcut="zzz", title="Unrelated", text="...")
    response = as_agent.get("/inbox/canned/", {"q": "ad"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    results = response.json()["results"]
    assert [r["shortcut"] for r in results] == ["address", "adv", "hours"]
    assert results[0] == {
        "id": results[0]["id"],
        "shortcut": "address",
        "title": "Our address",
        "text": "1 Main St",
    }
    # A leading slash is what the agent typed: same answer.
    assert as_agent.get("/inbox/canned/", {"q": "/ad"}).json()["results"] == results


def test_search_is_limited_to_20(as_agent, workspace):
    for n in range(25):
        canned(workspace, shortcut=f"s{n:02d}", title=f"Title {n}", text="x")
    assert len(as_agent.get("/inbox/canned/").json()["results"]) == 20
    assert len(search_canned_responses(workspace, "s", limit=5)) == 5


def test_search_needs_a_signed_in_member(client, workspace):
    canned(workspace)
    assert client.get("/inbox/canned/").status_code == 302


# --- CSRF and escaping ------------------------------------------------------------------------


def test_csrf_is_enforced_on_every_form(admin_user, workspace):
    client = sign_in(Client(enforce_csrf_checks=True), admin_user, workspace)
    item = canned(workspace)
    assert client.post(LIST_URL, {"shortcut": "a", "title": "a", "text": "a"}).status_code == 403
    assert (
        client.post(edit_url(item), {"shortcut": "b", "title": "b", "text": "b"}).status_code == 403
    )
    assert client.post(delete_url(item)).status_code == 403
    assert list(CannedResponse.objects.values_list("shortcut", flat=True)) == ["thanks"]
    # The page's own token works.
    page = client.get(LIST_URL).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = client.post(
        LIST_URL, {"shortcut": "a", "title": "a", "text": "a", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302


def test_titles_and_texts_are_escaped(as_admin, workspace):
    item = canned(workspace, shortcut="xss", title=XSS_SCRIPT, text=XSS_IMG)
    for url in (LIST_URL, edit_url(item)):
        html = as_admin.get(url).content.decode()
        assert XSS_SCRIPT not in html and XSS_IMG not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;" in html


def test_echoed_values_and_errors_are_escaped(as_admin, workspace):
    response = as_admin.post(LIST_URL, {"shortcut": XSS_SCRIPT, "title": XSS_IMG, "text": "x"})
    assert response.status_code == 400
    html = response.content.decode()
    assert XSS_SCRIPT not in html and XSS_IMG not in html
    assert 'value="&lt;script&gt;alert(1)&lt;/script&gt;"' in html


# --- The Django admin, through the services -----------------------------------------------------


@pytest.fixture
def ops(client, db) -> tuple[Client, User]:
    operator = User.objects.create_superuser(email="ops@inbox.test", password="ops-password-1")
    client.force_login(operator)
    return client, operator


def test_admin_add_change_and_delete_go_through_the_services(ops, workspace):
    client, operator = ops
    add = reverse("admin:inbox_cannedresponse_add")
    assert client.get(add).status_code == 200
    response = client.post(
        add, {"workspace": workspace.pk, "shortcut": "/Welcome", "title": "Welcome", "text": "Hi!"}
    )
    assert response.status_code == 302
    item = CannedResponse.objects.get()
    # Normalised by the service: the form alone would have stored "/Welcome".
    assert item.shortcut == "welcome" and item.created_by == operator

    change = reverse("admin:inbox_cannedresponse_change", args=[item.pk])
    assert client.get(change).status_code == 200
    response = client.post(change, {"shortcut": "hello", "title": "Hello", "text": "Hello!"})
    assert response.status_code == 302
    item.refresh_from_db()
    assert (item.shortcut, item.title, item.text) == ("hello", "Hello", "Hello!")

    changelist = client.get(reverse("admin:inbox_cannedresponse_changelist"), {"q": "hel"})
    assert changelist.status_code == 200 and "/hello" in changelist.content.decode()

    delete = reverse("admin:inbox_cannedresponse_delete", args=[item.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 302
    assert not CannedResponse.objects.exists()


def test_admin_shows_the_services_refusal_on_the_field(ops, workspace):
    client, _ = ops
    canned(workspace, shortcut="taken")
    item = canned(workspace, shortcut="mine")
    change = reverse("admin:inbox_cannedresponse_change", args=[item.pk])
    response = client.post(change, {"shortcut": "taken", "title": "x", "text": "x"})
    assert response.status_code == 200
    assert "/taken is already a canned response here." in response.content.decode()
    item.refresh_from_db()
    assert item.shortcut == "mine"


# --- Query budget ---------------------------------------------------------------------

# Session, user, memberships (inbox_view); the list; the unread count in the
# title; the session's flash messages read nothing from the database.
LIST_PAGE_QUERIES = 5


@pytest.mark.parametrize("count", [1, 30])
def test_the_settings_list_runs_a_fixed_number_of_queries(
    as_admin, workspace, admin_user, count, django_assert_num_queries
):
    for n in range(count):
        create_canned_response(
            workspace=workspace,
            shortcut=f"s{n}",
            title=f"Title {n}",
            text=f"Text {n}",
            created_by=admin_user,
        )
    with django_assert_num_queries(LIST_PAGE_QUERIES):
        response = as_admin.get(LIST_URL)
    assert response.status_code == 200
    assert response.content.decode().count("data-canned-id=") == count


def test_element_ids_are_unique(as_admin, workspace):
    """Labels and aria references point at one element each (a clash broke the form once)."""
    item = canned(workspace)
    for url in (LIST_URL, edit_url(item)):
        ids = re.findall(r'\sid="([^"]+)"', as_admin.get(url).content.decode())
        assert len(ids) == len(set(ids)), url
