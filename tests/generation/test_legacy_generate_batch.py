"""The generate_batch job name still works: for a batch started before chunking (no chunks
recorded) it makes the chunks and writes them all, once."""

import pytest

from apps.core.models import Batch, BatchStatus, Message
from apps.generation.models import BatchGeneration, ChunkStatus, GenerationChunk
from apps.pipeline.jobs import generate_batch_job
from tests.generation.conftest import make_prospects

pytestmark = pytest.mark.django_db


def test_an_unchunked_batch_is_adopted_and_written_once(small_chunks, acme_campaign, acme_client):
    prospects = make_prospects(acme_client, 7)
    batch = Batch.objects.create(client=acme_client, campaign=acme_campaign)
    batch.prospects.set(prospects)

    generate_batch_job(batch.pk)
    generate_batch_job(batch.pk)

    assert Message.objects.filter(batch=batch).count() == 7
    assert BatchGeneration.objects.get(batch=batch).writer == "template"
    chunks = GenerationChunk.objects.filter(batch=batch)
    assert sorted(chunks.values_list("size", flat=True)) == [1, 3, 3]
    assert set(chunks.values_list("status", flat=True)) == {ChunkStatus.GENERATED}
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.VALIDATING
