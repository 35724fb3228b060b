"""A real IMAP4rev1 server for the email tests: Twisted's IMAP4Server on a local socket.

The protocol (LOGIN, SELECT, UID SEARCH, UID FETCH, UID STORE, ...) is
Twisted's implementation; this module only supplies the storage behind it:
an in-memory account with one INBOX whose messages are raw RFC 5322 bytes,
and a username/password checker. Fetching `BODY[]` or `RFC822` (not
`.PEEK`) sets `\\Seen` as RFC 3501 section 6.4.5 requires, which Twisted
leaves to the server, so a test can tell a peek from a read.

The reactor runs once per test session in a daemon thread; `reset()` gives
each test an empty mailbox and its own credentials. Everything that touches
server state runs on the reactor thread (`blockingCallFromThread`).
"""

from __future__ import annotations

import email
import io
import threading
from email.utils import formatdate

from twisted.cred.checkers import InMemoryUsernamePasswordDatabaseDontUse
from twisted.cred.portal import IRealm, Portal
from twisted.internet import protocol, reactor
from twisted.internet.threads import blockingCallFromThread
from twisted.mail import imap4
from zope.interface import implementer


@implementer(imap4.IMessage, imap4.IMessageFile)
class StoredMessage:
    def __init__(self, raw: bytes, uid: int, flags: list[str]) -> None:
        self.raw = raw
        self.uid = uid
        self.flags = list(flags)
        self.date = formatdate()
        self._parsed = email.message_from_bytes(raw)

    # IMessageIMAP
    def getUID(self) -> int:
        return self.uid

    def getFlags(self) -> list[str]:
        return self.flags

    def getInternalDate(self) -> str:
        return self.date

    # IMessageIMAPPart
    def getHeaders(self, negate: bool, *names: bytes) -> dict[str, str]:
        wanted = {n.decode().lower() if isinstance(n, bytes) else n.lower() for n in names}
        headers = {}
        for key, value in self._parsed.items():
            if not names or ((key.lower() in wanted) != negate):
                headers[key.lower()] = value
        return headers

    def getBodyFile(self) -> io.BytesIO:
        _head, _, body = self.raw.partition(b"\r\n\r\n")
        return io.BytesIO(body if _ else self.raw.partition(b"\n\n")[2])

    def getSize(self) -> int:
        return len(self.raw)

    def isMultipart(self) -> bool:
        return False

    def getSubPart(self, part: int):
        raise IndexError(part)

    # IMessageIMAPFile: BODY[] and RFC822 answer the stored bytes exactly.
    def open(self) -> io.BytesIO:
        return io.BytesIO(self.raw)


@implementer(imap4.IMailbox)
class MemoryMailbox:
    def __init__(self) -> None:
        self.messages: list[StoredMessage] = []
        self.next_uid = 1
        self.listeners: list[object] = []
        # Set by a test: every STORE answers NO (a server failing mid-poll).
        self.refuse_store = False
        self.store_calls = 0

    def getFlags(self) -> list[str]:
        return ["\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft"]

    def getHierarchicalDelimiter(self) -> str:
        return "/"

    def getUIDValidity(self) -> int:
        return 1

    def getUIDNext(self) -> int:
        return self.next_uid

    def getUID(self, message: int) -> int:
        return self.messages[message - 1].uid

    def getMessageCount(self) -> int:
        return len(self.messages)

    def getRecentCount(self) -> int:
        return 0

    def getUnseenCount(self) -> int:
        return sum("\\Seen" not in m.flags for m in self.messages)

    def isWriteable(self) -> bool:
        return True

    def destroy(self) -> None:
        self.messages = []

    def requestStatus(self, names):
        return imap4.statusRequestHelper(self, names)

    def addListener(self, listener) -> None:
        self.listeners.append(listener)

    def removeListener(self, listener) -> None:
        if listener in self.listeners:
            self.listeners.remove(listener)

    def addMessage(self, message, flags=(), date=None):
        raw = message.read() if hasattr(message, "read") else message
        self.messages.append(StoredMessage(raw, self.next_uid, list(flags)))
        self.next_uid += 1

    def expunge(self) -> list[int]:
        gone = [m.uid for m in self.messages if "\\Deleted" in m.flags]
        self.messages = [m for m in self.messages if "\\Deleted" not in m.flags]
        return gone

    def _matching(self, messages, uid: bool):
        if uid:
            messages.last = self.messages[-1].uid if self.messages else 1
            return [(i, m) for i, m in enumerate(self.messages, 1) if m.uid in messages]
        messages.last = max(len(self.messages), 1)
        return [(i, m) for i, m in enumerate(self.messages, 1) if i in messages]

    def fetch(self, messages, uid):
        return self._matching(messages, uid)

    def store(self, messages, flags, mode, uid):
        self.store_calls += 1
        if self.refuse_store:
            raise imap4.MailboxException("STORE refused by the test")
        result = {}
        for seq, message in self._matching(messages, uid):
            if mode == 0:
                message.flags = list(flags)
            elif mode > 0:
                message.flags.extend(f for f in flags if f not in message.flags)
            else:
                message.flags = [f for f in message.flags if f not in flags]
            result[seq] = message.flags
        return result


class Account(imap4.MemoryAccount):
    def __init__(self, name: bytes) -> None:
        super().__init__(name)
        self.addMailbox("INBOX")

    def _emptyMailbox(self, name, id):
        return MemoryMailbox()


@implementer(IRealm)
class _Realm:
    def __init__(self, server: ImapTestServer) -> None:
        self.server = server

    def requestAvatar(self, avatar_id, mind, *interfaces):
        if imap4.IAccount not in interfaces:
            raise NotImplementedError
        return imap4.IAccount, self.server.account, lambda: None


class _Server(imap4.IMAP4Server):
    """Twisted's server, plus the implicit \\Seen of a non-peek fetch (RFC 3501 6.4.5)."""

    def connectionMade(self):
        # Answers go out at once, not after the client's delayed ACK (Nagle).
        self.transport.setTcpNoDelay(True)
        super().connectionMade()

    def spew_body(self, part, id, msg, _w=None, _f=None):
        if not part.peek and "\\Seen" not in msg.flags:
            msg.flags.append("\\Seen")
        return super().spew_body(part, id, msg, _w, _f)

    def spew_rfc822(self, id, msg, _w=None, _f=None):
        if "\\Seen" not in msg.flags:
            msg.flags.append("\\Seen")
        return super().spew_rfc822(id, msg, _w, _f)


class ImapTestServer:
    """The session's IMAP server: `port`, `reset(user, password)`, `deliver(raw)`."""

    def __init__(self) -> None:
        self.account = Account(b"nobody")
        self.checker = InMemoryUsernamePasswordDatabaseDontUse()
        portal = Portal(_Realm(self), [self.checker])

        class Factory(protocol.Factory):
            def buildProtocol(self, addr):
                server = _Server()
                server.portal = portal
                server.factory = self
                return server

        self._factory = Factory()
        self.port = 0

    def start(self) -> None:
        thread = threading.Thread(
            target=reactor.run, kwargs={"installSignalHandlers": False}, daemon=True
        )
        thread.start()
        listening = blockingCallFromThread(
            reactor, reactor.listenTCP, 0, self._factory, interface="127.0.0.1"
        )
        self.port = listening.getHost().port

    def stop(self) -> None:
        reactor.callFromThread(reactor.stop)

    def _call(self, fn, *args):
        return blockingCallFromThread(reactor, fn, *args)

    def reset(self, user: str, password: str) -> None:
        def work():
            self.checker.users.clear()
            self.checker.addUser(user.encode(), password.encode())
            self.account = Account(user.encode())

        self._call(work)

    @property
    def inbox(self) -> MemoryMailbox:
        return self.account.mailboxes["INBOX"]

    def deliver(self, raw: bytes, flags: tuple[str, ...] = ()) -> None:
        self._call(self.inbox.addMessage, raw, flags)

    def flags(self) -> list[list[str]]:
        """Each stored message's flags, in mailbox order."""
        return self._call(lambda: [list(m.flags) for m in self.inbox.messages])

    def set_refuse_store(self, refuse: bool) -> None:
        def work():
            self.inbox.refuse_store = refuse

        self._call(work)
