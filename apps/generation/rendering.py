"""Rendering campaign templates with Django's template engine, fed plain data only.

Templates see a dict of strings (prospect and campaign fields), never model instances, so a
template cannot reach attributes or methods of the database objects.
"""

from django.template import Context, Engine, TemplateSyntaxError

from apps.core.models import Campaign, Prospect

# A private engine: no template loaders (nothing to include or extend), no autoescaping
# (the output is a plain-text e-mail, not HTML).
ENGINE = Engine(debug=False, autoescape=False, loaders=[])


def prospect_context(*, prospect: Prospect, campaign: Campaign) -> dict[str, object]:
    return {
        "first_name": prospect.first_name,
        "last_name": prospect.last_name,
        "company": prospect.company,
        "title": prospect.title,
        "email": prospect.email,
        "custom": {str(k): str(v) for k, v in (prospect.custom_fields or {}).items()},
        "sender_name": campaign.sender_name,
        "campaign": campaign.name,
    }


def compile_templates(campaign: Campaign):
    """Both templates compiled once; a syntax error names the template and line."""
    compiled = []
    for label, source in (("subject", campaign.subject_template), ("body", campaign.body_template)):
        try:
            compiled.append(ENGINE.from_string(source))
        except TemplateSyntaxError as exc:
            raise TemplateSyntaxError(f"{label} template: {exc}") from exc
    return compiled


def render_message(compiled, context: dict[str, object]) -> tuple[str, str]:
    subject_template, body_template = compiled
    subject = subject_template.render(Context(context, autoescape=False)).strip()
    body = body_template.render(Context(context, autoescape=False))
    return subject, body
