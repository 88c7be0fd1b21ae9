"""Approving a batch again (after the bounce breaker sent it back to review) queues only what
was never handed over: sent, failed and unknown messages keep their status."""

import pytest
from django.db.models import F

from apps.core.models import Batch, BatchStatus, Message, SendStatus
from apps.review.services import batch_approve
from tests.conftest import in_review_batch

pytestmark = pytest.mark.django_db


def test_reapproval_leaves_handed_over_messages_alone(
    rita, acme_campaign, acme_prospects, django_capture_on_commit_callbacks
):
    batch = in_review_batch(acme_campaign, acme_prospects)
    first, second, third = batch.messages.order_by("pk")
    Message.objects.filter(pk=first.pk).update(
        approved_hash=F("content_hash"), send_status=SendStatus.UNKNOWN
    )
    Message.objects.filter(pk=second.pk).update(
        approved_hash=F("content_hash"), send_status=SendStatus.FAILED
    )
    with django_capture_on_commit_callbacks(execute=False):
        batch_approve(batch_id=batch.pk, actor=rita)
    statuses = dict(batch.messages.values_list("pk", "send_status"))
    assert statuses == {
        first.pk: SendStatus.UNKNOWN,
        second.pk: SendStatus.FAILED,
        third.pk: SendStatus.QUEUED,
    }
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.APPROVED
