"""Promise 4: two reviewers act on one batch at the same moment, one approving and one
rejecting. Exactly one wins; the other is told clearly; one decision is recorded."""

import pytest

from apps.core.errors import TransitionConflict
from apps.core.models import AuditEvent, Batch, BatchStatus, Message, SendStatus
from apps.review.services import batch_approve, batch_reject
from tests.conftest import _staff, in_review_batch
from tests.review.conftest import race

pytestmark = pytest.mark.django_db(transaction=True)
ROUNDS = 5


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_approve_and_reject_at_once_one_wins(
    postgres_only, redis_queues, acme_campaign, acme_prospects, rita, round_
):
    ruth = _staff("ruth", "reviewer")
    batch = in_review_batch(acme_campaign, acme_prospects)

    approve, reject = race(
        lambda: batch_approve(batch_id=batch.pk, actor=rita),
        lambda: batch_reject(batch_id=batch.pk, actor=ruth, reason="Off-brand tone"),
    )

    assert sorted(o == "won" for o in (approve, reject)) == [False, True], (approve, reject)
    loser = reject if approve == "won" else approve
    assert isinstance(loser, TransitionConflict), repr(loser)
    assert loser.expected == BatchStatus.IN_REVIEW
    winner_state = BatchStatus.APPROVED if approve == "won" else BatchStatus.REJECTED
    assert loser.actual == winner_state
    assert f"is {winner_state}, not in_review" in str(loser)
    # The loser is told who acted (issue 13), from the audit trail.
    assert f"{'rita' if approve == 'won' else 'ruth'} (at" in str(loser)

    batch.refresh_from_db()
    assert batch.status == winner_state
    assert batch.decided_by == (rita if approve == "won" else ruth)
    decisions = AuditEvent.objects.filter(
        batch=batch, action__in=["batch_approved", "batch_rejected"]
    )
    assert decisions.count() == 1
    assert decisions.get().to_state == winner_state
    queued = Message.objects.filter(batch=batch, send_status=SendStatus.QUEUED).count()
    assert queued == (len(acme_prospects) if approve == "won" else 0)


def test_two_approvals_at_once_one_wins(
    postgres_only, redis_queues, acme_campaign, acme_prospects, rita
):
    ruth = _staff("ruth", "reviewer")
    batch = in_review_batch(acme_campaign, acme_prospects)

    outcomes = race(
        lambda: batch_approve(batch_id=batch.pk, actor=rita),
        lambda: batch_approve(batch_id=batch.pk, actor=ruth),
    )

    assert outcomes.count("won") == 1, outcomes
    assert any(isinstance(o, TransitionConflict) for o in outcomes), outcomes
    assert AuditEvent.objects.filter(batch=batch, action="batch_approved").count() == 1
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.APPROVED
