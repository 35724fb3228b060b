"""A local stand-in for the WhatsApp Cloud API, to try a real WhatsApp channel offline.

Run it (`python scripts/whatsapp_standin.py 8081`), set the channel's config
`apiBaseUrl` to `http://127.0.0.1:8081/v21.0`, and send a message: the exact
request the Cloud API would receive is printed here, and the answer carries a
`wamid` as Meta's does. `scripts/whatsapp_webhook.py` then plays Meta's side
of the webhook (a signed status callback or an inbound message).
"""

from __future__ import annotations

import json
import secrets
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class CloudApiStandIn(BaseHTTPRequestHandler):
    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # the channel check: GET /{phone-number-id}
        print(f"GET {self.path}  Authorization: {self.headers.get('Authorization', '')[:16]}…")
        self._answer(200, {"display_phone_number": "+1 555 0100", "verified_name": "Stand-in"})

    def do_POST(self) -> None:  # sends: POST /{phone-number-id}/messages
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        print(f"POST {self.path}")
        print(json.dumps(json.loads(body or b"{}"), indent=2, ensure_ascii=False), flush=True)
        wamid = "wamid." + secrets.token_hex(16)
        print(f"-> answered with {wamid}", flush=True)
        payload = json.loads(body or b"{}")
        self._answer(
            200,
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": payload.get("to", ""), "wa_id": payload.get("to", "")}],
                "messages": [{"id": wamid}],
            },
        )

    def log_message(self, format: str, *args: object) -> None:
        pass


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8081
    print(f"WhatsApp Cloud API stand-in on http://127.0.0.1:{port}/v21.0", flush=True)
    ThreadingHTTPServer(("127.0.0.1", port), CloudApiStandIn).serve_forever()
