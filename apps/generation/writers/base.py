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

    def write(self, context: dict[str, object]) -> tuple[str, str]:
        raise NotImplementedError
