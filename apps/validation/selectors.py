"""Reads for the rule admin: what a rule change would do before it is saved."""

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q

from apps.core.models import Finding, Message

from .checks.base import RuleConfig
from .services import message_fields
from .suite import BATCH_LEVEL, NEEDS_DNS, run_checks


@dataclass(frozen=True)
class RuleImpact:
    checked: int  # recent messages the rule was tried on
    would_flag: int  # how many it flags with the new settings
    flags_now: int  # how many carry a finding of this rule now
    note: str = ""  # why the preview could not be made, if it could not

    def __str__(self) -> str:
        if self.note:
            return self.note
        return (
            f"With these settings the rule would flag {self.would_flag:,} of {self.checked:,} "
            f"recent messages (it flags {self.flags_now:,} of them now)."
        )


def rule_impact(*, rule: RuleConfig | None, code: str, limit: int | None = None) -> RuleImpact:
    """Try a rule's new settings (None: switched off) on the most recent validated messages.

    Runs in memory, never stores a finding. DNS and batch rules are not previewed: the first
    would ask the network for thousands of domains from a web request, the second depends on
    whole batches.
    """
    if code in NEEDS_DNS or code in BATCH_LEVEL:
        return RuleImpact(0, 0, 0, "No preview for this rule: it needs DNS lookups or whole "
                                   "batches. Its effect shows on the next batches validated.")
    limit = limit or settings.RULE_PREVIEW_MESSAGES
    messages = list(
        Message.objects.filter(validated_at__isnull=False)
        .select_related("prospect")
        .order_by("-pk")[:limit]
    )
    ids = [m.pk for m in messages]
    flags_now = (
        Finding.objects.filter(message_id__in=ids)
        .filter(Q(rule_code=code) | Q(rule_code__startswith=f"{code}."))
        .values("message_id").distinct().count()
    )
    would_flag = 0
    if rule is not None:
        for message in messages:
            findings = run_checks(message_fields(message), [rule], resolver=None)
            would_flag += bool(findings)
    return RuleImpact(len(messages), would_flag, flags_now)
