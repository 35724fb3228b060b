"""Contacts API views: a typed parse of the request, one service or selector call.

Every lookup by id goes through `messaging.selectors.get_contact_for` (or
`get_contact_detail_for`), so another workspace's ids answer 404 exactly like
unknown ones. Responses are rendered by `representations.contact_resource`,
the renderer the contact events use too.
"""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response

from inbox.api import envelope
from inbox.api.filtering import filtered
from inbox.api.pagination import paginate
from inbox.api.views import ApiView
from inbox.models import Workspace
from messaging.api import contact_schema as schema
from messaging.api.contact_filters import ContactFilter
from messaging.api.contact_serializers import (
    ContactCreateSerializer,
    ContactMergeSerializer,
    ContactUpdateSerializer,
)
from messaging.api.views import _bool_param, _validated
from messaging.errors import ContactNotFound
from messaging.models import Contact
from messaging.representations import contact_resource
from messaging.selectors import contacts_for, get_contact_detail_for, get_contact_for
from messaging.services.contacts import (
    create_contact,
    delete_contact,
    merge_contacts,
    update_contact,
)

READ = "contacts:read"
WRITE = "contacts:write"

# Body fields whose null (or "") clears the value, and the service argument each maps to.
_CLEARABLE = {"name": "name", "phone": "phone", "email": "email", "avatar": "avatar_url"}


def _rendered(
    request: Request, workspace: Workspace, contact: Contact, status: int = 200
) -> Response:
    """The contact re-read with its identifiers and conversation count, in the envelope."""
    detail = get_contact_detail_for(workspace, contact.public_id)
    return envelope.single(request, contact_resource(detail), status=status)


class ContactListView(ApiView):
    required_scopes = {"GET": READ, "POST": WRITE}

    @schema.list_contacts
    def get(self, request: Request) -> Response:
        filterset = ContactFilter(request.query_params, queryset=contacts_for(self.workspace))
        queryset = filtered(filterset)
        page = paginate(queryset, request.query_params)
        return envelope.collection(
            request, [contact_resource(c) for c in page.items], **page.meta()
        )

    @schema.create_contact
    def post(self, request: Request) -> Response:
        data = _validated(ContactCreateSerializer, request.data)
        contact = create_contact(
            workspace=self.workspace,
            name=data.get("name", ""),
            phone=data.get("phone", ""),
            email=data.get("email", ""),
            avatar_url=data.get("avatar", ""),
            metadata=data.get("metadata"),
            tags=data.get("tags"),
        )
        return _rendered(request, self.workspace, contact, status=201)


class ContactDetailView(ApiView):
    required_scopes = {"GET": READ, "PATCH": WRITE, "DELETE": WRITE}

    @schema.get_contact
    def get(self, request: Request, contact_id: str) -> Response:
        contact = get_contact_detail_for(self.workspace, contact_id)
        return envelope.single(request, contact_resource(contact))

    @schema.update_contact
    def patch(self, request: Request, contact_id: str) -> Response:
        data = _validated(ContactUpdateSerializer, request.data)
        contact = get_contact_for(self.workspace, contact_id)
        changes: dict[str, Any] = {
            argument: data[field] or "" for field, argument in _CLEARABLE.items() if field in data
        }
        for field in ("metadata", "tags"):
            if field in data:
                changes[field] = data[field]
        contact = update_contact(contact=contact, merge_metadata=True, **changes)
        return _rendered(request, self.workspace, contact)

    @schema.delete_contact
    def delete(self, request: Request, contact_id: str) -> Response:
        force = _bool_param(request, "force")
        delete_contact(contact=get_contact_for(self.workspace, contact_id), force=force)
        return Response(status=204)


class ContactMergeView(ApiView):
    required_scopes = {"POST": WRITE}

    @schema.merge_contacts
    def post(self, request: Request, contact_id: str) -> Response:
        data = _validated(ContactMergeSerializer, request.data)
        target = get_contact_for(self.workspace, contact_id)
        try:
            source = get_contact_for(self.workspace, data["sourceContactId"])
        except ContactNotFound as exc:
            # Name the body field, so the client knows which of the two ids is wrong.
            raise ContactNotFound(exc.message, field="sourceContactId") from None
        contact = merge_contacts(target=target, source=source)
        return _rendered(request, self.workspace, contact)
