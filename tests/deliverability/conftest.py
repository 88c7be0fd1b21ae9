"""Fixtures for deliverability: messages that went out with a VERP return path, real bounce
samples (tests/data/bounces, from flufl.bounce's own test data), a real IMAP server."""

from pathlib import Path

import pytest
from django.utils import timezone

from apps.core.models import Batch, BatchStatus, Message, SendStatus
from apps.sending import verp
from tests.sending.conftest import approved_batch, unknown_batch  # noqa: F401
from tests.support import imap_server as imap

SAMPLES = Path(__file__).parent.parent / "data" / "bounces"


@pytest.fixture(autouse=True)
def bounce_domain(settings):
    settings.BOUNCE_DOMAIN = "bounce.outbound.test"
    settings.BOUNCE_LOCAL_PART = "bounces"


def sample(name: str) -> bytes:
    return (SAMPLES / f"{name}.txt").read_bytes()


def delivered_to(message: Message, raw: bytes, *, address: str | None = None) -> bytes:
    """The report as the bounce mailbox receives it: its server prepends the address it was
    delivered to (the message's return path)."""
    address = address or verp.return_path(message.pk)
    return f"Delivered-To: {address}\r\n".encode() + raw


def sent_batch(campaign, count: int, **kwargs) -> Batch:
    """A batch whose messages all went out (sent, batch sent)."""
    batch = approved_batch(campaign, count, **kwargs)
    now = timezone.now()
    Message.objects.filter(batch=batch).update(send_status=SendStatus.SENT, sent_at=now)
    Batch.objects.filter(pk=batch.pk).update(status=BatchStatus.SENT, sent_at=now)
    return batch


@pytest.fixture
def acme_sent(acme_campaign) -> Batch:
    return sent_batch(acme_campaign, 4)


@pytest.fixture
def imap_server(settings):
    if not imap.available():
        pytest.skip("dovecot is not installed (apt-get install dovecot-imapd; .ci/run does)")
    with imap.ImapServer() as server:
        settings.BOUNCE_IMAP_HOST, settings.BOUNCE_IMAP_PORT = server.host, server.port
        settings.BOUNCE_IMAP_SSL = False
        settings.BOUNCE_IMAP_USER, settings.BOUNCE_IMAP_PASSWORD = server.user, server.password
        settings.BOUNCE_IMAP_FOLDER = "INBOX"
        yield server


def arf_complaint(message: Message) -> bytes:
    """An ARF feedback report (RFC 5965) as a mailbox provider's feedback loop sends it: the
    original's headers quoted, its return path among them."""
    return f"""\
From: staff@hotmail.example
To: fbl@outbound.test
Subject: complaint about message from 192.0.2.1
Message-ID: <fbl-{message.pk}@hotmail.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="part1_13d.2e68ed54"

--part1_13d.2e68ed54
Content-Type: text/plain; charset="US-ASCII"
Content-Transfer-Encoding: 7bit

This is an email abuse report for an email message received from IP 192.0.2.1.

--part1_13d.2e68ed54
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: SomeGenerator/1.0
Version: 1
Original-Mail-From: <{verp.return_path(message.pk)}>
Original-Rcpt-To: <{message.recipient}>
Source-IP: 192.0.2.1

--part1_13d.2e68ed54
Content-Type: text/rfc822-headers

Return-Path: <{verp.return_path(message.pk)}>
From: Sam Sender <sam@outbound.test>
To: {message.recipient}
Subject: {message.subject}
Message-ID: {message.message_id_header}

--part1_13d.2e68ed54--
""".replace("\n", "\r\n").encode()
