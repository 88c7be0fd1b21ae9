"""Which checks run, and how severe they are: the operator's ValidationRule rows."""

from apps.core.models import ValidationRule

from .checks.base import RuleConfig


def active_rules() -> list[RuleConfig]:
    """The enabled rules, ordered by code, in one query."""
    return [
        RuleConfig(
            code=rule.code,
            severity=rule.severity,
            version=rule.version,
            parameters=rule.parameters or {},
        )
        for rule in ValidationRule.objects.filter(enabled=True).order_by("code")
    ]
