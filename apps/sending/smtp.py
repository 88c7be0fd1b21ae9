"""Handing one message to the SMTP server, and telling apart what came of it.

The SMTP conversation is taken step by step (MAIL, RCPT, DATA) instead of smtplib's sendmail,
because where it breaks decides what we may do next:

- before DATA is sent, the server cannot have stored the message: reconnect and try again;
- a reply to DATA is the server's verdict (2xx stored, 4xx try later, 5xx refused);
- no reply to DATA (the connection dropped or timed out) means the server may have stored it:
  that outcome is unknown, and only a person may decide to send it again.

One connection (Django's SMTP backend: TLS, login and timeout from the settings) is reused for
many messages and reopened after a failure.
"""

import smtplib
from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.core.mail.message import sanitize_address

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

    def deliver(self, email: EmailMessage) -> Delivery:
        if not isinstance(self.backend, SmtpBackend):
            # The console or file backend of a local set-up: nothing can go wrong in between.
            self.backend.send_messages([email])
            return Delivery(SENT, None)
        # A reused connection may have been closed by the server while idle: one fresh try.
        for last_try in (False, True):
            try:
                return self._deliver_once(email)
            except NotHandedOver:
                self._drop()
                if last_try:
                    raise
        raise AssertionError("unreachable")

    def _deliver_once(self, email: EmailMessage) -> Delivery:
        try:
            self.backend.open()
            smtp = self.backend.connection
            encoding = email.encoding or settings.DEFAULT_CHARSET
            sender = sanitize_address(email.from_email, encoding)
            recipients = [sanitize_address(a, encoding) for a in email.recipients()]
            data = email.message().as_bytes(linesep="\r\n")
            smtp.ehlo_or_helo_if_needed()
            code, text = smtp.mail(sender)
            if code != 250:
                self._reset(smtp)
                return _verdict(code, text)
            refused = {}
            for recipient in recipients:
                code, text = smtp.rcpt(recipient)
                if code not in (250, 251):
                    refused[recipient] = (code, _reply(code, text))
            if len(refused) == len(recipients):
                self._reset(smtp)
                # Every recipient refused: temporary only if every refusal was.
                worst = max(code for code, _ in refused.values())
                delivery = _verdict(worst, "recipients refused")
                delivery.refused = {r: reply for r, (_, reply) in refused.items()}
                delivery.detail = "; ".join(f"{r}: {reply}" for r, reply in delivery.refused.items())
                return delivery
        except (smtplib.SMTPException, OSError) as exc:
            raise NotHandedOver(repr(exc)) from exc
        # From here on the server may store the message whatever becomes of the connection.
        try:
            code, text = smtp.data(data)
        except smtplib.SMTPDataError as exc:
            # DATA itself was refused (no 354): the content was never sent.
            self._reset(smtp)
            return _verdict(exc.smtp_code, exc.smtp_error)
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            return Delivery(UNKNOWN, None, f"no reply to DATA: {exc!r}")
        if code != 250:
            self._reset(smtp)
            return _verdict(code, text)
        delivery = Delivery(SENT, code, _reply(code, text))
        delivery.refused = {r: reply for r, (_, reply) in refused.items()}
        if delivery.refused:
            delivery.detail += "; refused: " + "; ".join(
                f"{r}: {reply}" for r, reply in delivery.refused.items()
            )
        return delivery

    def _reset(self, smtp) -> None:
        try:
            smtp.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()  # the next message starts on a fresh connection
