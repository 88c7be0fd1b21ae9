"""Message writers: who writes the text of each message. Pluggable by name.

A writer is made once per chunk from the batch's stored writer name and settings, then asked
for one (subject, body) per prospect. Whatever it writes goes through the same validators.
"""

from apps.core.errors import ServiceError
from apps.generation.writers.base import Writer, WriterError
from apps.generation.writers.chat_completions import ChatCompletionsWriter
from apps.generation.writers.template import TemplateWriter

DEFAULT_WRITER = "template"
WRITERS: dict[str, type[Writer]] = {
    TemplateWriter.name: TemplateWriter,
    ChatCompletionsWriter.name: ChatCompletionsWriter,
}


def writer_choices() -> list[tuple[str, str]]:
    return [(name, cls.label) for name, cls in WRITERS.items()]


def check_writer_settings(name: str, settings: dict) -> list[str]:
    if name not in WRITERS:
        return [f"There is no writer named {name!r} (known: {', '.join(WRITERS)})."]
    return WRITERS[name].check_settings(settings or {})


def writer_chunk_size(name: str, settings: dict) -> int | None:
    return WRITERS[name].chunk_size(settings or {}) if name in WRITERS else None


def make_writer(name: str, settings: dict, *, templates) -> Writer:
    problems = check_writer_settings(name, settings)
    if problems:
        raise ServiceError(" ".join(problems))
    return WRITERS[name](settings or {}, templates=templates)


__all__ = ["DEFAULT_WRITER", "WRITERS", "Writer", "WriterError", "check_writer_settings",
           "make_writer", "writer_choices", "writer_chunk_size"]
