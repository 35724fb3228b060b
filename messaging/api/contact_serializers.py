"""Request bodies of the Contacts API, checked before any service runs.

Phone and email formats are checked by the services (`create_contact`,
`update_contact`), which name the field in their 400; these serializers check
types and sizes and refuse unknown fields.
"""

from __future__ import annotations

from rest_framework import serializers

from messaging.api.serializers import StrictSerializer

MAX_TAGS = 50


def _tags() -> serializers.ListField:
    return serializers.ListField(
        child=serializers.CharField(max_length=64, allow_blank=False),
        required=False,
        max_length=MAX_TAGS,
        help_text=f"Replaces the contact's tags; at most {MAX_TAGS}, each up to 64 characters.",
    )


class ContactCreateSerializer(StrictSerializer):
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    phone = serializers.CharField(
        required=False, allow_blank=True, max_length=32, help_text="E.164, like +5511999999999."
    )
    email = serializers.CharField(required=False, allow_blank=True, max_length=254)
    avatar = serializers.URLField(required=False, allow_blank=True, max_length=1000)
    metadata = serializers.DictField(required=False)
    tags = _tags()


class ContactUpdateSerializer(StrictSerializer):
    """PATCH: every field optional; null or "" clears name, phone, email and avatar."""

    name = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=200)
    phone = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=32)
    email = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=254)
    avatar = serializers.URLField(
        required=False, allow_blank=True, allow_null=True, max_length=1000
    )
    metadata = serializers.DictField(
        required=False, help_text="Merged into the current metadata; a key set to null is removed."
    )
    tags = _tags()


class ContactMergeSerializer(StrictSerializer):
    sourceContactId = serializers.CharField(
        max_length=40, help_text="The contact folded into this one, then deleted."
    )
