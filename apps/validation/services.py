"""Validation: run the active rules over messages and store what they found."""

import logging
from collections.abc import Sequence

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.core.audit import record_event
from apps.core.errors import TransitionConflict
from apps.core.models import Batch, BatchStatus, Finding, Message, ValidationRule
from apps.validation.checks.base import SEVERITY_ORDER, CheckFinding, MessageFields, RuleConfig
from apps.validation.dns import DomainResolver
from apps.validation.rules import active_rules
from apps.validation.suite import run_checks

log = logging.getLogger(__name__)
CHUNK = 500


def message_fields(message: Message) -> MessageFields:
    prospect = message.prospect
    return MessageFields(
        email=message.recipient, first_name=prospect.first_name, last_name=prospect.last_name,
        company=prospect.company, subject=message.subject, body=message.body,
    )


def _worst(findings: Sequence[CheckFinding]) -> str:
    return max((f.severity for f in findings), key=SEVERITY_ORDER.__getitem__, default="")


def _store_findings(results, *, rules: list[RuleConfig]) -> None:
    """Replace the findings of these messages; the caller holds the transaction."""
    now = timezone.now()
    version_of = {rule.code: rule.version for rule in rules}
    Finding.objects.filter(message_id__in=[message.pk for message, _ in results]).delete()
    Finding.objects.bulk_create(
        Finding(
            message_id=message.pk, rule_code=f.code,
            rule_version=version_of.get(f.code.split(".", 1)[0], 0), severity=f.severity,
            field=f.field, start=f.start, end=f.end, explanation=f.message, suggestion=f.suggestion,
        )
        for message, findings in results
        for f in findings
    )
    for message, findings in results:
        Message.objects.filter(pk=message.pk).update(validated_at=now, worst_severity=_worst(findings))


def batch_validate(*, batch_id: int) -> None:
    """Validate every message of a validating batch. Safe to run twice: findings are replaced."""
    if not Batch.objects.filter(pk=batch_id, status=BatchStatus.VALIDATING).exists():
        log.info("batch %s is not validating; nothing to do", batch_id)
        return
    rules = active_rules()
    resolver = DomainResolver()  # one per batch: one lookup per unique domain
    messages = Message.objects.filter(batch_id=batch_id).select_related("prospect").order_by("pk")
    chunk = []
    for message in messages.iterator(chunk_size=CHUNK):
        chunk.append((message, run_checks(message_fields(message), rules, resolver=resolver)))
        if len(chunk) == CHUNK:
            with transaction.atomic():
                _store_findings(chunk, rules=rules)
            chunk = []
    if chunk:
        with transaction.atomic():
            _store_findings(chunk, rules=rules)


def message_revalidate(*, message: Message) -> str:
    """Re-run the rules on one message (after an edit); the caller holds the transaction.

    Returns the worst severity found ("" when clean).
    """
    rules = active_rules()
    findings = run_checks(message_fields(message), rules, resolver=DomainResolver())
    _store_findings([(message, findings)], rules=rules)
    return _worst(findings)


def rule_update(
    *, rule_id: int, actor, expected_version: int, enabled: bool, severity: str, parameters: dict
) -> None:
    """An operator's change to a rule: a new version, so each finding names what produced it.

    Conditional on the version the operator saw, so two operators' edits cannot silently
    overwrite each other.
    """
    now = timezone.now()
    with transaction.atomic():
        before = ValidationRule.objects.get(pk=rule_id)
        changed = ValidationRule.objects.filter(pk=rule_id, version=expected_version).update(
            enabled=enabled, severity=severity, parameters=parameters, version=F("version") + 1
        )
        if changed != 1:
            raise TransitionConflict(f"Rule {before.code}", f"version {expected_version}", f"version {before.version}")
        record_event(
            actor=actor, action="rule_changed", at=now, reason=before.code,
            from_state=f"v{expected_version}", to_state=f"v{expected_version + 1}",
            data={
                "before": {"enabled": before.enabled, "severity": before.severity, "parameters": before.parameters},
                "after": {"enabled": enabled, "severity": severity, "parameters": parameters},
            },
        )


# --- for generation: validating one chunk of a batch as soon as it is written ---------------
def messages_validate(*, message_ids: Sequence[int]) -> None:
    """Validate these messages whatever their batch's status (a chunk is validated while
    later chunks are still being written). Safe to run twice: findings are replaced.

    Stores like _store_findings, but marks the messages with one UPDATE per distinct worst
    severity (at most four) instead of one per message: a chunk is hundreds of messages."""
    rules = active_rules()
    resolver = DomainResolver()
    messages = Message.objects.filter(pk__in=list(message_ids)).select_related("prospect")
    results = [
        (message, run_checks(message_fields(message), rules, resolver=resolver))
        for message in messages.order_by("pk")
    ]
    now = timezone.now()
    version_of = {rule.code: rule.version for rule in rules}
    ids_by_worst: dict[str, list[int]] = {}
    for message, findings in results:
        ids_by_worst.setdefault(_worst(findings), []).append(message.pk)
    with transaction.atomic():
        Finding.objects.filter(message_id__in=[message.pk for message, _ in results]).delete()
        Finding.objects.bulk_create(
            Finding(
                message_id=message.pk, rule_code=f.code,
                rule_version=version_of.get(f.code.split(".", 1)[0], 0), severity=f.severity,
                field=f.field, start=f.start, end=f.end, explanation=f.message,
                suggestion=f.suggestion,
            )
            for message, findings in results
            for f in findings
        )
        for worst, ids in ids_by_worst.items():
            Message.objects.filter(pk__in=ids).update(validated_at=now, worst_severity=worst)
