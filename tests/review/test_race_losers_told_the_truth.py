"""Issue 13: the loser of a race is told what happened and who acted, never that she lacks a
permission she has: recall vs recall, approve vs approve, an action on a batch that is not
there, in the service, the admin and the API's portal counterpart."""

import pytest
from django.urls import reverse

from apps.core.errors import TransitionConflict
from apps.review.services import batch_approve, batch_recall
from tests.conftest import _staff, in_review_batch
from tests.review.conftest import race

pytestmark = pytest.mark.django_db


def test_a_stale_recall_after_another_recall_names_who_recalled(
    acme_campaign, acme_prospects, rita, oscar
):
    batch = in_review_batch(acme_campaign, acme_prospects)
    batch_approve(batch_id=batch.pk, actor=rita)
    batch_recall(batch_id=batch.pk, actor=oscar, reason="wrong list")

    with pytest.raises(TransitionConflict) as lost:
        batch_recall(batch_id=batch.pk, actor=rita, reason="me too")
    message = str(lost.value)
    assert "is in_review, not approved" in message and "oscar (at" in message
    assert "Only the reviewer" not in message


def test_a_second_approval_names_the_approver(acme_campaign, acme_prospects, rita):
    ruth = _staff("ruth", "reviewer")
    batch = in_review_batch(acme_campaign, acme_prospects)
    batch_approve(batch_id=batch.pk, actor=rita)
    with pytest.raises(TransitionConflict, match=r"is approved, not in_review: rita \(at"):
        batch_approve(batch_id=batch.pk, actor=ruth)


def test_the_admin_says_who_acted_and_a_missing_batch_is_404(
    client, acme_campaign, acme_prospects, rita, oscar
):
    batch = in_review_batch(acme_campaign, acme_prospects)
    batch_approve(batch_id=batch.pk, actor=oscar)
    client.force_login(rita)
    page = client.post(reverse("admin:core_batch_approve", args=[batch.pk]), follow=True)
    text = page.content.decode()
    assert "is approved, not in_review: oscar (at" in text
    for name in ("approve", "reject", "claim", "release", "recall"):
        assert client.post(reverse(f"admin:core_batch_{name}", args=[2**40])).status_code == 404


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(3))
def test_recall_vs_recall_the_loser_is_told_who_won(
    postgres_only, acme_campaign, acme_prospects, rita, oscar, round_
):
    batch = in_review_batch(acme_campaign, acme_prospects)
    batch_approve(batch_id=batch.pk, actor=rita)
    outcomes = race(
        lambda: batch_recall(batch_id=batch.pk, actor=rita, reason="a"),
        lambda: batch_recall(batch_id=batch.pk, actor=oscar, reason="b"),
    )
    assert outcomes.count("won") == 1, outcomes
    loser = next(o for o in outcomes if o != "won")
    winner = "rita" if outcomes[0] == "won" else "oscar"
    assert isinstance(loser, TransitionConflict), repr(loser)
    assert f"{winner} (at" in str(loser)
