"""Quotes come from the queue in the reviewers' order, the roster and measured rates."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.core.models import BatchStatus
from apps.planning.quotes import CALIBRATION_PRIOR
from apps.planning.rates import PRIOR_SECONDS_PER_MESSAGE
from apps.planning.selectors import quote_for, quote_for_new
from tests.conftest import make_batch
from tests.planning.conftest import MONDAY_10, entered_review, reviewed, weekday_shift

pytestmark = pytest.mark.django_db


def minutes_until(moment) -> float:
    return (moment - timezone.now()).total_seconds() / 60


def test_a_small_priority_batch_first_in_an_empty_queue_is_quoted_within_its_target(
    clock, initrode_client, acme_client, rita
):
    """The demo's complaint: 2 priority messages, nothing ahead, were quoted ~10 hours from
    one slow decision. One decision does not make a rate, and the roster says rita is on."""
    weekday_shift(rita)
    reviewed(acme_client, 1, "slow", reviewer=rita, clock=clock, handled=timedelta(hours=1))
    batch = entered_review(initrode_client, 2, "urgent")
    quote = quote_for(batch=batch)
    assert (quote.position, quote.queue_length) == (1, 1)
    assert minutes_until(quote.expected_at) <= 30
    # What the prior and one hour-long message give, lengthened by the cold-start calibration.
    per_message = (3600 + PRIOR_SECONDS_PER_MESSAGE * 200) / (1 + 200)
    assert minutes_until(quote.expected_at) == pytest.approx(
        2 * per_message * CALIBRATION_PRIOR / 60, rel=0.01
    )


def test_a_priority_batch_goes_ahead_of_standard_batches_waiting_longer(
    clock, initrode_client, acme_client, rita
):
    weekday_shift(rita)
    standard = [entered_review(acme_client, 10, f"std{i}") for i in range(3)]
    clock.shift(timedelta(minutes=5))
    urgent = entered_review(initrode_client, 2, "urgent")
    urgent_quote, last_standard = quote_for(batch=urgent), quote_for(batch=standard[-1])
    assert urgent_quote.position == 1
    assert last_standard.position == 4
    assert urgent_quote.expected_at < last_standard.expected_at


def test_work_ahead_lengthens_the_quote_in_proportion(clock, acme_client, rita):
    weekday_shift(rita)
    first = entered_review(acme_client, 10, "a")
    second = entered_review(acme_client, 10, "b")
    assert minutes_until(quote_for(batch=second).expected_at) == pytest.approx(
        2 * minutes_until(quote_for(batch=first).expected_at), rel=0.01
    )


def test_nobody_on_shift_until_the_afternoon_means_the_quote_starts_then(
    clock, acme_client, rita
):
    weekday_shift(rita, start_hour=14, end_hour=18)
    batch = entered_review(acme_client, 2, "a")
    expected = quote_for(batch=batch).expected_at
    assert expected > MONDAY_10.replace(hour=14)
    assert expected < MONDAY_10.replace(hour=15)
    assert "no reviewer is on shift now" in quote_for(batch=batch).explanation


def test_without_a_roster_the_quote_is_the_tier_target(clock, initrode_client):
    batch = entered_review(initrode_client, 2, "a")
    quote = quote_for(batch=batch)
    assert quote.expected_at == timezone.now() + timedelta(minutes=30)
    assert "target for your tier" in quote.explanation


def test_a_faster_measured_reviewer_shortens_the_quote(clock, acme_client, rita):
    weekday_shift(rita)
    batch = entered_review(acme_client, 20, "waiting")
    before = minutes_until(quote_for(batch=batch).expected_at)
    # Rita's history: 400 messages at 10 s each, far faster than the prior's 45 s.
    for i in range(4):
        reviewed(acme_client, 100, f"done{i}", reviewer=rita, clock=clock,
                 handled=timedelta(seconds=1000))
    after = minutes_until(quote_for(batch=batch).expected_at)
    per_message = (4000 + PRIOR_SECONDS_PER_MESSAGE * 200) / (400 + 200)
    assert after == pytest.approx(20 * per_message * CALIBRATION_PRIOR / 60, rel=0.01)
    assert after < before / 2


def test_a_new_batch_is_quoted_up_front_behind_the_queue(clock, acme_client, rita):
    weekday_shift(rita)
    waiting = entered_review(acme_client, 10, "a")
    quote = quote_for_new(size=10, tier="standard")
    assert (quote.position, quote.queue_length) == (2, 2)
    assert quote.expected_at > quote_for(batch=waiting).expected_at


def test_no_quote_outside_review(acme_campaign, acme_prospects):
    batch = make_batch(acme_campaign, acme_prospects, status=BatchStatus.SENT)
    assert quote_for(batch=batch) is None


def test_a_batch_over_the_extended_size_is_told_so_up_front(clock, acme_client, rita):
    weekday_shift(rita)
    assert "extended commitment" not in quote_for_new(size=500, tier="standard").explanation
    explanation = quote_for_new(size=501, tier="standard").explanation
    assert "Batches over 500 messages are on the extended commitment" in explanation
    assert "within 24 hours" in explanation
