"""Addresses per channel type: E.164 phones, emails, Telegram chat ids."""

import pytest

from messaging.addresses import AddressError, normalize_address, normalize_phone


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("+5511999999999", "+5511999999999"), (" +1 (415) 555-2671 ", "+14155552671")],
)
def test_it_normalises_phones_to_e164(raw, expected):
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize("raw", ["5511999999999", "+1", "+99912345", "hello", ""])
def test_it_refuses_what_is_not_an_international_number(raw):
    with pytest.raises(AddressError):
        normalize_phone(raw)


@pytest.mark.parametrize(
    ("channel_type", "raw", "expected"),
    [
        ("whatsapp", "+5511999999999", "+5511999999999"),
        ("sms", "+14155552671", "+14155552671"),
        ("email", " Ana@Example.COM ", "ana@example.com"),
        ("telegram", "123456789", "123456789"),
        ("telegram", "@ana_souza", "@ana_souza"),
        ("webchat", "visitor_abc", "visitor_abc"),
        ("api", "user-42", "user-42"),
    ],
)
def test_it_accepts_each_channels_addresses(channel_type, raw, expected):
    assert normalize_address(channel_type, raw) == expected


@pytest.mark.parametrize(
    ("channel_type", "raw"),
    [
        ("whatsapp", "ana@example.com"),
        ("sms", "12"),
        ("email", "not-an-email"),
        ("telegram", "ana souza"),
        ("api", "has space"),
        ("api", ""),
    ],
)
def test_it_refuses_bad_addresses(channel_type, raw):
    with pytest.raises(AddressError):
        normalize_address(channel_type, raw)
