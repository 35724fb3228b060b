"""Routes of the Conversations API under /api/v1/.

`GET /conversations/<id>/messages` (the thread) lives with the Messages API
in `messaging/api/urls.py`.
"""

from django.urls import path

from messaging.api import conversations as views

urlpatterns = [
    path("conversations", views.ConversationListView.as_view(), name="conversations"),
    path(
        "conversations/<str:conversation_id>",
        views.ConversationDetailView.as_view(),
        name="conversation",
    ),
    path(
        "conversations/<str:conversation_id>/close",
        views.ConversationCloseView.as_view(),
        name="conversation-close",
    ),
    path(
        "conversations/<str:conversation_id>/reopen",
        views.ConversationReopenView.as_view(),
        name="conversation-reopen",
    ),
    path(
        "conversations/<str:conversation_id>/assign",
        views.ConversationAssignView.as_view(),
        name="conversation-assign",
    ),
    path(
        "conversations/<str:conversation_id>/transfer",
        views.ConversationTransferView.as_view(),
        name="conversation-transfer",
    ),
    path(
        "conversations/<str:conversation_id>/participants",
        views.ConversationParticipantsView.as_view(),
        name="conversation-participants",
    ),
]
