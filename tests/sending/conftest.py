"""Fixtures for sending: approved batches as batch_approve leaves them (review has its own
tests), and a helper to move time past a message's lease without waiting for it."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.db.models import F
from django.utils import timezone

from apps.core.models import Batch, BatchStatus, Message, Prospect, SendStatus
from tests.conftest import make_batch


def approved_batch(campaign, count: int, *, domain: str = "hooli.com", start: int = 0) -> Batch:
    prospects = [
        Prospect.objects.create(
            client=campaign.client, email=f"p{i:05}@{domain}", first_name=f"P{i}"
        )
        for i in range(start, start + count)
    ]
    batch = make_batch(campaign, prospects, status=BatchStatus.APPROVED)
    now = timezone.now()
    Batch.objects.filter(pk=batch.pk).update(decided_at=now)
    Message.objects.filter(batch=batch).update(
        approved_hash=F("content_hash"), approved_at=now, send_status=SendStatus.QUEUED
    )
    return batch


def age_claims(batch, *, by: float | None = None) -> None:
    """Make the batch's claims look older than the lease (as if the sweeper came later)."""
    by = by if by is not None else settings.SEND_LEASE_SECONDS + 1
    Message.objects.filter(batch=batch, send_status=SendStatus.SENDING).update(
        send_claimed_at=F("send_claimed_at") - timedelta(seconds=by)
    )


def statuses(batch) -> dict[str, int]:
    from collections import Counter

    return dict(Counter(Message.objects.filter(batch=batch).values_list("send_status", flat=True)))


@pytest.fixture
def three_approved(acme_campaign):
    return approved_batch(acme_campaign, 3)


def unknown_batch(campaign, count: int, *, earlier_reply: str | None = None, **kwargs) -> Batch:
    """A batch whose `count` messages were all handed to the server by a worker that died
    before recording the replies: the lease made them unknown (expire_leases) and the send job
    finished the batch (needs attention). With `earlier_reply`, each message first got that
    451 reply on an attempt of its own, as evidence a person reads (and the page escapes)."""
    from apps.core.models import DeliveryAttempt
    from apps.sending.leases import expire_leases
    from apps.sending.services import batch_send

    batch = approved_batch(campaign, count, **kwargs)
    Batch.objects.filter(pk=batch.pk).update(status=BatchStatus.SENDING)
    handed_over = timezone.now() - timedelta(seconds=settings.SEND_LEASE_SECONDS + 5)
    for message in Message.objects.filter(batch=batch):
        if earlier_reply is not None:
            DeliveryAttempt.objects.create(
                message=message, message_id_header=message.message_id_header,
                started_at=handed_over - timedelta(minutes=5),
                finished_at=handed_over - timedelta(minutes=5) + timedelta(seconds=1),
                outcome=SendStatus.FAILED, smtp_code=451, detail=earlier_reply,
            )
        DeliveryAttempt.objects.create(
            message=message, message_id_header=message.message_id_header, started_at=handed_over
        )
    Message.objects.filter(batch=batch).update(
        send_status=SendStatus.SENDING, send_claimed_at=handed_over
    )
    expire_leases()  # its counts may include what dead senders' journals left elsewhere
    assert statuses(batch) == {SendStatus.UNKNOWN: count}
    batch_send(batch_id=batch.pk)  # nothing left to send: finishes the batch
    return batch
