"""Which checks run, and how severe they are: the operator's ValidationRule rows, adjusted by
the client's RuleOverride rows when the messages are that client's."""

from apps.core.models import ValidationRule

from .checks.base import RuleConfig
from .models import RuleOverride


def active_rules(client_id: int | None = None) -> list[RuleConfig]:
    """The rules in force (for this client, if given), ordered by code: one query, two with a
    client. A finding records the rule's version and, where one applied, the override's."""
    rules = ValidationRule.objects.order_by("code")
    overrides = {}
    if client_id is not None:
        overrides = {o.rule_id: o for o in RuleOverride.objects.filter(client_id=client_id)}
    active = []
    for rule in rules:
        override = overrides.get(rule.pk)
        enabled, severity, parameters = rule.enabled, rule.severity, dict(rule.parameters or {})
        override_version = None
        if override is not None:
            override_version = override.version
            enabled = rule.enabled if override.enabled is None else override.enabled
            severity = override.severity or severity
            parameters.update(override.parameters or {})
        if enabled:
            active.append(
                RuleConfig(rule.code, severity, rule.version, parameters, override_version)
            )
    return active
