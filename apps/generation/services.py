"""Generation: a batch's prospects written into messages, chunk by chunk.

batch_start checks the templates and the writer once, stores the batch with its chunks and
enqueues one generate job per chunk. Each chunk job renders its messages, validates them, then
claims the chunk and stores them with their findings in one transaction (COPY on PostgreSQL; the
claim and the unique (batch, prospect) constraint make a retried or duplicated chunk add
nothing), so the first chunk is reviewable while later chunks are still being written. When
every chunk is written the batch moves to validating; when every chunk is validated it is ready
to route. A chunk that keeps failing marks the batch failed.
"""

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, NamedTuple

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from apps.core.addresses import address_key
from apps.core.audit import Actor, AuditAction, record_event
from apps.core.bulk import (
    allocate_ids,
    among,
    array_literal,
    check_constraints_as_rows_arrive,
    commit_without_waiting_for_disk,
    insert_rows,
)
from apps.core.errors import ServiceError
from apps.core.models import Batch, BatchStatus, Campaign, Message, Prospect, content_hash
from apps.core.queueing import GENERATE_CHUNK, VALIDATE_CHUNK
from apps.core.transitions import try_move_batch
from apps.generation.models import BatchGeneration, ChunkStatus, GenerationChunk, WriterConfig
from apps.generation.queueing import enqueue_chunk_job_after_commit, enqueue_chunk_jobs_after_commit
from apps.generation.rendering import (
    PROSPECT_FIELDS,
    TemplateTexts,
    campaign_values,
    compile_templates,
    context_of,
)
from apps.generation.selection import Selection, prospects_selected
from apps.generation.writers import (
    DEFAULT_WRITER,
    check_writer_settings,
    make_writer,
    writer_chunk_size,
)
from apps.validation.services import ChunkJudgement

log = logging.getLogger(__name__)


def campaign_writer(campaign: Campaign) -> tuple[str, dict[str, Any]]:
    config = WriterConfig.objects.filter(campaign=campaign).first()
    return (config.writer, config.settings) if config else (DEFAULT_WRITER, {})


def _missing_custom_fields(keys: set[str], prospects: list[Prospect]) -> list[str]:
    problems = []
    for key in sorted(keys):
        lacking = [p for p in prospects if key not in (p.custom_fields or {})]
        if lacking:
            problems.append(
                f"custom.{key} is missing for {len(lacking)} prospect(s), e.g. {lacking[0].email}"
            )
    return problems


def batch_start(*, campaign: Campaign, prospects: Iterable[Prospect], actor: Actor) -> Batch:
    """An operator starts a batch. Everything that would fail every message (a template
    problem, a variable some prospect lacks, a bad writer setting) is refused here, once."""
    prospects = sorted(prospects, key=lambda p: p.pk)
    if not prospects:
        raise ServiceError("Choose at least one prospect for the batch.")
    if any(p.client_id != campaign.client_id for p in prospects):
        raise ServiceError("Every prospect must belong to the campaign's client.")
    compiled = compile_templates(campaign)  # TemplateRefused (a ServiceError) names the line
    problems = _missing_custom_fields(compiled.custom_keys, prospects)
    writer, writer_settings = campaign_writer(campaign)
    problems += check_writer_settings(writer, writer_settings)
    if problems:
        raise ServiceError("The batch cannot be written: " + "; ".join(problems))
    size = min(settings.GENERATION_CHUNK_SIZE,
               writer_chunk_size(writer, writer_settings) or settings.GENERATION_CHUNK_SIZE)
    now = timezone.now()
    with transaction.atomic():
        batch = Batch.objects.create(client_id=campaign.client_id, campaign=campaign)
        _add_prospects(batch.pk, [p.pk for p in prospects])
        BatchGeneration.objects.create(
            batch=batch, writer=writer, writer_settings=writer_settings, chunk_size=size,
            total=len(prospects), started_at=now, subject_template=campaign.subject_template,
            body_template=campaign.body_template, repeated_addresses=_repeated_addresses(prospects),
        )
        chunks = _create_chunks(batch.pk, [p.pk for p in prospects], size)
        record_event(
            actor=actor, action=AuditAction.BATCH_STARTED, at=now, batch_id=batch.pk,
            to_state=BatchStatus.GENERATING,
            data={"prospects": len(prospects), "writer": writer, "chunks": len(chunks)},
        )
        enqueue_chunk_jobs_after_commit(GENERATE_CHUNK, [c.pk for c in chunks])
    return batch


def batch_start_for_selection(*, campaign: Campaign, selection: Selection, actor: Actor,
                              expected_count: int | None = None,
                              expected_over: int | None = None) -> Batch:
    """Start a batch for the campaign's client's prospects the selection names, as they are
    now: their ids are read here and stored with the batch, so a prospect imported later is
    not in it. What the operator saw refuses a selection that changed since, rather than
    start a batch of a size nobody saw: `expected_count` an exact count, `expected_over` a
    page that said "more than" that many."""
    chosen = prospects_selected(client_id=campaign.client_id, selection=selection)
    prospects = list(chosen.only("pk", "client_id", "email", "custom_fields"))
    if expected_count is not None and len(prospects) != expected_count:
        raise ServiceError(
            f"The selection now has {len(prospects)} prospect(s), not the {expected_count} "
            "shown: check the count and start again."
        )
    if expected_over is not None and len(prospects) <= expected_over:
        raise ServiceError(
            f"The selection now has {len(prospects)} prospect(s), not more than "
            f"{expected_over} as shown: check the count and start again."
        )
    return batch_start(campaign=campaign, prospects=prospects, actor=actor)


def _repeated_addresses(prospects: list[Prospect]) -> list[str]:
    """The addresses more than one of these prospects has, as the duplicate rule's lookup
    compares them (apps.core.addresses.address_key)."""
    seen = Counter(address_key(p.email) for p in prospects)
    return sorted(address for address, n in seen.items() if n > 1)


def _add_prospects(batch_id: int, prospect_ids: list[int]) -> None:
    through = Batch.prospects.through
    if connection.vendor == "postgresql":
        # One statement with an array instead of 100k model instances (seconds at that size).
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {through._meta.db_table} (batch_id, prospect_id) "
                "SELECT %s, unnest(%s::text::bigint[])", [batch_id, array_literal(prospect_ids)],
            )
    else:
        through.objects.bulk_create(
            (through(batch_id=batch_id, prospect_id=pk) for pk in prospect_ids), batch_size=5000
        )


def _chunk_bounds(count: int, size: int) -> list[tuple[int, int]]:
    """The first chunk is small so the first messages are ready for review sooner."""
    first = min(size, settings.GENERATION_FIRST_CHUNK_SIZE, count)
    bounds = [(0, first)] if first else []
    bounds += [(start, min(start + size, count)) for start in range(first, count, size)]
    return bounds


def _create_chunks(batch_id: int, prospect_ids: list[int], size: int) -> list[GenerationChunk]:
    return GenerationChunk.objects.bulk_create(
        GenerationChunk(batch_id=batch_id, index=n, prospect_ids=prospect_ids[start:end],
                        size=end - start)
        for n, (start, end) in enumerate(_chunk_bounds(len(prospect_ids), size))
    )


def chunk_generate(
    *, chunk_id: int, validate: Callable[..., ChunkJudgement] | None = None
) -> int | None:
    """Write one chunk's messages. Safe to run twice, or twice at once: the database keeps one
    message per (batch, prospect). Returns the batch id when the batch is ready to route.

    Without `validate` the chunk is left generated and its validate job enqueued. With it (the
    generate job passes apps.validation.services.new_messages_judge) the messages are validated
    before they are stored, then stored validated, with their findings, in the claiming
    transaction: the chunk goes from pending to validated at once, never half-stored, and
    nothing is read back or updated."""
    chunk = GenerationChunk.objects.get(pk=chunk_id)
    generation = BatchGeneration.objects.select_related("batch__campaign").get(
        batch_id=chunk.batch_id
    )
    if generation.failed_at or generation.batch.status != BatchStatus.GENERATING:
        return _advance(chunk.batch_id)
    if chunk.status == ChunkStatus.PENDING:
        written = _write_messages(generation, chunk.prospect_ids)
        # Validated before the transaction (DNS may take seconds; SQLite's write lock must not
        # wait for it), under ids reserved for the messages, so findings can name them.
        ids, judgement = [], None
        if validate is not None:
            ids = allocate_ids(Message, len(written))
            judgement = validate(batch_id=generation.batch_id, client_id=generation.batch.client_id,
                                 messages=[(pk, w.recipient, w.subject, w.body, w.first_name,
                                            w.last_name, w.company)
                                           for pk, w in zip(ids, written, strict=True)],
                                 repeated=generation.repeated_addresses)
        now = timezone.now()
        with transaction.atomic():
            # Lost in a database crash, this commit leaves the chunk pending, to be written
            # again (the sweeper resumes a generating batch); routing the batch commits and
            # waits, which flushes every chunk's commit before it.
            commit_without_waiting_for_disk()
            check_constraints_as_rows_arrive()
            # The conditional update is the claim: it holds the chunk's row, so a second copy of
            # this job waits here and then finds the chunk done (0 rows) and writes nothing.
            done = {"status": ChunkStatus.GENERATED, "generated_at": now}
            if judgement is not None:
                done.update(status=ChunkStatus.VALIDATED, validated_at=now)
            won = GenerationChunk.objects.filter(pk=chunk_id, status=ChunkStatus.PENDING).update(
                **done
            )
            if won and judgement is not None:
                _store_validated_messages(generation.batch_id, written, ids, judgement, now)
            elif won:
                _store_messages(generation.batch_id, _not_yet_stored(generation.batch_id, written))
                enqueue_chunk_job_after_commit(VALIDATE_CHUNK, chunk_id)
    elif chunk.status == ChunkStatus.GENERATED:
        # A retry after the commit: make sure validation was asked for (same job id: no copy).
        enqueue_chunk_job_after_commit(VALIDATE_CHUNK, chunk_id)
    return _advance(chunk.batch_id)


class Written(NamedTuple):
    """One message written for one prospect, not stored yet."""

    prospect_id: int
    recipient: str
    subject: str
    body: str
    content_hash: str
    # What validation reads of the prospect besides the message.
    first_name: str
    last_name: str
    company: str


MESSAGE_FIELDS = ("batch_id", "prospect_id", "recipient", "subject", "body", "content_hash")


def _write_messages(generation: BatchGeneration, prospect_ids: list[int]) -> list[Written]:
    """The chunk's messages (nothing stored yet)."""
    campaign = campaign_values(generation.batch.campaign)
    templates = compile_templates(TemplateTexts(
        subject_template=generation.subject_template, body_template=generation.body_template
    ))
    writer = make_writer(generation.writer, generation.writer_settings, templates=templates)
    # Plain rows, not model instances: the templates see plain values anyway.
    prospects = list(
        Prospect.objects.filter(pk__in=among(prospect_ids)).order_by("pk")
        .values("pk", *PROSPECT_FIELDS)
    )
    texts = writer.write_many([context_of(prospect, campaign) for prospect in prospects])
    written = []
    for prospect, (subject, body) in zip(prospects, texts, strict=True):
        recipient, subject = prospect["email"].strip(), subject[:1000]
        written.append(Written(
            prospect["pk"], recipient, subject, body,
            content_hash(recipient=recipient, subject=subject, body=body),
            prospect["first_name"], prospect["last_name"], prospect["company"],
        ))
    return written


def _not_yet_stored(batch_id: int, written: list[Written]) -> list[Written]:
    """In the caller's transaction (the chunk claimed): a prospect that already has its
    message (the chunk's status lost after its messages were stored, say) keeps it, so the
    (batch, prospect) constraint never trips and nothing is written twice."""
    if not written:
        return []
    # One range read of the (batch, prospect) index instead of one probe per prospect. A
    # chunk's prospects are a slice of the batch's in id order, so the range holds no other
    # chunk's messages (were it to, they would only be ignored below).
    ids = [w.prospect_id for w in written]
    existing = set(
        Message.objects.filter(
            batch_id=batch_id, prospect_id__gte=min(ids), prospect_id__lte=max(ids)
        ).values_list("prospect_id", flat=True)
    )
    return [w for w in written if w.prospect_id not in existing]


def _store_messages(batch_id: int, written: list[Written]) -> None:
    insert_rows(Message, MESSAGE_FIELDS, (
        (batch_id, w.prospect_id, w.recipient, w.subject, w.body, w.content_hash) for w in written
    ))


def _store_validated_messages(batch_id: int, written: list[Written], ids: list[int],
                              judgement: ChunkJudgement, now: datetime) -> None:
    """The messages under their reserved ids, with their worst severity, then their findings;
    in the caller's transaction."""
    kept = {w.prospect_id for w in _not_yet_stored(batch_id, written)}
    rows = [(pk, w) for pk, w in zip(ids, written, strict=True) if w.prospect_id in kept]
    worst = judgement.worst
    insert_rows(
        Message,
        (*MESSAGE_FIELDS, "id", "validated_at", "worst_severity"),
        (
            (
                batch_id,
                w.prospect_id,
                w.recipient,
                w.subject,
                w.body,
                w.content_hash,
                pk,
                now,
                worst[pk],
            )
            for pk, w in rows
        ),
    )
    judgement.store(only={pk for pk, _ in rows})


def chunk_message_ids(*, chunk_id: int) -> list[int]:
    chunk = GenerationChunk.objects.get(pk=chunk_id)
    return list(
        Message.objects.filter(batch_id=chunk.batch_id, prospect_id__in=among(chunk.prospect_ids))
        .order_by("pk").values_list("pk", flat=True)
    )


def chunk_validated(*, chunk_id: int) -> int | None:
    """Record that a chunk's messages are validated; returns the batch id when the batch is
    ready to route (every chunk generated and validated)."""
    chunk = GenerationChunk.objects.get(pk=chunk_id)
    GenerationChunk.objects.filter(pk=chunk_id, status=ChunkStatus.GENERATED).update(
        status=ChunkStatus.VALIDATED, validated_at=timezone.now()
    )
    return _advance(chunk.batch_id)


def _advance(batch_id: int) -> int | None:
    """Move the batch on as far as its chunks allow. Each chunk job commits its own status
    before calling this, so whichever job finishes last sees every chunk done; the conditional
    updates make the others' calls no-ops."""
    counts = dict(
        GenerationChunk.objects.filter(batch_id=batch_id).values_list("status")
        .annotate(n=Count("pk")).values_list("status", "n")
    )
    if counts.get(ChunkStatus.PENDING) or counts.get(ChunkStatus.FAILED):
        return None
    if BatchGeneration.objects.filter(batch_id=batch_id, failed_at__isnull=False).exists():
        return None
    now = timezone.now()
    with transaction.atomic():
        if try_move_batch(
            batch_id=batch_id, expected=BatchStatus.GENERATING, to=BatchStatus.VALIDATING
        ):
            record_event(
                actor=None, action=AuditAction.BATCH_GENERATED, at=now, batch_id=batch_id,
                from_state=BatchStatus.GENERATING, to_state=BatchStatus.VALIDATING,
                data={"messages": Message.objects.filter(batch_id=batch_id).count()},
            )
    if counts.get(ChunkStatus.GENERATED):
        return None
    BatchGeneration.objects.filter(batch_id=batch_id, finished_at__isnull=True).update(
        finished_at=now
    )
    if Batch.objects.filter(pk=batch_id, status=BatchStatus.VALIDATING).exists():
        return batch_id
    return None


def chunk_fail(*, chunk_id: int, reason: str) -> None:
    """A chunk failed for good (its retries are spent): the batch is marked failed with the
    reason, once, and audited. Nothing more is generated for it."""
    now = timezone.now()
    with transaction.atomic():
        chunk = GenerationChunk.objects.get(pk=chunk_id)
        GenerationChunk.objects.filter(pk=chunk_id).exclude(status=ChunkStatus.VALIDATED).update(
            status=ChunkStatus.FAILED, error=reason[:5000]
        )
        first = BatchGeneration.objects.filter(
            batch_id=chunk.batch_id, failed_at__isnull=True
        ).update(failed_at=now, failure_reason=f"chunk {chunk.index}: {reason}"[:5000])
        if first:
            status = (
                Batch.objects.filter(pk=chunk.batch_id).values_list("status", flat=True).first()
            )
            # Terminal, so the sweeper stops re-enqueueing a batch that cannot be finished.
            for stage in (BatchStatus.GENERATING, BatchStatus.VALIDATING):
                if try_move_batch(batch_id=chunk.batch_id, expected=stage, to=BatchStatus.FAILED):
                    break
            record_event(
                actor=None,
                action=AuditAction.BATCH_FAILED,
                at=now,
                batch_id=chunk.batch_id,
                from_state=status or "",
                to_state=BatchStatus.FAILED,
                reason=f"chunk {chunk.index}: {reason}"[:2000],
            )


def batch_generate(*, batch_id: int) -> None:
    """The whole batch in this one job (the job name kept from before chunking): every pending
    chunk in turn, each as its chunk job would. A batch started before chunking gets its
    chunks first. Safe to run twice."""
    batch = Batch.objects.select_related("campaign").get(pk=batch_id)
    if batch.status != BatchStatus.GENERATING:
        log.info("batch %s is %s; nothing to generate", batch_id, batch.status)
        return
    if not BatchGeneration.objects.filter(batch_id=batch_id).exists():
        _adopt_unchunked_batch(batch)
    chunk_ids = GenerationChunk.objects.filter(
        batch_id=batch_id, status=ChunkStatus.PENDING
    ).order_by("index").values_list("pk", flat=True)
    for chunk_id in list(chunk_ids):
        chunk_generate(chunk_id=chunk_id)


def _adopt_unchunked_batch(batch: Batch) -> None:
    writer, writer_settings = campaign_writer(batch.campaign)
    ids = sorted(batch.prospects.values_list("pk", flat=True))
    with transaction.atomic():
        _, created = BatchGeneration.objects.get_or_create(batch=batch, defaults={
            "writer": writer, "writer_settings": writer_settings, "total": len(ids),
            "chunk_size": settings.GENERATION_CHUNK_SIZE, "started_at": timezone.now(),
            "subject_template": batch.campaign.subject_template,
            "body_template": batch.campaign.body_template,
        })
        if created:
            _create_chunks(batch.pk, ids, settings.GENERATION_CHUNK_SIZE)


def batch_generation_resume(*, batch_id: int) -> dict[str, int]:
    """Enqueue again whatever a batch's chunks still wait for (after a Redis flush or a lost
    job): pending chunks to generate, generated ones to validate. Safe at any time: the job
    ids are the chunks' own, and a chunk job that finds its work done does nothing. For a
    sweeper, or an operator's "resume"."""
    if BatchGeneration.objects.filter(batch_id=batch_id, failed_at__isnull=False).exists():
        return {"generate": 0, "validate": 0}
    chunks = GenerationChunk.objects.filter(batch_id=batch_id).order_by("index")
    pending = list(chunks.filter(status=ChunkStatus.PENDING).values_list("pk", flat=True))
    generated = list(chunks.filter(status=ChunkStatus.GENERATED).values_list("pk", flat=True))
    enqueue_chunk_jobs_after_commit(GENERATE_CHUNK, pending)
    enqueue_chunk_jobs_after_commit(VALIDATE_CHUNK, generated)
    return {"generate": len(pending), "validate": len(generated)}
