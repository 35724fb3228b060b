"""The Channel model: one connected account on one provider, in one workspace."""

from __future__ import annotations

import secrets

from django.db import models
from django.utils import timezone

from channels_app.capabilities import Capabilities, capabilities_for, mask_config
from inbox.ids import PublicIdField


def new_inbound_token() -> str:
    return secrets.token_urlsafe(24)


class Channel(models.Model):
    class Type(models.TextChoices):
        WHATSAPP = "whatsapp", "WhatsApp"
        SMS = "sms", "SMS"
        TELEGRAM = "telegram", "Telegram"
        EMAIL = "email", "Email"
        WEBCHAT = "webchat", "Website chat"
        MESSENGER = "messenger", "Facebook Messenger"
        INSTAGRAM = "instagram", "Instagram"
        API = "api", "API"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        INACTIVE = "inactive", "Inactive"
        ERROR = "error", "Error"
        PENDING = "pending", "Pending"

    public_id = PublicIdField(prefix="ch")
    workspace = models.ForeignKey(
        "inbox.Workspace", on_delete=models.CASCADE, related_name="channels"
    )
    type = models.CharField(max_length=16, choices=Type.choices)
    name = models.CharField(max_length=200)
    # Provider settings, secrets included. Rendered through `masked_config`
    # everywhere they could be seen.
    config = models.JSONField(default=dict, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    status_reason = models.CharField(max_length=500, blank=True)
    # Unguessable token in the channel's inbound webhook URL and widget embed.
    inbound_token = models.CharField(max_length=64, unique=True, default=new_inbound_token)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        indexes = [
            # Channel list of a workspace filtered by type/status.
            models.Index(fields=["workspace", "type", "status"], name="channel_ws_type_status"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_type_display()})"

    @property
    def capabilities(self) -> Capabilities:
        return capabilities_for(self.type)

    @property
    def masked_config(self) -> dict:
        return mask_config(self.config)

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    @property
    def is_sandbox(self) -> bool:
        """A sandbox channel accepts sends without a provider (demo and tests)."""
        return bool(self.config.get("sandbox"))

    @property
    def own_address(self) -> str:
        """The channel's own address, shown as `from` on outbound messages."""
        config = self.config or {}
        for key in (
            "phoneNumber",
            "displayPhoneNumber",
            "fromEmail",
            "botUsername",
            "pageId",
            "accountId",
            "address",
        ):
            if config.get(key):
                return str(config[key])
        return self.public_id
