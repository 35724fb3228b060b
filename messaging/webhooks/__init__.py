"""Outbound webhooks: the pieces with no database writes.

`signing` (the `X-Inbox-Signature` HMAC), `urls` (the SSRF guard for endpoint
URLs) and `transport` (one HTTP POST, pinned to the checked address). The
state changes (dispatching the outbox, claiming and recording deliveries)
live in `messaging.services.webhooks`; the Celery tasks in `messaging.tasks`.
"""
