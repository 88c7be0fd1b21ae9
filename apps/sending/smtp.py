"""Handing messages to the SMTP server, and telling apart what came of each.

Where the conversation breaks decides what we may do next, so it is taken command by command
rather than through smtplib's sendmail:

- before any byte of a message itself has been written, the server cannot have stored it:
  reconnect and try again;
- a reply to the end of a message (DATA's final dot, or `BDAT n LAST`) is the server's verdict
  (2xx stored, 4xx try later, 5xx refused);
- no such reply (the connection dropped or timed out) after its bytes were written means the
  server may have stored it: that outcome is unknown, and only a person may send it again.

`handing_over(i)` is called just before the first byte of message i goes to the socket (the
send journal's H line), `answered(i, delivery)` as soon as its verdict is known (the R line).

How a group of messages goes over one connection, by what the server offers (docs/sending.md):

- CHUNKING and PIPELINING (RFC 3030, RFC 2920): each transaction is `RSET, MAIL, RCPT…,
  BDAT n LAST` followed by its n bytes, written one after the other for up to WINDOW messages,
  then every reply is read in order: one round trip for the lot;
- PIPELINING only: DATA waits for its 354, so each message costs one round trip: its bytes and
  the final dot go in one write with the next message's MAIL, RCPTs and DATA;
- neither: each command waits for its reply.

One connection (Django's SMTP backend: TLS, login and timeout from the settings) is reused for
many messages and reopened after a failure. Once open, its socket blocks and the kernel enforces
EMAIL_TIMEOUT on every read and write (SO_RCVTIMEO, SO_SNDTIMEO): with Python's own socket
timeout every read and write first waits in poll(), which costs the sender CPU and, by the
timing it gives the conversation, the server too (docs/performance.md has the figures).

SmtpPool keeps several such connections (SEND_SMTP_CONNECTIONS) and splits a group between
them, one thread each: a thread only talks SMTP and writes the journal (one write(2) a line, so
lines of several threads never mix); the database stays with the caller.
"""

import contextlib
import re
import smtplib
import socket
import struct
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from functools import lru_cache

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.core.mail.message import sanitize_address

from apps.sending.compose import PLAIN_ADDRESS, Outgoing

SENT, DEFERRED, FAILED, UNKNOWN = "sent", "deferred", "failed", "unknown"


class NotHandedOver(Exception):
    """The server could not be reached, or broke off before the message was handed over."""


@dataclass
class Delivery:
    outcome: str  # SENT, DEFERRED (4xx), FAILED (5xx) or UNKNOWN (no verdict after its bytes)
    code: int | None
    detail: str = ""
    refused: dict[str, str] = field(default_factory=dict)  # recipient → the server's reply


@dataclass
class GroupOutcome:
    """What came of a group: a Delivery for each message (by its index in the group) that got a
    verdict or may have reached the server; the others were never handed over, because the
    connection failed (`failure`) or the caller said to begin no more (`failure` None)."""

    deliveries: dict[int, Delivery] = field(default_factory=dict)
    failure: NotHandedOver | None = None


Callback = Callable[..., None]

# CHUNKING: transactions written before their replies are read. Every one of them is in flight
# until its reply is read, and unknown if the process dies meanwhile: the window is what a
# crash may cost on each connection (docs/sending.md weighs it against round trips). Its
# replies (~200 bytes a message) stay far below any socket buffer, so neither side can block
# writing while the other is not reading.
WINDOW = 10

# A group is shared between the pool's connections so that each gets at least this many: a
# connection is opened (TCP, greeting, EHLO, perhaps TLS and login) for work worth it.
SHARE_AT_LEAST = 10


def _reply(code: int, text: bytes | str) -> str:
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {text}".strip()


def _verdict(code: int, text) -> Delivery:
    outcome = DEFERRED if 400 <= code < 500 else FAILED
    return Delivery(outcome, code, _reply(code, text))


def _nothing(*args) -> None:
    pass


def _always() -> bool:
    return True


class _Broken(Exception):
    """The connection failed; messages from `next_index` on were not handed over on it."""

    def __init__(self, next_index: int, why: str) -> None:
        super().__init__(why)
        self.next_index = next_index


class SmtpSession:
    """`with SmtpSession() as smtp: smtp.deliver(email)` — one connection for many messages."""

    def __init__(self) -> None:
        self.backend = get_connection(fail_silently=False, timeout=settings.EMAIL_TIMEOUT)

    def __enter__(self) -> "SmtpSession":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Say QUIT on a healthy connection (at the end of a run)."""
        if getattr(self.backend, "connection", None) is None:
            return
        with contextlib.suppress(smtplib.SMTPException, OSError):
            self.backend.connection.quit()
        self._drop()

    def _drop(self) -> None:
        """Close a connection in doubt without talking to it (a QUIT could hang as well)."""
        connection = getattr(self.backend, "connection", None)
        if connection is not None:
            try:
                connection.close()
            finally:
                self.backend.connection = None

    @property
    def speaks_smtp(self) -> bool:
        """False for the console, file or in-memory backends of a local set-up (and tests):
        those take Django EmailMessages."""
        return isinstance(self.backend, SmtpBackend)

    def deliver(self, email: EmailMessage | Outgoing, before_data=_nothing) -> Delivery:
        """One message. `before_data()` is called just before the message itself goes out:
        from then on the server may have it. Raises NotHandedOver if it never went."""
        if isinstance(email, EmailMessage) and self.speaks_smtp:
            email = _outgoing(email)
        outcome = self.deliver_group([email], handing_over=lambda i: before_data())
        if 0 not in outcome.deliveries:
            raise outcome.failure or NotHandedOver("not handed over")
        return outcome.deliveries[0]

    def deliver_group(self, messages: list, *, handing_over: Callback = _nothing,
                      answered: Callback = _nothing, may_begin: Callable[[], bool] = _always,
                      outcome: GroupOutcome | None = None) -> GroupOutcome:
        """Hand `messages` over in order on this connection. `handing_over(i)` is called just
        before the first byte of message i goes out, `answered(i, delivery)` once its verdict
        (or its loss: unknown) is known. Once `may_begin()` says no, no further message is
        begun (the first always is). A connection that fails is reopened and the rest go on
        it, unless a fresh one fails before handing anything over: then the rest are left
        (outcome.failure)."""
        outcome = outcome if outcome is not None else GroupOutcome()
        if not self.speaks_smtp:
            # The console or file backend of a local set-up: nothing can go wrong in between.
            for i, email in enumerate(messages):
                handing_over(i)
                self.backend.send_messages([email])
                self._answer(outcome, answered, i, Delivery(SENT, None))
            return outcome
        conversation = _Conversation(messages, outcome, handing_over, answered, may_begin,
                                     self._drop)
        start = 0
        while start < len(messages):
            fresh = getattr(self.backend, "connection", None) is None
            try:
                start = self._converse(conversation, start)
            except _Broken as broken:
                self._drop()
                if broken.next_index == start and fresh:
                    outcome.failure = NotHandedOver(str(broken))
                    return outcome
                start = broken.next_index
                continue
            if start < len(messages):
                break  # told to begin no more: the rest is for later
        return outcome

    @staticmethod
    def _answer(outcome: GroupOutcome, answered: Callback, index: int, delivery: Delivery):
        outcome.deliveries[index] = delivery
        answered(index, delivery)

    def _open(self) -> smtplib.SMTP:
        if self.backend.open():  # a new connection (connected under Python's timeout)
            _let_the_kernel_time_out(self.backend.connection.sock, settings.EMAIL_TIMEOUT)
        return self.backend.connection

    def _converse(self, conversation: "_Conversation", start: int) -> int:
        """Messages from `start` on, on one connection; returns the index of the first one not
        begun (out of time), or raises _Broken."""
        try:
            smtp = self._open()
            smtp.ehlo_or_helo_if_needed()
        except (smtplib.SMTPException, OSError) as exc:
            raise _Broken(start, repr(exc)) from exc
        pipelining = smtp.does_esmtp and smtp.has_extn("pipelining")
        if pipelining and smtp.has_extn("chunking"):
            return conversation.chunked(smtp, start)
        if pipelining:
            return conversation.pipelined(smtp, start, self._reset)
        return conversation.step_by_step(smtp, start, self._reset)

    def _reset(self, smtp) -> None:
        try:
            smtp.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()  # the next message starts on a fresh connection


class _Conversation:
    """The messages of one group and what is known of them, spoken on one connection at a
    time."""

    def __init__(self, messages: list[Outgoing], outcome: GroupOutcome, handing_over: Callback,
                 answered: Callback, may_begin: Callable[[], bool], drop: Callable[[], None]
                 ) -> None:
        self.messages, self.outcome = messages, outcome
        self.handing_over, self.answered = handing_over, answered
        self.may_begin, self.drop = may_begin, drop

    def _answer(self, index: int, delivery: Delivery) -> None:
        SmtpSession._answer(self.outcome, self.answered, index, delivery)

    # --- CHUNKING: a window of whole transactions, then their replies ------------------------

    def chunked(self, smtp, start: int) -> int:
        index = start
        while index < len(self.messages):
            if index > start and not self.may_begin():
                return index
            stop = min(index + WINDOW, len(self.messages))
            written, broken = [], None
            for i in range(index, stop):
                self.handing_over(i)  # every byte after this may be part of message i
                written.append(i)
                try:
                    smtp.send(_transaction(self.messages[i]))
                except (smtplib.SMTPException, OSError) as exc:
                    broken = exc
                    break
            self._read_chunked(smtp, written)
            if broken is not None:
                raise _Broken(written[-1] + 1, repr(broken))
            index = stop
        return index

    def _read_chunked(self, smtp, written: list[int]) -> None:
        """The replies to the written transactions, in order; those that never come leave
        their messages unknown."""
        started = time.monotonic()
        for position, i in enumerate(written):
            try:
                replies = [smtp.getreply() for _ in range(3 + len(self.messages[i].recipients))]
            except (smtplib.SMTPException, OSError) as exc:
                why = f"no reply to BDAT: {_why(exc, started)}"
                for lost in written[position:]:
                    self._answer(lost, Delivery(UNKNOWN, None, why))
                raise _Broken(written[-1] + 1, why) from exc
            self._answer(i, _chunked_verdict(self.messages[i], replies))

    # --- PIPELINING without CHUNKING: one round trip a message --------------------------------

    def pipelined(self, smtp, start: int, reset) -> int:
        """Message i's bytes and final dot go in one write with message i+1's MAIL, RCPTs and
        DATA (RFC 2920 lets the message content open a group); their replies come back
        together. A refused envelope is followed by RSET in the next write. A message whose
        envelope was accepted after `may_begin()` said no is not sent: the connection is closed
        instead, and a server discards a message that never ended."""
        try:
            smtp.send(_envelope(self.messages[start]))
        except (smtplib.SMTPException, OSError) as exc:
            raise _Broken(start, repr(exc)) from exc
        index, after_rset = start, False
        while True:
            try:
                if after_rset:
                    smtp.getreply()
                mail = smtp.getreply()
                rcpts = [smtp.getreply() for _ in self.messages[index].recipients]
                data = smtp.getreply()
            except (smtplib.SMTPException, OSError) as exc:
                # The server said 354 or nothing: no byte of the message has gone yet.
                raise _Broken(index, repr(exc)) from exc
            refusal, refused = _envelope_verdict(
                mail, dict(zip(self.messages[index].recipients, rcpts, strict=False)), data)
            if refusal is not None:
                self._answer(index, refusal)
                if data[0] == 354:
                    # The server wants the message although it refused its envelope: end the
                    # connection instead (a server discards a message that never ended).
                    raise _Broken(index + 1, "message expected after a refused envelope")
                following = self._following(index)
                if following is None:
                    reset(smtp)
                    return index + 1
                try:
                    smtp.send(b"RSET\r\n" + _envelope(self.messages[following]))
                except (smtplib.SMTPException, OSError) as exc:
                    raise _Broken(following, repr(exc)) from exc
                index, after_rset = following, True
                continue
            if index > start and not self.may_begin():
                self.drop()
                return index
            following = self._following(index)
            self._send_data(smtp, index, refused, following)
            if following is None:
                return index + 1
            index, after_rset = following, False

    def _following(self, index: int) -> int | None:
        """The message whose envelope may go with this one's bytes, if any."""
        return index + 1 if index + 1 < len(self.messages) and self.may_begin() else None

    def _send_data(self, smtp, index: int, refused: dict, following: int | None) -> None:
        """Message `index` after its 354 (with the next envelope, if any), and its verdict."""
        self.handing_over(index)  # from here on the server may store it
        started = time.monotonic()
        payload = _data_section(self.messages[index].data)
        if following is not None:
            payload += _envelope(self.messages[following])
        try:
            smtp.send(payload)
            code, text = smtp.getreply()
        except (smtplib.SMTPException, OSError) as exc:
            self._answer(index, Delivery(UNKNOWN, None,
                                         f"no reply to DATA: {_why(exc, started)}"))
            raise _Broken(index + 1, repr(exc)) from exc
        self._answer(index, _data_verdict(code, text, refused))

    # --- neither: each command waits for its reply ---------------------------------------------

    def step_by_step(self, smtp, start: int, reset) -> int:
        for index in range(start, len(self.messages)):
            if index > start and not self.may_begin():
                return index
            try:
                refusal, refused = _envelope_step_by_step(smtp, self.messages[index], reset)
            except (smtplib.SMTPException, OSError) as exc:
                raise _Broken(index, repr(exc)) from exc
            if refusal is not None:
                self._answer(index, refusal)
                continue
            self._send_data(smtp, index, refused, None)
        return len(self.messages)


def _envelope_step_by_step(smtp, outgoing: Outgoing, reset) -> tuple[Delivery | None, dict]:
    """For a server that does not pipeline: each command waits for its reply. The commands as
    smtplib's mail() and rcpt() say them, without parsing a plain address again for every
    message (that parse cost more than the rest of the conversation)."""
    smtp.putcmd("mail", f"FROM:{_envelope_address(outgoing.sender)}")
    mail = smtp.getreply()
    if mail[0] != 250:
        reset(smtp)
        return _verdict(*mail), {}
    rcpts = {}
    for recipient in outgoing.recipients:
        smtp.putcmd("rcpt", f"TO:{_envelope_address(recipient)}")
        rcpts[recipient] = smtp.getreply()
    data = (0, b"")
    if any(code in (250, 251) for code, _ in rcpts.values()):
        smtp.putcmd("data")
        data = smtp.getreply()
    refusal, refused = _envelope_verdict(mail, rcpts, data)
    if refusal is not None:
        reset(smtp)
    return refusal, refused


def _envelope_commands(outgoing: Outgoing) -> list[str]:
    return [f"MAIL FROM:{_envelope_address(outgoing.sender)}",
            *(f"RCPT TO:{_envelope_address(r)}" for r in outgoing.recipients)]


def _envelope(outgoing: Outgoing) -> bytes:
    """MAIL, every RCPT and DATA, as one piece of a pipelined write."""
    return "\r\n".join([*_envelope_commands(outgoing), "DATA", ""]).encode("ascii")


def _transaction(outgoing: Outgoing) -> bytes:
    """A whole transaction for a server with CHUNKING: RSET (whatever the transaction before
    left, RFC 3030 leaves to the server), MAIL, every RCPT, `BDAT n LAST` and the n bytes,
    as they are (no dot-stuffing, no final dot)."""
    commands = ["RSET", *_envelope_commands(outgoing), f"BDAT {len(outgoing.data)} LAST", ""]
    return "\r\n".join(commands).encode("ascii") + outgoing.data


def _chunked_verdict(outgoing: Outgoing, replies: list[tuple]) -> Delivery:
    """From the replies to RSET, MAIL, each RCPT and BDAT LAST: what came of the message."""
    rset, mail, *rcpts, bdat = replies
    if rset[0] != 250:
        # What the server made of the commands after it cannot be told: the bytes went.
        return Delivery(UNKNOWN, None, f"RSET refused before the message: {_reply(*rset)}")
    refusal, refused = _envelope_verdict(mail, dict(zip(outgoing.recipients, rcpts, strict=False)),
                                         (354, b""))
    if refusal is not None:
        return refusal  # the server took no transaction: the bytes were discarded
    code, text = bdat
    return _data_verdict(code, text, refused)


def _data_verdict(code: int, text, refused: dict[str, str]) -> Delivery:
    """The reply to the end of a message whose envelope was accepted."""
    if code != 250:
        return _verdict(code, text)
    delivery = Delivery(SENT, code, _reply(code, text), refused)
    if refused:
        delivery.detail += "; refused: " + "; ".join(f"{r}: {reply}"
                                                     for r, reply in refused.items())
    return delivery


def _envelope_verdict(mail: tuple, rcpts: dict[str, tuple], data: tuple
                     ) -> tuple[Delivery | None, dict[str, str]]:
    """From the replies to MAIL, each RCPT and DATA: the refusal that ends this message (None if
    the server is waiting for it, 354), and the recipients refused."""
    refused = {r: _reply(code, text) for r, (code, text) in rcpts.items() if code not in (250, 251)}
    if mail[0] != 250:
        return _verdict(*mail), {}
    if len(refused) == len(rcpts):
        # Every recipient refused: temporary only if every refusal was.
        delivery = _verdict(max(code for code, _ in rcpts.values()), "recipients refused")
        delivery.refused = refused
        delivery.detail = "; ".join(f"{r}: {reply}" for r, reply in refused.items())
        return delivery, refused
    if data[0] != 354:
        return _verdict(*data), refused  # DATA itself refused: the content was never sent
    return None, refused


class SmtpPool:
    """`with SmtpPool(n) as pool: pool.deliver_group(...)` — up to n connections, a group
    shared between them (in order, a slice each), one thread each."""

    def __init__(self, connections: int) -> None:
        self.sessions = [SmtpSession()]
        if self.sessions[0].speaks_smtp:
            self.sessions += [SmtpSession() for _ in range(connections - 1)]
        self.executor = (ThreadPoolExecutor(len(self.sessions), thread_name_prefix="smtp")
                         if len(self.sessions) > 1 else None)

    def __enter__(self) -> "SmtpPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for session in self.sessions:
            session.close()
        if self.executor is not None:
            self.executor.shutdown()

    @property
    def speaks_smtp(self) -> bool:
        return self.sessions[0].speaks_smtp

    def deliver_group(self, messages: list, *, handing_over: Callback = _nothing,
                      answered: Callback = _nothing, may_begin: Callable[[], bool] = _always
                      ) -> GroupOutcome:
        """As SmtpSession.deliver_group, over the connections at once. Returns when every
        connection is done with its share (or raises what one of them raised, once all are
        done: meanwhile the outcome gathered so far is lost to the caller, not to the
        journal)."""
        shares = _shares(len(messages), len(self.sessions))
        executor = self.executor  # there is one whenever there are several shares
        if len(shares) <= 1 or executor is None:
            return self.sessions[0].deliver_group(messages, handing_over=handing_over,
                                                  answered=answered, may_begin=may_begin)
        outcomes = [GroupOutcome() for _ in shares]
        futures = [
            executor.submit(
                session.deliver_group, messages[first:end],
                handing_over=lambda i, first=first: handing_over(first + i),
                answered=lambda i, delivery, first=first: answered(first + i, delivery),
                may_begin=may_begin, outcome=outcome,
            )
            for session, (first, end), outcome in zip(self.sessions, shares, outcomes, strict=False)
        ]
        wait(futures)
        for future in futures:
            future.result()  # raises what a thread raised
        merged = GroupOutcome()
        for (first, _), outcome in zip(shares, outcomes, strict=False):
            merged.deliveries.update({first + i: d for i, d in outcome.deliveries.items()})
            merged.failure = merged.failure or outcome.failure
        return merged


def _shares(count: int, connections: int) -> list[tuple[int, int]]:
    """[first, end) slices of a group of `count`, one a connection, at least SHARE_AT_LEAST
    each (all of it on one connection below twice that)."""
    parts = max(1, min(connections, count // SHARE_AT_LEAST))
    size, extra = divmod(count, parts)
    shares, first = [], 0
    for part in range(parts):
        end = first + size + (part < extra)
        shares.append((first, end))
        first = end
    return [share for share in shares if share[0] < share[1]]


_LEADING_DOT = re.compile(rb"(?m)^\.")


def _data_section(data: bytes) -> bytes:
    """The message as it follows a 354: lines starting with a dot doubled, ended by a line
    holding only a dot (what smtplib's data() sends after its DATA command)."""
    data = _LEADING_DOT.sub(b"..", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


def _let_the_kernel_time_out(sock: socket.socket, seconds: float) -> None:
    """Make the socket blocking, with the kernel failing any read or write that waits longer
    than `seconds`. Only where the option takes a struct timeval (Linux, macOS: Windows takes
    milliseconds); elsewhere, or where the options cannot be set, Python's own timeout stays."""
    if not sys.platform.startswith(("linux", "darwin")):
        return
    whole = int(seconds)
    timeval = struct.pack("ll", whole, int((seconds - whole) * 1_000_000))
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)
    except (OSError, struct.error):
        return
    sock.settimeout(None)


def _why(exc: BaseException, started: float) -> str:
    """What broke a step that began at `started` (time.monotonic()). A read the kernel gave up
    on reaches smtplib as a closed connection; one that waited EMAIL_TIMEOUT is named for what
    it was."""
    waited = time.monotonic() - started
    if waited >= settings.EMAIL_TIMEOUT:
        return (
            f"timed out (nothing for {waited:.0f} s, EMAIL_TIMEOUT={settings.EMAIL_TIMEOUT}): "
            f"{exc!r}"
        )
    return repr(exc)


@lru_cache(maxsize=64)
def _quoted(address: str) -> str:
    return smtplib.quoteaddr(address)


def _envelope_address(address: str) -> str:
    """`<addr-spec>` as smtplib.quoteaddr gives it; a plain address as it is (a sender, the
    same for a whole batch, from a cache)."""
    if PLAIN_ADDRESS.fullmatch(address):
        return f"<{address}>"
    return _quoted(address)


def _outgoing(email: EmailMessage) -> Outgoing:
    """A Django EmailMessage as it goes over SMTP (what its SMTP backend would send)."""
    encoding = email.encoding or settings.DEFAULT_CHARSET
    return Outgoing(
        sanitize_address(email.from_email, encoding),
        tuple(sanitize_address(a, encoding) for a in email.recipients()),
        email.message().as_bytes(linesep="\r\n"),
    )
