"""The operators' admin for channels: create, reconfigure, activate and deactivate.

Writes go through `channels_app.services`. Channel secrets (the config keys in
`SECRET_CONFIG_KEYS`) are never rendered: lists and detail pages show the
masked config, the change form's config field starts from the masked config,
and a value left as `********` keeps the stored secret (`update_channel`
treats the mask as "unchanged").
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from channels_app.capabilities import MASK, mask_config
from channels_app.links import channel_webhook_url
from channels_app.models import Channel
from channels_app.services import (
    activate_channel,
    check_channel,
    create_channel,
    set_channel_status,
    update_channel,
)
from inbox.admin import ServiceAdmin, adopt, badge, pretty_json, run_service_action, short_json


class ChannelForm(forms.ModelForm):
    class Meta:
        model = Channel
        fields = ("workspace", "type", "name", "status", "config", "metadata")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        config = self.fields.get("config")
        if config is not None and self.instance.pk:
            # The form must never carry a stored secret to the browser: it
            # starts from the masked config, and comparing against the masked
            # value keeps an untouched field "unchanged".
            self.initial["config"] = mask_config(self.instance.config)
            config.help_text = (
                f"Secrets show as {MASK}: leave that to keep a secret, type a new value to "
                "replace it, remove the key to delete it."
            )

    def clean_config(self) -> dict[str, Any]:
        return _json_object(self.cleaned_data.get("config"))

    def clean_metadata(self) -> dict[str, Any]:
        return _json_object(self.cleaned_data.get("metadata"))


def _json_object(value: Any) -> dict[str, Any]:
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise forms.ValidationError("Must be a JSON object.")
    return value


@admin.register(Channel)
class ChannelAdmin(ServiceAdmin):
    form = ChannelForm
    list_display = (
        "name",
        "type",
        "workspace",
        "status_badge",
        "config_summary",
        "created_at",
        "updated_at",
    )
    list_select_related = ("workspace",)
    list_filter = ("type", "status", "workspace")
    # Never `config`: searching it would let anyone probe a secret's value.
    search_fields = ("name", "public_id", "workspace__name", "workspace__slug")
    autocomplete_fields = ("workspace",)
    actions = ("activate_channels", "deactivate_channels", "test_channels")
    readonly_fields = (
        "public_id",
        "workspace",
        "type",
        "status_badge",
        "status_reason",
        "masked_config_display",
        "capabilities_display",
        "inbound_token",
        "webhook_url_display",
        "created_at",
        "updated_at",
    )

    def get_fieldsets(self, request: HttpRequest, obj: Channel | None = None) -> list:
        if obj is None:
            return [
                (None, {"fields": ("workspace", "type", "name", "status")}),
                ("Configuration", {"fields": ("config", "metadata")}),
            ]
        # View-only users see every field as read-only text, which would print
        # the raw config; they get the masked rendering instead.
        config = "config" if self.has_change_permission(request, obj) else "masked_config_display"
        return [
            (None, {"fields": ("name", "public_id", "workspace", "type")}),
            ("Status", {"fields": ("status_badge", "status_reason")}),
            ("Configuration", {"fields": (config, "metadata", "capabilities_display")}),
            (
                "Integration",
                {
                    "fields": ("webhook_url_display", "inbound_token", "created_at", "updated_at"),
                    "description": (
                        "Give the provider the webhook URL as its callback. Set "
                        "<code>apiBaseUrl</code> in the config to point this channel's "
                        "provider API at another host (a regional endpoint or a local "
                        "stand-in)."
                    ),
                },
            ),
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Channel | None = None) -> Iterable:
        return () if obj is None else self.readonly_fields

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        # `?config__botToken__startswith=` would reveal a secret one character
        # at a time through the result count.
        return not lookup.startswith("config") and super().lookup_allowed(lookup, value, request)

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj: Channel) -> str:
        return badge(obj.status, obj.get_status_display())

    @admin.display(description="Config")
    def config_summary(self, obj: Channel) -> str:
        return short_json(obj.masked_config)

    @admin.display(description="Config (secrets masked)")
    def masked_config_display(self, obj: Channel) -> str:
        return pretty_json(obj.masked_config)

    @admin.display(description="Webhook URL")
    def webhook_url_display(self, obj: Channel) -> str:
        return channel_webhook_url(obj)

    @admin.display(description="Capabilities")
    def capabilities_display(self, obj: Channel) -> str:
        return pretty_json(obj.capabilities.as_dict())

    def save_model(
        self, request: HttpRequest, obj: Channel, form: forms.ModelForm, change: bool
    ) -> None:
        data = form.cleaned_data
        if not change:
            channel = create_channel(
                workspace=data["workspace"],
                type=data["type"],
                name=data["name"],
                config=data["config"],
                metadata=data["metadata"],
                status=data["status"],
            )
            adopt(obj, channel)
            return
        changed = set(form.changed_data)
        if not changed:
            return
        # `obj.config` already holds the submitted (masked) value; diff against
        # the stored one.
        stored = Channel.objects.only("config").get(pk=obj.pk).config
        config = None
        if "config" in changed:
            submitted = data["config"]
            # The form edits the whole object; the service merges key by key,
            # so keys the operator removed are sent as None (removed).
            config = {**dict.fromkeys(k for k in stored if k not in submitted), **submitted}
        channel = update_channel(
            channel=obj,
            name=data["name"] if "name" in changed else None,
            config=config,
            metadata=data["metadata"] if "metadata" in changed else None,
        )
        adopt(obj, channel)

    @admin.action(description="Activate selected channels", permissions=["operate"])
    def activate_channels(self, request: HttpRequest, queryset: QuerySet) -> None:
        run_service_action(
            request,
            queryset,
            lambda channel: activate_channel(channel=channel),
            done="Activated",
        )

    @admin.action(description="Test selected channels' credentials", permissions=["operate"])
    def test_channels(self, request: HttpRequest, queryset: QuerySet) -> None:
        # The provider is asked outside any transaction, one channel at a time.
        for channel in queryset:
            result = check_channel(channel=channel)
            if result.ok:
                messages.success(request, f"{channel}: the provider accepted the credentials.")
            else:
                messages.error(request, f"{channel}: {result.error or 'the check failed'}")

    @admin.action(description="Deactivate selected channels", permissions=["operate"])
    def deactivate_channels(self, request: HttpRequest, queryset: QuerySet) -> None:
        run_service_action(
            request,
            queryset,
            lambda channel: set_channel_status(
                channel=channel,
                status=Channel.Status.INACTIVE,
                reason=f"Deactivated in the admin by {request.user}",
            ),
            done="Deactivated",
        )
