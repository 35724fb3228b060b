"""Opaque, non-sequential public ids such as `msg_4kT9...`.

Rows keep an integer primary key for joins; the API, the UI and URLs only ever
see the prefixed public id, which reveals neither order nor volume.
"""

from __future__ import annotations

import secrets
import string
from typing import Any

from django.db import models

_ALPHABET = string.ascii_letters + string.digits
_RANDOM_LENGTH = 22  # ~131 bits, as unguessable as a UUID4


def new_public_id(prefix: str) -> str:
    return f"{prefix}_" + "".join(secrets.choice(_ALPHABET) for _ in range(_RANDOM_LENGTH))


class PublicIdField(models.CharField):
    """A unique CharField filled with `<prefix>_<random>` when the row is first saved."""

    def __init__(self, *args: Any, prefix: str, **kwargs: Any) -> None:
        self.prefix = prefix
        kwargs.setdefault("max_length", 40)
        kwargs.setdefault("unique", True)
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> tuple[Any, ...]:
        name, path, args, kwargs = super().deconstruct()
        kwargs["prefix"] = self.prefix
        return name, path, args, kwargs

    def pre_save(self, model_instance: models.Model, add: bool) -> str:
        value = getattr(model_instance, self.attname)
        if not value:
            value = new_public_id(self.prefix)
            setattr(model_instance, self.attname, value)
        return value
