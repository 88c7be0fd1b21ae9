"""The review time a client can expect, quoted honestly from the queue as it is.

The formula (also in the README):
- the queue is every batch in review in the reviewers' order (SLA deadline, then age: the same
  order as the admin's review queue); a batch's place is its 1-based position;
- work ahead W = messages in the batches ahead of it plus its own;
- recent throughput r = messages in batches a person decided in the last RECENT_WINDOW, per hour;
- base time = W / r;
- the tier's target T (the operator's SLA target for the tier) assumes reviewers can clear r × T messages within it; the load is
  ρ = (messages in the whole queue) / (r × T). Past 80 % the queue is slower than the target
  assumes, so the quote lengthens in proportion, base × ρ / 0.8, and says why;
- with no decisions in the window there is no throughput to quote from, so the quote is the
  tier's target, and it says so.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count
from django.utils import timezone

from apps.core.models import Batch, BatchStatus
from apps.portal.selectors import message_count
from apps.review.selectors import QueueFilters, queue_batches, sla_targets

RECENT_WINDOW = timedelta(hours=4)
LOAD_THRESHOLD = 0.8


@dataclass(frozen=True)
class Quote:
    position: int
    queue_length: int
    work_ahead: int
    throughput_per_hour: float | None
    load: float | None
    expected_decision_at: datetime
    explanation: str


# For a tier an operator has set no target for.
DEFAULT_TARGET = timedelta(hours=4)


def review_target(tier: str) -> timedelta:
    target = sla_targets().get(tier)
    return target.target if target else DEFAULT_TARGET


def _queue(now: datetime) -> list[tuple[int, int]]:
    """(batch id, messages still included) in the reviewers' order."""
    ordered = queue_batches(filters=QueueFilters(), now=now, targets=sla_targets())
    return list(ordered.annotate(size=message_count(excluded=False)).values_list("pk", "size"))


def recent_throughput(now: datetime) -> float:
    """Messages per hour in batches decided by a person within the recent window."""
    decided = Batch.objects.filter(
        decided_at__gte=now - RECENT_WINDOW, decided_at__lte=now, decided_by__isnull=False
    ).aggregate(messages=Count("messages"))["messages"]
    return decided / (RECENT_WINDOW.total_seconds() / 3600)


def quote_for(batch: Batch, *, now: datetime | None = None) -> Quote | None:
    """The quote for a batch waiting in review; None for a batch in any other state."""
    if batch.status != BatchStatus.IN_REVIEW:
        return None
    now = now or timezone.now()
    queue = _queue(now)
    ids = [pk for pk, _ in queue]
    if batch.pk not in ids:
        return None
    position = ids.index(batch.pk) + 1
    return _quote(
        position=position,
        work_ahead=sum(size for _, size in queue[:position]),
        in_queue=sum(size for _, size in queue),
        queue_length=len(queue),
        tier=batch.client.tier,
        now=now,
    )


def quote_for_new(*, size: int, tier: str, now: datetime | None = None) -> Quote:
    """The quote for a batch about to join the queue (as the API returns on creation)."""
    now = now or timezone.now()
    queue = _queue(now)
    in_queue = sum(s for _, s in queue) + size
    return _quote(
        position=len(queue) + 1, work_ahead=in_queue, in_queue=in_queue,
        queue_length=len(queue) + 1, tier=tier, now=now,
    )


def _quote(*, position, work_ahead, in_queue, queue_length, tier, now) -> Quote:
    target = review_target(tier)
    rate = recent_throughput(now)
    if rate <= 0:
        return Quote(
            position, queue_length, work_ahead, None, None, now + target,
            f"No reviews were finished in the last {_human(RECENT_WINDOW)}, so this is the "
            f"target for your tier ({_human(target)}).",
        )
    hours = work_ahead / rate
    load = in_queue / (rate * target.total_seconds() / 3600)
    explanation = (
        f"{position - 1} batch(es) ahead of yours; reviewers are finishing about "
        f"{rate:.0f} messages an hour."
    )
    if load > LOAD_THRESHOLD:
        hours *= load / LOAD_THRESHOLD
        explanation += (
            f" The queue is at {load:.0%} of the capacity your tier's target assumes, "
            "so this quote is longer than usual."
        )
    return Quote(
        position, queue_length, work_ahead, rate, load, now + timedelta(hours=hours), explanation
    )


def _human(delta: timedelta) -> str:
    minutes = round(delta.total_seconds() / 60)
    return f"{minutes} minutes" if minutes < 120 else f"{minutes / 60:.1f} hours"
