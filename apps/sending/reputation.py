"""Protecting the sender's reputation: per-domain rate limits shared by every worker (Redis
counters), per-client send windows, and the bounce breaker.

The rate limit is one Lua script (a sliding minute and a UTC-day counter), so the check and
the count are one atomic step however many workers ask, on one clock (Redis's).
"""

import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from apps.core.audit import record_event
from apps.core.models import BatchStatus, DeliveryAttempt, Finding, SendStatus
from apps.core.transitions import try_move_batch
from apps.sending.models import WEEKDAYS, DomainRateLimit, SendWindow

# A sliding minute (a sorted set of the sends in the last minute, on Redis's own clock, which
# every worker shares) and a daily counter. KEYS: minute set, day counter. ARGV: per-minute cap,
# per-day cap (0 = none), the minute's length in seconds, a unique member for this send.
# Returns {0} when a send may go now (and counts it), {1, seconds to wait} when the minute is
# full, {2} when the day is.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local per_minute, per_day, window = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if per_day > 0 and tonumber(redis.call('GET', KEYS[2]) or '0') >= per_day then return {2} end
if per_minute > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
  if redis.call('ZCARD', KEYS[1]) >= per_minute then
    local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
    return {1, tostring(tonumber(oldest[2]) + window - now)}
  end
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('EXPIRE', KEYS[1], math.ceil(window) + 1)
end
redis.call('INCR', KEYS[2]); redis.call('EXPIRE', KEYS[2], 90000)
return {0}
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


def limit_for(sender_email: str) -> Limit:
    domain = sender_email.rpartition("@")[2].strip().lower()
    row = DomainRateLimit.objects.filter(domain__iexact=domain).first()
    if row is None:
        return Limit(domain, settings.SEND_DEFAULT_PER_MINUTE, settings.SEND_DEFAULT_PER_DAY)
    return Limit(domain, row.per_minute or 0, row.per_day or 0)


class DailyLimitReached(Exception):
    """The sending domain used up today's quota: stop; the sweeper resumes tomorrow."""


def take_send_slot(limit: Limit) -> None:
    """Wait until the domain may send one more message, and count it. Raises
    DailyLimitReached when today's quota is gone."""
    if not limit.capped:
        return
    import django_rq

    redis = django_rq.get_connection("send")
    take = redis.register_script(_TAKE)
    window = settings.SEND_RATE_MINUTE_SECONDS
    while True:
        day = time.strftime("%Y%m%d", time.gmtime())
        keys = [f"outbound:rate:{limit.domain}:minute", f"outbound:rate:{limit.domain}:d:{day}"]
        verdict = take(keys=keys, args=[limit.per_minute, limit.per_day, window, uuid.uuid4().hex])
        if int(verdict[0]) == 0:
            return
        if int(verdict[0]) == DAY_FULL:
            raise DailyLimitReached(f"{limit.domain} reached its {limit.per_day} messages today")
        time.sleep(max(0.01, float(verdict[1])))  # until the oldest send leaves the minute


def window_open(client_id: int, now: datetime) -> bool:
    window = SendWindow.objects.filter(client_id=client_id).first()
    if window is None:
        return True
    local = now.astimezone(ZoneInfo(window.time_zone))
    day = WEEKDAYS.split(",")[local.weekday()]
    return day in window.day_list() and window.start <= local.time() < window.end


def hard_failure_rate(batch_id: int) -> tuple[int, int]:
    """(hard failures, attempts with a verdict) in the batch."""
    counts = DeliveryAttempt.objects.filter(message__batch_id=batch_id).aggregate(
        attempts=Count("pk", filter=Q(outcome__in=[SendStatus.SENT, SendStatus.FAILED])),
        hard=Count("pk", filter=Q(outcome=SendStatus.FAILED, smtp_code__gte=500)),
    )
    return counts["hard"], counts["attempts"]


def _past_threshold(hard: int, attempts: int) -> bool:
    return (attempts >= settings.BOUNCE_BREAKER_MIN_ATTEMPTS
            and hard * 100 > settings.BOUNCE_BREAKER_PERCENT * attempts)


class BounceWatch:
    """Counts a batch's verdicts as they come, read afresh from the database at every claim
    (other workers send too), so the breaker's query runs only when the count says so."""

    def __init__(self, batch_id: int) -> None:
        self.batch_id = batch_id
        self.refresh()

    def refresh(self) -> None:
        self.hard, self.attempts = hard_failure_rate(self.batch_id)

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
    hard, attempts = hard_failure_rate(batch_id)
    if not _past_threshold(hard, attempts):
        return False
    now = timezone.now()
    reason = (
        f"Sending paused: {hard} of {attempts} attempts ({hard * 100 / attempts:.1f} %) were "
        f"refused permanently (5xx), above the {settings.BOUNCE_BREAKER_PERCENT} % threshold. "
        "Hard bounces hurt the sender's reputation: exclude or fix the refused addresses, "
        "then approve the rest again."
    )
    with transaction.atomic():
        if not try_move_batch(batch_id=batch_id, expected=BatchStatus.SENDING,
                              to=BatchStatus.IN_REVIEW, entered_review_at=now):
            return False
        refused = DeliveryAttempt.objects.filter(
            message__batch_id=batch_id, outcome=SendStatus.FAILED, smtp_code__gte=500
        ).select_related("message")
        Finding.objects.bulk_create(
            Finding(message=attempt.message, batch_id=batch_id, rule_code="bounce_breaker", severity="block",
                    field="recipient", explanation=f"{reason} This address: {attempt.detail}")
            for attempt in refused
        )
        record_event(
            actor=None, action="batch_paused", at=now, batch_id=batch_id,
            from_state=BatchStatus.SENDING, to_state=BatchStatus.IN_REVIEW, reason=reason,
            data={"hard_failures": hard, "attempts": attempts},
        )
    return True

