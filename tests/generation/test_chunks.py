"""A batch is written in chunks: each chunk one idempotent job, validated as soon as it is
written, the batch routed only when every chunk is generated and validated."""

import threading

import pytest
from django.db import connection

from apps.core.models import AuditEvent, Batch, BatchStatus, Message
from apps.generation.models import BatchGeneration, ChunkStatus, GenerationChunk
from apps.generation.selectors import generation_progress
from apps.generation.services import batch_start, chunk_generate, chunk_message_ids, chunk_validated
from apps.pipeline.jobs import generate_chunk_job, validate_chunk_job
from apps.validation.services import messages_validate
from tests.generation.conftest import make_prospects

BODY = "Hi {{ first_name }},\n\nwould {{ company }} like fewer bounces?\n"


def chunks_of(batch) -> list[GenerationChunk]:
    return list(GenerationChunk.objects.filter(batch=batch).order_by("index"))


def started(campaign, prospects, actor, capture) -> Batch:
    with capture(execute=False) as callbacks:
        batch = batch_start(campaign=campaign, prospects=prospects, actor=actor)
    assert len(callbacks) == 1  # every chunk's generate job, enqueued once committed
    return batch


@pytest.mark.django_db
def test_first_chunk_is_validated_before_the_last_is_written(
    small_chunks, acme_campaign, acme_client, oscar, django_capture_on_commit_callbacks
):
    batch = started(
        acme_campaign, make_prospects(acme_client, 8), oscar, django_capture_on_commit_callbacks
    )
    first, second, last = chunks_of(batch)
    assert [c.size for c in (first, second, last)] == [3, 3, 2]

    assert chunk_generate(chunk_id=first.pk) is None
    messages_validate(message_ids=chunk_message_ids(chunk_id=first.pk))
    assert chunk_validated(chunk_id=first.pk) is None

    reviewable = Message.objects.filter(batch=batch, validated_at__isnull=False)
    assert reviewable.count() == 3 and Message.objects.filter(batch=batch).count() == 3
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.GENERATING
    progress = generation_progress(batch_id=batch.pk)
    assert (progress.generated, progress.validated, progress.total) == (3, 3, 8)
    assert str(progress) == "3/8 written, 3/8 validated"

    for chunk in (second, last):
        chunk_generate(chunk_id=chunk.pk)
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.VALIDATING
    messages_validate(message_ids=chunk_message_ids(chunk_id=second.pk))
    assert chunk_validated(chunk_id=second.pk) is None  # the last chunk is not validated yet
    messages_validate(message_ids=chunk_message_ids(chunk_id=last.pk))
    assert chunk_validated(chunk_id=last.pk) == batch.pk  # now it may be routed
    assert generation_progress(batch_id=batch.pk).done
    assert BatchGeneration.objects.get(batch=batch).finished_at is not None
    actions = list(AuditEvent.objects.filter(batch=batch).values_list("action", flat=True))
    assert actions == ["batch_started", "batch_generated"]


@pytest.mark.django_db
def test_the_first_chunk_is_small_the_rest_full(settings, acme_campaign, acme_client, oscar,
                                                django_capture_on_commit_callbacks):
    settings.GENERATION_CHUNK_SIZE, settings.GENERATION_FIRST_CHUNK_SIZE = 5, 2
    batch = started(
        acme_campaign, make_prospects(acme_client, 13), oscar, django_capture_on_commit_callbacks
    )
    chunks = chunks_of(batch)
    assert [c.size for c in chunks] == [2, 5, 5, 1]
    ids = [pk for c in chunks for pk in c.prospect_ids]
    assert ids == sorted(batch.prospects.values_list("pk", flat=True))


@pytest.mark.django_db
def test_a_retried_chunk_adds_nothing(
    small_chunks, acme_campaign, acme_client, oscar, django_capture_on_commit_callbacks
):
    batch = started(
        acme_campaign, make_prospects(acme_client, 5), oscar, django_capture_on_commit_callbacks
    )
    first = chunks_of(batch)[0]
    generate_chunk_job(first.pk)
    before = sorted(
        Message.objects.filter(batch=batch).values_list("pk", "prospect_id", "content_hash")
    )
    # The job again, and the chunk reset as if the first run's status update had been lost.
    generate_chunk_job(first.pk)
    GenerationChunk.objects.filter(pk=first.pk).update(status=ChunkStatus.PENDING)
    generate_chunk_job(first.pk)
    validate_chunk_job(first.pk)
    validate_chunk_job(first.pk)
    assert (
        sorted(Message.objects.filter(batch=batch).values_list("pk", "prospect_id", "content_hash"))
        == before
    )
    assert len(before) == 3


@pytest.mark.django_db(transaction=True)
def test_two_copies_of_a_chunk_at_once_write_each_message_once(
    postgres_only, small_chunks, acme_campaign, acme_client, oscar
):
    small_chunks.GENERATION_CHUNK_SIZE = small_chunks.GENERATION_FIRST_CHUNK_SIZE = 200
    batch = batch_start(campaign=acme_campaign, prospects=make_prospects(acme_client, 150),
                        actor=oscar)
    chunk = chunks_of(batch)[0]
    barrier = threading.Barrier(2)
    errors = []

    def copy():
        try:
            barrier.wait(timeout=10)
            chunk_generate(chunk_id=chunk.pk)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=copy) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors, errors
    assert Message.objects.filter(batch=batch).count() == 150
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.VALIDATING
    assert AuditEvent.objects.filter(batch=batch, action="batch_generated").count() == 1


@pytest.mark.django_db
def test_a_chunk_failing_for_good_marks_the_batch_failed(
    small_chunks, acme_client, oscar, django_capture_on_commit_callbacks
):
    from apps.generation.models import WriterConfig
    from tests.conftest import make_campaign

    campaign = make_campaign(acme_client, body_template=BODY)
    # Nothing listens on port 9 of loopback: the writer cannot reach its endpoint.
    WriterConfig.objects.create(campaign=campaign, writer="chat_completions", settings={
        "url": "http://127.0.0.1:9/v1/chat/completions", "model": "m", "max_attempts": 1,
    })
    batch = started(
        campaign, make_prospects(acme_client, 5), oscar, django_capture_on_commit_callbacks
    )
    first, second = chunks_of(batch)

    with pytest.raises(Exception, match="cannot reach the model endpoint"):
        generate_chunk_job(first.pk)  # outside a worker: no retries left, so this is the last try

    generation = BatchGeneration.objects.get(batch=batch)
    assert generation.failed_at is not None
    assert "chunk 0: WriterError: cannot reach the model endpoint" in generation.failure_reason
    event = AuditEvent.objects.get(batch=batch, action="batch_failed")
    assert (event.from_state, event.to_state, event.actor) == ("generating", "failed", None)
    assert "cannot reach" in event.reason
    assert generation_progress(batch_id=batch.pk).failed
    # The other chunk's job finds the batch failed and writes nothing; no second event.
    generate_chunk_job(second.pk)
    assert not Message.objects.filter(batch=batch).exists()
    assert AuditEvent.objects.filter(batch=batch, action="batch_failed").count() == 1
    # Terminal: the sweeper does not pick a failed batch up again.
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.FAILED
