"""Routes of the Contacts API under /api/v1/."""

from django.urls import path

from messaging.api import contacts

urlpatterns = [
    path("contacts", contacts.ContactListView.as_view(), name="contacts"),
    path("contacts/<str:contact_id>", contacts.ContactDetailView.as_view(), name="contact"),
    path(
        "contacts/<str:contact_id>/merge",
        contacts.ContactMergeView.as_view(),
        name="contact-merge",
    ),
]
