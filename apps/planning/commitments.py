"""What each tier commits to, in plain words, and how review has really gone for it.

A commitment is the tier's SLA target (apps/review: "95 % within 4 hours") plus what it covers
(apps/planning Commitment): the clock runs only in the covered hours ("08:00–18:00 UTC on
weekdays"), and batches over N messages are held to the extended target instead.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apps.core.models import Tier
from apps.planning.models import Commitment
from apps.review.models import ReviewRound, SlaTarget
from apps.review.stats import percentile

FIGURES_WINDOW = timedelta(days=30)


@dataclass(frozen=True)
class Promise:
    """One target as published: pct % of batches decided within `target` of covered time."""

    target: timedelta
    pct: int

    def words(self, covered: str) -> str:
        return f"{self.pct} % of batches decided within {duration_words(self.target)}, {covered}"


@dataclass(frozen=True)
class TierCommitment:
    tier: str
    tier_label: str
    promise: Promise | None
    extended: Promise | None
    extended_over_messages: int | None
    covered_from_hour: int
    covered_to_hour: int
    weekdays_only: bool

    @property
    def covered_words(self) -> str:
        if self.covered_from_hour == 0 and self.covered_to_hour == 24:
            hours = "around the clock"
        else:
            hours = f"{self.covered_from_hour:02d}:00–{self.covered_to_hour:02d}:00 UTC"
        return f"{hours} on weekdays" if self.weekdays_only else f"{hours} every day"

    @property
    def words(self) -> str:
        if self.promise is None:
            return "No review-time target is set for this tier."
        return self.promise.words(self.covered_words)

    @property
    def extended_words(self) -> str:
        if self.extended is None or self.extended_over_messages is None:
            return ""
        return (
            f"Batches over {self.extended_over_messages} messages are on the extended "
            f"commitment: {self.extended.words(self.covered_words)}."
        )

    def promise_for(self, messages: int) -> Promise | None:
        if self.is_extended(messages):
            return self.extended
        return self.promise

    def is_extended(self, messages: int) -> bool:
        over = self.extended_over_messages
        return over is not None and self.extended is not None and messages > over

    def covered_seconds(self, start: datetime, end: datetime) -> float:
        """Seconds of [start, end) inside the covered hours: the time the commitment counts."""
        if self.covered_from_hour == 0 and self.covered_to_hour == 24 and not self.weekdays_only:
            return max((end - start).total_seconds(), 0.0)
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        total, day = 0.0, start.replace(hour=0, minute=0, second=0, microsecond=0)
        while day < end:
            if not (self.weekdays_only and day.weekday() >= 5):
                opens = day + timedelta(hours=self.covered_from_hour)
                closes = day + timedelta(hours=self.covered_to_hour)
                total += max((min(end, closes) - max(start, opens)).total_seconds(), 0.0)
            day += timedelta(days=1)
        return total


def commitment_for(*, tier: str) -> TierCommitment:
    target = SlaTarget.objects.filter(tier=tier).first()
    cover = Commitment.objects.filter(tier=tier).first() or Commitment(tier=tier)
    extended = None
    if cover.extended_over_messages is not None and cover.extended_target_minutes:
        extended = Promise(timedelta(minutes=cover.extended_target_minutes),
                           cover.extended_target_pct)
    return TierCommitment(
        tier=tier, tier_label=dict(Tier.choices).get(tier, tier),
        promise=Promise(target.target, target.target_pct) if target else None,
        extended=extended, extended_over_messages=cover.extended_over_messages,
        covered_from_hour=cover.covered_from_hour, covered_to_hour=cover.covered_to_hour,
        weekdays_only=cover.weekdays_only,
    )


@dataclass(frozen=True)
class DayFigure:
    day: str
    decided: int
    within_pct: float


@dataclass(frozen=True)
class TierFigures:
    """Decided batches of the tier over the window, in covered time."""

    decided: int
    p50_s: float | None
    p95_s: float | None
    within_pct: float | None
    extended_decided: int
    extended_within_pct: float | None
    days: list[DayFigure]


def tier_figures(*, commitment: TierCommitment, now: datetime) -> TierFigures:
    """The tier's real figures over FIGURES_WINDOW: every batch of every client in the tier
    (a tier's promise is kept or broken for all of them), each judged by its own promise."""
    rows = ReviewRound.objects.filter(
        batch__client__tier=commitment.tier, decided_at__gte=now - FIGURES_WINDOW,
        decided_at__lt=now,
    ).order_by("decided_at").values_list("entered_at", "decided_at", "messages")
    regular: list[float] = []
    within = judged = extended_n = extended_within = 0
    by_day: dict[str, list[bool]] = {}
    for entered, decided, messages in rows.iterator(chunk_size=2000):
        if decided is None:  # never: the decided_at filter excludes undecided rounds
            continue
        elapsed = commitment.covered_seconds(entered, decided)
        promise = commitment.promise_for(messages)
        met = promise is not None and elapsed <= promise.target.total_seconds()
        if commitment.is_extended(messages):
            extended_n += 1
            extended_within += met
        else:
            regular.append(elapsed)
            judged += promise is not None
            within += met
        if promise is not None:
            by_day.setdefault(decided.astimezone(UTC).strftime("%Y-%m-%d"), []).append(met)
    return TierFigures(
        decided=len(regular), p50_s=percentile(regular, 50), p95_s=percentile(regular, 95),
        within_pct=_pct(within, judged), extended_decided=extended_n,
        extended_within_pct=_pct(extended_within, extended_n),
        days=[DayFigure(day, len(m), 100 * sum(m) / len(m)) for day, m in sorted(by_day.items())],
    )


def _pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def duration_words(delta: timedelta) -> str:
    minutes = round(delta.total_seconds() / 60)
    if minutes % 60 == 0 and minutes >= 60:
        hours = minutes // 60
        return f"{hours} hour{'s' if hours != 1 else ''}"
    if minutes < 120:
        return f"{minutes} minutes"
    return f"{minutes / 60:.1f} hours"


def commitment_summary(*, tier: str, now: datetime) -> dict:
    """The tier's commitment and its real figures, as the portal page and the API show them."""
    commitment = commitment_for(tier=tier)
    figures = tier_figures(commitment=commitment, now=now)
    promise = commitment.promise
    return {
        "tier": commitment.tier,
        "tier_label": commitment.tier_label,
        "commitment": commitment.words,
        "covered_hours": commitment.covered_words,
        "target_minutes": _minutes(promise.target) if promise else None,
        "target_pct": promise.pct if promise else None,
        "covered": [
            f"Every batch of up to {commitment.extended_over_messages} messages"
            if commitment.extended_over_messages is not None else "Every batch",
            f"Time counts {commitment.covered_words}; outside those hours the clock stops",
        ],
        "not_covered": _not_covered(commitment),
        "extended": {
            "over_messages": commitment.extended_over_messages,
            "target_minutes": _minutes(commitment.extended.target),
            "target_pct": commitment.extended.pct,
            "commitment": commitment.extended_words,
        } if commitment.extended else None,
        "figures": {
            "window_days": FIGURES_WINDOW.days,
            "decided": figures.decided,
            "p50_minutes": _minutes_of(figures.p50_s),
            "p95_minutes": _minutes_of(figures.p95_s),
            "within_target_pct": figures.within_pct,
            "extended_decided": figures.extended_decided,
            "extended_within_target_pct": figures.extended_within_pct,
            "days": [
                {"day": d.day, "decided": d.decided, "within_target_pct": round(d.within_pct, 1)}
                for d in figures.days
            ],
        },
    }


def _not_covered(commitment: TierCommitment) -> list[str]:
    items = []
    if commitment.extended_words:
        items.append(
            f"Batches over {commitment.extended_over_messages} messages: they have the extended "
            "commitment instead, and their quote says so when they are created"
        )
    items.append("Time before a batch enters review (generation, validation) and after the "
                 "decision (sending)")
    items.append("A batch you recall or that comes back to review starts a new review")
    return items


def _minutes(delta: timedelta) -> int:
    return round(delta.total_seconds() / 60)


def _minutes_of(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 1)
