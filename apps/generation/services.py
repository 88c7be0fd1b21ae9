"""Generation: one message per prospect in the batch, from the campaign's templates."""

import logging
from collections.abc import Iterable

from django.db import transaction
from django.template import TemplateSyntaxError
from django.utils import timezone

from apps.core.audit import record_event
from apps.core.errors import ServiceError
from apps.core.models import Batch, BatchStatus, Campaign, Message, Prospect, content_hash
from apps.core.queueing import enqueue_after_commit
from apps.core.transitions import try_move_batch
from apps.generation.rendering import compile_templates, prospect_context, render_message

log = logging.getLogger(__name__)
CHUNK = 500


def batch_start(*, campaign: Campaign, prospects: Iterable[Prospect], actor) -> Batch:
    """An operator starts a batch; the pipeline runs from there."""
    prospects = list(prospects)
    if not prospects:
        raise ServiceError("Choose at least one prospect for the batch.")
    if any(p.client_id != campaign.client_id for p in prospects):
        raise ServiceError("Every prospect must belong to the campaign's client.")
    try:
        compile_templates(campaign)
    except TemplateSyntaxError as exc:
        raise ServiceError(f"The campaign cannot be rendered: {exc}") from exc
    now = timezone.now()
    with transaction.atomic():
        batch = Batch.objects.create(client_id=campaign.client_id, campaign=campaign)
        batch.prospects.set(prospects)
        record_event(
            actor=actor, action="batch_started", at=now, batch_id=batch.pk,
            to_state=BatchStatus.GENERATING, data={"prospects": len(prospects)},
        )
        enqueue_after_commit("generate", "apps.pipeline.jobs.generate_batch", batch.pk)
    return batch


def batch_generate(*, batch_id: int) -> None:
    """Safe to run twice: existing messages are kept, and only a generating batch moves on."""
    batch = Batch.objects.select_related("campaign").get(pk=batch_id)
    if batch.status != BatchStatus.GENERATING:
        log.info("batch %s is %s; nothing to generate", batch_id, batch.status)
        return
    compiled = compile_templates(batch.campaign)
    done = set(Message.objects.filter(batch_id=batch_id).values_list("prospect_id", flat=True))
    pending = batch.prospects.exclude(pk__in=done).order_by("pk")
    rows = []
    for prospect in pending.iterator(chunk_size=CHUNK):
        subject, body = render_message(
            compiled, prospect_context(prospect=prospect, campaign=batch.campaign)
        )
        recipient = prospect.email.strip()
        rows.append(
            Message(
                batch_id=batch_id, prospect=prospect, recipient=recipient, subject=subject,
                body=body, content_hash=content_hash(recipient=recipient, subject=subject, body=body),
            )
        )
    # ignore_conflicts: a copy of this job running at the same time may insert the same rows;
    # the unique (batch, prospect) constraint keeps one.
    Message.objects.bulk_create(rows, batch_size=CHUNK, ignore_conflicts=True)
    with transaction.atomic():
        if not try_move_batch(
            batch_id=batch_id, expected=BatchStatus.GENERATING, to=BatchStatus.VALIDATING
        ):
            return
        record_event(
            actor=None, action="batch_generated", at=timezone.now(), batch_id=batch.pk,
            from_state=BatchStatus.GENERATING, to_state=BatchStatus.VALIDATING,
            data={"messages": Message.objects.filter(batch_id=batch_id).count()},
        )
        enqueue_after_commit("validate", "apps.pipeline.jobs.validate_batch", batch_id)
