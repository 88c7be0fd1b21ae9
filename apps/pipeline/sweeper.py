"""The sweeper: the database is the source of truth, Redis only the doorbell.

Run periodically by RQ's cron scheduler (config/cron.py), it finds batches standing
still in a non-terminal state and rings the doorbell again: it enqueues the stage's existing,
idempotent job under that job's usual id, unless a job with that id is already waiting, running
or scheduled for a time still to come. So a Redis flush, a lost on-commit hook or a dead worker
delays work but never drops it. It also applies the send lease
(apps.sending.leases.expire_leases).

A job scheduled for a time that has passed is not live: only RQ's scheduler moves it to its
queue, and the process holding the scheduler's lock may have died (its lock outlives it by a
minute; the other workers look for it every WORKER_MAINTENANCE_INTERVAL_SECONDS). The sweeper
enqueues it now, so an approved batch starts at most a sweep interval after its grace window.

Each successful pass records its time in Redis (LAST_SWEEP_KEY) for /healthz.
"""

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from apps.core.embedded_redis import ensure_embedded_redis
from apps.core.models import Batch, BatchStatus
from apps.core.queueing import GENERATE_BATCH, SEND_BATCH, VALIDATE_BATCH, PipelineJob
from apps.deliverability.inbox import ring, waiting_events
from apps.deliverability.services import webhook_events_forget
from apps.sending.leases import expire_leases

log = logging.getLogger(__name__)

# stage → the job that moves a batch on from it
STAGE_JOBS: dict[str, PipelineJob] = {
    BatchStatus.GENERATING: GENERATE_BATCH,
    BatchStatus.VALIDATING: VALIDATE_BATCH,
    BatchStatus.APPROVED: SEND_BATCH,
    BatchStatus.SENDING: SEND_BATCH,
}
LIVE_JOB_STATES = {"queued", "started", "scheduled", "deferred"}
# A live scheduler moves a due job within a second; past this, nobody is moving it.
SCHEDULED_JOB_SLACK_SECONDS = 5
# When the last pass ended (Unix time), for /healthz (apps/health/views.py).
LAST_SWEEP_KEY = "outbound:sweeper:last_success"


def stuck_batches(now) -> list[tuple[int, str]]:
    """(batch id, status) of batches that should be moving. A batch younger than the grace
    period is left to the hook that just enqueued it; an approved batch with a window is left
    to the job scheduled for the window's end, for a few seconds after that end only."""
    settled = now - timedelta(seconds=settings.SWEEP_GRACE_SECONDS)
    overdue = now - timedelta(seconds=SCHEDULED_JOB_SLACK_SECONDS)
    early = Batch.objects.filter(
        status__in=[BatchStatus.GENERATING, BatchStatus.VALIDATING], created_at__lt=settled
    )
    approved = Batch.objects.filter(status=BatchStatus.APPROVED).filter(
        Q(send_not_before__isnull=True) | Q(send_not_before__lte=now)
    ).filter(
        Q(decided_at__isnull=True) | Q(decided_at__lt=settled)
        # A window that ended a while ago: waiting for SWEEP_GRACE_SECONDS after the decision
        # too would hold a batch with a short window up to a sweep interval longer.
        | Q(send_not_before__lt=overdue, send_not_before__gt=F("decided_at"))
    )
    # Sending with something still open; a batch whose job died after its last message is
    # finished by the job too.
    sending = Batch.objects.filter(status=BatchStatus.SENDING)
    rows = [*early.values_list("pk", "status"), *approved.values_list("pk", "status"),
            *sending.values_list("pk", "status")]
    return sorted(rows)


def _live(queue, job_id: str, now) -> bool:
    job = queue.fetch_job(job_id)
    if job is None:
        return False
    status = job.get_status(refresh=False)
    status = getattr(status, "value", status)
    if status == "started" and job.last_heartbeat is not None:
        # A killed worker leaves its job "started" until RQ notices (minutes): a job whose
        # heartbeat stopped is dead to us. Wrongly so at worst runs a second copy, which the
        # per-message claims make harmless.
        stale = now - timedelta(seconds=settings.SWEEP_STALE_JOB_SECONDS)
        return job.last_heartbeat >= stale
    if status == "scheduled":
        # Live only until its time (and the scheduler's slack) has passed: after that nobody
        # may be coming for it (see the module's docstring).
        due = _scheduled_for(queue, job_id)
        return due is not None and due >= now - timedelta(seconds=SCHEDULED_JOB_SLACK_SECONDS)
    return status in LIVE_JOB_STATES


def _scheduled_for(queue, job_id: str):
    """When RQ's scheduler is to move the job; None if it is in no scheduled registry."""
    from rq.exceptions import NoSuchJobError

    try:
        return queue.scheduled_job_registry.get_scheduled_time(job_id)
    except NoSuchJobError:
        return None


def sweep() -> dict[str, int]:
    """One pass. Returns counts, for the job's result and the tests."""
    import django_rq

    ensure_embedded_redis()
    now = timezone.now()
    counts = {"enqueued": 0, "already_queued": 0, **expire_leases(now=now),
              "webhook_events_forgotten": webhook_events_forget(now=now),
              "webhook_events_waiting": waiting_events(now=now)}
    if counts["webhook_events_waiting"]:
        # Webhook events left waiting (their job lost with Redis, or its worker killed): a job
        # for them whether or not the doorbell still looks rung.
        ring(force=True)
    for batch_id, status in stuck_batches(now):
        job = STAGE_JOBS[status]
        queue = django_rq.get_queue(job.queue, commit_mode="auto")
        job_id = job.job_id(batch_id)
        if _live(queue, job_id, now):
            counts["already_queued"] += 1
            continue
        log.info("sweeper: batch %s is %s with no job; enqueueing %s", batch_id, status, job_id)
        # An overdue scheduled job leaves the scheduled registry as it is enqueued, so a
        # scheduler coming back does not run it a second time (harmless, but for nothing).
        queue.scheduled_job_registry.remove(job_id)
        queue.enqueue(job.path, batch_id, job_id=job_id)
        counts["enqueued"] += 1
    django_rq.get_connection("send").set(LAST_SWEEP_KEY, time.time())
    return counts

