"""WhatsApp Cloud API: Graph API sends, Meta-signed webhooks, media by id."""
