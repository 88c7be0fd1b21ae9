"""Reads of the planning room: who is expected on shift, and what they can review per hour."""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import Avg, Count, Max, OuterRef, Subquery
from django.db.models.functions import Coalesce, ExtractHour, ExtractIsoWeekDay
from django.utils import timezone

from apps.core.models import Batch, BatchStatus, Message
from apps.planning.commitments import commitment_for
from apps.planning.models import BatchQuote
from apps.planning.quotes import (
    CALIBRATION_SAMPLES,
    QUOTE_HORIZON,
    ArrivalForecast,
    Calibration,
    Estimate,
    QuoteInputs,
    Waiting,
    calibration_ratio,
    calibration_scale,
    estimate,
    median_pickup,
)
from apps.planning.rates import HandlingRates, measured_rates
from apps.planning.roster import hour_start, load_roster
from apps.review.models import ClaimSpan, ReviewRound, SlaTarget
from apps.review.selectors import QueueFilters, queue_batches, sla_targets
from apps.review.services import claim_idle

# Arrivals and calibration come from this much recent history.
ARRIVAL_WINDOW = timedelta(days=28)
# Pick-up times come from this much recent history; longer gaps are breaks.
PICKUP_WINDOW = timedelta(days=7)
PICKUP_LONGEST = timedelta(minutes=30)
# The id a batch not yet created is quoted under: after every real one, as its id will be.
NEWCOMER_ID = 2**62
# For a tier an operator has set no target for.
DEFAULT_TARGET = timedelta(hours=4)


@dataclass(frozen=True)
class HourCapacity:
    """One UTC hour of the roster: who is expected on shift and how many messages they can
    review in it at their measured handling rates."""

    start: datetime
    reviewer_ids: tuple[int, ...]
    messages_per_hour: float

    @property
    def reviewers(self) -> int:
        return len(self.reviewer_ids)


def expected_reviewers(*, at: datetime) -> list[AbstractBaseUser]:
    """The users the roster expects to be reviewing during the hour containing `at`."""
    roster = load_roster(start=at, end=at)
    ids = roster.on_shift(at)
    return list(get_user_model().objects.filter(pk__in=ids).order_by("username"))


def capacity_by_hour(
    *, start: datetime, hours: int, rates: HandlingRates | None = None
) -> list[HourCapacity]:
    """The roster's capacity for each of the `hours` UTC hours from the one containing `start`."""
    first = hour_start(start)
    roster = load_roster(start=first, end=first + timedelta(hours=hours))
    rates = rates if rates is not None else measured_rates(until=start)
    capacity = []
    for offset in range(hours):
        at = first + timedelta(hours=offset)
        ids = tuple(sorted(roster.on_shift(at)))
        per_hour = sum(3600 / rates.seconds_per_message(reviewer_id) for reviewer_id in ids)
        capacity.append(HourCapacity(start=at, reviewer_ids=ids, messages_per_hour=per_hour))
    return capacity


# --- Quotes -----------------------------------------------------------------------------------

def live_inputs(*, now: datetime) -> QuoteInputs:
    """What a quote reads, as the database has it now: the queue in the reviewers' order, the
    roster for the horizon, measured rates, the arrival forecast and each tier's calibration."""
    targets = sla_targets()
    return QuoteInputs(
        now=now,
        queue=_live_queue(now=now, targets=targets),
        roster=load_roster(start=now, end=now + QUOTE_HORIZON),
        rates=measured_rates(until=now),
        arrivals=arrival_forecast(until=now),
        calibration=live_calibration(until=now),
        targets={tier: target.target for tier, target in targets.items()},
        idle_since=_idle_since(now=now),
        pickup=median_pickup(pickup_gaps(until=now)),
    )


def pickup_gaps(*, until: datetime) -> list[float]:
    """Seconds from a reviewer being free to their next claim, over the last PICKUP_WINDOW:
    free means their previous hold ended, or the batch entered review, whichever is later.
    Gaps over PICKUP_LONGEST are breaks, not pick-ups."""
    spans = (
        ClaimSpan.objects.filter(started_at__gte=until - PICKUP_WINDOW, started_at__lte=until)
        .order_by("reviewer_id", "started_at")
        .values_list("reviewer_id", "started_at", "ended_at", "round__entered_at")
    )
    gaps: list[float] = []
    previous: dict[int, datetime | None] = {}
    for reviewer_id, started, ended, entered in spans:
        free = max(filter(None, (previous.get(reviewer_id), entered)))
        gap = (started - free).total_seconds()
        if 0 <= gap <= PICKUP_LONGEST.total_seconds():
            gaps.append(gap)
        previous[reviewer_id] = ended
    return gaps


def _idle_since(*, now: datetime) -> dict[int, datetime]:
    """When each reviewer last let go of a batch (decided, released or lapsed), today."""
    return dict(
        ClaimSpan.objects.filter(ended_at__gte=now - timedelta(days=1), ended_at__lte=now)
        .values("reviewer_id").annotate(last=Max("ended_at")).values_list("reviewer_id", "last")
    )


def _live_queue(*, now: datetime, targets: dict[str, SlaTarget]) -> list[Waiting]:
    idle = claim_idle()
    rows = (
        queue_batches(filters=QueueFilters(), now=now, targets=targets)
        .annotate(size=_included_messages())
        .values_list(
            "pk", "client__tier", "deadline", "entered_review_at", "size", "claim__holder_id",
            "claim__claimed_at", "claim__last_active_at",
        )
    )
    queue = []
    for pk, tier, deadline, entered, size, holder, claimed, active in rows:
        live = holder is not None and active is not None and active >= now - idle
        queue.append(Waiting(
            batch_id=pk, tier=tier, deadline=deadline, entered_at=entered or now, messages=size,
            held_by=holder if live else None, held_since=claimed if live else None,
        ))
    return queue


def _included_messages() -> Coalesce:
    """The outer batch's included messages, as a correlated subquery (a join would multiply
    the batch rows)."""
    counted = (
        Message.objects.filter(batch=OuterRef("pk"), excluded=False).order_by().values("batch")
        .annotate(n=Count("pk")).values("n")
    )
    return Coalesce(Subquery(counted), 0)


def arrival_forecast(*, until: datetime) -> ArrivalForecast:
    """Batches entering review per hour of the week, per tier, over the ARRIVAL_WINDOW before
    `until`; and the mean size of the batches of each tier decided in that window."""
    since = until - ARRIVAL_WINDOW
    weeks = ARRIVAL_WINDOW / timedelta(weeks=1)
    rounds = ReviewRound.objects.filter(entered_at__gte=since, entered_at__lt=until)
    forecast = ArrivalForecast()
    for tier, weekday, hour, count in (
        rounds.annotate(weekday=ExtractIsoWeekDay("entered_at"), hour=ExtractHour("entered_at"))
        .values("batch__client__tier", "weekday", "hour").annotate(n=Count("pk"))
        .values_list("batch__client__tier", "weekday", "hour", "n")
    ):
        forecast.per_hour[(tier, weekday, hour)] = count / weeks
    decided = ReviewRound.objects.filter(decided_at__gte=since, decided_at__lte=until)
    for tier, mean in (
        decided.values("batch__client__tier").annotate(mean=Avg("messages"))
        .values_list("batch__client__tier", "mean")
    ):
        forecast.mean_messages[tier] = float(mean or 0)
    return forecast


def live_calibration(*, until: datetime) -> Calibration:
    """Per tier and scale, real ÷ simulated working wait of the latest decided batches' first
    quotes."""
    decided = ReviewRound.objects.filter(
        batch_id=OuterRef("batch_id"), number=OuterRef("round_number"), decided_at__isnull=False
    ).values("decided_at")[:1]
    rows = (
        BatchQuote.objects.filter(first_simulated_seconds__gt=0, first_quoted_at__lt=until)
        .annotate(decided_at=Subquery(decided))
        .filter(decided_at__lt=until, decided_at__gte=until - ARRIVAL_WINDOW)
        .order_by("-decided_at")
        .values_list("batch__client__tier", "first_quoted_at", "decided_at",
                     "first_simulated_seconds", "first_off_shift_seconds")
    )
    ratios: dict[tuple[str, int], list[float]] = {}
    for tier, quoted_at, decided_at, working, off_shift in rows[: CALIBRATION_SAMPLES * 10]:
        if working is None:  # not selected (first_simulated_seconds__gt=0); for the type checker
            continue
        group = ratios.setdefault((tier, calibration_scale(working)), [])
        if len(group) < CALIBRATION_SAMPLES:
            group.append(calibration_ratio(
                actual_seconds=(decided_at - quoted_at).total_seconds(),
                working_seconds=working, off_shift=off_shift,
            ))
    return Calibration(ratios={key: group for key, group in ratios.items()})


def quote_for(*, batch: Batch, now: datetime | None = None) -> Estimate | None:
    """A fresh quote for a batch waiting in review; None for a batch in any other state."""
    if batch.status != BatchStatus.IN_REVIEW:
        return None
    inputs = live_inputs(now=now or timezone.now())
    mine = next((w for w in inputs.queue if w.batch_id == batch.pk), None)
    if mine is None:
        return None
    return _with_extended_note(estimate(inputs, mine), tier=mine.tier, messages=mine.messages)


def quote_for_new(*, size: int, tier: str, now: datetime | None = None) -> Estimate:
    """The quote for a batch about to join the queue (the API answers its creation with it)."""
    inputs = live_inputs(now=now or timezone.now())
    newcomer = Waiting(
        batch_id=NEWCOMER_ID, tier=tier, deadline=inputs.now + inputs.target(tier),
        entered_at=inputs.now, messages=size,
    )
    return _with_extended_note(estimate(inputs, newcomer), tier=tier, messages=size)


def _with_extended_note(quote: Estimate, *, tier: str, messages: int) -> Estimate:
    """Say up front when a batch's size puts it on the extended commitment."""
    commitment = commitment_for(tier=tier)
    if not commitment.is_extended(messages):
        return quote
    return replace(quote, explanation=f"{quote.explanation} {commitment.extended_words}")


@dataclass(frozen=True)
class ClientQuote:
    """The quote a client sees: the latest, when it was worked out and when it last moved."""

    expected_at: datetime
    position: int
    queue_length: int
    explanation: str
    quoted_at: datetime
    changed_at: datetime
    first_expected_at: datetime


def client_quote(*, batch: Batch, now: datetime | None = None) -> ClientQuote | None:
    """The worker's latest stored quote for this batch's stay in review; a fresh one while the
    worker has not stored one lately (just entered review, or no worker schedule running)."""
    if batch.status != BatchStatus.IN_REVIEW:
        return None
    now = now or timezone.now()
    stale = now - timedelta(seconds=3 * settings.QUOTE_REFRESH_SECONDS)
    stored = BatchQuote.objects.filter(batch=batch, computed_at__gte=stale).first()
    if stored is not None and (batch.entered_review_at or now) <= stored.first_quoted_at:
        return ClientQuote(
            stored.expected_at, stored.position, stored.queue_length, stored.explanation,
            stored.computed_at, stored.changed_at, stored.first_expected_at,
        )
    fresh = quote_for(batch=batch, now=now)
    if fresh is None:
        return None
    return ClientQuote(
        fresh.expected_at, fresh.position, fresh.queue_length, fresh.explanation, now, now,
        fresh.expected_at,
    )
