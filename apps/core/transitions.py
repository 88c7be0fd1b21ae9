"""Moving a batch from one state to the next with a conditional update.

`UPDATE … WHERE id = %s AND status = <expected>` changes exactly one row for the one caller
that wins; everyone else changes none and is told. This works the same on PostgreSQL and
SQLite (where select_for_update is silently ignored).
"""

from apps.core.errors import TransitionConflict
from apps.core.models import Batch


def move_batch(*, batch_id: int, expected: str, to: str, **fields) -> None:
    changed = Batch.objects.filter(pk=batch_id, status=expected).update(status=to, **fields)
    if changed != 1:
        actual = Batch.objects.filter(pk=batch_id).values_list("status", flat=True).first()
        raise TransitionConflict(f"Batch {batch_id}", expected, actual or "")
