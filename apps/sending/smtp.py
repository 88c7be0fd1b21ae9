"""Handing one message to the SMTP server, and telling apart what came of it.

The SMTP conversation is taken command by command (MAIL, RCPT, DATA) instead of smtplib's
sendmail, because where it breaks decides what we may do next:

- before the message follows the server's 354, the server cannot have stored it: reconnect and
  try again;
- a reply to DATA is the server's verdict (2xx stored, 4xx try later, 5xx refused);
- no reply to DATA (the connection dropped or timed out) means the server may have stored it:
  that outcome is unknown, and only a person may decide to send it again.

Where the server offers PIPELINING (RFC 2920: Postfix, Exchange, Gmail and most relays do),
MAIL, the RCPTs and DATA go in one write and their replies are read in order: two round trips a
message instead of four, which on loopback is also fewer system calls and wake-ups on both
sides. The message itself still waits for the 354.

One connection (Django's SMTP backend: TLS, login and timeout from the settings) is reused for
many messages and reopened after a failure. Once open, its socket blocks and the kernel enforces
EMAIL_TIMEOUT on every read and write (SO_RCVTIMEO, SO_SNDTIMEO): with Python's own socket
timeout every read and write first waits in poll(), which cost the sender ~20 % and, by the
timing it gives the conversation, the server ~10 % more CPU a message.
"""

import re
import smtplib
import socket
import struct
import sys
import time
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
    outcome: str  # SENT, DEFERRED (4xx), FAILED (5xx) or UNKNOWN (no reply to DATA)
    code: int | None
    detail: str = ""
    refused: dict[str, str] = field(default_factory=dict)  # recipient → the server's reply


def _reply(code: int, text: bytes | str) -> str:
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {text}".strip()


def _verdict(code: int, text) -> Delivery:
    outcome = DEFERRED if 400 <= code < 500 else FAILED
    return Delivery(outcome, code, _reply(code, text))


def _nothing() -> None:
    pass


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
        try:
            self.backend.connection.quit()
        except (smtplib.SMTPException, OSError):
            pass
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
        """`before_data()` is called once the server has accepted the envelope, just before the
        message itself goes out: from then on the server may have it."""
        if not self.speaks_smtp:
            # The console or file backend of a local set-up: nothing can go wrong in between.
            before_data()
            self.backend.send_messages([email])
            return Delivery(SENT, None)
        if isinstance(email, EmailMessage):
            email = _outgoing(email)
        # A reused connection may have been closed by the server while idle: one fresh try.
        for last_try in (False, True):
            try:
                return self._deliver_once(email, before_data)
            except NotHandedOver:
                self._drop()
                if last_try:
                    raise
        raise AssertionError("unreachable")

    def _open(self) -> smtplib.SMTP:
        if self.backend.open():  # a new connection (connected under Python's timeout)
            _let_the_kernel_time_out(self.backend.connection.sock, settings.EMAIL_TIMEOUT)
        return self.backend.connection

    def _deliver_once(self, outgoing: Outgoing, before_data) -> Delivery:
        try:
            smtp = self._open()
            smtp.ehlo_or_helo_if_needed()
            if smtp.does_esmtp and smtp.has_extn("pipelining"):
                refusal, refused = self._envelope_pipelined(smtp, outgoing)
            else:
                refusal, refused = self._envelope_step_by_step(smtp, outgoing)
            if refusal is not None:
                return refusal
        except (smtplib.SMTPException, OSError) as exc:
            # The server said 354 or nothing: no byte of the message has gone yet.
            raise NotHandedOver(repr(exc)) from exc
        # From here on the server may store the message whatever becomes of the connection.
        before_data()
        started = time.monotonic()
        try:
            smtp.send(_data_section(outgoing.data))
            code, text = smtp.getreply()
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            return Delivery(UNKNOWN, None, f"no reply to DATA: {_why(exc, started)}")
        if code != 250:
            self._reset(smtp)
            return _verdict(code, text)
        delivery = Delivery(SENT, code, _reply(code, text))
        delivery.refused = refused
        if refused:
            delivery.detail += "; refused: " + "; ".join(f"{r}: {reply}" for r, reply in refused.items())
        return delivery

    def _envelope_pipelined(self, smtp, outgoing: Outgoing) -> tuple[Delivery | None, dict]:
        """MAIL, every RCPT and DATA in one write, their replies read in order (RFC 2920): one
        round trip instead of two or more. The message itself waits for the 354."""
        commands = [f"MAIL FROM:{_envelope_address(outgoing.sender)}"]
        commands += [f"RCPT TO:{_envelope_address(r)}" for r in outgoing.recipients]
        smtp.send("\r\n".join([*commands, "DATA"]) + "\r\n")
        mail = smtp.getreply()
        rcpts = [smtp.getreply() for _ in outgoing.recipients]
        data = smtp.getreply()
        refusal, refused = _envelope_verdict(mail, dict(zip(outgoing.recipients, rcpts)), data)
        if refusal is not None:
            if data[0] == 354:
                # The server wants the message although it refused its envelope: end the
                # connection instead (a server discards a message that never ended).
                self._drop()
            else:
                self._reset(smtp)
        return refusal, refused

    def _envelope_step_by_step(self, smtp, outgoing: Outgoing) -> tuple[Delivery | None, dict]:
        """For a server that does not pipeline: each command waits for its reply. The commands
        as smtplib's mail() and rcpt() say them, without parsing a plain address again for every
        message (that parse cost more than the rest of the conversation)."""
        smtp.putcmd("mail", f"FROM:{_envelope_address(outgoing.sender)}")
        mail = smtp.getreply()
        if mail[0] != 250:
            self._reset(smtp)
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
            self._reset(smtp)
        return refusal, refused

    def _reset(self, smtp) -> None:
        try:
            smtp.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()  # the next message starts on a fresh connection


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
        return f"timed out (nothing for {waited:.0f} s, EMAIL_TIMEOUT={settings.EMAIL_TIMEOUT}): {exc!r}"
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
