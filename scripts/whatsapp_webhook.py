"""Play Meta's side of a WhatsApp webhook: post a signed status or inbound message.

    python scripts/whatsapp_webhook.py <webhook URL> <app secret> <phone number id> \\
        status <wamid> delivered|read|failed
    python scripts/whatsapp_webhook.py <webhook URL> <app secret> <phone number id> \\
        message <from, e.g. +5511999999999> "text"

The body is the Cloud API's documented `whatsapp_business_account` payload,
signed with `X-Hub-Signature-256` as Meta signs it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sys
import time
import urllib.error
import urllib.request


def _change(phone_number_id: str, value: dict) -> dict:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550100", "phone_number_id": phone_number_id},
        **value,
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA_ID", "changes": [{"field": "messages", "value": value}]}],
    }


def main(url: str, app_secret: str, phone_number_id: str, kind: str, *args: str) -> None:
    now = str(int(time.time()))
    if kind == "status":
        wamid, status = args
        value = {
            "statuses": [{"id": wamid, "status": status, "timestamp": now, "recipient_id": "0"}]
        }
    else:
        sender, text = args
        value = {
            "contacts": [{"profile": {"name": "Stand-in customer"}, "wa_id": sender.lstrip("+")}],
            "messages": [
                {
                    "from": sender.lstrip("+"),
                    "id": "wamid." + secrets.token_hex(16),
                    "timestamp": now,
                    "type": "text",
                    "text": {"body": text},
                }
            ],
        }
    body = json.dumps(_change(phone_number_id, value)).encode()
    signature = "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    if not url.startswith(("http://", "https://")):
        raise SystemExit("The webhook URL must be http(s).")
    request = urllib.request.Request(  # noqa: S310 (scheme checked above)
        url,
        data=body,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            print(response.status, response.read().decode())
    except urllib.error.HTTPError as exc:
        print(exc.code, exc.read().decode())


if __name__ == "__main__":
    main(*sys.argv[1:])
