"""Routes of the Messages API under /api/v1/."""

from django.urls import path

from messaging.api import views

urlpatterns = [
    path("messages", views.MessageListView.as_view(), name="messages"),
    path("messages/bulk-read", views.BulkReadView.as_view(), name="messages-bulk-read"),
    path("messages/<str:message_id>", views.MessageDetailView.as_view(), name="message"),
    path("messages/<str:message_id>/read", views.MessageReadView.as_view(), name="message-read"),
    path(
        "messages/<str:message_id>/reactions",
        views.MessageReactionsView.as_view(),
        name="message-reactions",
    ),
    path(
        "conversations/<str:conversation_id>/messages",
        views.ConversationMessagesView.as_view(),
        name="conversation-messages",
    ),
    path("media/upload", views.MediaUploadView.as_view(), name="media-upload"),
]
