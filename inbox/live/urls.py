"""URL of the live-updates stream, mounted under /inbox/ next to the inbox pages."""

from django.urls import path

from inbox.live import views

urlpatterns = [
    path("events/", views.events, name="inbox-live-events"),
]
