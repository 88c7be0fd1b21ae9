"""Races on PostgreSQL, two connections and a barrier: two workers claim disjoint sets; a recall
and an edit racing the send either win or lose cleanly, and nothing unapproved is sent."""

import threading

import pytest
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from apps.core.models import Batch, BatchStatus, Message, SendStatus, content_hash
from apps.sending.services import _claim_next, _start_sending, batch_send
from tests.sending.conftest import approved_batch, statuses

pytestmark = pytest.mark.django_db(transaction=True)


def run_together(*functions):
    barrier = threading.Barrier(len(functions))
    results, errors = [None] * len(functions), []

    def run(index, function):
        try:
            barrier.wait(timeout=10)
            results[index] = function()
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


def test_two_workers_claim_disjoint_sets(postgres_only, acme_campaign, settings):
    settings.SEND_CLAIM_CHUNK = 10
    batch = approved_batch(acme_campaign, 30)
    assert _start_sending(batch.pk, timezone.now())

    (_, first), (_, second) = run_together(
        lambda: _claim_next(batch.pk), lambda: _claim_next(batch.pk)
    )

    first_ids, second_ids = {m.pk for m in first}, {m.pk for m in second}
    assert len(first_ids) == len(second_ids) == 10
    assert not first_ids & second_ids
    assert statuses(batch) == {SendStatus.SENDING: 20, SendStatus.QUEUED: 10}


def recall(batch_id: int) -> bool:
    """As the recall of issue 4 does it: approved → in review, queued approvals cleared."""
    with transaction.atomic():
        won = Batch.objects.filter(pk=batch_id, status=BatchStatus.APPROVED).update(
            status=BatchStatus.IN_REVIEW, entered_review_at=timezone.now()
        )
        if won:
            Message.objects.filter(batch_id=batch_id, send_status=SendStatus.QUEUED).update(
                approved_hash="", approved_at=None, send_status=SendStatus.NOT_SCHEDULED
            )
        return bool(won)


@pytest.mark.parametrize("attempt", range(3))
def test_recall_racing_the_send_wins_or_loses_cleanly(postgres_only, smtp_server, acme_campaign,
                                                      attempt):
    batch = approved_batch(acme_campaign, 20)

    recalled, _ = run_together(lambda: recall(batch.pk), lambda: batch_send(batch_id=batch.pk))

    status = Batch.objects.get(pk=batch.pk).status
    if recalled:
        assert status == BatchStatus.IN_REVIEW
        assert smtp_server.messages == []
        assert statuses(batch) == {SendStatus.NOT_SCHEDULED: 20}
    else:
        assert status == BatchStatus.SENT
        assert len(smtp_server.messages) == 20 and smtp_server.duplicates() == {}


def test_content_changed_during_the_send_is_never_sent(postgres_only, smtp_server, acme_campaign):
    """Something rewrites queued messages while the batch is going out (no service allows it;
    the database and the send-time check must hold anyway)."""
    batch = approved_batch(acme_campaign, 60)
    smtp_server.delay(0.005)
    approved = {m.pk: m.body for m in Message.objects.filter(batch=batch)}

    def rewrite():
        changed = 0
        for message in Message.objects.filter(batch=batch).order_by("-pk"):
            body = "Rewritten after approval"
            changed += Message.objects.filter(pk=message.pk, send_status=SendStatus.QUEUED).update(
                body=body, content_hash=content_hash(recipient=message.recipient,
                                                     subject=message.subject, body=body)
            )
        return changed

    _, changed = run_together(lambda: batch_send(batch_id=batch.pk), rewrite)

    stored = {m.message_id: m.raw for m in smtp_server.messages}
    for message in Message.objects.filter(batch=batch):
        if message.message_id_header in stored:
            assert approved[message.pk].strip().encode() in stored[message.message_id_header]
            assert message.approved_hash == message.content_hash
    rewritten = Message.objects.exclude(approved_hash=F("content_hash")).filter(batch=batch)
    assert rewritten.count() == changed
    assert not rewritten.exclude(send_status=SendStatus.NOT_SCHEDULED).exists()
    assert len(stored) == 60 - changed and smtp_server.duplicates() == {}
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.SENT
