"""Protecting the sender's reputation: per-domain rate limits shared by every worker (Redis
counters), per-client send windows, and the bounce breaker.

The rate limit is one Lua script (a sliding minute and a UTC-day counter), so the check and
the count are one atomic step however many workers ask, on one clock (Redis's).
"""

import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from apps.core.audit import AuditAction, record_event
from apps.core.models import (
    Batch,
    BatchStatus,
    Campaign,
    DeliveryAttempt,
    Finding,
    Message,
    SendStatus,
)
from apps.core.transitions import try_move_batch
from apps.sending.models import WEEKDAYS, DomainRateLimit, SendWindow

# A sliding minute (a sorted set of the sends in the last minute, on Redis's own clock, which
# every worker shares) and a daily counter. KEYS: minute set, day counter. ARGV: per-minute cap,
# per-day cap (0 = none), the minute's length in seconds, how many sends are wanted, a unique
# prefix for this reservation's members. Counts as many as both caps allow, up to the number
# wanted, and returns {0, how many} ({0, n} members PREFIX:1 … PREFIX:n); {1, seconds to wait}
# when the minute is full, {2} when the day is.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local per_minute, per_day, window = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local granted = tonumber(ARGV[4])
if per_day > 0 then
  local left = per_day - tonumber(redis.call('GET', KEYS[2]) or '0')
  if left <= 0 then return {2} end
  granted = math.min(granted, left)
end
if per_minute > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
  local free = per_minute - redis.call('ZCARD', KEYS[1])
  if free <= 0 then
    local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
    return {1, tostring(tonumber(oldest[2]) + window - now)}
  end
  granted = math.min(granted, free)
  for i = 1, granted do redis.call('ZADD', KEYS[1], now, ARGV[5] .. ':' .. i) end
  redis.call('EXPIRE', KEYS[1], math.ceil(window) + 1)
end
redis.call('INCRBY', KEYS[2], granted); redis.call('EXPIRE', KEYS[2], 90000)
return {0, granted}
"""
# Gives back the last COUNT members of a reservation (sends that did not happen). KEYS as above;
# ARGV: the reservation's prefix, how many it got, how many to give back.
_GIVE_BACK = """
local got, back = tonumber(ARGV[2]), tonumber(ARGV[3])
for i = got - back + 1, got do redis.call('ZREM', KEYS[1], ARGV[1] .. ':' .. i) end
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('DECRBY', KEYS[2], back) end
return back
"""
MINUTE_FULL, DAY_FULL = 1, 2


@dataclass(frozen=True)
class Limit:
    domain: str
    per_minute: int  # 0: no cap
    per_day: int

    @property
    def capped(self) -> bool:
        return bool(self.per_minute or self.per_day)


def sending_domain(sender_email: str) -> str:
    return sender_email.rpartition("@")[2].strip().lower()


def limit_for(sender_email: str) -> Limit:
    domain = sending_domain(sender_email)
    row = DomainRateLimit.objects.filter(domain__iexact=domain).first()
    if row is None:
        return Limit(domain, settings.SEND_DEFAULT_PER_MINUTE, settings.SEND_DEFAULT_PER_DAY)
    return Limit(domain, row.per_minute or 0, row.per_day or 0)


class DailyLimitReached(Exception):
    """The sending domain used up today's quota: stop; the sweeper resumes tomorrow."""


@dataclass
class Slots:
    """Sends a domain may make now, counted in Redis: `granted` of them (unlimited when the
    domain has no cap). Give back what was not used, so that it counts for nothing."""

    limit: Limit
    granted: int
    keys: tuple[str, str] | None = None
    prefix: str = ""

    def give_back(self, unused: int) -> None:
        unused = min(unused, self.granted)
        if unused <= 0 or self.keys is None:
            return
        _redis().register_script(_GIVE_BACK)(
            keys=list(self.keys), args=[self.prefix, self.granted, unused]
        )
        self.granted -= unused


def take_send_slots(limit: Limit, wanted: int) -> Slots:
    """Wait until the domain may send at least one more message, and count up to `wanted`
    (one Redis call for a whole group of sends). Raises DailyLimitReached when today's quota
    is gone."""
    if not limit.capped:
        return Slots(limit, wanted)
    take = _redis().register_script(_TAKE)
    window = settings.SEND_RATE_MINUTE_SECONDS
    while True:
        day = time.strftime("%Y%m%d", time.gmtime())
        keys = (f"outbound:rate:{limit.domain}:minute", f"outbound:rate:{limit.domain}:d:{day}")
        prefix = uuid.uuid4().hex
        verdict = take(
            keys=list(keys), args=[limit.per_minute, limit.per_day, window, wanted, prefix]
        )
        if int(verdict[0]) == 0:
            return Slots(limit, int(verdict[1]), keys, prefix)
        if int(verdict[0]) == DAY_FULL:
            raise DailyLimitReached(f"{limit.domain} reached its {limit.per_day} messages today")
        time.sleep(max(0.01, float(verdict[1])))  # until the oldest send leaves the minute


def take_send_slot(limit: Limit) -> None:
    """One send's slot (see take_send_slots)."""
    take_send_slots(limit, 1)


def _redis():
    import django_rq

    return django_rq.get_connection("send")


def window_open(client_id: int, now: datetime) -> bool:
    window = SendWindow.objects.filter(client_id=client_id).first()
    if window is None:
        return True
    local = now.astimezone(ZoneInfo(window.time_zone))
    day = WEEKDAYS.split(",")[local.weekday()]
    return day in window.day_list() and window.start <= local.time() < window.end


def hard_failure_rate(batch_id: int) -> tuple[int, int]:
    """(hard failures, attempts with a verdict) in the batch. Hard failures are the 5xx replies
    at send time plus what came back later (apps/deliverability: a relay answers 250 and the
    bounce follows as a DSN or a webhook event): each hard bounce once, each complaint twice (a
    complaint costs the domain more than a bounce)."""
    counts = DeliveryAttempt.objects.filter(message__batch_id=batch_id).aggregate(
        attempts=Count("pk", filter=Q(outcome__in=[SendStatus.SENT, SendStatus.FAILED])),
        hard=Count("pk", filter=Q(outcome=SendStatus.FAILED, smtp_code__gte=500)),
    )
    # Through the reverse relation, so sending does not import the app that reads the reports.
    late = Batch.objects.filter(pk=batch_id).aggregate(
        bounced=Count("bounce_events", filter=Q(bounce_events__kind="hard")),
        complained=Count("bounce_events", filter=Q(bounce_events__kind="complaint")),
    )
    return counts["hard"] + late["bounced"] + 2 * late["complained"], counts["attempts"]


def _past_threshold(hard: int, attempts: int) -> bool:
    return (attempts >= settings.BOUNCE_BREAKER_MIN_ATTEMPTS
            and hard * 100 > settings.BOUNCE_BREAKER_PERCENT * attempts)


class BounceWatch:
    """Counts a batch's verdicts as they come: this worker's own at once, the other workers'
    (and earlier runs') from the database, read at most every REFRESH_SECONDS (the query
    reads every attempt of the batch: a full count per chunk cost more than the chunk's
    sends). The breaker's own query runs only when the count says so, and decides on the
    database's exact count. Another worker's verdicts thus count here up to a second late; the
    worker that got them counts them at once, and once one worker pauses the batch, the others
    stop at their next send-time check."""

    REFRESH_SECONDS = 1.0

    def __init__(self, batch_id: int) -> None:
        self.batch_id = batch_id
        self.refresh()

    def refresh(self) -> None:
        self.hard, self.attempts = hard_failure_rate(self.batch_id)
        self.refreshed = time.monotonic()

    def refresh_if_stale(self) -> None:
        if time.monotonic() - self.refreshed >= self.REFRESH_SECONDS:
            self.refresh()

    def past_threshold_with(self, hard: int, attempts: int) -> bool:
        """Whether `hard` more hard failures in `attempts` more verdicts would take the count
        past the threshold (the SMTP pool's threads ask as verdicts come, without a query)."""
        return _past_threshold(self.hard + hard, self.attempts + attempts)

    def tripped(self, outcome: str, code: int | None, *, commit_pending) -> bool:
        """Count one verdict; past the threshold, commit what is pending (`commit_pending`)
        so the database sees it too, and let the breaker decide on the database's count."""
        if outcome not in (SendStatus.SENT, SendStatus.FAILED):
            return False
        self.attempts += 1
        self.hard += outcome == SendStatus.FAILED and (code or 0) >= 500
        if not _past_threshold(self.hard, self.attempts):
            return False
        commit_pending()
        return bounce_breaker(self.batch_id)


def bounce_breaker(batch_id: int) -> bool:
    """Past the threshold: pause the batch (back to the holding queue with findings that say
    why). True if it tripped now."""
    if not Batch.objects.filter(pk=batch_id, status=BatchStatus.SENDING).exists():
        return False  # nothing to pause (a late report about a finished batch): count nothing
    hard, attempts = hard_failure_rate(batch_id)
    if not _past_threshold(hard, attempts):
        return False
    reason = (
        f"Sending paused: {hard} of {attempts} attempts ({hard * 100 / attempts:.1f} %) were "
        f"refused permanently (5xx), bounced or drew complaints (counted twice), above the "
        f"{settings.BOUNCE_BREAKER_PERCENT} % threshold. "
        "Hard bounces hurt the sender's reputation: exclude or fix the refused addresses, "
        "then approve the rest again."
    )
    return _pause(batch_id, reason, {"hard_failures": hard, "attempts": attempts})


def domain_failure_rate(domain: str, now: datetime | None = None) -> tuple[int, int]:
    """(hard bounces + 2 × complaints, messages sent) over the messages the sending domain sent
    in the last BOUNCE_BREAKER_WINDOW_SECONDS, whichever batch they were in: the reports that
    came back about those very messages (a relay's late bounces and complaints)."""
    since = (now or timezone.now()) - timedelta(seconds=settings.BOUNCE_BREAKER_WINDOW_SECONDS)
    campaigns = Campaign.objects.filter(sender_email__iendswith=f"@{domain}")
    # Batches that may hold a send in the window (the message index leads with the batch).
    batches = Batch.objects.filter(campaign__in=campaigns).filter(
        Q(sent_at__isnull=True) | Q(sent_at__gte=since))
    # Through the reverse relation, so sending does not import the app that reads the reports.
    counts = Message.objects.filter(batch__in=batches, sent_at__gte=since).aggregate(
        sent=Count("pk", distinct=True),
        bounced=Count("bounce_events", filter=Q(bounce_events__kind="hard")),
        complained=Count("bounce_events", filter=Q(bounce_events__kind="complaint")),
    )
    return counts["bounced"] + 2 * counts["complained"], counts["sent"]


def domain_breaker(domain: str) -> list[int]:
    """Past the threshold over the domain's sliding window: pause every batch sending from it
    (each back to the holding queue, as the batch breaker does). The batches paused now."""
    sending = list(Batch.objects.filter(
        status=BatchStatus.SENDING, campaign__sender_email__iendswith=f"@{domain}"
    ).values_list("pk", flat=True)) if domain else []
    if not sending:
        return []  # nothing to pause: count nothing (a batch that starts later checks itself)
    hard, sent = domain_failure_rate(domain)
    if not _past_threshold(hard, sent):
        return []
    hours = settings.BOUNCE_BREAKER_WINDOW_SECONDS / 3600
    reason = (
        f"Sending paused for the whole sending domain {domain}: of the {sent} messages it sent "
        f"in the last {hours:g} h, {hard} came back as hard bounces or complaints (counted "
        f"twice), {hard * 100 / sent:.1f} %, above the {settings.BOUNCE_BREAKER_PERCENT} % "
        "threshold. Find out why before approving again: the domain's reputation is at stake."
    )
    return [batch_id for batch_id in sending
            if _pause(batch_id, reason, {"domain": domain, "hard_failures": hard,
                                         "sent_in_window": sent})]


def _pause(batch_id: int, reason: str, data: dict) -> bool:
    """sending → in review, with findings on the refused addresses and the audit event."""
    now = timezone.now()
    with transaction.atomic():
        if not try_move_batch(batch_id=batch_id, expected=BatchStatus.SENDING,
                              to=BatchStatus.IN_REVIEW, entered_review_at=now):
            return False
        refused = DeliveryAttempt.objects.filter(
            message__batch_id=batch_id, outcome=SendStatus.FAILED, smtp_code__gte=500
        ).select_related("message")
        Finding.objects.bulk_create(
            Finding(
                message=attempt.message,
                batch_id=batch_id,
                rule_code="bounce_breaker",
                severity="block",
                field="recipient",
                explanation=f"{reason} This address: {attempt.detail}",
            )
            for attempt in refused
        )
        record_event(
            actor=None, action=AuditAction.BATCH_PAUSED, at=now, batch_id=batch_id,
            from_state=BatchStatus.SENDING, to_state=BatchStatus.IN_REVIEW, reason=reason,
            data=data,
        )
    return True


def domain_paused(batch_id: int) -> bool:
    """At the start of a run: a batch whose sending domain is past the threshold is paused
    before it sends anything (True)."""
    email = Batch.objects.filter(pk=batch_id).values_list("campaign__sender_email", flat=True)
    domain = sending_domain(email.first() or "")
    return batch_id in domain_breaker(domain)
