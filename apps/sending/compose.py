"""Each outgoing message's bytes, written directly.

Django's EmailMessage builds a MIME tree and lets the email package parse, fold and encode every
header, which costs more than the rest of a send (docs/performance.md). A batch's messages share
their sender, campaign and unsubscribe link prefix, so a Composer prepares those once and then
writes each message's headers and body as the bytes Django would have produced for it. What the
quick way does not cover (a recipient that is not a plain ASCII address, a body line longer
than SMTP allows) goes through Django's EmailMessage exactly as before. tests/sending/
test_compose.py checks, over generated messages, that both ways give the same headers (as a
mail reader decodes them) and byte for byte the same body.
"""

import hashlib
import hmac
import json
import re
import time
import zlib
from dataclasses import dataclass
from email.header import Header
from email.utils import formatdate

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage
from django.core.mail.message import forbid_multi_line_headers, sanitize_address
from django.utils.encoding import force_bytes

from apps.core.addresses import address_key
from apps.sending import verp
from apps.sending.unsubscribe import SALT, unsubscribe_headers, url_prefix

CHARSET = "utf-8"
LINE_LIMIT = 998  # octets per line (RFC 5322); Django switches to quoted-printable past it
# An address Django's sanitize_address would hand back unchanged (no display name, no quoting,
# no non-ASCII part), so it can be used as it is in the To header and the envelope.
PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+")
PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]*")
LINE_BREAK = re.compile(r"\r\n|\r|\n")
SUBJECT_UNFOLDED = 78 - len("Subject: ")  # beyond this the email package would fold it


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message as it goes over SMTP: envelope and the bytes after DATA (CRLF lines)."""

    sender: str
    recipients: tuple[str, ...]
    data: bytes


@dataclass(frozen=True, slots=True)
class Draft:
    """What a message is built from: exactly the fields its content hash covers, its ids, and
    the hash of these very fields (what the send-time check compares with the approved one)."""

    pk: int
    batch_id: int
    recipient: str
    subject: str
    body: str
    content_hash: str = ""

    @property
    def message_id_header(self) -> str:
        return message_id_header(self.pk, self.batch_id)


def message_id_header(pk: int, batch_id: int) -> str:
    # The same as Message.message_id_header, without a model instance.
    return f"<message-{pk}.batch-{batch_id}@{settings.MESSAGE_ID_DOMAIN}>"


class _UnsubscribeSigner(signing.TimestampSigner):
    """The unsubscribe link's token as signing.dumps(…, salt=SALT, compress=True) makes it (and
    signing.loads reads it: tests/sending/test_compose.py checks they are equal), written out
    in one function with the HMAC key derived once, instead of through the general serializer
    and signer calls, which cost more than the rest of the message."""

    def __init__(self) -> None:
        super().__init__(salt=SALT)
        self._derived = hashlib.sha256(
            (SALT + "signer").encode() + force_bytes(self.key)
        ).digest()
        self._second, self._stamp = None, ""

    def signature(self, value, key=None):
        if key is not None and key != self.key:  # a fallback key (unsign): the general way
            return super().signature(value, key)
        digest = hmac.new(self._derived, value.encode(), hashlib.sha256).digest()
        return signing.b64_encode(digest).decode()

    def timestamp(self):
        second = int(time.time())
        if second != self._second:
            self._second, self._stamp = second, super().timestamp()
        return self._stamp

    def token(self, client_id: int, email: str) -> str:
        data = json.dumps([client_id, address_key(email)], separators=(",", ":")).encode("latin-1")
        compressed = zlib.compress(data)
        if len(compressed) < len(data) - 1:  # the rule of signing.dumps(compress=True)
            value = "." + signing.b64_encode(compressed).decode()
        else:
            value = signing.b64_encode(data).decode()
        value = f"{value}:{self.timestamp()}"
        return f"{value}:{self.signature(value)}"


class Composer:
    """Builds the messages of one batch: `Composer(...).outgoing(draft)`."""

    def __init__(self, *, client_id: int, sender_name: str, sender_email: str) -> None:
        self.client_id = client_id
        self.from_email = f"{sender_name} <{sender_email}>" if sender_name else sender_email
        # As Django's EmailMessage writes and sanitizes them, once for the batch.
        self.envelope_sender = sanitize_address(self.from_email, CHARSET)
        # With a bounce domain, each message's envelope sender is its own signed return path
        # (apps/sending/verp.py), so its bounce names it.
        self.verp = verp.enabled()
        # Postmark's webhooks name a message only by its own id: with this header it echoes
        # our Message-ID back as metadata (apps/deliverability/webhooks.py).
        self.metadata_header = settings.POSTMARK_METADATA
        from_header = forbid_multi_line_headers("From", self.from_email, CHARSET)[1]
        self.from_line = _header_line("From", from_header)
        self.unsubscribe_prefix = url_prefix()
        self.signer = _UnsubscribeSigner()
        self._date_second: int | None = None
        self._date_line = b""

    def outgoing(self, draft: Draft) -> Outgoing:
        data = self._quick(draft)
        if data is None:
            email = self.django_email(draft)
            recipients = tuple(sanitize_address(a, CHARSET) for a in email.recipients())
            return Outgoing(
                self.sender_of(draft), recipients, email.message().as_bytes(linesep="\r\n")
            )
        return Outgoing(self.sender_of(draft), (draft.recipient,), data)

    def sender_of(self, draft: Draft) -> str:
        """The envelope sender (MAIL FROM): the message's VERP return path, or the From address."""
        return verp.return_path(draft.pk) if self.verp else self.envelope_sender

    def django_email(self, draft: Draft) -> EmailMessage:
        """The message as Django builds it (the general way, and for non-SMTP backends)."""
        return EmailMessage(
            subject=draft.subject,
            body=draft.body,
            from_email=self.from_email,
            to=[draft.recipient],
            headers={
                "Message-ID": draft.message_id_header,
                **({METADATA_HEADER: draft.message_id_header} if self.metadata_header else {}),
                **unsubscribe_headers(client_id=self.client_id, email=draft.recipient),
            },
        )

    def _quick(self, draft: Draft) -> bytes | None:
        """The message's bytes, or None when it needs Django's general way."""
        if not PLAIN_ADDRESS.fullmatch(draft.recipient):
            return None
        subject = _subject_line(draft.subject)
        if subject is None:
            return None
        body = draft.body
        if len(body) > LINE_LIMIT // 4 and _has_long_lines(body):
            return None  # Django sends it quoted-printable
        ascii_body = body.isascii()
        token = self.signer.token(self.client_id, draft.recipient)
        head = b"".join((
            b'Content-Type: text/plain; charset="utf-8"\r\nMIME-Version: 1.0\r\n'
            b"Content-Transfer-Encoding: ", b"7bit" if ascii_body else b"8bit", b"\r\n",
            subject, self.from_line,
            b"To: ", draft.recipient.encode(), b"\r\n",
            self._date(),
            b"Message-ID: ", draft.message_id_header.encode(), b"\r\n",
            self._metadata_line(draft),
            b"List-Unsubscribe: <", self.unsubscribe_prefix.encode(), token.encode(), b">\r\n",
            b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n\r\n",
        ))
        return head + LINE_BREAK.sub("\r\n", body).encode()

    def _metadata_line(self, draft: Draft) -> bytes:
        if not self.metadata_header:
            return b""
        return f"{METADATA_HEADER}: {draft.message_id_header}\r\n".encode()

    def _date(self) -> bytes:
        second = int(time.time())
        if second != self._date_second:
            date = formatdate(second, localtime=settings.EMAIL_USE_LOCALTIME)
            self._date_second, self._date_line = second, f"Date: {date}\r\n".encode()
        return self._date_line


# Postmark turns X-PM-Metadata-<key> headers into the metadata of its webhook events.
METADATA_HEADER = "X-PM-Metadata-outbound-message-id"


def _header_line(name: str, value: str) -> bytes:
    # The email package folds with "\n"; on the wire every line ends in CRLF.
    return f"{name}: {value}".replace("\r\n", "\n").replace("\n", "\r\n").encode() + b"\r\n"


def _subject_line(subject: str) -> bytes | None:
    if len(subject) <= SUBJECT_UNFOLDED and PRINTABLE_ASCII.fullmatch(subject):
        return b"Subject: " + subject.encode() + b"\r\n"
    if "\n" in subject or "\r" in subject:
        return None  # Django refuses it (BadHeaderError): let it say so
    if subject.isascii():
        return _header_line("Subject", Header(subject).encode())
    return _header_line("Subject", Header(subject, CHARSET).encode())


def _has_long_lines(body: str) -> bool:
    # The test Django's SafeMIMEText makes (str.splitlines, octets after UTF-8 encoding).
    return any(
        len(line.encode(errors="surrogateescape")) > LINE_LIMIT for line in body.splitlines()
    )
