"""Planning fixtures: a priority client (Initrode), the roster, and a clock on a Monday."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import User

from apps.core.models import Batch, BatchStatus, Client, Prospect, ReviewPolicy, Tier
from apps.planning.models import Shift
from apps.review.services import batch_approve, batch_claim, batch_route
from tests.conftest import make_batch, make_campaign
from tests.planning.support import planning_seeded  # noqa: F401  (the capacity tests' seed)

MONDAY_10 = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    """The clock stands at Monday 10:00 UTC; tests move it with clock.move_to(...)."""
    with time_machine.travel(MONDAY_10, tick=False) as traveller:
        yield traveller


@pytest.fixture
def initrode_client(seeded) -> Client:
    return Client.objects.create(
        name="Initrode", tier=Tier.PRIORITY, review_policy=ReviewPolicy.REVIEW_ALL
    )


def weekday_shift(reviewer: User, start_hour: int = 8, end_hour: int = 18) -> None:
    for weekday in range(5):
        Shift.objects.create(
            reviewer=reviewer, weekday=weekday, start_hour=start_hour, end_hour=end_hour
        )


def prospects(client: Client, n: int, tag: str) -> list[Prospect]:
    return [
        Prospect.objects.create(client=client, email=f"{tag}{i}@initech.com", first_name="P")
        for i in range(n)
    ]


def entered_review(client: Client, n: int, tag: str) -> Batch:
    """A batch of n messages routed into review now, through the review service."""
    batch = make_batch(
        make_campaign(client, name=f"Campaign {tag}"), prospects(client, n, tag),
        status=BatchStatus.VALIDATING, validated_at=MONDAY_10, worst_severity="review",
    )
    batch_route(batch_id=batch.pk)
    batch.refresh_from_db()
    return batch


def reviewed(client: Client, n: int, tag: str, *, reviewer: User, clock, handled: timedelta):
    """A batch that enters review now, is claimed at once and approved `handled` later."""
    batch = entered_review(client, n, tag)
    batch_claim(batch_id=batch.pk, actor=reviewer)
    clock.shift(handled)
    batch_approve(batch_id=batch.pk, actor=reviewer)
    return batch
