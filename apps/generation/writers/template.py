"""The default writer: the campaign's templates, rendered per prospect."""

from apps.generation.rendering import render_message
from apps.generation.writers.base import Writer


class TemplateWriter(Writer):
    name = "template"
    label = "Campaign templates"

    @classmethod
    def check_settings(cls, settings: dict) -> list[str]:
        return [f"The template writer takes no settings (got {', '.join(settings)})."] if settings else []

    def write(self, context: dict[str, object]) -> tuple[str, str]:
        return render_message(self.templates, context)
