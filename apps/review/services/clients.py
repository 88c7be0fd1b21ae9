"""The client's side of the holding queue: withdrawing a batch that waits in review, and the
looks at it that apps/review/targets.py reads (withdrawals and chasing as the wait grows)."""

from django.db import connection, transaction
from django.utils import timezone

from apps.core.audit import Actor, AuditAction, record_event
from apps.core.errors import ServiceError
from apps.core.models import Batch, BatchStatus
from apps.core.transitions import move_batch
from apps.review.models import Claim, ReviewRound, StatusCheck
from apps.review.services.rounds import close_span, open_round


def _client_id_of(actor: Actor) -> int | None:
    """The client an actor acts for: a portal login's client, or an API token's."""
    # Both live in apps.portal, which this layer cannot import: read them by name.
    client_id: int | None
    if hasattr(actor, "audit_label"):
        client_id = getattr(actor, "client_id", None)  # an API token belongs to one client
    else:
        link = getattr(actor, "client_user", None)
        client_id = link.client_id if link is not None else None
    return client_id


def batch_withdraw(*, batch: Batch, actor: Actor) -> None:
    """The client takes back a batch waiting in review: it leaves the queue and is never sent.

    Conditional on IN_REVIEW like the reviewers' decisions, so when a client withdraws while a
    reviewer approves, exactly one wins and the other is told who acted first (the conditional
    update holds the row on PostgreSQL until the winner commits)."""
    if _client_id_of(actor) != batch.client_id:
        raise ServiceError("Only the client whose batch it is can withdraw it.")
    now = timezone.now()
    with transaction.atomic():
        move_batch(batch_id=batch.pk, expected=BatchStatus.IN_REVIEW, to=BatchStatus.WITHDRAWN)
        round_ = open_round(batch.pk, now=now)
        close_span(round_, at=now, reason="withdrawn")
        # The round ends here but nobody decided it: no decider, and time-in-review figures
        # leave withdrawn rounds out (apps/review/stats.py); targets.py reads them.
        ReviewRound.objects.filter(pk=round_.pk).update(decided_at=now, outcome="withdrawn")
        Claim.objects.filter(batch_id=batch.pk).update(
            holder=None, claimed_at=None, last_active_at=None
        )
        record_event(
            actor=actor, action=AuditAction.BATCH_WITHDRAWN, at=now, batch_id=batch.pk,
            from_state=BatchStatus.IN_REVIEW, to_state=BatchStatus.WITHDRAWN,
            data={"waited_seconds": round((now - round_.entered_at).total_seconds())},
        )


def status_check_record(*, batch: Batch, source: str) -> None:
    """A client looked at a batch waiting in review. Only while it waits: what targets.py
    measures is how clients behave as the wait grows. No audit row: a look changes nothing."""
    if batch.status != BatchStatus.IN_REVIEW:
        return
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        StatusCheck.objects.create(batch_id=batch.pk, checked_at=timezone.now(), source=source)
        return
    with transaction.atomic():
        # A look lost in a crash costs nothing: this row's commit need not wait for the WAL
        # to reach the disk (only this transaction's; in the caller's it would be theirs too).
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
        StatusCheck.objects.create(batch_id=batch.pk, checked_at=timezone.now(), source=source)
