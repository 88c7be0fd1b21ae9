"""At the moment of sending, under the claim: the message must still be approved as it is, the
batch must still be sending (not recalled or paused), the recipient must not be suppressed, and
the grace window must be over. What fails a check is skipped, with the reason recorded."""

from datetime import timedelta

import pytest
from django.db.models import F
from django.utils import timezone

from apps.core.models import (
    AuditEvent,
    Batch,
    BatchStatus,
    DeliveryAttempt,
    Message,
    SendStatus,
    Suppression,
    content_hash,
)
from apps.sending.services import batch_send
from tests.sending.conftest import statuses

pytestmark = pytest.mark.django_db


def first_message(batch) -> Message:
    return Message.objects.filter(batch=batch).earliest("pk")


def test_content_changed_since_approval_is_skipped_with_the_reason(smtp_server, three_approved):
    changed = first_message(three_approved)
    Message.objects.filter(pk=changed.pk).update(body="Changed behind the reviewer's back",
                                                  content_hash="f" * 64)

    batch_send(batch_id=three_approved.pk)

    changed.refresh_from_db()
    assert changed.send_status == SendStatus.NOT_SCHEDULED
    assert changed.message_id_header not in smtp_server.message_ids()
    assert len(smtp_server.messages) == 2
    event = AuditEvent.objects.get(message=changed, action="message_send_skipped")
    assert event.data == {"check": "approval"} and "approved" in event.reason
    assert Batch.objects.get(pk=three_approved.pk).status == BatchStatus.SENT


def test_approval_withdrawn_is_skipped(smtp_server, three_approved):
    withdrawn = first_message(three_approved)
    Message.objects.filter(pk=withdrawn.pk).update(approved_hash="", approved_at=None)

    batch_send(batch_id=three_approved.pk)

    assert withdrawn.message_id_header not in smtp_server.message_ids()
    assert AuditEvent.objects.filter(message=withdrawn, action="message_send_skipped").exists()


@pytest.mark.parametrize("for_client", [True, False], ids=["client list", "global list"])
def test_suppressed_recipient_is_never_sent(smtp_server, three_approved, for_client):
    target = first_message(three_approved)
    Suppression.objects.create(
        client=three_approved.client if for_client else None,
        email=target.recipient.upper().lower(), reason="unsubscribed",
    )

    batch_send(batch_id=three_approved.pk)

    target.refresh_from_db()
    assert target.send_status == SendStatus.NOT_SCHEDULED
    assert target.recipient not in {r for m in smtp_server.messages for r in m.rcpt_tos}
    assert not DeliveryAttempt.objects.filter(message=target).exists()
    event = AuditEvent.objects.get(message=target, action="message_send_skipped")
    assert event.data == {"check": "suppression"}
    assert statuses(three_approved) == {SendStatus.NOT_SCHEDULED: 1, SendStatus.SENT: 2}


def test_another_clients_suppression_does_not_apply(smtp_server, three_approved, globex_client):
    target = first_message(three_approved)
    Suppression.objects.create(client=globex_client, email=target.recipient, reason="theirs")

    batch_send(batch_id=three_approved.pk)

    assert target.message_id_header in smtp_server.message_ids()


def test_inside_the_grace_window_nothing_starts(smtp_server, three_approved):
    later = timezone.now() + timedelta(minutes=5)
    Batch.objects.filter(pk=three_approved.pk).update(send_not_before=later)

    batch_send(batch_id=three_approved.pk)

    assert Batch.objects.get(pk=three_approved.pk).status == BatchStatus.APPROVED
    assert smtp_server.messages == []
    assert statuses(three_approved) == {SendStatus.QUEUED: 3}

    Batch.objects.filter(pk=three_approved.pk).update(send_not_before=timezone.now())
    batch_send(batch_id=three_approved.pk)
    assert statuses(three_approved) == {SendStatus.SENT: 3}


def test_recalled_batch_sends_nothing(smtp_server, three_approved):
    # As a recall leaves it (issue 4): back in review, queued approvals cleared.
    Batch.objects.filter(pk=three_approved.pk).update(status=BatchStatus.IN_REVIEW)
    Message.objects.filter(batch=three_approved).update(approved_hash="", send_status="")

    batch_send(batch_id=three_approved.pk)

    assert smtp_server.messages == []
    assert Batch.objects.get(pk=three_approved.pk).status == BatchStatus.IN_REVIEW


def test_a_batch_paused_after_the_claim_sends_nothing_more(smtp_server, acme_campaign, settings,
                                                          monkeypatch):
    import apps.sending.services as services
    from tests.sending.conftest import approved_batch

    settings.SEND_CLAIM_CHUNK = 2
    batch = approved_batch(acme_campaign, 5)
    real_claim, claimed = services._claim_next, []

    def claim_then_pause(batch_id, journal):
        token, messages = real_claim(batch_id, journal)
        claimed.append(len(messages))
        # A person (or the bounce breaker) takes the batch back between the claim and the
        # hand-over: the send-time check sees it, and the claimed messages go back to the queue.
        Batch.objects.filter(pk=batch_id).update(status=BatchStatus.IN_REVIEW)
        return token, messages

    monkeypatch.setattr(services, "_claim_next", claim_then_pause)
    batch_send(batch_id=batch.pk)

    assert claimed == [2, 0]
    assert smtp_server.messages == []
    assert statuses(batch) == {SendStatus.QUEUED: 5}
    assert not DeliveryAttempt.objects.filter(message__batch=batch).exists()


def test_a_message_sent_once_is_never_claimed_again(smtp_server, three_approved):
    batch_send(batch_id=three_approved.pk)
    # Something (a bug elsewhere, a careless script) puts it back in the queue.
    Message.objects.filter(batch=three_approved).update(send_status=SendStatus.QUEUED,
                                                         approved_hash=F("content_hash"))
    Batch.objects.filter(pk=three_approved.pk).update(status=BatchStatus.SENDING)

    batch_send(batch_id=three_approved.pk)

    assert len(smtp_server.messages) == 3
    assert statuses(three_approved) == {SendStatus.SENT: 3}
    assert Batch.objects.get(pk=three_approved.pk).status == BatchStatus.SENT
    assert AuditEvent.objects.filter(action="message_send_skipped").count() == 3


def test_content_changed_under_the_claim_is_not_sent_as_read(smtp_server, three_approved,
                                                            monkeypatch):
    """The check compares the approved hash with the hash of the very text about to go out, not
    only with the row's own hash: a message rewritten (and its approval with it, which no
    service does) between the claim and the hand-over goes out neither old nor new."""
    import apps.sending.services as services

    real_claim = services._claim_next
    target = first_message(three_approved)

    def claim_then_rewrite(batch_id, journal):
        token, drafts = real_claim(batch_id, journal)
        body = "Rewritten under the claim"
        new_hash = content_hash(recipient=target.recipient, subject=target.subject, body=body)
        Message.objects.filter(pk=target.pk).update(body=body, content_hash=new_hash,
                                                    approved_hash=new_hash)
        return token, drafts

    monkeypatch.setattr(services, "_claim_next", claim_then_rewrite)
    batch_send(batch_id=three_approved.pk)

    target.refresh_from_db()
    assert target.send_status == SendStatus.NOT_SCHEDULED
    assert target.message_id_header not in smtp_server.message_ids()
    assert not DeliveryAttempt.objects.filter(message=target).exists()
    event = AuditEvent.objects.get(message=target, action="message_send_skipped")
    assert event.data == {"check": "approval"}
    assert statuses(three_approved) == {SendStatus.NOT_SCHEDULED: 1, SendStatus.SENT: 2}


def test_a_message_that_cannot_be_written_fails_with_the_reason(smtp_server, three_approved):
    broken = first_message(three_approved)
    subject = "Hi\nBcc: everyone@hooli.com"
    new_hash = content_hash(recipient=broken.recipient, subject=subject, body=broken.body)
    Message.objects.filter(pk=broken.pk).update(subject=subject, content_hash=new_hash,
                                                approved_hash=new_hash)

    batch_send(batch_id=three_approved.pk)

    broken.refresh_from_db()
    assert broken.send_status == SendStatus.FAILED
    assert "cannot be written" in DeliveryAttempt.objects.get(message=broken).detail
    assert len(smtp_server.messages) == 2
    assert Batch.objects.get(pk=three_approved.pk).status == BatchStatus.SENT
