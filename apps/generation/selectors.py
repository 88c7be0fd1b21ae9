"""Reads for the admin (and the portal, later): how far a batch's generation has got."""

from dataclasses import dataclass

from django.db.models import Q, Sum

from apps.generation.models import BatchGeneration, ChunkStatus, GenerationChunk


@dataclass(frozen=True)
class Progress:
    total: int
    generated: int  # messages written (chunks generated or validated)
    validated: int  # messages validated, ready to review once the batch is routed
    chunks: int
    failed: bool
    failure_reason: str
    writer: str

    @property
    def done(self) -> bool:
        return not self.failed and self.validated >= self.total

    def __str__(self) -> str:
        if self.failed:
            return f"failed: {self.failure_reason}"
        return f"{self.generated}/{self.total} written, {self.validated}/{self.total} validated"


def progress_by_batch(batch_ids) -> dict[int, Progress]:
    """One query for the generations and one for the chunk sums, whatever the number of
    batches: for list pages."""
    generations = {g.batch_id: g for g in BatchGeneration.objects.filter(batch_id__in=batch_ids)}
    sums = (
        GenerationChunk.objects.filter(batch_id__in=generations)
        .values("batch_id")
        .annotate(
            generated=Sum("size", filter=Q(status__in=[ChunkStatus.GENERATED, ChunkStatus.VALIDATED])),
            validated=Sum("size", filter=Q(status=ChunkStatus.VALIDATED)),
        )
    )
    counts = {row["batch_id"]: row for row in sums}
    result = {}
    for batch_id, generation in generations.items():
        row = counts.get(batch_id, {})
        result[batch_id] = Progress(
            total=generation.total, generated=row.get("generated") or 0,
            validated=row.get("validated") or 0,
            chunks=-(-generation.total // generation.chunk_size),
            failed=generation.failed_at is not None, failure_reason=generation.failure_reason,
            writer=generation.writer,
        )
    return result


def generation_progress(batch_id: int) -> Progress | None:
    return progress_by_batch([batch_id]).get(batch_id)
