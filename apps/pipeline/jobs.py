"""The pipeline's RQ jobs: ids in, one stage's services called, safe to run twice.

Queues: generate, validate, send (one per stage). Services enqueue these by dotted path after
their transaction commits; nothing here holds state between runs.

Each job's name ends in _job, so it is not read for the service it calls (send_batch_job calls
batch_send). apps/core/queueing.py names them for the code that enqueues them.

Chunk jobs (generate_chunk_job, validate_chunk_job) are enqueued with a bounded RQ Retry; on the
last attempt a failure marks the batch failed with the reason before the job fails for RQ too.
generate_chunk_job writes and validates its chunk; validate_chunk_job validates a chunk that was
written without (by generate_batch_job, or by a version that had a job per step).
"""

from contextlib import contextmanager

from rq import get_current_job

from apps.generation.selectors import repeated_addresses
from apps.generation.services import (
    batch_generate,
    chunk_fail,
    chunk_generate,
    chunk_message_ids,
    chunk_validated,
)
from apps.review.services import batch_route
from apps.sending.services import batch_send
from apps.validation.services import (
    batch_duplicates_recheck,
    batch_recontact_recheck,
    batch_validate,
    messages_validate,
    new_messages_judge,
)


def generate_batch_job(batch_id: int) -> None:
    # Kept for jobs enqueued before chunking: writes every pending chunk in this one job.
    batch_generate(batch_id=batch_id)


def generate_chunk_job(chunk_id: int) -> None:
    # Written and validated in one job, then stored in one transaction: no second job to fork,
    # nothing read back; the chunk is reviewable when this job ends.
    with _failing_batch_on_last_attempt(chunk_id):
        ready = chunk_generate(chunk_id=chunk_id, validate=new_messages_judge)
    if ready:
        _route_generated(ready)


def validate_chunk_job(chunk_id: int) -> None:
    with _failing_batch_on_last_attempt(chunk_id):
        messages_validate(message_ids=chunk_message_ids(chunk_id=chunk_id))
        ready = chunk_validated(chunk_id=chunk_id)
    if ready:
        _route_generated(ready)


def _route_generated(batch_id: int) -> None:
    # Chunks validated side by side cannot see each other's addresses: the duplicate rule
    # looks at the whole batch once before it is routed (a retry looks again: harmless). So
    # does the re-contact cap: other batches may have gone live since a chunk was judged.
    batch_duplicates_recheck(batch_id=batch_id, repeated=repeated_addresses(batch_id=batch_id))
    batch_recontact_recheck(batch_id=batch_id)
    batch_route(batch_id=batch_id)


def validate_batch_job(batch_id: int) -> None:
    # Two steps, each idempotent: a retry after the first re-validates, then routes.
    batch_validate(batch_id=batch_id)
    batch_route(batch_id=batch_id)


def send_batch_job(batch_id: int) -> None:
    batch_send(batch_id=batch_id)


def sweep_stuck_work() -> dict[str, int]:
    # Imported here: the sweeper enqueues jobs of this module by dotted path.
    from apps.pipeline.sweeper import sweep

    return sweep()


# The names these jobs had before: RQ stores a job's dotted path, and a job queued, scheduled
# or waiting for a retry under the old name when a new version is deployed still finds its
# function. Their ids do not change (apps/core/queueing.py keeps the old prefix).
generate_batch = generate_batch_job
generate_chunk = generate_chunk_job
validate_chunk = validate_chunk_job
validate_batch = validate_batch_job
send_batch = send_batch_job


@contextmanager
def _failing_batch_on_last_attempt(chunk_id: int):
    """RQ retries a failed chunk job while retries are left; the last failure (or one outside
    a worker) marks the batch failed, so it is never half-done and silent."""
    try:
        yield
    except Exception as exc:
        job = get_current_job()
        if job is None or not job.retries_left:
            chunk_fail(chunk_id=chunk_id, reason=f"{type(exc).__name__}: {exc}")
        raise
