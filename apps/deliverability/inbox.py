"""The webhook inbox: an event is stored before its relay is answered 200, and applied later, in
batches, by a job.

- Storing is one INSERT keyed by the relay's event id (WebhookEvent.key, unique), so the
  request path does no lookups and a replay is refused atomically (ON CONFLICT DO NOTHING).
- The job is coalesced by a Redis doorbell (SET NX with a TTL): the first event after the job
  started rings it and enqueues one job; the others find it rung. The job silences the doorbell
  before it claims rows, so an event committed after the job's last claim rings it again.
- Applying claims rows with SELECT … FOR UPDATE SKIP LOCKED (PostgreSQL), applies their reports
  with reports_apply (each report once, by its BounceEvent key) and marks them applied in the
  same transaction: a crashed applier leaves its rows waiting, never half-applied.
- The sweeper enqueues the job for rows left waiting (Redis flushed, a worker killed).
"""

import logging
from datetime import datetime, timedelta
from functools import cache

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from redis import Redis

from apps.core.bulk import insert_returning
from apps.core.embedded_redis import ensure_embedded_redis
from apps.deliverability.models import WebhookEvent
from apps.deliverability.services import Report, reports_apply

log = logging.getLogger(__name__)
QUEUE = "validate"
JOB = "apps.deliverability.jobs.apply_webhook_events"
DOORBELL = "outbound:webhook-inbox:doorbell"
# A rung doorbell whose job was lost (Redis flushed after SET) is silenced by this TTL; the
# sweeper finds the rows meanwhile.
DOORBELL_SECONDS = 60
CLAIM = 500


def webhook_event_store(*, key: str, source: str, payload: dict) -> bool:
    """Store an event for applying; False if an event with its key was stored before (a replay,
    or the relay's retry of it). The applying job is enqueued after commit.

    One statement (INSERT … ON CONFLICT DO NOTHING RETURNING; on the request path it commits on
    its own): a replay is told by the row it did not write, with no transaction or savepoint
    to open and roll back."""
    stored = insert_returning(
        WebhookEvent, ("key", "source", "payload", "received_at"),
        [(key[:300], source, payload, timezone.now())],
        returning=("id",))
    if not stored:
        return False
    transaction.on_commit(ring)
    return True


def ring(*, force: bool = False) -> bool:
    """Enqueue the applying job unless one is already waiting to start. True if enqueued."""
    import django_rq

    ensure_embedded_redis()  # (nothing to do, unless Redis is the embedded one)
    if not _doorbell().set(DOORBELL, "1", nx=True, ex=DOORBELL_SECONDS) and not force:
        return False
    django_rq.get_queue(QUEUE, commit_mode="auto").enqueue(JOB)
    return True


def silence() -> None:
    ensure_embedded_redis()
    _doorbell().delete(DOORBELL)


@cache
def _doorbell() -> Redis:
    """One Redis client per process for the doorbell, which every stored event rings: asked
    each time, django-rq builds a new client with a new connection. (redis-py's pool opens new
    connections in a forked child.)"""
    import django_rq

    return django_rq.get_connection(QUEUE)


def webhook_events_apply(*, limit: int = CLAIM) -> int:
    """Apply every waiting event, `limit` at a time. How many events were applied."""
    total = 0
    while True:
        applied = _apply_claimed(limit)
        total += applied
        if applied < limit:
            return total


def _apply_claimed(limit: int) -> int:
    from apps.deliverability.webhooks import reports_of

    now = timezone.now()
    with transaction.atomic():
        # Another applier's rows are skipped, not waited for: each row is applied by one.
        rows = list(WebhookEvent.objects.select_for_update(skip_locked=True)
                    .filter(applied_at__isnull=True).order_by("pk")[:limit])
        reports: list[Report] = []
        for row in rows:
            reports += reports_of(row)
        reports_apply(reports=reports)
        WebhookEvent.objects.filter(pk__in=[row.pk for row in rows]).update(applied_at=now)
    return len(rows)


def waiting_events(*, now: datetime) -> int:
    """Events stored more than SWEEP_GRACE_SECONDS ago and not applied yet."""
    settled = now - timedelta(seconds=settings.SWEEP_GRACE_SECONDS)
    return WebhookEvent.objects.filter(applied_at__isnull=True, received_at__lt=settled).count()
