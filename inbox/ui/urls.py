"""URLs of the agent inbox, mounted at /inbox/ (namespace `inbox`)."""

from django.urls import path

from inbox.ui import auth, conversations_list

app_name = "inbox"

urlpatterns = [
    path("", conversations_list.conversation_list_view, name="list"),
    path("bulk/", conversations_list.bulk_view, name="bulk"),
    path("login/", auth.login_view, name="login"),
    path("logout/", auth.logout_view, name="logout"),
    path("workspaces/", auth.workspaces_view, name="workspaces"),
    path("switch/", auth.switch_workspace_view, name="switch"),
]
