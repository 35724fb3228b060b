"""What the Messenger and Instagram send tests share: an account on the Graph API stand-in.

The stand-in is pytest-httpserver playing the Graph API under `/v21.0`. Both
Send APIs are `POST /{account-id}/messages` with the account's token as a
Bearer header: a Page and its Page token for Messenger, a professional
account and its Instagram User token for Instagram.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from channels_app.models import Channel
from messaging.models import Message
from messaging.services import receive_message

API_PREFIX = "/v21.0"


@dataclass(frozen=True)
class MetaAccount:
    """A Page or Instagram account, its token, and the customer's scoped id on it."""

    channel_type: str
    id_field: str
    id: str
    token: str
    app_secret: str
    customer: str

    @property
    def send_path(self) -> str:
        return f"{API_PREFIX}/{self.id}/messages"

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def channel(self, provider_channel, httpserver) -> Channel:
        """An active channel for this account whose Graph API base is the stand-in."""
        return provider_channel(
            self.channel_type,
            {
                self.id_field: self.id,
                "accessToken": self.token,
                "appSecret": self.app_secret,
                "verifyToken": "verify-me",
                "apiBaseUrl": httpserver.url_for(API_PREFIX),
            },
        )

    def customer_wrote(self, channel: Channel, text: str, *, mid: str) -> Message:
        """The customer's text message `mid`, which opens the 24-hour window."""
        return receive_message(
            channel=channel,
            sender=self.customer,
            content={"type": "text", "text": text},
            provider_message_id=mid,
        ).message

    def expect_sender_action(self, httpserver, action: str, payload: dict[str, Any]) -> None:
        """The stand-in expects, next in order, a `sender_action` (react, unreact)."""
        httpserver.expect_ordered_request(
            self.send_path,
            method="POST",
            json={"recipient": {"id": self.customer}, "sender_action": action, "payload": payload},
            headers=self.auth,
        ).respond_with_json({"recipient_id": self.customer})


MESSENGER = MetaAccount(
    channel_type="messenger",
    id_field="pageId",
    id="104729318847302",
    token="EAAGm0PX4ZCpsBAPageToken",
    app_secret="app-secret",
    customer="6048203991876423",  # the customer's page-scoped id (PSID)
)
INSTAGRAM = MetaAccount(
    channel_type="instagram",
    id_field="accountId",
    id="17841405822304914",
    token="IGAAJ0ZCm1nInstagramUserToken",
    app_secret="ig-app-secret",
    customer="1254459154682919",  # the customer's Instagram-scoped id (IGSID)
)
