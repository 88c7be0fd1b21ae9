"""Reads for the rule admin: what a rule change would do before it is saved."""

from collections import Counter
from dataclasses import dataclass, field

from django.conf import settings

from apps.core.models import Finding, Message, ValidationRule

from .checks.base import SEVERITY_ORDER, RuleConfig
from .models import RuleOverride
from .services import message_fields
from .suite import BATCH_LEVEL, CHECKS, NEEDS_DNS, run_checks


@dataclass(frozen=True)
class RuleImpact:
    checked: int  # recent messages the rule was tried on
    would_flag: int  # how many it flags with the new settings
    flags_now: int  # how many it flags with the settings in force
    # (verdict now, verdict after) → messages, for the messages whose verdict changes
    changes: dict[tuple[str, str], int] = field(default_factory=dict)
    note: str = ""  # why the preview could not be made, if it could not

    @property
    def changed(self) -> int:
        return sum(self.changes.values())

    def changes_text(self) -> str:
        if not self.changes:
            return "no message's verdict would change"
        parts = [
            f"{before} → {after} {n:,}" for (before, after), n in sorted(
                self.changes.items(), key=lambda item: (-item[1], item[0])
            )
        ]
        verdicts = "message's verdict" if self.changed == 1 else "messages' verdicts"
        return f"{self.changed:,} {verdicts} would change ({', '.join(parts)})"

    def __str__(self) -> str:
        if self.note:
            return self.note
        return (
            f"Over {self.checked:,} recent messages, with each client's override applied: "
            f"{self.changes_text()}. With these settings the rule would flag "
            f"{self.would_flag:,} of {self.checked:,} recent messages (it flags "
            f"{self.flags_now:,} of them now)."
        )


def _for_client(
    rule: RuleConfig | None, enabled: bool, override: RuleOverride | None
) -> RuleConfig | None:
    """The rule as it runs for one client, or None when it is off for them: the override's
    switch, severity and parameters over the rule's (as validation.rules.active_rules)."""
    if override is not None and override.enabled is not None:
        enabled = override.enabled
    if not enabled or rule is None:
        return None
    if override is None:
        return rule
    return RuleConfig(
        rule.code, override.severity or rule.severity, rule.version,
        {**rule.parameters, **(override.parameters or {})}, override.version,
    )


def _current(code: str) -> tuple[RuleConfig | None, bool]:
    row = ValidationRule.objects.filter(code=code).first()
    if row is None:
        return None, False
    return RuleConfig(row.code, row.severity, row.version, dict(row.parameters or {})), row.enabled


def _worst(severities: list[str]) -> str:
    return max(severities, key=lambda s: SEVERITY_ORDER.get(s, 0), default="")


def _verdict(worst: str) -> str:
    return worst if worst in ("block", "review") else "pass"


def rule_impact(
    *, rule: RuleConfig | None, code: str, limit: int | None = None, enabled: bool = True
) -> RuleImpact:
    """Try a rule's new settings (`enabled` False or `rule` None: switched off, though a
    client's override may switch it on) on the most recent validated messages
    and count the messages whose verdict (pass, review, block) would change, each client's
    override of the rule applied as it would be. Severity-only changes count too.

    Runs in memory, never stores a finding. The other rules' findings are those stored; this
    rule's are found again with the settings in force and with the new ones, so the preview
    shows the change alone. A DNS or batch rule is not run again (thousands of lookups from a
    web request; whole batches): its stored findings take the new severity or go, and a change
    of its parameters cannot be previewed.
    """
    current, current_enabled = _current(code)
    enabled = enabled and rule is not None
    rerun = code in CHECKS and code not in NEEDS_DNS and code not in BATCH_LEVEL
    if not rerun and rule is not None and current is not None and (
        (rule.parameters or {}) != current.parameters
    ):
        return RuleImpact(0, 0, 0, note="No preview for this rule's parameters: it needs DNS "
                          "lookups or whole batches. Its effect shows on the next batches "
                          "validated (a change of severity or the switch alone is previewed).")
    limit = limit or settings.RULE_PREVIEW_MESSAGES
    messages = list(
        Message.objects.filter(validated_at__isnull=False)
        .select_related("prospect", "batch")
        .order_by("-pk")[:limit]
    )
    ids = [m.pk for m in messages]
    overrides = {o.client_id: o for o in RuleOverride.objects.filter(rule__code=code)}
    others: dict[int, list[str]] = {}
    stored: dict[int, list[str]] = {}
    for message_id, finding_code, severity in Finding.objects.filter(
        message_id__in=ids
    ).values_list("message_id", "rule_code", "severity"):
        mine = finding_code == code or finding_code.startswith(f"{code}.")
        (stored if mine else others).setdefault(message_id, []).append(severity)

    def severities(message: Message, config: RuleConfig | None) -> list[str]:
        if config is None:
            return []
        if rerun:
            return [f.severity for f in run_checks(message_fields(message), [config],
                                                   resolver=None)]
        # Stored findings in force's severity move to the new one; a rule's other kinds
        # ("recipient_domain.unknown" is review whatever the rule says) keep theirs.
        in_force = _for_client(current, current_enabled, overrides.get(message.batch.client_id))
        return [
            config.severity if in_force is not None and s == in_force.severity else s
            for s in stored.get(message.pk, [])
        ]

    changes: Counter[tuple[str, str]] = Counter()
    would_flag = flags_now = 0
    for message in messages:
        override = overrides.get(message.batch.client_id)
        now_found = severities(message, _for_client(current, current_enabled, override))
        after_found = severities(message, _for_client(rule, enabled, override))
        flags_now += bool(now_found)
        would_flag += bool(after_found)
        rest = others.get(message.pk, [])
        before = _verdict(_worst(rest + now_found))
        after = _verdict(_worst(rest + after_found))
        if before != after:
            changes[(before, after)] += 1
    return RuleImpact(len(messages), would_flag, flags_now, dict(changes))
