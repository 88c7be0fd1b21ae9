"""A finding ends once, however many reviewers act on it at the same moment: the action that
wins records the ending, the one that loses records nothing (PostgreSQL, real threads)."""

import pytest

from apps.core.models import Finding
from apps.review.models import FindingDisposition
from apps.review.services import batch_approve, batch_reject, finding_apply_fix, message_exclude
from tests.conftest import _staff, in_review_batch
from tests.review.conftest import flag_legal_form, race

pytestmark = pytest.mark.django_db(transaction=True)
ROUNDS = 3


def review_finding(message):
    return Finding.objects.create(
        message=message, batch_id=message.batch_id, rule_code="generic_greeting",
        severity="review", field="body", start=0, end=2, explanation="A generic greeting",
    )


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_approve_and_reject_at_once_end_each_finding_once_as_the_winner_decided(
    postgres_only, redis_queues, acme_campaign, acme_prospects, rita, round_
):
    ruth = _staff("ruth", "reviewer")
    batch = in_review_batch(acme_campaign, acme_prospects)
    findings = [review_finding(m) for m in batch.messages.all()]

    approve, reject = race(
        lambda: batch_approve(batch_id=batch.pk, actor=rita),
        lambda: batch_reject(batch_id=batch.pk, actor=ruth, reason="Off-brand tone"),
    )

    assert sorted(o == "won" for o in (approve, reject)) == [False, True], (approve, reject)
    winner, how = (rita, "approved") if approve == "won" else (ruth, "rejected")
    endings = FindingDisposition.objects.filter(batch=batch)
    assert endings.count() == len(findings)
    assert set(endings.values_list("finding_id", flat=True)) == {f.pk for f in findings}
    assert set(endings.values_list("disposition", "actor")) == {(how, winner.pk)}


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_a_fix_and_an_exclusion_at_once_end_the_finding_once(
    postgres_only, dns_server, acme_campaign, acme_prospects, rita, round_
):
    ruth = _staff("ruth", "reviewer")
    batch = in_review_batch(acme_campaign, acme_prospects)
    message = batch.messages.order_by("pk").first()
    finding = flag_legal_form(message)

    fix, exclude = race(
        lambda: finding_apply_fix(finding_id=finding.pk, actor=rita),
        lambda: message_exclude(message_id=message.pk, actor=ruth, reason="Wrong person"),
    )

    # Both may succeed (a fixed message can still be excluded): the finding ended once, by
    # whichever came first.
    assert "won" in (fix, exclude), (fix, exclude)
    ending = FindingDisposition.objects.get(finding_id=finding.pk)
    if fix == "won" and exclude != "won":
        assert ending.disposition == "fixed"
    if exclude == "won" and fix != "won":
        assert ending.disposition == "excluded"
    assert FindingDisposition.objects.filter(message=message).count() == 1
