"""The pipeline's RQ jobs: ids in, one stage's services called, safe to run twice.

Queues: generate, validate, send (one per stage). Services enqueue these by dotted path after
their transaction commits; nothing here holds state between runs.
"""

from apps.generation.services import batch_generate
from apps.review.services import batch_route
from apps.sending.services import batch_send
from apps.validation.services import batch_validate


def generate_batch(batch_id: int) -> None:
    batch_generate(batch_id=batch_id)


def validate_batch(batch_id: int) -> None:
    # Two steps, each idempotent: a retry after the first re-validates, then routes.
    batch_validate(batch_id=batch_id)
    batch_route(batch_id=batch_id)


def send_batch(batch_id: int) -> None:
    batch_send(batch_id=batch_id)


def sweep_stuck_work() -> dict[str, int]:
    # Imported here: the sweeper enqueues jobs of this module by dotted path.
    from apps.pipeline.sweeper import sweep

    return sweep()
