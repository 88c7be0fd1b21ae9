"""Writes of the planning room: keeping every waiting batch's quote current."""

from datetime import datetime, timedelta

from django.db import transaction

from apps.planning.models import BatchQuote
from apps.planning.quotes import Estimate, estimate
from apps.planning.selectors import live_inputs
from apps.review.models import ReviewRound

# A quote that moves by less than this is not news to the client.
QUOTE_CHANGE = timedelta(minutes=1)


def quotes_refresh(*, now: datetime) -> int:
    """Recompute the quote of every batch in review from the queue as it is now, and store it
    (the first quote of a stay in review is kept beside the latest). Returns how many moved.

    Run by the worker's schedule: a quote depends on every batch ahead, on who is on shift and
    on the measured rates, so a periodic pass over the whole queue catches every change."""
    inputs = live_inputs(now=now)
    rounds = dict(
        ReviewRound.objects.filter(
            batch_id__in=[w.batch_id for w in inputs.queue], decided_at__isnull=True
        ).values_list("batch_id", "number")
    )
    stored = BatchQuote.objects.in_bulk([w.batch_id for w in inputs.queue], field_name="batch_id")
    moved = 0
    with transaction.atomic():
        for waiting in inputs.queue:
            quote = estimate(inputs, waiting)
            moved += _store(
                stored.get(waiting.batch_id), batch_id=waiting.batch_id,
                round_number=rounds.get(waiting.batch_id, 1), quote=quote, now=now,
            )
    return moved


def _store(row: BatchQuote | None, *, batch_id: int, round_number: int, quote: Estimate,
           now: datetime) -> int:
    fields = {
        "computed_at": now, "expected_at": quote.expected_at, "position": quote.position,
        "queue_length": quote.queue_length, "explanation": quote.explanation,
    }
    if row is None or row.round_number != round_number:
        BatchQuote.objects.update_or_create(batch_id=batch_id, defaults={
            **fields, "round_number": round_number, "first_quoted_at": now,
            "first_expected_at": quote.expected_at, "changed_at": now,
            "first_simulated_seconds": quote.simulated_seconds,
            "first_off_shift_seconds": quote.off_shift_seconds,
        })
        return 1
    moved = abs(row.expected_at - quote.expected_at) >= QUOTE_CHANGE
    if moved:
        fields["changed_at"] = now
    BatchQuote.objects.filter(pk=row.pk).update(**fields)
    return int(moved)
