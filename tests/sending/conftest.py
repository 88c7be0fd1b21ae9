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
