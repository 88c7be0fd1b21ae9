"""Enqueueing chunk jobs after commit, with a bounded retry.

Like apps/core/queueing.py (by dotted path, deterministic job id, after commit), plus RQ's
Retry: a chunk that fails is tried again GENERATION_JOB_RETRIES times before the job gives up
and marks the batch failed (see apps/pipeline/jobs.py).
"""

from django.conf import settings
from django.db import transaction

from apps.core.embedded_redis import ensure_embedded_redis


def enqueue_chunk_job_after_commit(queue_name: str, func_path: str, chunk_id: int) -> None:
    job_id = f"{func_path.rsplit('.', 1)[-1]}-{chunk_id}"

    def enqueue() -> None:
        import django_rq
        from rq import Retry

        ensure_embedded_redis()
        queue = django_rq.get_queue(queue_name, commit_mode="auto")
        retry = None
        if settings.GENERATION_JOB_RETRIES:
            retry = Retry(max=settings.GENERATION_JOB_RETRIES,
                          interval=settings.GENERATION_RETRY_INTERVAL_SECONDS)
        queue.enqueue(func_path, chunk_id, job_id=job_id, retry=retry)

    transaction.on_commit(enqueue)
