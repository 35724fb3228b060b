"""Reading the channel's mailbox over IMAP4rev1 (RFC 3501) with imaplib.

Only the protocol: log in, select the folder, list unseen mail by UID, fetch
a mail without marking it (`BODY.PEEK[]`), and flag it `\\Seen` once the
caller has recorded it. The order is what makes polling safe: a crash
between fetch and flag leaves the mail unseen, the next poll fetches it
again, and the inbound service dedupes it on its Message-ID.

`imapUseTls` (default true) means IMAP over TLS from the first byte
(IMAP4_SSL, port 993); false is plain IMAP (port 143), for local servers.
"""

from __future__ import annotations

import contextlib
import imaplib
import re
import ssl
from types import TracebackType
from typing import Any

from django.conf import settings

from channels_app.providers.http import timeout_seconds

_SIZE = re.compile(rb"UID (\d+)\b.*RFC822\.SIZE (\d+)|RFC822\.SIZE (\d+)\b.*UID (\d+)")


class ImapLoginRefused(Exception):
    """The server refused the channel's username or password."""


class ImapError(Exception):
    """The server could not be reached, or answered a command with an error."""


def imap_configured(config: dict[str, Any]) -> bool:
    return bool(config.get("imapHost"))


def _quoted(folder: str) -> str:
    # A mailbox name is an astring (RFC 3501 section 9): quote it so "Support Mail" works.
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Mailbox:
    """One IMAP session on the channel's folder, used as a context manager."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.folder = str(config.get("imapFolder") or "INBOX")
        self._conn: imaplib.IMAP4 | None = None

    def __enter__(self) -> Mailbox:
        host = str(self.config.get("imapHost") or "")
        use_tls = self.config.get("imapUseTls")
        use_tls = True if use_tls is None else bool(use_tls)
        port = int(self.config.get("imapPort") or (993 if use_tls else 143))
        try:
            if use_tls:
                context = ssl.create_default_context()
                self._conn = imaplib.IMAP4_SSL(
                    host, port, ssl_context=context, timeout=timeout_seconds()
                )
            else:
                self._conn = imaplib.IMAP4(host, port, timeout=timeout_seconds())
        except (OSError, imaplib.IMAP4.error) as exc:
            raise ImapError(f"IMAP connection to {host}:{port} failed: {exc}") from exc
        try:
            self._conn.login(
                str(self.config.get("imapUsername") or self.config.get("fromEmail") or ""),
                str(self.config.get("imapPassword") or ""),
            )
        except imaplib.IMAP4.abort as exc:
            self._drop()
            raise ImapError(f"IMAP connection lost during login: {exc}") from exc
        except imaplib.IMAP4.error as exc:
            # A tagged NO to LOGIN: the credentials (RFC 3501 section 6.2.3).
            self._drop()
            raise ImapLoginRefused(f"IMAP login refused: {_decoded(exc)}") from exc
        except OSError as exc:
            self._drop()
            raise ImapError(f"IMAP connection lost during login: {exc}") from exc
        status, data = self._command(lambda c: c.select(_quoted(self.folder)))
        if status != "OK":
            self.__exit__(None, None, None)
            raise ImapError(f"Cannot open the folder {self.folder!r}: {_decoded(data)}")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._conn is not None:
            with contextlib.suppress(OSError, imaplib.IMAP4.error):
                self._conn.logout()
            self._conn = None

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._conn.shutdown()
            self._conn = None

    def _command(self, call: Any) -> tuple[str, list[Any]]:
        assert self._conn is not None, "use the mailbox as a context manager"
        try:
            return call(self._conn)
        except (OSError, imaplib.IMAP4.error) as exc:
            raise ImapError(f"IMAP command failed: {exc}") from exc

    def unseen_uids(self, limit: int) -> list[int]:
        """UIDs of unseen mail, oldest first, at most `limit`."""
        status, data = self._command(lambda c: c.uid("SEARCH", None, "UNSEEN"))
        if status != "OK":
            raise ImapError(f"UID SEARCH failed: {_decoded(data)}")
        uids = sorted({int(token) for token in (data[0] or b"").split() if token.isdigit()})
        return uids[:limit]

    def sizes(self, uids: list[int]) -> dict[int, int]:
        """RFC822.SIZE of each mail, to skip what is too large before downloading it."""
        if not uids:
            return {}
        ids = ",".join(str(uid) for uid in uids)
        status, data = self._command(lambda c: c.uid("FETCH", ids, "(RFC822.SIZE)"))
        if status != "OK":
            raise ImapError(f"UID FETCH RFC822.SIZE failed: {_decoded(data)}")
        sizes: dict[int, int] = {}
        for item in data:
            line = item[0] if isinstance(item, tuple) else item
            match = _SIZE.search(line or b"")
            if match:
                uid, size = (match[1], match[2]) if match[1] else (match[4], match[3])
                sizes[int(uid)] = int(size)
        return sizes

    def fetch(self, uid: int) -> bytes | None:
        """The raw mail, leaving it unseen; None when it is gone (expunged meanwhile)."""
        status, data = self._command(lambda c: c.uid("FETCH", str(uid), "(BODY.PEEK[])"))
        if status != "OK":
            raise ImapError(f"UID FETCH {uid} failed: {_decoded(data)}")
        for item in data:
            if isinstance(item, tuple) and len(item) == 2:
                return bytes(item[1])
        return None

    def mark_seen(self, uid: int) -> None:
        status, data = self._command(lambda c: c.uid("STORE", str(uid), "+FLAGS", "(\\Seen)"))
        if status != "OK":
            raise ImapError(f"UID STORE {uid} failed: {_decoded(data)}")


def max_mail_bytes() -> int:
    """The largest mail the poller downloads: the raw MIME endpoint's limit."""
    return int(settings.INBOUND_WEBHOOK_MAX_BYTES)


def _decoded(value: Any) -> str:
    if isinstance(value, BaseException):
        value = value.args[0] if value.args else str(value)
    if isinstance(value, list):
        value = b" ".join(v if isinstance(v, bytes) else str(v).encode() for v in value if v)
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(value)[:300]
