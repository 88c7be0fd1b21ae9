"""How fast each reviewer handles messages, measured from decided review rounds and shrunk
towards a prior while history is thin, so one quick (or slow) decision cannot swing a quote.

seconds per message of reviewer r = (their handling seconds + prior × W) / (their messages + W),
where the prior is the pooled figure of the other reviewers (itself shrunk towards
PRIOR_SECONDS_PER_MESSAGE with the same weight W). Handling time is the claim spans of a round
(idle time excluded).
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count, Sum

from apps.review.models import ReviewRound

# Before any history: a reviewer reads a message in about this long.
PRIOR_SECONDS_PER_MESSAGE = 45.0
# The prior counts as this many messages already measured.
PRIOR_WEIGHT_MESSAGES = 200.0
# Rates come from the rounds decided within this window.
RATE_WINDOW = timedelta(days=28)


@dataclass
class ReviewerTotals:
    handling_s: float = 0.0
    messages: int = 0
    rounds: int = 0


@dataclass
class HandlingRates:
    """Measured totals per reviewer id, and the rates they imply."""

    totals: dict[int, ReviewerTotals] = field(default_factory=dict)

    def add(self, *, reviewer_id: int, handling_s: float, messages: int) -> None:
        totals = self.totals.setdefault(reviewer_id, ReviewerTotals())
        totals.handling_s += handling_s
        totals.messages += messages
        totals.rounds += 1

    def remove(self, *, reviewer_id: int, handling_s: float, messages: int) -> None:
        totals = self.totals[reviewer_id]
        totals.handling_s -= handling_s
        totals.messages -= messages
        totals.rounds -= 1

    @property
    def rounds(self) -> int:
        return sum(t.rounds for t in self.totals.values())

    def pooled_seconds_per_message(self) -> float:
        handling = sum(t.handling_s for t in self.totals.values())
        messages = sum(t.messages for t in self.totals.values())
        return _shrunk(handling, messages, PRIOR_SECONDS_PER_MESSAGE)

    def seconds_per_message(self, reviewer_id: int) -> float:
        totals = self.totals.get(reviewer_id)
        if totals is None:
            return self.pooled_seconds_per_message()
        # The prior is everyone else's figure, so no round is counted twice.
        others = [t for r, t in self.totals.items() if r != reviewer_id]
        prior = _shrunk(
            sum(t.handling_s for t in others), sum(t.messages for t in others),
            PRIOR_SECONDS_PER_MESSAGE,
        )
        return _shrunk(totals.handling_s, totals.messages, prior)


def _shrunk(handling_s: float, messages: float, prior: float) -> float:
    return (max(handling_s, 0.0) + prior * PRIOR_WEIGHT_MESSAGES) / (
        max(messages, 0) + PRIOR_WEIGHT_MESSAGES
    )


def decided_rounds_for_rates(
    *, since: datetime, until: datetime
) -> Iterable[tuple[int, float, int, int]]:
    """(reviewer id, handling seconds, messages) of the rounds a person decided in the span."""
    return (
        ReviewRound.objects.filter(
            decided_at__gte=since, decided_at__lte=until, decided_by__isnull=False,
            handling_seconds__gt=0,
        )
        .values("decided_by_id")
        .annotate(handling=Sum("handling_seconds"), messages=Sum("messages"), n=Count("pk"))
        .values_list("decided_by_id", "handling", "messages", "n")
    )


def measured_rates(*, until: datetime) -> HandlingRates:
    """The rates as known at `until`, from the rounds decided in the RATE_WINDOW before it."""
    rates = HandlingRates()
    for reviewer_id, handling, messages, rounds in decided_rounds_for_rates(
        since=until - RATE_WINDOW, until=until
    ):
        rates.totals[reviewer_id] = ReviewerTotals(handling or 0.0, messages or 0, rounds)
    return rates
