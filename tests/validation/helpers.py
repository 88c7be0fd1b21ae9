from apps.validation.checks.base import CheckFinding, RuleConfig

MESSAGE_RULES = [RuleConfig("legal_form", "block"), RuleConfig("placeholder", "block")]
ADDRESS_RULES = [RuleConfig("placeholder", "block"), RuleConfig("recipient_syntax", "block")]


def apply_suggestions(text: str, findings: list[CheckFinding], field: str = "body") -> str:
    """The text with every suggested fix applied, last span first so offsets stay right."""
    fixable = [f for f in findings if f.field == field and f.suggestion is not None]
    for finding in sorted(fixable, key=lambda f: f.start, reverse=True):
        text = text[: finding.start] + finding.suggestion + text[finding.end :]
    return text
