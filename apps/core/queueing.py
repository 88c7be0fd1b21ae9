"""Enqueueing pipeline jobs after commit, by dotted path.

Services name jobs by dotted path (the PipelineJob names below) so that they never import the
jobs module (jobs import services, not the reverse). Job ids are deterministic per stage and
object, so a second enqueue of the same work replaces the first instead of running it twice
side by side.
django-rq's on-commit mode covers `enqueue` only, not `enqueue_at`, so both go through
transaction.on_commit here.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction

from apps.core.embedded_redis import ensure_embedded_redis


@dataclass(frozen=True)
class PipelineJob:
    """A job of apps/pipeline/jobs.py as the stages and the sweeper enqueue it. Named here, in
    core, so that both sides import the name and neither imports the jobs module."""

    queue: str
    path: str  # the job function's dotted path
    # Its ids' prefix: one id per job and object. Kept when a function is renamed, so the
    # sweeper still recognises a job queued before the rename.
    key: str

    def job_id(self, object_id: int) -> str:
        return f"{self.key}-{object_id}"


GENERATE_BATCH = PipelineJob("generate", "apps.pipeline.jobs.generate_batch_job", "generate_batch")
GENERATE_CHUNK = PipelineJob("generate", "apps.pipeline.jobs.generate_chunk_job", "generate_chunk")
VALIDATE_BATCH = PipelineJob("validate", "apps.pipeline.jobs.validate_batch_job", "validate_batch")
VALIDATE_CHUNK = PipelineJob("validate", "apps.pipeline.jobs.validate_chunk_job", "validate_chunk")
SEND_BATCH = PipelineJob("send", "apps.pipeline.jobs.send_batch_job", "send_batch")


def enqueue_after_commit(job: PipelineJob, object_id: int, *, at: datetime | None = None) -> None:
    """Enqueue `job(object_id)` once the current transaction commits (at once outside one);
    with `at`, scheduled for that time (a worker started with the scheduler runs it)."""
    job_id = job.job_id(object_id)
    if at is not None:
        at = not_before(at)

    def enqueue() -> None:
        import django_rq

        ensure_embedded_redis()
        queue = django_rq.get_queue(job.queue, commit_mode="auto")
        if at is None:
            queue.enqueue(job.path, object_id, job_id=job_id)
        else:
            queue.enqueue_at(at, job.path, object_id, job_id=job_id)

    transaction.on_commit(enqueue)


def not_before(at: datetime) -> datetime:
    """`at` rounded up to the whole second. RQ's scheduled registry keeps whole seconds, cut
    down (12:00:00.7 is stored as 12:00:00), and its scheduler moves a job once the clock, cut
    down too, reaches that: a job could run up to a second before `at`. A send job that early
    finds its batch still inside the grace window, does nothing and leaves the batch to the
    sweeper, a minute later. Rounded up, it runs at `at` or after, never before."""
    if at.microsecond:
        return at.replace(microsecond=0) + timedelta(seconds=1)
    return at
