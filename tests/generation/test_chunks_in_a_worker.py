"""Chunked generation in a real RQ worker on PostgreSQL and Redis: every chunk written and
validated, the batch routed once; a chunk that keeps failing is retried (bounded) and then
marks the batch failed with the reason."""

import pytest

from apps.core.models import AuditEvent, Batch, BatchStatus, Message
from apps.generation.models import BatchGeneration, ChunkStatus, GenerationChunk, WriterConfig
from apps.generation.services import batch_start
from tests.conftest import make_campaign
from tests.generation.chat_server import ChatServer
from tests.generation.conftest import make_prospects
from tests.support.worker import run_worker_burst

pytestmark = pytest.mark.django_db(transaction=True)


def test_chunks_are_written_validated_and_the_batch_routed_once(
    pipeline, small_chunks, acme_client, oscar
):
    campaign = make_campaign(acme_client)
    batch = batch_start(campaign=campaign, prospects=make_prospects(acme_client, 10), actor=oscar)

    run_worker_burst()

    batch = Batch.objects.get(pk=batch.pk)
    assert batch.status == BatchStatus.IN_REVIEW
    assert Message.objects.filter(batch=batch, validated_at__isnull=False).count() == 10
    assert set(GenerationChunk.objects.filter(batch=batch).values_list("status", flat=True)) == {
        ChunkStatus.VALIDATED
    }
    actions = list(AuditEvent.objects.filter(batch=batch).values_list("action", flat=True))
    assert actions == ["batch_started", "batch_generated", "batch_routed"]


def test_a_failing_chunk_is_retried_then_fails_the_batch(
    pipeline, small_chunks, acme_client, oscar
):
    with ChatServer() as server:
        server.script = [("status", 500)] * 50  # the model endpoint is down
        campaign = make_campaign(acme_client)
        WriterConfig.objects.create(campaign=campaign, writer="chat_completions",
                                    settings={"url": server.url, "model": "m", "max_attempts": 1})
        # One prospect: one request per attempt of the chunk job.
        batch = batch_start(
            campaign=campaign, prospects=make_prospects(acme_client, 1), actor=oscar
        )

        with pytest.raises(AssertionError, match="jobs failed in the worker"):
            run_worker_burst(queues=["generate"])

    assert len(server.requests) == 1 + small_chunks.GENERATION_JOB_RETRIES  # bounded retries
    generation = BatchGeneration.objects.get(batch=batch)
    assert "HTTP 500 from the model endpoint" in generation.failure_reason
    assert AuditEvent.objects.filter(batch=batch, action="batch_failed").count() == 1
    assert not Message.objects.filter(batch=batch).exists()
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.FAILED


def test_lost_chunk_jobs_are_enqueued_again(
    pipeline, small_chunks, acme_client, oscar, redis_queues
):
    from apps.generation.services import batch_generation_resume

    campaign = make_campaign(acme_client)
    batch = batch_start(campaign=campaign, prospects=make_prospects(acme_client, 7), actor=oscar)
    redis_queues.flushdb()  # Redis lost every queued job: the database still knows the work

    assert batch_generation_resume(batch_id=batch.pk) == {"generate": 3, "validate": 0}
    run_worker_burst()

    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.IN_REVIEW
    assert Message.objects.filter(batch=batch, validated_at__isnull=False).count() == 7
    assert batch_generation_resume(batch_id=batch.pk) == {"generate": 0, "validate": 0}


def test_the_chunk_jobs_of_a_batch_ask_dns_once_per_domain(pipeline, small_chunks, acme_client,
                                                           oscar, dns_server):
    # Each chunk job runs in its own forked process: the verdicts are shared through Redis.
    campaign = make_campaign(acme_client)
    batch = batch_start(campaign=campaign, prospects=make_prospects(acme_client, 10), actor=oscar)
    assert GenerationChunk.objects.filter(batch=batch).count() == 4

    run_worker_burst()

    assert Message.objects.filter(batch=batch, validated_at__isnull=False).count() == 10
    assert dns_server.queries_for("hooli.com") == ["MX"]
