"""The conversation domain: contacts, conversations, messages; services, selectors, API."""
