"""Pipelined, chunked SMTP over several connections (apps/sending/smtp.py), against real servers:
aiosmtpd without PIPELINING, with it, and with our CHUNKING extension (BDAT), and Postfix's
smtp-sink (PIPELINING, no CHUNKING). Whatever the server offers, each message is stored once;
where a connection breaks in the middle of a group, the replies read before it stay recorded,
the message whose bytes went without a verdict is unknown, and a message none of whose bytes
went is queued again."""

import smtplib

import pytest

from apps.core.models import Batch, BatchStatus, DeliveryAttempt, Message, SendStatus
from apps.sending import smtp
from apps.sending.compose import Outgoing
from apps.sending.services import batch_send
from tests.sending.conftest import approved_batch, statuses
from tests.support.postfix_sink import PostfixSink
from tests.support.smtp_server import SmtpServer

pytestmark = pytest.mark.django_db

OFFERS = {
    "plain": {"pipelining": False},
    "pipelining": {"pipelining": True},
    "pipelining+chunking": {"pipelining": True, "chunking": True},
}


def use(server, settings, *, connections: int = 1, timeout: int = 10) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = server.host, server.port
    settings.EMAIL_TIMEOUT, settings.SEND_SMTP_CONNECTIONS = timeout, connections


@pytest.fixture(params=list(OFFERS))
def aiosmtpd_server(request):
    with SmtpServer(**OFFERS[request.param]) as server:
        yield server


def by_pk(batch) -> list[Message]:
    return list(Message.objects.filter(batch=batch).order_by("pk"))


def headers(messages) -> dict[str, int]:
    return {m.message_id_header: 1 for m in messages}


# --- whole batches ------------------------------------------------------------------------------

def test_a_batch_goes_over_several_connections_each_message_once(aiosmtpd_server, acme_campaign,
                                                                  settings):
    use(aiosmtpd_server, settings, connections=3)
    batch = approved_batch(acme_campaign, 40)

    batch_send(batch_id=batch.pk)

    assert statuses(batch) == {SendStatus.SENT: 40}
    assert aiosmtpd_server.count_by_message_id() == headers(by_pk(batch))
    assert len({m.peer for m in aiosmtpd_server.messages}) == 3  # the group shared three ways
    expected = "BDAT" if aiosmtpd_server.handler.chunking else "DATA"
    assert set(aiosmtpd_server.handler.commands) == {expected}
    assert {(a.outcome, a.smtp_code) for a in DeliveryAttempt.objects.all()} == {("sent", 250)}
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.SENT


def test_a_batch_to_postfix_smtp_sink_over_several_connections(acme_campaign, settings):
    with PostfixSink() as sink:
        use(sink, settings, connections=3)
        batch = approved_batch(acme_campaign, 40)

        batch_send(batch_id=batch.pk)

        assert statuses(batch) == {SendStatus.SENT: 40}
        assert sink.count_by_message_id() == headers(by_pk(batch))


def test_refusals_inside_a_group_fail_only_their_messages(aiosmtpd_server, acme_campaign,
                                                          settings):
    """A refused recipient and a refused message in the middle of a pipelined group: the
    transactions after them go on, with no state carried over (RSET where needed)."""
    use(aiosmtpd_server, settings)
    batch = approved_batch(acme_campaign, 6)
    messages = by_pk(batch)
    aiosmtpd_server.refuse(messages[1].recipient)
    aiosmtpd_server.fail("550", after=3, times=1)  # the fourth message that reaches the end

    batch_send(batch_id=batch.pk)

    outcomes = [m.send_status for m in by_pk(batch)]
    assert outcomes == [SendStatus.SENT, SendStatus.FAILED, SendStatus.SENT, SendStatus.SENT,
                        SendStatus.FAILED, SendStatus.SENT]
    assert aiosmtpd_server.count_by_message_id() == headers(
        [m for m, status in zip(messages, outcomes, strict=False) if status == SendStatus.SENT])
    assert DeliveryAttempt.objects.get(message=messages[1]).smtp_code == 550
    assert "message rejected" in DeliveryAttempt.objects.get(message=messages[4]).detail


# --- a group cut in the middle -------------------------------------------------------------------

def test_a_connection_dropped_mid_group(aiosmtpd_server, acme_campaign, settings):
    """The server stores the third message and drops the connection before its reply. Without
    CHUNKING the fourth has not gone (only its envelope, or nothing): it goes on a new
    connection. With CHUNKING the whole group's bytes were written before the first reply was
    read: every message after the two answered may have reached the server, so each is
    unknown (here the server had not read them: none is stored, none is resent)."""
    use(aiosmtpd_server, settings)
    batch = approved_batch(acme_campaign, 6)
    aiosmtpd_server.fail("drop", after=2, times=1)

    batch_send(batch_id=batch.pk)

    messages = by_pk(batch)
    outcomes = [m.send_status for m in messages]
    if aiosmtpd_server.handler.chunking:
        assert outcomes == [SendStatus.SENT] * 2 + [SendStatus.UNKNOWN] * 4
        assert aiosmtpd_server.count_by_message_id() == headers(messages[:3])
    else:
        assert outcomes == [SendStatus.SENT] * 2 + [SendStatus.UNKNOWN] + [SendStatus.SENT] * 3
        assert aiosmtpd_server.count_by_message_id() == headers(messages)
    assert len({m.peer for m in aiosmtpd_server.messages}) == (
        1 if aiosmtpd_server.handler.chunking else 2)
    for message in messages[2:]:
        attempt = DeliveryAttempt.objects.get(message=message)
        if message.send_status == SendStatus.UNKNOWN:
            assert attempt.smtp_code is None and "no reply to" in attempt.detail
    assert not DeliveryAttempt.objects.filter(finished_at__isnull=True).exists()
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.NEEDS_ATTENTION


def test_a_server_that_hangs_mid_group(aiosmtpd_server, acme_campaign, settings):
    use(aiosmtpd_server, settings, timeout=1)
    batch = approved_batch(acme_campaign, 6)
    aiosmtpd_server.fail("hang", after=2, times=1, seconds=3)

    batch_send(batch_id=batch.pk)

    messages = by_pk(batch)
    outcomes = [m.send_status for m in messages]
    if aiosmtpd_server.handler.chunking:
        assert outcomes == [SendStatus.SENT] * 2 + [SendStatus.UNKNOWN] * 4
    else:
        assert outcomes == [SendStatus.SENT] * 2 + [SendStatus.UNKNOWN] + [SendStatus.SENT] * 3
    assert "timed out" in DeliveryAttempt.objects.get(message=messages[2]).detail
    assert aiosmtpd_server.duplicates() == {}
    assert messages[2].message_id_header not in aiosmtpd_server.message_ids()  # it hung


def test_postfix_smtp_sink_stopping_mid_group(acme_campaign, settings):
    """smtp-sink -M 3 takes the third message and exits without replying to it: two answered
    and recorded, the third unknown (the sink has it), the rest never handed over (their
    bytes never went) and queued again; the job fails, so that it is retried."""
    with PostfixSink(stop_after=3) as sink:
        use(sink, settings)
        batch = approved_batch(acme_campaign, 6)

        with pytest.raises(smtp.NotHandedOver):
            batch_send(batch_id=batch.pk)

        sink.wait_until_stopped()
        messages = by_pk(batch)
        assert [m.send_status for m in messages] == (
            [SendStatus.SENT] * 2 + [SendStatus.UNKNOWN] + [SendStatus.QUEUED] * 3)
        assert sink.count_by_message_id() == headers(messages[:3])
        assert not DeliveryAttempt.objects.filter(finished_at__isnull=True).exists()


# --- the conversation itself ---------------------------------------------------------------------

def outgoing(count: int) -> list[Outgoing]:
    return [Outgoing("sam@outbound.test", (f"p{i}@hooli.com",),
                     f"Message-ID: <m{i}@outbound.test>\r\nSubject: {i}\r\n\r\nHi {i}\r\n"
                     .encode()) for i in range(count)]


def conversation(monkeypatch) -> list[tuple[str, bytes]]:
    """What the client wrote and read, in order: ("send", bytes) and ("reply", code)."""
    events = []
    real_send, real_getreply = smtplib.SMTP.send, smtplib.SMTP.getreply

    def send(self, payload):
        events.append(("send", payload if isinstance(payload, bytes) else payload.encode()))
        return real_send(self, payload)

    def getreply(self):
        reply = real_getreply(self)
        events.append(("reply", reply[0]))
        return reply

    monkeypatch.setattr(smtplib.SMTP, "send", send)
    monkeypatch.setattr(smtplib.SMTP, "getreply", getreply)
    return events


def after_ehlo(events):
    return events[next(i for i, (kind, payload) in enumerate(events)
                       if kind == "send" and payload.startswith((b"RSET", b"MAIL"))):]


def test_with_chunking_a_group_is_one_round_trip(settings, monkeypatch):
    with SmtpServer(chunking=True) as server:
        use(server, settings)
        events = conversation(monkeypatch)
        handed, answered = [], []

        with smtp.SmtpSession() as session:
            outcome = session.deliver_group(
                outgoing(5), handing_over=handed.append,
                answered=lambda i, delivery: answered.append((i, delivery.outcome)))

    assert {i: d.outcome for i, d in outcome.deliveries.items()} == dict.fromkeys(range(5), "sent")
    group = after_ehlo(events)
    # Five whole transactions written, then their twenty replies (RSET, MAIL, RCPT, BDAT).
    assert [kind for kind, _ in group[:25]] == ["send"] * 5 + ["reply"] * 20
    assert all(payload.startswith(b"RSET\r\nMAIL FROM:") and b"\r\nBDAT " in payload
               for _, payload in group[:5])
    assert handed == [0, 1, 2, 3, 4] and answered == [(i, "sent") for i in range(5)]
    assert len(server.messages) == 5 and set(server.handler.commands) == {"BDAT"}


def test_with_pipelining_only_each_message_is_one_round_trip(settings, monkeypatch):
    """Message i's bytes and final dot go in one write with message i+1's MAIL, RCPT and DATA
    (which waits for its 354: RFC 2920)."""
    with SmtpServer() as server:
        use(server, settings)
        events = conversation(monkeypatch)

        with smtp.SmtpSession() as session:
            session.deliver_group(outgoing(3))

    sends = [payload for kind, payload in after_ehlo(events) if kind == "send"]
    assert sends[0] == b"MAIL FROM:<sam@outbound.test>\r\nRCPT TO:<p0@hooli.com>\r\nDATA\r\n"
    assert [s.endswith(b"\r\n.\r\nMAIL FROM:<sam@outbound.test>\r\nRCPT TO:<p%d@hooli.com>"
                       b"\r\nDATA\r\n" % (i + 1)) for i, s in enumerate(sends[1:3])] == [True] * 2
    assert sends[3].endswith(b"Hi 2\r\n.\r\n") and b"MAIL" not in sends[3]
    assert len(sends) == 4 + 1  # and QUIT
    assert len(server.messages) == 3


def test_no_message_is_begun_once_the_caller_says_stop(settings):
    """may_begin() is asked before each message but the first: a message whose envelope the
    server already accepted is then not sent (the connection is closed instead)."""
    with SmtpServer() as server:
        use(server, settings)
        handed = []

        with smtp.SmtpSession() as session:
            outcome = session.deliver_group(outgoing(5), handing_over=handed.append,
                                            may_begin=lambda: len(handed) < 2)

    assert sorted(outcome.deliveries) == [0, 1] and outcome.failure is None
    assert handed == [0, 1] and len(server.messages) == 2


def test_a_group_is_shared_between_connections_in_order():
    assert smtp._shares(40, 3) == [(0, 14), (14, 27), (27, 40)]
    assert smtp._shares(25, 4) == [(0, 13), (13, 25)]  # at least SHARE_AT_LEAST each
    assert smtp._shares(5, 4) == [(0, 5)]
    assert smtp._shares(0, 4) == []
