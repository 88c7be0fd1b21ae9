"""The expected decision time is what the formula says, and it lengthens past 80 % load."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.core.models import Batch, BatchStatus, Prospect
from apps.portal.quote import quote_for, quote_for_new
from tests.conftest import in_review_batch, make_batch

pytestmark = pytest.mark.django_db


def _prospects(client, n, tag):
    return [Prospect.objects.create(client=client, email=f"{tag}{i}@example.com") for i in range(n)]


def _queued(campaign, tag, n, entered):
    batch = in_review_batch(campaign, _prospects(campaign.client, n, tag))
    Batch.objects.filter(pk=batch.pk).update(entered_review_at=entered)
    batch.refresh_from_db()
    return batch


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture
def throughput_two_per_hour(acme_campaign, rita, now):
    """8 messages decided by a person an hour ago: 8 per 4-hour window = 2 messages an hour."""
    decided = make_batch(
        acme_campaign, _prospects(acme_campaign.client, 8, "done"), status=BatchStatus.APPROVED
    )
    Batch.objects.filter(pk=decided.pk).update(decided_at=now - timedelta(hours=1), decided_by=rita)


def test_quote_follows_the_formula(acme_campaign, throughput_two_per_hour, now):
    _queued(acme_campaign, "a", 3, now - timedelta(hours=3))
    second = _queued(acme_campaign, "b", 3, now - timedelta(hours=2))
    quote = quote_for(second, now=now)
    assert (quote.position, quote.queue_length, quote.work_ahead) == (2, 2, 6)
    assert quote.throughput_per_hour == 2
    assert quote.load == pytest.approx(6 / 8)  # standard tier: 4 h target, capacity 2 × 4
    assert quote.expected_decision_at == now + timedelta(hours=3)  # 6 messages at 2 an hour
    assert "capacity" not in quote.explanation


def test_quote_lengthens_past_80_percent_load_and_says_why(
    acme_campaign, throughput_two_per_hour, now
):
    _queued(acme_campaign, "a", 3, now - timedelta(hours=3))
    second = _queued(acme_campaign, "b", 3, now - timedelta(hours=2))
    _queued(acme_campaign, "c", 3, now - timedelta(hours=1))  # behind it, but it loads the queue
    quote = quote_for(second, now=now)
    assert quote.load == pytest.approx(9 / 8)
    assert quote.expected_decision_at == now + timedelta(hours=3 * (9 / 8) / 0.8)
    assert "112% of the capacity" in quote.explanation  # 112.5 % rounds half to even


def test_without_recent_reviews_the_quote_is_the_tier_target(acme_campaign, now):
    batch = _queued(acme_campaign, "a", 2, now)
    quote = quote_for(batch, now=now)
    assert quote.expected_decision_at == now + timedelta(hours=4)
    assert "target for your tier" in quote.explanation


def test_no_quote_outside_review(acme_campaign, acme_prospects):
    batch = make_batch(acme_campaign, acme_prospects, status=BatchStatus.SENT)
    assert quote_for(batch) is None


def test_a_new_batch_is_quoted_at_the_back_of_the_queue(
    acme_campaign, throughput_two_per_hour, now
):
    _queued(acme_campaign, "a", 3, now - timedelta(hours=3))
    quote = quote_for_new(size=1, tier="standard", now=now)
    assert (quote.position, quote.work_ahead) == (2, 4)
    assert quote.expected_decision_at == now + timedelta(hours=2)
