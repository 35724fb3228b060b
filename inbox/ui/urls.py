"""URLs of the agent inbox, mounted at /inbox/ (namespace `inbox`)."""

from django.urls import path

from inbox.ui import (
    auth,
    canned,
    composer,
    contact_sidebar,
    conversation_actions,
    conversation_view,
    conversations_list,
)

app_name = "inbox"

urlpatterns = [
    path("", conversations_list.conversation_list_view, name="list"),
    path("bulk/", conversations_list.bulk_view, name="bulk"),
    path("login/", auth.login_view, name="login"),
    path("logout/", auth.logout_view, name="logout"),
    path("workspaces/", auth.workspaces_view, name="workspaces"),
    path("switch/", auth.switch_workspace_view, name="switch"),
    # The conversation page and its fragments (inbox.ui.conversation_view).
    path("c/<str:conversation_id>/", conversation_view.conversation_page_view, name="conversation"),
    path(
        "c/<str:conversation_id>/messages/",
        conversation_view.thread_messages_view,
        name="conversation-messages",
    ),
    path(
        "c/<str:conversation_id>/messages/<str:message_id>/",
        conversation_view.message_view,
        name="conversation-message",
    ),
    path(
        "c/<str:conversation_id>/messages/<str:message_id>/retry/",
        conversation_actions.retry_message_view,
        name="conversation-message-retry",
    ),
    path(
        "c/<str:conversation_id>/read/", conversation_view.mark_read_view, name="conversation-read"
    ),
    path(
        "c/<str:conversation_id>/header/",
        conversation_view.header_view,
        name="conversation-header",
    ),
    path(
        "c/<str:conversation_id>/list/",
        conversation_view.list_pane_view,
        name="conversation-list-pane",
    ),
    # Its actions (inbox.ui.conversation_actions) and contact sidebar (inbox.ui.contact_sidebar).
    path(
        "c/<str:conversation_id>/actions/<slug:action>/",
        conversation_actions.conversation_action_view,
        name="conversation-action",
    ),
    path("contacts/<str:contact_id>/", contact_sidebar.contact_view, name="contact"),
    # The composer under a conversation (inbox.ui.composer).
    path("c/<str:public_id>/send/", composer.send_view, name="composer-send"),
    path("c/<str:public_id>/upload/", composer.upload_view, name="composer-upload"),
    # Canned responses: the composer's `/` search and the settings page (inbox.ui.canned).
    path("canned/", canned.canned_search_view, name="canned-search"),
    path("settings/canned/", canned.canned_list_view, name="canned-list"),
    path("settings/canned/<str:public_id>/", canned.canned_edit_view, name="canned-edit"),
    path(
        "settings/canned/<str:public_id>/delete/",
        canned.canned_delete_view,
        name="canned-delete",
    ),
]
