"""What every writer is."""

from apps.core.errors import ServiceError


class WriterError(ServiceError):
    """The writer could not write a message (the chunk is retried, then the batch fails)."""


class Writer:
    name = ""
    label = ""

    def __init__(self, settings: dict, *, templates):
        self.settings = settings
        self.templates = templates  # apps.generation.rendering.CompiledTemplates

    @classmethod
    def check_settings(cls, settings: dict) -> list[str]:
        return []

    @classmethod
    def public_settings(cls, settings: dict) -> dict:
        """The settings as the admin shows them (never a secret)."""
        return dict(settings)

    @classmethod
    def chunk_size(cls, settings: dict) -> int | None:
        """Prospects per chunk job for this writer (None: GENERATION_CHUNK_SIZE). A slow
        writer takes small chunks, so one job stays well inside the job timeout."""
        return None

    def write(self, context: dict[str, object]) -> tuple[str, str]:
        raise NotImplementedError

    def write_many(self, contexts: list[dict[str, object]]) -> list[tuple[str, str]]:
        return [self.write(context) for context in contexts]
