"""OpenAPI description of the Contacts API (drf-spectacular).

The views render plain dicts (`representations.contact_resource`), so their
shapes are described here once, with the error codes each endpoint can
answer. Shared pieces (the error envelope, meta, pagination, the helpers)
come from the Messages API's schema module so every resource documents them
the same way.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers

from channels_app.models import Channel
from messaging.api.contact_filters import SORT_FIELDS
from messaging.api.contact_serializers import (
    ContactCreateSerializer,
    ContactMergeSerializer,
    ContactUpdateSerializer,
)
from messaging.api.schema import (
    _IDEMPOTENCY,
    _errors,
    _pagination,
    _q,
    _single,
    inline,
)

TAG = "Contacts"
IDEMPOTENCY_CODES = "IDEMPOTENCY_KEY_REUSED, IDEMPOTENCY_REQUEST_IN_PROGRESS"


def CONTACT():
    return inline(
        "ContactResource",
        {
            "id": serializers.CharField(help_text="contact_..."),
            "type": serializers.CharField(default="contact"),
            "attributes": inline(
                "ContactAttributes",
                {
                    "name": serializers.CharField(),
                    "phone": serializers.CharField(allow_null=True, help_text="E.164"),
                    "email": serializers.EmailField(allow_null=True),
                    "avatar": serializers.URLField(allow_null=True),
                    "metadata": serializers.DictField(),
                    "tags": serializers.ListField(child=serializers.CharField()),
                    "identifiers": serializers.ListField(
                        child=inline(
                            "ContactIdentifierEntry",
                            {
                                "channelType": serializers.ChoiceField(choices=Channel.Type.values),
                                "value": serializers.CharField(
                                    help_text="The contact's address on that channel type."
                                ),
                                "createdAt": serializers.DateTimeField(),
                            },
                        ),
                    ),
                    "conversationCount": serializers.IntegerField(
                        help_text="Conversations of the contact, in any status."
                    ),
                    "createdAt": serializers.DateTimeField(),
                    "updatedAt": serializers.DateTimeField(),
                },
            ),
        },
    )


CONTACT_RESPONSE = _single("ContactResponse", CONTACT())
CONTACT_LIST_RESPONSE = inline(
    "ContactListResponse",
    {
        "data": serializers.ListField(child=CONTACT()),
        "meta": inline(
            "ContactListMeta",
            {"requestId": serializers.CharField(), "pagination": _pagination()},
        ),
    },
)
_ID = OpenApiParameter(
    "contact_id", OpenApiTypes.STR, OpenApiParameter.PATH, description="contact_..."
)

list_contacts = extend_schema(
    tags=[TAG],
    summary="List contacts",
    operation_id="listContacts",
    parameters=[
        _q("page", OpenApiTypes.INT, default=1),
        _q("perPage", OpenApiTypes.INT, default=20, description="1-100"),
        _q("search", description="Part of the name, phone or email; case-insensitive."),
        _q(
            "channelType",
            enum=Channel.Type.values,
            description="Contacts with an address (identifier) on this channel type.",
        ),
        _q("tag", description="Contacts carrying this tag (exact match)."),
        _q("startDate", OpenApiTypes.DATETIME, description="Created at or after."),
        _q("endDate", OpenApiTypes.DATETIME, description="Created at or before."),
        _q("sortBy", enum=list(SORT_FIELDS), default="createdAt"),
        _q(
            "sortOrder",
            enum=["asc", "desc"],
            description="Default: desc for createdAt and updatedAt, asc for name.",
        ),
    ],
    responses={200: CONTACT_LIST_RESPONSE, **_errors((400, "VALIDATION_ERROR"))},
)
get_contact = extend_schema(
    tags=[TAG],
    summary="Get a contact",
    operation_id="getContact",
    parameters=[_ID],
    responses={200: CONTACT_RESPONSE, **_errors((404, "CONTACT_NOT_FOUND"))},
)
create_contact = extend_schema(
    tags=[TAG],
    summary="Create a contact",
    operation_id="createContact",
    parameters=[_IDEMPOTENCY],
    request=ContactCreateSerializer,
    responses={
        201: CONTACT_RESPONSE,
        **_errors(
            (400, "VALIDATION_ERROR"),
            (409, f"RESOURCE_ALREADY_EXISTS (same phone or email), {IDEMPOTENCY_CODES}"),
        ),
    },
    examples=[
        OpenApiExample(
            "Contact",
            request_only=True,
            value={
                "name": "Ana Souza",
                "phone": "+5511999999999",
                "email": "ana@example.com",
                "metadata": {"crmId": "10482"},
                "tags": ["vip"],
            },
        )
    ],
)
update_contact = extend_schema(
    tags=[TAG],
    summary="Update a contact",
    description="Only the fields given change. `metadata` is merged into the current "
    "object (a key set to null is removed); `tags` replaces the list; null or an empty "
    "string clears name, phone, email and avatar.",
    operation_id="updateContact",
    parameters=[_ID],
    request=ContactUpdateSerializer,
    responses={
        200: CONTACT_RESPONSE,
        **_errors(
            (400, "VALIDATION_ERROR"),
            (404, "CONTACT_NOT_FOUND"),
            (409, "RESOURCE_ALREADY_EXISTS (same phone or email)"),
        ),
    },
)
delete_contact = extend_schema(
    tags=[TAG],
    summary="Delete a contact",
    description="Deletes the contact with its identifiers, conversations and messages. "
    "Refused while it has an open, pending or snoozed conversation unless `force=true`.",
    operation_id="deleteContact",
    parameters=[
        _ID,
        _q(
            "force",
            OpenApiTypes.BOOL,
            default=False,
            description="Delete even with active conversations.",
        ),
    ],
    responses={
        204: OpenApiResponse(description="Deleted."),
        **_errors(
            (400, "VALIDATION_ERROR"),
            (404, "CONTACT_NOT_FOUND"),
            (409, "CONTACT_HAS_OPEN_CONVERSATIONS"),
        ),
    },
)
merge_contacts = extend_schema(
    tags=[TAG],
    summary="Merge another contact into this one",
    description="Moves the source's identifiers, conversations and reactions into this "
    "contact, fills this contact's empty name, phone, email and avatar from the source, "
    "unions tags, merges metadata (this contact's keys win) and deletes the source, all at "
    "once. Where both have an active conversation on the same channel, the source's is "
    'closed (resolution "unresolved", reason "merged") and this contact\'s continues.',
    operation_id="mergeContacts",
    parameters=[_ID, _IDEMPOTENCY],
    request=ContactMergeSerializer,
    responses={
        200: CONTACT_RESPONSE,
        **_errors(
            (400, "VALIDATION_ERROR (e.g. merging a contact into itself)"),
            (404, "CONTACT_NOT_FOUND (this contact or the source)"),
            (409, f"CONFLICT (the contacts changed meanwhile; retry), {IDEMPOTENCY_CODES}"),
        ),
    },
)
