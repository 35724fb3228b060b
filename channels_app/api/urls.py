"""Routes of the Channels API under /api/v1/."""

from django.urls import path

from channels_app.api import views

urlpatterns = [
    path("channels", views.ChannelListView.as_view(), name="channels"),
    path("channels/<str:channel_id>", views.ChannelDetailView.as_view(), name="channel"),
    path("channels/<str:channel_id>/test", views.ChannelTestView.as_view(), name="channel-test"),
    path(
        "channels/<str:channel_id>/activate",
        views.ChannelActivateView.as_view(),
        name="channel-activate",
    ),
    path(
        "channels/<str:channel_id>/deactivate",
        views.ChannelDeactivateView.as_view(),
        name="channel-deactivate",
    ),
    path("channels/<str:channel_id>/stats", views.ChannelStatsView.as_view(), name="channel-stats"),
]
