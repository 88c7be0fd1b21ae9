"""The simulator follows the holding queue's rules: the admin's order (deadline by tier, then
age), reviewers only while on shift and never dropping a batch in hand, arrivals following the
week's profile, handling times drawn from what was recorded."""

import random
from collections import Counter

import pytest

from apps.planning.simulation import (
    Arrival,
    CoveredClock,
    Empirical,
    Exponential,
    TierDemand,
    arrivals,
    constant,
    figures,
    simulate,
    weekly,
)

TARGETS = {"priority": 0.5, "standard": 4.0, "untargeted": None}


def _started(outcomes):
    return {(o.tier, o.arrived): o.started for o in outcomes}


def test_queue_is_worked_by_deadline_then_age():
    stream = [
        Arrival(0.00, "standard", 1.0),  # taken at once: the one reviewer is free
        Arrival(0.10, "untargeted", 0.1),  # no target: after every deadline
        Arrival(0.20, "standard", 0.1),  # deadline 4.2
        Arrival(0.30, "priority", 0.1),  # deadline 0.8: overtakes both
        Arrival(0.40, "standard", 0.1),  # deadline 4.4: after the older standard one
    ]
    started = _started(simulate(stream, capacity=constant(1), deadline_hours=TARGETS, until=10))
    order = sorted(started, key=started.get)
    assert order == [
        ("standard", 0.0), ("priority", 0.3), ("standard", 0.2), ("standard", 0.4),
        ("untargeted", 0.1),
    ]


def test_nobody_starts_off_shift_and_a_batch_in_hand_is_finished():
    # Hour 0: nobody; hour 1: one reviewer; hour 2 onwards: nobody.
    shifts = weekly([0, 1] + [0] * 166)
    stream = [Arrival(0.2, "standard", 1.5), Arrival(0.3, "standard", 0.1)]
    outcomes = simulate(stream, capacity=shifts, deadline_hours=TARGETS, until=100)
    first, second = outcomes
    assert first.started == 1.0 and first.finished == 2.5  # kept past the shift's end
    assert second.started is None and second.finished is None  # nobody came back this week
    late = figures(outcomes, deadline_hours=TARGETS, since=0)["standard"]
    # The first was decided within 4 h; the unfinished one counts as late, not as missing.
    assert late.within_share == 0.5


def test_arrivals_follow_the_hour_of_week_profile():
    profile = [0.0] * 168
    profile[9] = 6.0  # Monday 09:00-10:00 only
    demand = TierDemand("standard", tuple(profile), Exponential(0.1))
    stream = arrivals([demand], hours=168 * 200, seed=3)
    assert {int(a.at) % 168 for a in stream} == {9}
    assert len(stream) / 200 == pytest.approx(6.0, rel=0.05)


def test_arrivals_start_at_the_given_hour_of_week():
    profile = [0.0] * 168
    profile[9] = 6.0
    stream = arrivals(
        [TierDemand("standard", tuple(profile), Exponential(0.1))], hours=168 * 5, seed=3,
        start_hour_of_week=5,
    )
    assert {int(a.at) % 168 for a in stream} == {4}


def test_empirical_handling_draws_the_recorded_values_as_often_as_recorded():
    sampler = Empirical((0.1, 0.1, 0.1, 2.0))
    rng = random.Random(1)
    draws = Counter(sampler(rng) for _ in range(20_000))
    assert set(draws) == {0.1, 2.0}
    assert draws[0.1] / 20_000 == pytest.approx(0.75, abs=0.02)
    with pytest.raises(ValueError, match="at least one recorded value"):
        Empirical(())


def test_covered_clock_counts_only_covered_hours():
    covered = [False] * 168
    for hour in range(8, 18):
        covered[hour] = True  # Monday 08:00-18:00
    clock = CoveredClock(covered, hours=168 * 2)
    assert clock.elapsed(7.0, 9.5) == pytest.approx(1.5)
    assert clock.elapsed(17.5, 168 + 9.0) == pytest.approx(0.5 + 1.0)
