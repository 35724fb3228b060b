"""Request bodies of the Channels API, validated before any service runs.

Only the envelope is checked here; the channel type and the provider config
are validated by `channels_app.services` (one set of rules for the API and
the admin), which answers INVALID_CHANNEL_TYPE and `config.<key>` errors.
"""

from __future__ import annotations

from rest_framework import serializers

from messaging.api.serializers import StrictSerializer


class CreateChannelSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200)
    type = serializers.CharField(
        max_length=32, help_text="whatsapp, sms, telegram, email, webchat, api, ..."
    )
    config = serializers.DictField(required=False, default=dict)
    metadata = serializers.DictField(required=False, default=dict)


class UpdateChannelSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200, required=False)
    config = serializers.DictField(
        required=False,
        help_text='Merged key by key: null removes a key, "********" keeps a secret.',
    )
    metadata = serializers.DictField(required=False, help_text="Replaces the metadata.")

    def validate(self, attrs):  # type: ignore[no-untyped-def]
        if not attrs:
            raise serializers.ValidationError({"body": ["Give name, config or metadata."]})
        return attrs


class ActivateChannelSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class DeactivateChannelSerializer(ActivateChannelSerializer):
    closeConversations = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Close the channel's open, pending and snoozed conversations as unresolved.",
    )
