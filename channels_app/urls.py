"""Routes of the channels app outside the API: the providers' inbound webhooks."""

from django.urls import path

from channels_app.views import channel_webhook

urlpatterns = [
    path("channels/<str:token>/", channel_webhook, name="channel-webhook"),
]
