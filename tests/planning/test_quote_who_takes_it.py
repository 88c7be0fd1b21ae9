"""Which reviewer a quote expects to take a batch: of several free at once, the one free
longest; and a reviewer is free from when their shift began, not from yesterday's last batch."""

from datetime import UTC, datetime, timedelta

import pytest

from apps.planning.quotes import (
    ArrivalForecast,
    Calibration,
    QuoteInputs,
    Waiting,
    estimate,
)
from apps.planning.rates import HandlingRates, ReviewerTotals
from apps.planning.roster import Roster

MONDAY_0930 = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)
EARLY, LATE = 1, 2  # EARLY is on from 08:00, LATE from 09:00 (Monday)
FAST, SLOW = 10.0, 60.0  # seconds a message


def inputs(idle_since: dict[int, datetime]) -> QuoteInputs:
    weekly = {(0, hour): frozenset({EARLY}) for hour in range(8, 9)}
    weekly |= {(0, hour): frozenset({EARLY, LATE}) for hour in range(9, 17)}
    # Plenty of history each: the measured rates, not the prior.
    rates = HandlingRates(totals={
        EARLY: ReviewerTotals(FAST * 100_000, 100_000, 10_000),
        LATE: ReviewerTotals(SLOW * 100_000, 100_000, 10_000),
    })
    return QuoteInputs(
        now=MONDAY_0930, queue=[], roster=Roster(weekly=weekly), rates=rates,
        arrivals=ArrivalForecast(), calibration=Calibration(), targets={},
        idle_since=idle_since,
    )


def handled_by_seconds_a_message(quote_inputs: QuoteInputs) -> float:
    batch = Waiting(batch_id=1, tier="standard", deadline=None, entered_at=MONDAY_0930,
                    messages=10)
    simulated = estimate(quote_inputs, batch).simulated_seconds
    assert simulated is not None
    return simulated / 10


def test_a_reviewer_just_on_shift_is_not_free_since_yesterday():
    # LATE's last batch was Friday evening, EARLY's at 08:50 today: LATE came on at 09:00,
    # after EARLY was free, so EARLY has been free longest and takes the batch.
    friday_evening = MONDAY_0930 - timedelta(days=2, hours=16)
    quote_inputs = inputs({EARLY: MONDAY_0930 - timedelta(minutes=40), LATE: friday_evening})
    assert handled_by_seconds_a_message(quote_inputs) == pytest.approx(FAST, rel=0.02)


def test_a_reviewer_with_no_batch_yet_is_free_since_their_shift_began():
    # LATE has held nothing: free since 09:00, before EARLY's 09:20, so LATE takes it.
    quote_inputs = inputs({EARLY: MONDAY_0930 - timedelta(minutes=10)})
    assert handled_by_seconds_a_message(quote_inputs) == pytest.approx(SLOW, rel=0.02)
