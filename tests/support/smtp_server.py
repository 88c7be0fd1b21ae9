"""A real SMTP server on loopback (aiosmtpd) that records every message it accepts, and can be
told to misbehave the ways real servers do.

    with SmtpServer() as smtp:
        ...send...
        smtp.messages, smtp.message_ids(), smtp.count_by_message_id()

Faults (set them at any time; they apply to the next DATA commands):

    smtp.fail("451")              # every DATA answered "451 try again later" (not stored)
    smtp.fail("550", times=2)     # the next two answered "550 ... rejected" (not stored)
    smtp.fail("drop")             # stored, then the connection is cut before the reply
    smtp.fail("hang", seconds=5)  # no reply for 5 s (not stored), then the connection is cut
    smtp.fail("drop", after=3)    # the next three handled as usual, then the faults begin
    smtp.fail(None)               # behave again
    smtp.refuse("a@x.com")        # RCPT TO for that address answered 550
    smtp.delay(0.02)              # every DATA answered after 20 ms (a slow server)

It offers PIPELINING (RFC 2920) unless made with `SmtpServer(pipelining=False)`, and CHUNKING
(RFC 3030: `BDAT n [LAST]`, a small extension of ours, aiosmtpd has none) with
`SmtpServer(chunking=True)`. A message that ends with BDAT LAST meets the same faults as one
that ends with DATA's dot.
"""

import asyncio
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from email import message_from_bytes
from email.policy import default as default_policy

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

FAULT_MODES = ("451", "550", "drop", "hang")


@dataclass(frozen=True)
class Received:
    peer: str  # "host:port" of the client connection: which sender handed it over
    mail_from: str
    rcpt_tos: tuple[str, ...]
    message_id: str
    subject: str
    raw: bytes
    received_at: float = field(default_factory=time.time)  # time.time() when stored

    def header(self, name: str) -> str:
        return str(message_from_bytes(self.raw, policy=default_policy).get(name, ""))


class RecordingHandler:
    def __init__(self, *, pipelining: bool = True, chunking: bool = False) -> None:
        self.pipelining = pipelining  # offered in the EHLO reply, as most real servers do
        self.chunking = chunking
        self.commands: list[str] = []  # "DATA" or "BDAT", each as it came
        self._lock = threading.Lock()
        self._messages: list[Received] = []
        self._fault: str | None = None
        self._fault_times: int | None = None  # None: until cleared
        self._fault_after = 0  # messages still handled as usual before the fault begins
        self._hang_seconds = 5.0
        self._refused: set[str] = set()
        self.data_delay = 0.0

    def set_fault(self, mode: str | None, *, times: int | None = None, seconds: float = 5.0,
                  after: int = 0):
        if mode is not None and mode not in FAULT_MODES:
            raise ValueError(f"unknown fault {mode!r}; one of {FAULT_MODES}")
        with self._lock:
            self._fault, self._fault_times, self._hang_seconds = mode, times, seconds
            self._fault_after = after

    def note(self, command: str) -> None:
        with self._lock:
            self.commands.append(command)

    def set_refused(self, addresses) -> None:
        with self._lock:
            self._refused = {a.lower() for a in addresses}

    def _take_fault(self) -> str | None:
        with self._lock:
            mode = self._fault
            if mode is not None and self._fault_after > 0:
                self._fault_after -= 1
                return None
            if mode is not None and self._fault_times is not None:
                self._fault_times -= 1
                if self._fault_times <= 0:
                    self._fault, self._fault_times = None, None
            return mode

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if self.pipelining:
            responses.insert(-1, "250-PIPELINING")
        if self.chunking:
            responses.insert(-1, "250-CHUNKING")
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self._lock:
            refused = address.lower() in self._refused
        if refused:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        fault = self._take_fault()
        if fault == "451":
            return "451 4.3.0 try again later"
        if fault == "550":
            return "550 5.7.1 message rejected"
        if fault == "hang":
            await asyncio.sleep(self._hang_seconds)
            server.transport.abort()
            return "421 4.4.2 gave up"  # never reaches the client: the connection is gone
        self._store(session, envelope)
        if fault == "drop":
            # The worst case SMTP allows: the message is stored, the reply never arrives.
            server.transport.abort()
        return "250 Message accepted for delivery"

    def _store(self, session, envelope) -> None:
        raw = envelope.original_content or envelope.content
        parsed = message_from_bytes(raw, policy=default_policy)
        with self._lock:
            self._messages.append(
                Received(
                    peer=f"{session.peer[0]}:{session.peer[1]}",
                    mail_from=envelope.mail_from,
                    rcpt_tos=tuple(envelope.rcpt_tos),
                    message_id=str(parsed.get("Message-ID", "")).strip(),
                    subject=str(parsed.get("Subject", "")),
                    raw=raw,
                )
            )

    @property
    def messages(self) -> list[Received]:
        with self._lock:
            return list(self._messages)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ChunkingSMTP(SMTP):
    """aiosmtpd's server with BDAT (RFC 3030, without BINARYMIME): chunks are gathered until
    LAST, then the message goes to the handler's handle_DATA as a DATA message would. DATA and
    BDAT commands are noted in the handler's `commands`: how the client sent each message."""

    async def smtp_DATA(self, arg: str) -> None:
        self.event_handler.note("DATA")
        await super().smtp_DATA(arg)

    async def smtp_BDAT(self, arg: str) -> None:
        self.event_handler.note("BDAT")
        size, _, last = (arg or "").partition(" ")
        if not size.isdigit() or last.strip().upper() not in ("", "LAST"):
            await self.push("501 Syntax: BDAT size [LAST]")
            return
        chunk = await self._reader.readexactly(int(size))  # always read: RFC 3030 says so
        envelope = self.envelope
        if envelope is None or not envelope.rcpt_tos or not envelope.mail_from:
            self._chunks = []
            await self.push("503 5.5.1 no valid recipients" if envelope and envelope.mail_from
                            else "503 5.5.1 MAIL first")
            return
        self._chunks = [*getattr(self, "_chunks", []), chunk]
        if not last:
            await self.push(f"250 2.0.0 {len(chunk)} octets received")
            return
        envelope.content = envelope.original_content = b"".join(self._chunks)
        self._chunks = []
        status = await self._call_handler_hook("DATA")
        self._set_post_data_state()
        await self.push(status)


class _Controller(Controller):
    def factory(self):
        return ChunkingSMTP(self.handler, **self.SMTP_kwargs)


class SmtpServer:
    """`with SmtpServer() as smtp:` … `smtp.messages`, `smtp.message_ids()`."""

    host = "127.0.0.1"

    def __init__(self, port: int | None = None, *, pipelining: bool = True,
                 chunking: bool = False) -> None:
        self.handler = RecordingHandler(pipelining=pipelining, chunking=chunking)
        self.port = port or free_port()
        self._controller = _Controller(self.handler, hostname=self.host, port=self.port)

    def start(self) -> "SmtpServer":
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> "SmtpServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def fail(self, mode: str | None, *, times: int | None = None, seconds: float = 5.0,
             after: int = 0) -> None:
        self.handler.set_fault(mode, times=times, seconds=seconds, after=after)

    def delay(self, seconds: float) -> None:
        self.handler.data_delay = seconds

    def refuse(self, *addresses: str) -> None:
        self.handler.set_refused(addresses)

    @property
    def messages(self) -> list[Received]:
        return self.handler.messages

    def message_ids(self) -> list[str]:
        return [m.message_id for m in self.messages]

    def count_by_message_id(self) -> Counter:
        return Counter(self.message_ids())

    def duplicates(self) -> dict[str, int]:
        return {mid: n for mid, n in self.count_by_message_id().items() if n > 1}

    def per_minute(self) -> Counter:
        """Messages stored per wall-clock minute (int(time.time() // 60))."""
        return Counter(int(m.received_at // 60) for m in self.messages)
