"""Approval waits a grace period before sending (REVIEW_GRACE_SECONDS), during which the
approver or an operator can recall the batch to the queue; nobody else can, and not once
sending has begun."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.core.errors import ServiceError, TransitionConflict
from apps.core.models import AuditEvent, Batch, BatchStatus, Message, SendStatus
from apps.core.transitions import move_batch
from apps.review.models import ReviewRound
from apps.review.services import batch_approve, batch_recall
from tests.conftest import _staff, in_review_batch

pytestmark = pytest.mark.django_db


@pytest.fixture
def approved(acme_campaign, acme_prospects, rita, settings):
    settings.REVIEW_GRACE_SECONDS = 300
    batch = in_review_batch(acme_campaign, acme_prospects)
    batch_approve(batch_id=batch.pk, actor=rita)
    return Batch.objects.get(pk=batch.pk)


def test_approval_schedules_sending_after_the_grace(
    acme_campaign, acme_prospects, rita, settings, redis_queues, django_capture_on_commit_callbacks
):
    import django_rq

    settings.REVIEW_GRACE_SECONDS = 300
    batch = in_review_batch(acme_campaign, acme_prospects)
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        batch_approve(batch_id=batch.pk, actor=rita)
    batch.refresh_from_db()
    assert (
        before + timedelta(seconds=300)
        <= batch.send_not_before
        <= timezone.now() + timedelta(seconds=300)
    )
    queue = django_rq.get_queue("send")
    assert f"send_batch-{batch.pk}" in queue.scheduled_job_registry.get_job_ids()
    assert queue.count == 0  # nothing runnable before the grace ends


def test_approver_recalls_within_the_grace(approved, rita):
    batch_recall(batch_id=approved.pk, actor=rita, reason="wrong prospect list")

    batch = Batch.objects.get(pk=approved.pk)
    assert batch.status == BatchStatus.IN_REVIEW
    assert (batch.decided_at, batch.decided_by, batch.send_not_before) == (None, None, None)
    assert not Message.objects.filter(batch=batch).exclude(approved_hash="").exists()
    assert not Message.objects.filter(batch=batch, send_status=SendStatus.QUEUED).exists()
    rounds = list(
        ReviewRound.objects.filter(batch=batch).order_by("number").values_list("number", "outcome")
    )
    assert rounds == [(1, "approved"), (2, "")]
    event = AuditEvent.objects.get(batch=batch, action="batch_recalled")
    assert (event.actor, event.from_state, event.to_state, event.reason) == (
        rita, "approved", "in_review", "wrong prospect list"
    )
    # And it can be approved again: a new round, a new approval of the content as it is.
    batch_approve(batch_id=batch.pk, actor=rita)
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.APPROVED


def test_another_reviewer_cannot_recall_but_an_operator_can(approved, oscar):
    ruth = _staff("ruth", "reviewer")
    with pytest.raises(ServiceError, match="Only the reviewer who approved"):
        batch_recall(batch_id=approved.pk, actor=ruth)
    assert Batch.objects.get(pk=approved.pk).status == BatchStatus.APPROVED
    batch_recall(batch_id=approved.pk, actor=oscar)
    assert Batch.objects.get(pk=approved.pk).status == BatchStatus.IN_REVIEW


def test_no_recall_once_sending_began(approved, rita):
    move_batch(batch_id=approved.pk, expected=BatchStatus.APPROVED, to=BatchStatus.SENDING)
    with pytest.raises(TransitionConflict, match="is sending, not approved"):
        batch_recall(batch_id=approved.pk, actor=rita)
    assert not AuditEvent.objects.filter(batch=approved, action="batch_recalled").exists()


def test_recall_through_the_admin(client, approved, rita):
    from django.urls import reverse

    client.force_login(rita)
    page = client.get(reverse("admin:core_batch_change", args=[approved.pk])).content.decode()
    assert "Recall to the queue" in page
    response = client.post(
        reverse("admin:core_batch_recall", args=[approved.pk]), {"reason": "oops"}, follow=True
    )
    assert "recalled to the review queue" in response.content.decode()
    assert Batch.objects.get(pk=approved.pk).status == BatchStatus.IN_REVIEW
