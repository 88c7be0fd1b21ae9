"""Enqueueing pipeline jobs after commit, by dotted path.

Services name jobs by dotted path so that they never import the jobs module (jobs import
services, not the reverse). Job ids are deterministic per stage and object, so a second
enqueue of the same work replaces the first instead of running it twice side by side.
django-rq's on-commit mode covers `enqueue` only, not `enqueue_at`, so both go through
transaction.on_commit here.
"""

from datetime import datetime, timedelta

from django.db import transaction

from apps.core.embedded_redis import ensure_embedded_redis


def enqueue_after_commit(
    queue_name: str, func_path: str, object_id: int, *, at: datetime | None = None
) -> None:
    """Enqueue `func_path(object_id)` once the current transaction commits (at once outside
    one); with `at`, scheduled for that time (a worker started with the scheduler runs it)."""
    job_id = f"{func_path.rsplit('.', 1)[-1]}-{object_id}"
    if at is not None:
        at = not_before(at)

    def enqueue() -> None:
        import django_rq

        ensure_embedded_redis()
        queue = django_rq.get_queue(queue_name, commit_mode="auto")
        if at is None:
            queue.enqueue(func_path, object_id, job_id=job_id)
        else:
            queue.enqueue_at(at, func_path, object_id, job_id=job_id)

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
