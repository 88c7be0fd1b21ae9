"""The sweeper: the database is the source of truth, Redis only the doorbell.

Run periodically by RQ's cron scheduler (config/cron.py), it finds batches standing
still in a non-terminal state and rings the doorbell again: it enqueues the stage's existing,
idempotent job under that job's usual id, unless a job with that id is already waiting, running
or scheduled. So a Redis flush, a lost on-commit hook or a dead worker delays work but never
drops it. It also applies the send lease (apps.sending.services.expire_leases).
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from apps.core.embedded_redis import ensure_embedded_redis
from apps.core.models import Batch, BatchStatus
from apps.sending.services import expire_leases

log = logging.getLogger(__name__)

# stage → (queue, job function by dotted path)
STAGE_JOBS = {
    BatchStatus.GENERATING: ("generate", "apps.pipeline.jobs.generate_batch"),
    BatchStatus.VALIDATING: ("validate", "apps.pipeline.jobs.validate_batch"),
    BatchStatus.APPROVED: ("send", "apps.pipeline.jobs.send_batch"),
    BatchStatus.SENDING: ("send", "apps.pipeline.jobs.send_batch"),
}
LIVE_JOB_STATES = {"queued", "started", "scheduled", "deferred"}


def job_id_for(func_path: str, batch_id: int) -> str:
    """The same id apps.core.queueing gives the job when a service enqueues it."""
    return f"{func_path.rsplit('.', 1)[-1]}-{batch_id}"


def stuck_batches(now) -> list[tuple[int, str]]:
    """(batch id, status) of batches that should be moving. A batch younger than the grace
    period is left to the hook that just enqueued it."""
    settled = now - timedelta(seconds=settings.SWEEP_GRACE_SECONDS)
    early = Batch.objects.filter(
        status__in=[BatchStatus.GENERATING, BatchStatus.VALIDATING], created_at__lt=settled
    )
    approved = Batch.objects.filter(status=BatchStatus.APPROVED).filter(
        Q(send_not_before__isnull=True) | Q(send_not_before__lte=now)
    ).filter(Q(decided_at__isnull=True) | Q(decided_at__lt=settled))
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
    return status in LIVE_JOB_STATES


def sweep() -> dict[str, int]:
    """One pass. Returns counts, for the job's result and the tests."""
    import django_rq

    ensure_embedded_redis()
    now = timezone.now()
    counts = {"enqueued": 0, "already_queued": 0, **expire_leases(now=now)}
    for batch_id, status in stuck_batches(now):
        queue_name, func_path = STAGE_JOBS[status]
        queue = django_rq.get_queue(queue_name, commit_mode="auto")
        job_id = job_id_for(func_path, batch_id)
        if _live(queue, job_id, now):
            counts["already_queued"] += 1
            continue
        log.info("sweeper: batch %s is %s with no job; enqueueing %s", batch_id, status, job_id)
        queue.enqueue(func_path, batch_id, job_id=job_id)
        counts["enqueued"] += 1
    return counts

