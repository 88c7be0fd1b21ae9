"""What the server answers decides the message's state: 250 sent, 5xx failed with the reply
kept, 4xx queued again with a growing (bounded) delay, no reply to DATA unknown. The server
here is real (aiosmtpd on loopback) and misbehaves on request."""

from datetime import timedelta

import pytest
from django.core.mail import EmailMessage
from django.utils import timezone

from apps.core.models import AuditEvent, Batch, BatchStatus, DeliveryAttempt, Message, SendStatus
from apps.sending import smtp
from apps.sending.models import SendDeferral
from apps.sending.services import _retry_delay, batch_send
from tests.sending.conftest import statuses

pytestmark = pytest.mark.django_db


@pytest.fixture(params=[True, False], ids=["pipelined", "step by step"])
def smtp_server(request, settings):
    """Every outcome, with a server that offers PIPELINING (the envelope and DATA in one write)
    and with one that does not (each command waits for its reply)."""
    from tests.support.smtp_server import SmtpServer

    with SmtpServer(pipelining=request.param) as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = (
            server.host,
            server.port,
            10,
        )
        yield server


def only_message(batch) -> Message:
    return Message.objects.get(batch=batch)


def test_a_clean_send_records_the_reply(smtp_server, three_approved):
    batch_send(batch_id=three_approved.pk)

    assert statuses(three_approved) == {SendStatus.SENT: 3}
    assert smtp_server.count_by_message_id() == {
        m.message_id_header: 1 for m in Message.objects.filter(batch=three_approved)
    }
    # One connection for the whole batch.
    assert len({m.peer for m in smtp_server.messages}) == 1
    assert {(a.outcome, a.smtp_code) for a in DeliveryAttempt.objects.all()} == {("sent", 250)}
    assert Batch.objects.get(pk=three_approved.pk).status == BatchStatus.SENT


def test_5xx_fails_the_message_with_the_reply_recorded(smtp_server, three_approved):
    smtp_server.fail("550", times=1)

    batch_send(batch_id=three_approved.pk)

    first = Message.objects.filter(batch=three_approved).order_by("pk").first()
    assert first.send_status == SendStatus.FAILED
    attempt = DeliveryAttempt.objects.get(message=first)
    assert (attempt.outcome, attempt.smtp_code) == (SendStatus.FAILED, 550)
    assert "message rejected" in attempt.detail
    event = AuditEvent.objects.get(message=first, action="message_failed")
    assert "550" in event.reason
    assert statuses(three_approved) == {SendStatus.FAILED: 1, SendStatus.SENT: 2}
    assert len(smtp_server.messages) == 2
    assert Batch.objects.get(pk=three_approved.pk).status == BatchStatus.SENT


def test_4xx_queues_again_with_backoff_then_sends(smtp_server, acme_campaign, settings):
    from tests.sending.conftest import approved_batch

    settings.SEND_RETRY_BASE_SECONDS = 60
    batch = approved_batch(acme_campaign, 1)
    smtp_server.fail("451", times=1)

    before = timezone.now()
    batch_send(batch_id=batch.pk)

    message = only_message(batch)
    assert message.send_status == SendStatus.QUEUED
    deferral = SendDeferral.objects.get(message=message)
    assert deferral.temporary_failures == 1
    assert (
        before + timedelta(seconds=59)
        < deferral.not_before
        < timezone.now() + timedelta(seconds=61)
    )
    assert "451" in deferral.last_reply
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.SENDING
    # Too early: the job claims nothing.
    batch_send(batch_id=batch.pk)
    assert smtp_server.messages == []

    SendDeferral.objects.filter(pk=deferral.pk).update(not_before=timezone.now())
    batch_send(batch_id=batch.pk)

    assert only_message(batch).send_status == SendStatus.SENT
    assert smtp_server.count_by_message_id() == {message.message_id_header: 1}
    codes = list(DeliveryAttempt.objects.filter(message=message).order_by("pk")
                 .values_list("smtp_code", flat=True))
    assert codes == [451, 250]
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.SENT


def test_backoff_grows_and_is_bounded(settings):
    settings.SEND_RETRY_BASE_SECONDS, settings.SEND_RETRY_MAX_SECONDS = 60, 300
    assert [_retry_delay(n).total_seconds() for n in (1, 2, 3, 4, 5)] == [60, 120, 240, 300, 300]


def test_too_many_4xx_fail_the_message(smtp_server, acme_campaign, settings):
    from tests.sending.conftest import approved_batch

    settings.SEND_MAX_TEMPORARY_FAILURES = 3
    batch = approved_batch(acme_campaign, 1)
    smtp_server.fail("451")
    for _ in range(3):
        SendDeferral.objects.update(not_before=timezone.now())
        batch_send(batch_id=batch.pk)

    message = only_message(batch)
    assert message.send_status == SendStatus.FAILED
    assert DeliveryAttempt.objects.filter(message=message).count() == 3
    assert smtp_server.messages == []
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.SENT


def test_connection_dropped_before_the_reply_is_unknown_and_not_resent(smtp_server, acme_campaign):
    from tests.sending.conftest import approved_batch

    batch = approved_batch(acme_campaign, 2)
    smtp_server.fail("drop", times=1)

    batch_send(batch_id=batch.pk)
    batch_send(batch_id=batch.pk)

    first, second = Message.objects.filter(batch=batch).order_by("pk")
    assert (first.send_status, second.send_status) == (SendStatus.UNKNOWN, SendStatus.SENT)
    # The server did store it: sending it again would have been a duplicate.
    assert smtp_server.count_by_message_id() == {
        first.message_id_header: 1, second.message_id_header: 1
    }
    attempt = DeliveryAttempt.objects.get(message=first)
    assert (attempt.outcome, attempt.smtp_code) == (SendStatus.UNKNOWN, None)
    assert "no reply to DATA" in attempt.detail
    assert AuditEvent.objects.filter(message=first, action="message_unknown").count() == 1


def test_a_server_that_hangs_times_out_as_unknown(smtp_server, three_approved, settings):
    settings.EMAIL_TIMEOUT = 1
    smtp_server.fail("hang", times=1, seconds=3)

    batch_send(batch_id=three_approved.pk)

    assert statuses(three_approved) == {SendStatus.UNKNOWN: 1, SendStatus.SENT: 2}
    attempt = DeliveryAttempt.objects.get(outcome=SendStatus.UNKNOWN)
    assert "timed out" in attempt.detail


def test_refused_recipient_fails_the_message(smtp_server, three_approved):
    refused = Message.objects.filter(batch=three_approved).order_by("pk").first()
    smtp_server.refuse(refused.recipient)

    batch_send(batch_id=three_approved.pk)

    refused.refresh_from_db()
    assert refused.send_status == SendStatus.FAILED
    attempt = DeliveryAttempt.objects.get(message=refused)
    assert attempt.smtp_code == 550 and refused.recipient in attempt.detail
    assert refused.recipient not in {r for m in smtp_server.messages for r in m.rcpt_tos}
    assert statuses(three_approved) == {SendStatus.FAILED: 1, SendStatus.SENT: 2}


def test_recipients_refused_in_a_multi_recipient_send_are_recorded(smtp_server):
    smtp_server.refuse("gone@hooli.com")
    email = EmailMessage("Hi", "Body", "sam@outbound.test",
                         to=["richard@hooli.com", "gone@hooli.com"])

    with smtp.SmtpSession() as session:
        delivery = session.deliver(email)

    assert delivery.outcome == smtp.SENT
    assert list(delivery.refused) == ["gone@hooli.com"]
    assert delivery.refused["gone@hooli.com"].startswith("550")
    assert "gone@hooli.com" in delivery.detail
    assert [m.rcpt_tos for m in smtp_server.messages] == [("richard@hooli.com",)]


def test_server_unreachable_hands_nothing_over_and_fails_the_job(three_approved, settings):
    from tests.support.smtp_server import free_port

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2

    with pytest.raises(smtp.NotHandedOver):
        batch_send(batch_id=three_approved.pk)

    # Every claim went back to the queue: the retry (or the sweeper) sends them.
    assert statuses(three_approved) == {SendStatus.QUEUED: 3}
    assert set(DeliveryAttempt.objects.values_list("outcome", flat=True)) == {SendStatus.FAILED}


def test_a_dropped_connection_costs_one_unknown_and_the_rest_is_sent(smtp_server, acme_campaign,
                                                                    settings):
    from tests.sending.conftest import approved_batch

    settings.SEND_CLAIM_CHUNK = 4
    batch = approved_batch(acme_campaign, 6)
    smtp_server.fail("drop", times=1)

    batch_send(batch_id=batch.pk)

    assert statuses(batch) == {SendStatus.UNKNOWN: 1, SendStatus.SENT: 5}
    assert smtp_server.duplicates() == {}
    assert not DeliveryAttempt.objects.filter(finished_at__isnull=True).exists()


def test_attempts_opened_ahead_are_closed_when_the_run_stops(acme_campaign, settings):
    from tests.sending.conftest import approved_batch
    from tests.support.smtp_server import free_port

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2
    batch = approved_batch(acme_campaign, 3)

    with pytest.raises(smtp.NotHandedOver):
        batch_send(batch_id=batch.pk)

    # Nothing reached a server, and this process knows it: all back in the queue, no doubt.
    assert statuses(batch) == {SendStatus.QUEUED: 3}
    assert not DeliveryAttempt.objects.filter(finished_at__isnull=True).exists()


def test_with_pipelining_each_message_goes_with_the_next_envelope(smtp_server, three_approved,
                                                                   monkeypatch):
    writes = []
    real_send = smtp.smtplib.SMTP.send

    def send(self, payload):
        writes.append(payload.decode() if isinstance(payload, bytes) else payload)
        return real_send(self, payload)

    monkeypatch.setattr(smtp.smtplib.SMTP, "send", send)
    batch_send(batch_id=three_approved.pk)

    assert statuses(three_approved) == {SendStatus.SENT: 3}
    envelopes = [w for w in writes if "MAIL FROM:" in w.upper()]
    if smtp_server.handler.pipelining:
        # The first envelope alone, then each message's bytes with the next one's MAIL, RCPT
        # and DATA: one write and one round trip a message (tests/sending/test_pipelining.py).
        assert len(envelopes) == 3
        assert envelopes[0].startswith("MAIL FROM:")
        assert all(e.endswith("DATA\r\n") and ".\r\nMAIL FROM:" in e for e in envelopes[1:])
    else:
        assert len(envelopes) == 3  # one write per command
        assert all(e.upper().count("\r\n") == 1 for e in envelopes)


def test_a_dot_at_the_start_of_a_line_arrives_as_written(smtp_server, acme_campaign):
    from tests.sending.conftest import approved_batch

    batch = approved_batch(acme_campaign, 1)
    body = "Hi,\n.\n..two dots\n.leading dot\nend"
    Message.objects.filter(batch=batch).update(body=body)
    message = Message.objects.get(batch=batch)
    from apps.core.models import content_hash

    digest = content_hash(recipient=message.recipient, subject=message.subject, body=body)
    Message.objects.filter(pk=message.pk).update(content_hash=digest, approved_hash=digest)

    batch_send(batch_id=batch.pk)

    assert statuses(batch) == {SendStatus.SENT: 1}
    received = smtp_server.messages[0].raw.replace(b"\r\n", b"\n")
    assert b"\n.\n..two dots\n.leading dot\n" in received
