"""Moving a batch from one state to the next with a conditional update.

`UPDATE … WHERE id = %s AND status = <expected>` changes exactly one row for the one caller
that wins; everyone else changes none. This works the same on PostgreSQL and SQLite (where
select_for_update is silently ignored). On PostgreSQL the winner also holds the row lock until
its transaction ends, so a competing transition waits and then finds the state moved on.
"""

from apps.core.errors import TransitionConflict
from apps.core.models import AuditEvent, Batch


def try_move_batch(*, batch_id: int, expected: str, to: str, **fields: object) -> bool:
    """For the pipeline's own moves: losing means another copy of the job already did it."""
    return Batch.objects.filter(pk=batch_id, status=expected).update(status=to, **fields) == 1


def move_batch(*, batch_id: int, expected: str, to: str, **fields: object) -> None:
    """For a person's actions: losing the race raises, so the person is told."""
    if not try_move_batch(batch_id=batch_id, expected=expected, to=to, **fields):
        actual = Batch.objects.filter(pk=batch_id).values_list("status", flat=True).first()
        raise TransitionConflict(
            f"Batch {batch_id}", expected, actual or "", by=last_actor(batch_id)
        )


def last_actor(batch_id: int) -> str:
    """Who moved the batch last and when ("rita at 14:03 UTC"), for the loser of a race."""
    event = (
        AuditEvent.objects.filter(batch_id=batch_id).exclude(to_state="")
        .order_by("-created_at", "-pk").values("actor_label", "created_at").first()
    )
    if event is None:
        return ""
    return f"{event['actor_label']} (at {event['created_at']:%H:%M:%S} UTC)"
