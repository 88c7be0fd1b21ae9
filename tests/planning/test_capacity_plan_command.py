"""`manage.py capacity_plan`: per tier, the reviewer-hours a day its target needs and what one
more point costs, found by simulating recorded history; bad input is refused by name."""

import json
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from apps.planning.models import ReviewerCost
from tests.planning.support import cover_all_day, record_history

pytestmark = pytest.mark.django_db


def _plan(*args) -> dict:
    out = StringIO()
    call_command("capacity_plan", "--json", *args, stdout=out)
    return json.loads(out.getvalue())


@pytest.fixture
def history(planning_seeded, rita):
    cover_all_day()
    record_history(
        now=timezone.now(), days=28, per_hour={"standard": 4.0, "priority": 1.0},
        handling_minutes={"standard": 12.0, "priority": 6.0}, reviewer=rita,
    )


def test_each_tier_gets_the_hours_and_money_its_target_needs(history):
    ReviewerCost.objects.update(hourly_cost=Decimal("50.00"), currency="GBP")
    plan = _plan()
    tiers = {t["tier"]: t for t in plan["tiers"]}
    assert set(tiers) == {"standard", "priority"}
    assert plan["currency"] == "GBP" and plan["hourly_cost"] == "50.00"
    assert plan["forecast_batches_per_day"] == pytest.approx(24 * 5.0, rel=0.05)
    for tier in tiers.values():
        assert tier["simulated_within_pct"] >= tier["target_pct"]
        # Around the clock: a day's reviewer-hours are the level on shift times 24.
        assert tier["reviewer_hours_per_day"] == pytest.approx(24 * tier["reviewers_on_shift"])
        hours = Decimal(str(tier["reviewer_hours_per_day"]))
        assert Decimal(tier["cost_per_day"]) == Decimal("50") * hours
    # The level where every tier holds is the highest of the tiers' levels.
    highest = max(t["reviewers_on_shift"] for t in tiers.values())
    assert plan["all_tiers"]["reviewers_on_shift"] == highest


def test_one_more_point_costs_the_difference(history):
    plan = _plan()
    standard = next(t for t in plan["tiers"] if t["tier"] == "standard")
    share, shorter = standard["one_more_point"]
    assert share["target"] == "96 % within 4 h"
    assert shorter["target"] == "95 % within 3 h"
    for point in (share, shorter):
        assert point["extra_reviewer_hours_per_day"] == pytest.approx(
            point["reviewer_hours_per_day"] - standard["reviewer_hours_per_day"], abs=0.11
        )
        assert point["extra_reviewer_hours_per_day"] >= 0


def test_plan_agrees_with_erlang_c_where_its_assumptions_hold(history):
    # Poisson arrivals, exponential handling, around the clock: the simulated level for the
    # priority tier (whose batches go first) is the closed form's, give or take one reviewer.
    priority = next(t for t in _plan()["tiers"] if t["tier"] == "priority")
    assert abs(priority["reviewers_on_shift"] - priority["erlang_c_reviewers"]) <= 1


def test_a_larger_volume_needs_more_reviewer_hours(history):
    forecast = {t["tier"]: t for t in _plan()["tiers"]}
    tripled = {t["tier"]: t for t in _plan("--volume-per-day", "360")["tiers"]}
    three_times = 3 * forecast["standard"]["batches_per_day"]
    assert tripled["standard"]["batches_per_day"] == pytest.approx(three_times, rel=0.05)
    for tier in ("standard", "priority"):
        assert tripled[tier]["reviewer_hours_per_day"] > forecast[tier]["reviewer_hours_per_day"]


def test_extended_batches_are_planned_against_their_own_target(planning_seeded, rita):
    record_history(
        now=timezone.now(), days=28, per_hour={"standard": 2.0},
        handling_minutes={"standard": 10.0},
        reviewer=rita, messages=900,  # over the seeded 500: the extended commitment
    )
    tiers = {t["tier"]: t for t in _plan()["tiers"]}
    assert tiers["standard:extended"]["target"] == "95 % within 24 h"
    assert tiers["standard:extended"]["batches_per_day"] == pytest.approx(48, rel=0.1)
    assert "standard" not in tiers or tiers["standard"]["batches_per_day"] == 0


def test_text_output_names_each_tier(history):
    out = StringIO()
    call_command("capacity_plan", stdout=out)
    text = out.getvalue()
    assert "Priority: " in text and "Standard: " in text
    assert "one more point, 96 % within 4 h" in text
    assert "Every tier holds its target with" in text


@pytest.mark.parametrize("value", ["abc", "-5", "0", "nan", "inf", "2000000"])
def test_bad_volume_is_refused_by_name(planning_seeded, value):
    with pytest.raises(CommandError, match="--volume-per-day"):
        _plan("--volume-per-day", value)


def test_no_history_is_a_clear_error(planning_seeded):
    with pytest.raises(CommandError, match="no handling times to simulate with"):
        _plan()


def test_history_outside_the_window_is_not_used(planning_seeded, rita):
    record_history(
        now=timezone.now() - timedelta(days=40), days=10, per_hour={"standard": 2.0},
        handling_minutes={"standard": 10.0}, reviewer=rita,
    )
    with pytest.raises(CommandError, match="no handling times"):
        _plan()


def test_until_plans_from_the_weeks_before_it(planning_seeded, rita):
    past = timezone.now() - timedelta(days=60)
    record_history(
        now=past, days=28, per_hour={"standard": 2.0}, handling_minutes={"standard": 10.0},
        reviewer=rita,
    )
    plan = _plan("--until", past.isoformat())
    assert plan["forecast_batches_per_day"] == pytest.approx(48, rel=0.1)


@pytest.mark.parametrize("value", ["yesterday", "2026-13-01", "\x00"])
def test_bad_until_is_refused_by_name(planning_seeded, value):
    with pytest.raises(CommandError, match="--until"):
        _plan("--until", value)
