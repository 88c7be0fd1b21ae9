"""Generation's own records: prospect imports and their row errors, the writer a campaign uses,
and each batch's generation (writer and settings as started, chunks and their progress).

Core models stay untouched: these point at them."""

from django.conf import settings
from django.db import models


class ImportMode(models.TextChoices):
    ALL_OR_NOTHING = "all_or_nothing", "All or nothing: any bad row refuses the file"
    VALID_ROWS = "valid_rows", "Import the valid rows, report the others"


class ImportOutcome(models.TextChoices):
    IMPORTED = "imported", "Imported"
    REFUSED = "refused", "Refused (nothing imported)"


class ProspectImport(models.Model):
    """One upload of a prospect file and what came of it: the report an operator reads."""

    client = models.ForeignKey("core.Client", on_delete=models.CASCADE, related_name="+")
    file_name = models.CharField(max_length=300)
    file_sha256 = models.CharField(max_length=64)
    encoding = models.CharField(max_length=30)
    delimiter = models.CharField(max_length=5)
    mapping = models.JSONField(default=dict)  # column header -> prospect field ("" = ignored)
    mode = models.CharField(max_length=20, choices=ImportMode.choices)
    outcome = models.CharField(max_length=20, choices=ImportOutcome.choices)
    rows_total = models.PositiveIntegerField(default=0)
    rows_imported = models.PositiveIntegerField(default=0)
    rows_existing = models.PositiveIntegerField(default=0)  # already a prospect: left alone
    rows_with_errors = models.PositiveIntegerField(default=0)
    # Rows whose only problems are warnings (a value that is not a name): imported only when
    # the operator confirmed them (warnings_accepted), left out otherwise.
    rows_with_warnings = models.PositiveIntegerField(default=0)
    warnings_accepted = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()
    # The prospects this import added, as a tag of their own ("Start a batch" chooses by it);
    # empty for a refused file.
    tag = models.OneToOneField("core.Tag", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="prospect_import")

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Import {self.pk}: {self.file_name} ({self.outcome})"


class ImportRowError(models.Model):
    """One problem in one row (numbered as a spreadsheet shows it: the header is row 1)."""

    prospect_import = models.ForeignKey(
        ProspectImport, on_delete=models.CASCADE, related_name="errors"
    )
    row = models.PositiveIntegerField()
    column = models.CharField(max_length=300, blank=True)  # the header as in the file
    code = models.CharField(max_length=30)
    warning = models.BooleanField(default=False)  # a warning the operator decides on, not an error
    message = models.TextField()
    value = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["row", "pk"]

    def __str__(self) -> str:
        return f"row {self.row} {self.column}: {self.message}"


class WriterConfig(models.Model):
    """The writer a campaign's batches use, and its settings (never a secret: an API key is
    read from the environment variable the settings name)."""

    campaign = models.OneToOneField(
        "core.Campaign", on_delete=models.CASCADE, related_name="writer_config"
    )
    writer = models.CharField(max_length=50, default="template")
    settings = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"{self.campaign}: {self.writer}"


class BatchGeneration(models.Model):
    """How a batch is being generated: the writer and settings it started with, its size, and
    why it failed if it did (the core Batch has no failed status yet)."""

    batch = models.OneToOneField("core.Batch", on_delete=models.CASCADE, related_name="generation")
    writer = models.CharField(max_length=50)
    writer_settings = models.JSONField(default=dict, blank=True)
    # The templates as checked at the start: editing the campaign later does not change a
    # batch that is half written.
    subject_template = models.CharField(max_length=500)
    body_template = models.TextField()
    chunk_size = models.PositiveIntegerField()
    total = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)  # every chunk generated+validated
    failed_at = models.DateTimeField(null=True, blank=True)
    failure_reason = models.TextField(blank=True)
    # The addresses (trimmed, lower-cased) that more than one of the batch's prospects has,
    # known at the start: a chunk looks for its addresses among the batch's other messages
    # (the duplicate rule) only for these. None (a batch started before this was kept): look
    # every address up.
    repeated_addresses = models.JSONField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Generation of batch {self.batch_id}"


class ChunkStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    GENERATED = "generated", "Generated"
    VALIDATED = "validated", "Validated"
    FAILED = "failed", "Failed"


class GenerationChunk(models.Model):
    """A slice of a batch's prospects, generated by one job and validated by another."""

    batch = models.ForeignKey("core.Batch", on_delete=models.CASCADE, related_name="+")
    index = models.PositiveIntegerField()
    prospect_ids = models.JSONField()
    size = models.PositiveIntegerField()
    status = models.CharField(
        max_length=20, choices=ChunkStatus.choices, default=ChunkStatus.PENDING
    )
    generated_at = models.DateTimeField(null=True, blank=True)
    validated_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["batch", "index"], name="generation_chunk_once")
        ]
        indexes = [models.Index(fields=["batch", "status"])]

    def __str__(self) -> str:
        return f"Chunk {self.index} of batch {self.batch_id} ({self.status})"
