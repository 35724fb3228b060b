"""A real SMTP server for the email tests: aiosmtpd on a local socket.

It records every accepted envelope (sender, recipients, raw bytes) and can
be told to refuse: a recipient with a 550, the DATA with a 451, or a login
with 535 (AUTH PLAIN/LOGIN over the plain connection; real servers demand
TLS first, tests talk to 127.0.0.1).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        """The mail as parsed by the stdlib; `text_of` reads its parts."""
        parsed = BytesParser(policy=policy.default).parsebytes(self.data)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class _Handler:
    received: list[Received] = field(default_factory=list)
    # address -> "550 5.1.1 ..." reply to its RCPT TO.
    refuse_rcpt: dict[str, str] = field(default_factory=dict)
    # A reply to DATA instead of accepting it ("451 4.3.0 ...").
    refuse_data: str = ""
    logins: list[str] = field(default_factory=list)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse_rcpt:
            return self.refuse_rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.refuse_data:
            return self.refuse_data
        self.received.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content))
        )
        return "250 2.0.0 Message accepted for delivery"


def free_port() -> int:
    """A local port nobody listens on (also: where a test finds no server)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SmtpTestServer:
    """Run with `with SmtpTestServer(users={...}) as server:`; `server.port`."""

    def __init__(self, users: dict[str, str] | None = None) -> None:
        self.handler = _Handler()
        self.users = users or {}

        def authenticate(server, session, envelope, mechanism, auth_data):
            ok = (
                isinstance(auth_data, LoginPassword)
                and self.users.get(auth_data.login.decode()) == auth_data.password.decode()
            )
            if ok:
                self.handler.logins.append(auth_data.login.decode())
            # handled=False: aiosmtpd answers the failure itself (535 5.7.8).
            return AuthResult(success=ok, handled=False)

        self.port = free_port()
        self.controller = Controller(
            self.handler,
            hostname="127.0.0.1",
            port=self.port,
            authenticator=authenticate,
            auth_require_tls=False,
        )

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def __enter__(self) -> SmtpTestServer:
        self.controller.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.controller.stop()


def text_of(part) -> str:
    """A text part's content with the wire's CRLF line ends as plain newlines."""
    return part.get_content().replace("\r\n", "\n")
