"""Request bodies of the Messages API, validated before any service runs.

Content objects are validated field by field by `messaging.content`; these
serializers check the envelope around them and document it in OpenAPI.
"""

from __future__ import annotations

from rest_framework import serializers


class StrictSerializer(serializers.Serializer):
    """Refuses unknown top-level fields, so a typo is an error, not a silent no-op."""

    def to_internal_value(self, data):  # type: ignore[no-untyped-def]
        if not isinstance(data, dict):
            raise serializers.ValidationError({"body": ["Must be a JSON object."]})
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


class SendMessageSerializer(StrictSerializer):
    channelId = serializers.CharField(required=False, max_length=40)
    conversationId = serializers.CharField(required=False, max_length=40)
    to = serializers.CharField(required=False, max_length=255)
    content = serializers.JSONField(help_text="A content object; see the content types.")
    metadata = serializers.DictField(required=False, default=dict)
    scheduledAt = serializers.DateTimeField(required=False, allow_null=True)
    replyToId = serializers.CharField(required=False, max_length=40)
    isPrivate = serializers.BooleanField(required=False, default=False)

    def validate(self, attrs):  # type: ignore[no-untyped-def]
        if not attrs.get("channelId") and not attrs.get("conversationId"):
            raise serializers.ValidationError({"channelId": ["Give channelId or conversationId."]})
        if not attrs.get("conversationId") and not attrs.get("to"):
            raise serializers.ValidationError({"to": ["Required when conversationId is absent."]})
        return attrs


class BulkReadSerializer(StrictSerializer):
    messageIds = serializers.ListField(
        child=serializers.CharField(max_length=40), required=False, max_length=1000
    )
    conversationId = serializers.CharField(required=False, max_length=40)
    beforeTimestamp = serializers.DateTimeField(required=False)

    def validate(self, attrs):  # type: ignore[no-untyped-def]
        if not attrs.get("messageIds") and not attrs.get("conversationId"):
            raise serializers.ValidationError(
                {"messageIds": ["Give messageIds or conversationId."]}
            )
        return attrs


class EditMessageSerializer(StrictSerializer):
    content = serializers.JSONField()


class ReactionRequestSerializer(StrictSerializer):
    type = serializers.CharField(max_length=32)
    operation = serializers.ChoiceField(choices=["add", "remove"], default="add")


class MediaUploadRequestSerializer(serializers.Serializer):
    file = serializers.FileField()
    type = serializers.ChoiceField(choices=["image", "document", "audio", "video"])
