"""The default writer: the campaign's templates, rendered per prospect."""

from apps.generation.rendering import MessageRenderer, render_message
from apps.generation.writers.base import Writer


class TemplateWriter(Writer):
    name = "template"
    label = "Campaign templates"

    @classmethod
    def check_settings(cls, settings: dict) -> list[str]:
        return (
            [f"The template writer takes no settings (got {', '.join(settings)})."]
            if settings
            else []
        )

    def write(self, context: dict[str, object]) -> tuple[str, str]:
        return render_message(self.templates, context)

    def write_many(self, contexts: list[dict[str, object]]) -> list[tuple[str, str]]:
        # One renderer for the chunk: what every prospect shares is rendered once.
        renderer = MessageRenderer(self.templates)
        return [renderer.render(context) for context in contexts]
