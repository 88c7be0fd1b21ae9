"""A client withdraws a batch waiting in review: it leaves the queue, is never sent, and a
reviewer acting at the same moment either wins or is told that the client acted first."""

import pytest
from django.utils import timezone

from apps.core.errors import ServiceError, TransitionConflict
from apps.core.models import AuditEvent, Batch, BatchStatus, Message, SendStatus
from apps.review.models import Claim, ReviewRound
from apps.review.selectors import QueueFilters, queue_batches
from apps.review.services import batch_approve, batch_claim, batch_withdraw
from apps.sending.services import batch_send
from tests.conftest import in_review_batch
from tests.review.conftest import race

ROUNDS = 5


@pytest.mark.django_db
def test_client_withdraws_batch_in_review(acme_campaign, acme_prospects, carl, rita):
    batch = in_review_batch(acme_campaign, acme_prospects)
    batch_claim(batch_id=batch.pk, actor=rita)  # a reviewer holding it does not stop the client

    batch_withdraw(batch=batch, actor=carl)

    batch.refresh_from_db()
    assert batch.status == BatchStatus.WITHDRAWN
    event = AuditEvent.objects.get(batch=batch, action="batch_withdrawn")
    assert (event.actor, event.from_state, event.to_state) == (carl, "in_review", "withdrawn")
    round_ = ReviewRound.objects.get(batch=batch)
    assert round_.outcome == "withdrawn" and round_.decided_at is not None
    assert round_.decided_by is None
    assert Claim.objects.get(batch=batch).holder is None
    queue = queue_batches(filters=QueueFilters(), now=timezone.now(), targets={})
    assert batch.pk not in [b.pk for b in queue]


@pytest.mark.django_db
def test_withdrawn_batch_is_never_sent(acme_campaign, acme_prospects, carl, rita):
    batch = in_review_batch(acme_campaign, acme_prospects)
    batch_withdraw(batch=batch, actor=carl)

    with pytest.raises(TransitionConflict) as refused:
        batch_approve(batch_id=batch.pk, actor=rita)
    batch_send(batch_id=batch.pk)

    assert "is withdrawn, not in_review: carl (at" in str(refused.value)
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.WITHDRAWN
    scheduled = Message.objects.filter(batch=batch).exclude(send_status=SendStatus.NOT_SCHEDULED)
    assert not scheduled.exists()


@pytest.mark.django_db
def test_another_client_cannot_withdraw(acme_campaign, acme_prospects, dana):
    batch = in_review_batch(acme_campaign, acme_prospects)
    with pytest.raises(ServiceError, match="Only the client whose batch it is"):
        batch_withdraw(batch=batch, actor=dana)
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.IN_REVIEW


@pytest.mark.django_db
def test_a_decided_batch_cannot_be_withdrawn(acme_campaign, acme_prospects, carl, rita):
    batch = in_review_batch(acme_campaign, acme_prospects)
    batch_approve(batch_id=batch.pk, actor=rita)
    batch.refresh_from_db()
    with pytest.raises(TransitionConflict, match="is approved, not in_review: rita"):
        batch_withdraw(batch=batch, actor=carl)
    assert not AuditEvent.objects.filter(batch=batch, action="batch_withdrawn").exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(ROUNDS))
def test_withdraw_and_approve_at_once_one_wins(
    postgres_only, redis_queues, acme_campaign, acme_prospects, carl, rita, round_
):
    batch = in_review_batch(acme_campaign, acme_prospects)

    withdraw, approve = race(
        lambda: batch_withdraw(batch=batch, actor=carl),
        lambda: batch_approve(batch_id=batch.pk, actor=rita),
    )

    assert sorted(o == "won" for o in (withdraw, approve)) == [False, True], (withdraw, approve)
    batch.refresh_from_db()
    if withdraw == "won":
        assert isinstance(approve, TransitionConflict)
        assert "is withdrawn, not in_review: carl (at" in str(approve)
        assert batch.status == BatchStatus.WITHDRAWN
        assert not Message.objects.filter(batch=batch, send_status=SendStatus.QUEUED).exists()
    else:
        assert isinstance(withdraw, TransitionConflict)
        assert "is approved, not in_review: rita (at" in str(withdraw)
        assert batch.status == BatchStatus.APPROVED
    moves = AuditEvent.objects.filter(batch=batch, action__in=["batch_withdrawn", "batch_approved"])
    assert moves.count() == 1
