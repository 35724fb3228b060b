"""Contact addresses per channel type: phones in E.164, emails, chat ids."""

from __future__ import annotations

import re

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

PHONE_CHANNEL_TYPES = frozenset({"whatsapp", "sms"})
_TELEGRAM_RE = re.compile(r"^(-?\d{1,20}|@[A-Za-z0-9_]{5,32})$")
_GENERIC_RE = re.compile(r"^[^\s]{1,255}$")


class AddressError(ValueError):
    """The value is not a valid address; the message says why."""


def normalize_phone(raw: str) -> str:
    """Return `raw` as E.164 (`+5511999999999`) or raise AddressError.

    Only international numbers are accepted: without a country code a number
    is ambiguous, and guessing would message the wrong person.
    """
    value = (raw or "").strip()
    if not value.startswith("+"):
        raise AddressError("Phone numbers must be in E.164 format, like +5511999999999.")
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException as exc:
        raise AddressError("Not a phone number in E.164 format.") from exc
    if not phonenumbers.is_possible_number(number) or not phonenumbers.is_valid_number(number):
        raise AddressError("Not a valid phone number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(raw: str) -> str:
    value = (raw or "").strip().lower()
    try:
        validate_email(value)
    except ValidationError as exc:
        raise AddressError("Not a valid email address.") from exc
    return value


def normalize_address(channel_type: str, raw: str) -> str:
    """The canonical address of a contact on a channel type, or AddressError."""
    if not isinstance(raw, str) or not raw.strip():
        raise AddressError("The address is empty.")
    if channel_type in PHONE_CHANNEL_TYPES:
        return normalize_phone(raw)
    if channel_type == "email":
        return normalize_email(raw)
    value = raw.strip()
    if channel_type == "telegram":
        if not _TELEGRAM_RE.match(value):
            raise AddressError("Telegram recipients are numeric chat ids or @usernames.")
        return value
    if not _GENERIC_RE.match(value):
        raise AddressError("The address must be 1 to 255 characters without spaces.")
    return value
