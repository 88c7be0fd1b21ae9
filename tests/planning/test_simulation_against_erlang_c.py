"""The queue simulator against the M/M/c closed form (Erlang C): with Poisson arrivals,
exponential handling and c reviewers always on shift, the share of batches that wait and their
mean wait must match the formula at light, busy and heavy load. One fixed seed: the same
arrivals every run, so a failure is the simulator's, not the draw's."""

import pytest

from apps.planning.simulation import (
    Exponential,
    TierDemand,
    arrivals,
    constant,
    erlang_c,
    figures,
    simulate,
)

SEED = 2026
TARGETS = {"standard": 4.0}


@pytest.mark.parametrize(
    ("servers", "load", "hours"),
    [(2, 0.5, 40_000), (4, 0.75, 30_000), (10, 0.85, 10_000)],
)
def test_waiting_matches_erlang_c(servers, load, hours):
    arrival_rate = load * servers  # batches an hour; a batch takes an hour on average
    demand = TierDemand("standard", (arrival_rate,) * 168, Exponential(1.0))
    stream = arrivals([demand], hours=hours, seed=SEED)

    outcomes = simulate(stream, capacity=constant(servers), deadline_hours=TARGETS, until=2 * hours)
    simulated = figures(outcomes, deadline_hours=TARGETS, since=200)["standard"]

    p_wait, mean_wait = erlang_c(arrival_rate=arrival_rate, mean_service=1.0, servers=servers)
    assert simulated.waited_share == pytest.approx(p_wait, abs=0.02)
    assert simulated.mean_wait_hours == pytest.approx(mean_wait, rel=0.12)


def test_erlang_c_known_values():
    # Textbook figures: 2 servers at a = 1 Erlang wait with probability 1/3, mean wait 1/3 of
    # a service time; one server at load 0.5 is M/M/1 (P = 0.5, Wq = rho/(mu - lambda)).
    assert erlang_c(arrival_rate=1.0, mean_service=1.0, servers=2) == pytest.approx((1 / 3, 1 / 3))
    assert erlang_c(arrival_rate=0.5, mean_service=1.0, servers=1) == pytest.approx((0.5, 1.0))
    assert erlang_c(arrival_rate=3.0, mean_service=1.0, servers=3)[1] == float("inf")
