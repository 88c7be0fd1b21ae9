"""The capacity plan's search: the level it returns is the smallest that holds the promise
(the one below falls short in the same simulation), wherever the search starts; a promise out
of reach is said so; a tighter promise never costs less."""

from decimal import Decimal

import pytest

from apps.planning.plan import MAX_REVIEWERS, Planner, Promise, make_plan
from apps.planning.simulation import Empirical, Exponential, TierDemand

ALL_WEEK = (True,) * 168
TARGETS = (("priority", 0.5), ("standard", 4.0))


def demands():
    return [
        TierDemand("priority", (2.0,) * 168, Exponential(0.1)),
        TierDemand("standard", (6.0,) * 168, Exponential(0.3)),
    ]


@pytest.fixture(scope="module")
def planner():
    return Planner(demands=demands(), staffed=ALL_WEEK, covered={}, weeks=2)


@pytest.mark.parametrize("guess", [1, 3, 12, 40])
@pytest.mark.parametrize(("tier", "pct"), [("priority", 95), ("standard", 95), ("standard", 99)])
def test_the_level_found_is_the_smallest_that_holds(planner, tier, pct, guess):
    level = planner.reviewers_needed(tier, pct, TARGETS, guess=guess)
    assert planner.within(level, TARGETS)[tier] * 100 >= pct
    assert planner.within(level - 1, TARGETS)[tier] * 100 < pct


def test_a_promise_shorter_than_the_handling_is_out_of_reach(planner):
    # Half of all batches take longer than 0.1 h × ln 2 to handle: 95 % within 4 min is
    # beyond any number of reviewers.
    targets = (("priority", 4 / 60), ("standard", 4.0))
    assert planner.reviewers_needed("priority", 95, targets, guess=2) is None
    assert planner.within(MAX_REVIEWERS, targets)["priority"] < 0.95


def test_covered_hours_count_toward_the_target_only_when_covered():
    # Arrivals around the clock, reviewers and the commitment's clock only 08-18 on weekdays:
    # judged on wall time almost nothing would hold; on covered time it can.
    office = tuple(8 <= h % 24 < 18 and h // 24 < 5 for h in range(168))
    stream = [TierDemand("standard", (1.0,) * 168, Empirical((0.2,)))]
    wall = Planner(demands=stream, staffed=office, covered={}, weeks=2)
    covered = Planner(demands=stream, staffed=office, covered={"standard": office}, weeks=2)
    assert wall.within(20, (("standard", 4.0),))["standard"] < 0.6
    assert covered.within(20, (("standard", 4.0),))["standard"] > 0.95


def test_one_more_point_never_costs_less():
    plan = make_plan(
        demands=demands(), promises=[Promise("priority", 95, 0.5), Promise("standard", 95, 4.0)],
        staffed=ALL_WEEK, covered={}, hourly_cost=Decimal("10"), weeks=2,
    )
    for tier in plan.tiers:
        for need, extra_hours, extra_cost in tier.next_points:
            if need.reviewers is not None:
                assert need.reviewers >= tier.current.reviewers
                assert extra_hours >= 0 and extra_cost == Decimal("10") * Decimal(str(extra_hours))
