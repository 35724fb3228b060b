"""Request bodies of the Conversations API, validated before any service runs.

Each is a `StrictSerializer`: an unknown field is a 400 naming it, not a
silently ignored typo. Enum fields list the model's choices, so an unknown
value is a 400 too. The services validate again (they are also called by the
inbox UI and the admin); these checks give the API its field names.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from messaging.api.serializers import StrictSerializer
from messaging.models import Conversation

PUBLIC_ID_MAX = 40
TAG_MAX = 64
TAGS_MAX = 50


_enum_ids = itertools.count(1)


def enum_field(values: Iterable[str], **kwargs: Any) -> serializers.ChoiceField:
    """A ChoiceField whose OpenAPI enum gets a name of its own.

    drf-spectacular names enum components after the field (`status`, `type`)
    and warns when one name covers several choice sets used in several
    components (message, channel and conversation statuses). A distinct enum
    id per field makes it name ours `<Component><Field>Enum` instead.
    """
    values = list(values)
    schema = {"type": "string", "enum": values, "x-spec-enum-id": f"conv{next(_enum_ids)}"}
    field_class = extend_schema_field(schema)(
        type("ConversationEnumField", (serializers.ChoiceField,), {})
    )
    return field_class(choices=values, **kwargs)


class StringOnlyField(serializers.CharField):
    """A CharField that refuses numbers instead of turning them into text."""

    def to_internal_value(self, data):  # type: ignore[no-untyped-def]
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


def _tags_field() -> serializers.ListField:
    return serializers.ListField(
        child=StringOnlyField(max_length=TAG_MAX, allow_blank=True),
        max_length=TAGS_MAX,
        required=False,
        help_text="Replaces all tags; blanks and duplicates are dropped.",
    )


class ConversationContactSerializer(StrictSerializer):
    """A contact to find (by phone, then email) or create."""

    phone = serializers.CharField(
        required=False, allow_blank=True, max_length=32, help_text="E.164, e.g. +5511999999999."
    )
    email = serializers.CharField(required=False, allow_blank=True, max_length=254)
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)

    def validate(self, attrs):  # type: ignore[no-untyped-def]
        if not attrs.get("phone") and not attrs.get("email"):
            raise serializers.ValidationError({"phone": ["Give a phone or an email."]})
        return attrs


class CreateConversationSerializer(StrictSerializer):
    channelId = serializers.CharField(max_length=PUBLIC_ID_MAX)
    contactId = serializers.CharField(required=False, max_length=PUBLIC_ID_MAX)
    contact = ConversationContactSerializer(required=False)
    assigneeId = serializers.CharField(
        required=False, allow_null=True, max_length=PUBLIC_ID_MAX, help_text="user_... or me"
    )
    metadata = serializers.DictField(required=False)
    tags = _tags_field()

    def validate(self, attrs):  # type: ignore[no-untyped-def]
        if ("contactId" in attrs) == ("contact" in attrs):
            raise serializers.ValidationError(
                {"contactId": ["Give either contactId or contact (phone, email, name)."]}
            )
        return attrs


class UpdateConversationSerializer(StrictSerializer):
    status = enum_field(Conversation.Status.values, required=False)
    priority = enum_field(Conversation.Priority.values, required=False)
    metadata = serializers.DictField(required=False, help_text="Merged into the current object.")
    tags = _tags_field()
    snoozedUntil = serializers.DateTimeField(
        required=False, allow_null=True, help_text="Required with status=snoozed; in the future."
    )

    def validate(self, attrs):  # type: ignore[no-untyped-def]
        if not attrs:
            raise serializers.ValidationError({"body": ["Give at least one field to change."]})
        if attrs.get("status") == Conversation.Status.SNOOZED and not attrs.get("snoozedUntil"):
            raise serializers.ValidationError(
                {"snoozedUntil": ["Required when status is snoozed."]}
            )
        if attrs.get("snoozedUntil") and attrs.get("status", "snoozed") != "snoozed":
            raise serializers.ValidationError(
                {"snoozedUntil": ["Only allowed when status is snoozed."]}
            )
        return attrs


class CloseConversationSerializer(StrictSerializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500)
    resolution = enum_field(
        Conversation.Resolution.values, default=Conversation.Resolution.RESOLVED
    )
    notes = serializers.CharField(required=False, allow_blank=True, max_length=5000)


class ReopenConversationSerializer(StrictSerializer):
    """No fields: refuses any, so a misplaced body is noticed."""


class AssignConversationSerializer(StrictSerializer):
    assigneeId = serializers.CharField(
        allow_null=True,
        max_length=PUBLIC_ID_MAX,
        help_text="user_..., me (agent tokens), or null to unassign.",
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=1000)


class TransferConversationSerializer(StrictSerializer):
    toAssigneeId = serializers.CharField(max_length=PUBLIC_ID_MAX, help_text="user_... or me")
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500)
    summary = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=4000,
        help_text="Kept in the thread as a private note for the new agent.",
    )
    notifyContact = serializers.BooleanField(
        required=False, default=False, help_text="Send the contact a short notice."
    )
