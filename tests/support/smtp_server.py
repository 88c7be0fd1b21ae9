"""A real SMTP server on loopback (aiosmtpd) that records every message it accepts."""

import socket
import threading
from dataclasses import dataclass
from email import message_from_bytes
from email.policy import default as default_policy

from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class Received:
    peer: str  # "host:port" of the client connection: which sender handed it over
    mail_from: str
    rcpt_tos: tuple[str, ...]
    message_id: str
    subject: str
    raw: bytes


class RecordingHandler:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: list[Received] = []

    async def handle_DATA(self, server, session, envelope):
        parsed = message_from_bytes(envelope.original_content or envelope.content, policy=default_policy)
        with self._lock:
            self._messages.append(
                Received(
                    peer=f"{session.peer[0]}:{session.peer[1]}",
                    mail_from=envelope.mail_from,
                    rcpt_tos=tuple(envelope.rcpt_tos),
                    message_id=str(parsed.get("Message-ID", "")).strip(),
                    subject=str(parsed.get("Subject", "")),
                    raw=envelope.original_content or envelope.content,
                )
            )
        return "250 Message accepted for delivery"

    @property
    def messages(self) -> list[Received]:
        with self._lock:
            return list(self._messages)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SmtpServer:
    """`with SmtpServer() as smtp:` … `smtp.messages`, `smtp.message_ids()`."""

    host = "127.0.0.1"

    def __init__(self) -> None:
        self.handler = RecordingHandler()
        self.port = free_port()
        self._controller = Controller(self.handler, hostname=self.host, port=self.port)

    def start(self) -> "SmtpServer":
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> "SmtpServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def messages(self) -> list[Received]:
        return self.handler.messages

    def message_ids(self) -> list[str]:
        return [m.message_id for m in self.messages]
