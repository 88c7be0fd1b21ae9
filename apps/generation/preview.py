"""A preview of one campaign's message for one prospect, as the template writer would write it,
with what the validators would say (without DNS). Writes nothing."""

from dataclasses import dataclass, field

from apps.core.models import Campaign, Prospect
from apps.generation.rendering import TemplateRefused, compile_templates, prospect_context
from apps.generation.writers.template import TemplateWriter
from apps.validation.checks.base import CheckFinding, MessageFields
from apps.validation.rules import active_rules
from apps.validation.suite import run_checks


@dataclass
class Preview:
    subject: str = ""
    body: str = ""
    problems: list[str] = field(default_factory=list)  # why it cannot be rendered
    findings: list[CheckFinding] = field(default_factory=list)


def preview_message(*, campaign: Campaign, prospect: Prospect) -> Preview:
    if prospect.client_id != campaign.client_id:
        return Preview(problems=["The prospect belongs to another client."])
    try:
        templates = compile_templates(campaign)
    except TemplateRefused as exc:
        return Preview(problems=[str(p) for p in exc.problems])
    missing = [k for k in sorted(templates.custom_keys) if k not in (prospect.custom_fields or {})]
    if missing:
        return Preview(problems=[f"custom.{k} is missing for this prospect" for k in missing])
    subject, body = TemplateWriter({}, templates=templates).write(
        prospect_context(prospect=prospect, campaign=campaign)
    )
    fields = MessageFields(
        email=prospect.email, first_name=prospect.first_name, last_name=prospect.last_name,
        company=prospect.company, subject=subject, body=body,
    )
    return Preview(subject, body, findings=run_checks(fields, active_rules(), resolver=None))
