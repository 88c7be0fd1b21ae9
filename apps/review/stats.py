"""Time in review over a window: the figures the operator page and `review_stats` print.

Each decided round is one sample: waiting (entered review → first claimed), handling (the sum of
its claim spans) and total (entered review → decided), in seconds, all from timezone.now().
"""

import math
from dataclasses import dataclass
from datetime import datetime

from apps.core.models import Tier
from apps.review.models import ReviewRound, SlaTarget


@dataclass(frozen=True)
class Sample:
    client: str
    tier: str
    reviewer: str
    decided_at: datetime
    waiting_s: float
    handling_s: float
    total_s: float
    messages: int
    flagged: int = 0


def decided_rounds(
    *, since: datetime, until: datetime | None = None, client_id: int | None = None
) -> list[Sample]:
    # A withdrawn round was never decided by review: it is the client's behaviour (targets.py).
    rounds = ReviewRound.objects.filter(decided_at__gte=since).exclude(outcome="withdrawn")
    if until is not None:
        rounds = rounds.filter(decided_at__lt=until)
    if client_id is not None:
        rounds = rounds.filter(batch__client_id=client_id)
    rows = rounds.order_by("decided_at").values_list(
        "batch__client__name", "batch__client__tier", "decided_by__username", "entered_at",
        "first_claimed_at", "decided_at", "handling_seconds", "messages", "flagged",
    )
    samples = []
    for client, tier, reviewer, entered, claimed, decided, handling, messages, flagged in rows:
        if decided is None:  # not selected (decided_at__gte); said for the type checker
            continue
        samples.append(Sample(
            client=client, tier=tier, reviewer=reviewer or "system", decided_at=decided,
            waiting_s=((claimed or decided) - entered).total_seconds(),
            handling_s=handling, total_s=(decided - entered).total_seconds(), messages=messages,
            flagged=flagged,
        ))
    return samples


def percentile(values: list[float], pct: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def summarize(samples: list[Sample], targets: dict[str, SlaTarget]) -> dict[str, float | None]:
    waiting = [s.waiting_s for s in samples]
    handling = [s.handling_s for s in samples]
    total = [s.total_s for s in samples]
    judged = [s for s in samples if s.tier in targets]
    within = sum(1 for s in judged if s.total_s <= targets[s.tier].target.total_seconds())
    messages = sum(s.messages for s in samples)
    figures: dict[str, float | None] = {"decided": len(samples)}
    for name, values in (("wait", waiting), ("handle", handling), ("total", total)):
        for pct in (50, 90, 95):
            figures[f"{name}_p{pct}_s"] = _round(percentile(values, pct))
    figures["within_target_pct"] = _round(100 * within / len(judged)) if judged else None
    figures["handle_s_per_message"] = _round(sum(handling) / messages) if messages else None
    # Per flagged message (flagged when the round began): what the group actions bring down.
    flagged = sum(s.flagged for s in samples)
    figures["handle_s_per_flagged"] = _round(sum(handling) / flagged) if flagged else None
    return figures


def breakdown(
    samples: list[Sample], targets: dict[str, SlaTarget], key: str
) -> list[tuple[str, dict[str, float | None]]]:
    """The figures per client, tier or reviewer (`key` is the Sample attribute)."""
    groups: dict[str, list[Sample]] = {}
    for sample in samples:
        groups.setdefault(getattr(sample, key), []).append(sample)
    labels = dict(Tier.choices) if key == "tier" else {}
    return [
        (labels.get(name, name), summarize(group, targets))
        for name, group in sorted(groups.items())
    ]
