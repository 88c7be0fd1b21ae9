"""Capacity fixtures (imported by the capacity tests): the review and planning seeds (SLA
targets, commitments, the groups'
permissions) put back after transactional tests flush, and a recorded review history."""

import importlib
import random
from datetime import datetime, timedelta

import pytest
from django.contrib.auth.models import Group, Permission

from apps.core.models import Batch, BatchStatus, Client, ReviewPolicy
from apps.planning.models import Commitment, ReviewerCost
from apps.review.models import DEFAULT_SLA_TARGETS, ReviewRound, SlaTarget
from tests.conftest import make_campaign

_review_seed = importlib.import_module("apps.review.migrations.0002_sla_defaults_and_permissions")
_planning_seed = importlib.import_module("apps.planning.migrations.0001_roster_and_commitments")
_cost_seed = importlib.import_module("apps.planning.migrations.0003_reviewer_cost")


@pytest.fixture
def planning_seeded(seeded):
    for tier, (minutes, pct) in DEFAULT_SLA_TARGETS.items():
        SlaTarget.objects.get_or_create(
            tier=tier, defaults={"target_minutes": minutes, "target_pct": pct}
        )
    for tier, first, last, weekdays, over, minutes, pct in _planning_seed.DEFAULT_COMMITMENTS:
        Commitment.objects.get_or_create(tier=tier, defaults={
            "covered_from_hour": first, "covered_to_hour": last, "weekdays_only": weekdays,
            "extended_over_messages": over, "extended_target_minutes": minutes,
            "extended_target_pct": pct,
        })
    ReviewerCost.objects.get_or_create(pk=1)
    seeds = (("review", _review_seed), ("planning", _planning_seed), ("planning", _cost_seed))
    for app, seed in seeds:
        for name in ("reviewer", "operator"):
            codenames = getattr(seed, f"{name.upper()}_PERMS", [])
            Group.objects.get(name=name).permissions.add(
                *Permission.objects.filter(content_type__app_label=app, codename__in=codenames)
            )


def tier_batch(tier: str, name: str, status: str = BatchStatus.APPROVED) -> Batch:
    client = Client.objects.create(name=name, tier=tier, review_policy=ReviewPolicy.REVIEW_ALL)
    return Batch.objects.create(client=client, campaign=make_campaign(client), status=status)


def record_history(
    *, now: datetime, days: int, per_hour: dict[str, float], handling_minutes: dict[str, float],
    reviewer, messages: int = 20, seed: int = 1,
) -> None:
    """Decided review rounds entering review as a Poisson stream per tier over `days` before
    `now`, each handled for an exponential time with the tier's mean. The rounds hang off one
    batch per tier: the plan reads rounds (tier, entry time, size, handling), not batches."""
    rng = random.Random(seed)
    rounds = []
    for tier, rate in per_hour.items():
        batch = tier_batch(tier, f"History {tier}")
        at, number = now - timedelta(days=days), 0
        while True:
            at += timedelta(hours=rng.expovariate(rate))
            if at >= now:
                break
            number += 1
            handling = rng.expovariate(1 / handling_minutes[tier]) * 60
            rounds.append(ReviewRound(
                batch=batch, number=number, entered_at=at, first_claimed_at=at,
                decided_at=at + timedelta(seconds=handling), decided_by=reviewer,
                outcome="approved", handling_seconds=handling, messages=messages,
            ))
    ReviewRound.objects.bulk_create(rounds, batch_size=2000)


def cover_all_day() -> None:
    """Commitments whose clock runs around the clock, with no extended target."""
    Commitment.objects.update(
        covered_from_hour=0, covered_to_hour=24, weekdays_only=False, extended_over_messages=None,
    )
