"""Enqueueing chunk jobs after commit, with a bounded retry.

Like apps/core/queueing.py (by dotted path, deterministic job id, after commit), plus RQ's
Retry: a chunk that fails is tried again GENERATION_JOB_RETRIES times before the job gives up
and marks the batch failed (see apps/pipeline/jobs.py). A batch's generate jobs go in one
Redis pipeline (200 round trips cost seconds); the first goes alone, ahead, so a worker starts
writing while the rest are queued.
"""

from django.conf import settings
from django.db import transaction

from apps.core.embedded_redis import ensure_embedded_redis
from apps.core.queueing import PipelineJob


def _retry():
    from rq import Retry

    if not settings.GENERATION_JOB_RETRIES:
        return None
    return Retry(max=settings.GENERATION_JOB_RETRIES,
                 interval=settings.GENERATION_RETRY_INTERVAL_SECONDS)


def enqueue_chunk_jobs_after_commit(job: PipelineJob, chunk_ids: list[int]) -> None:
    def enqueue() -> None:
        import django_rq
        from rq import Queue

        ensure_embedded_redis()
        queue = django_rq.get_queue(job.queue, commit_mode="auto")
        first, rest = chunk_ids[0], chunk_ids[1:]
        queue.enqueue(job.path, first, job_id=job.job_id(first), retry=_retry())
        if rest:
            queue.enqueue_many([
                Queue.prepare_data(job.path, (chunk_id,), job_id=job.job_id(chunk_id),
                                   retry=_retry())
                for chunk_id in rest
            ])

    if chunk_ids:
        transaction.on_commit(enqueue)


def enqueue_chunk_job_after_commit(job: PipelineJob, chunk_id: int) -> None:
    enqueue_chunk_jobs_after_commit(job, [chunk_id])
