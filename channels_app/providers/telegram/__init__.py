"""Telegram Bot API: sends, edits, deletes, and secret-token webhooks."""
