"""A reviewer's changes to messages of a batch in review: edits, exclusions, and suggested
fixes applied one at a time or to a whole group of findings that read the same. Each edit is
re-validated and audited in its own transaction."""

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from apps.core.audit import AuditAction, actor_label, record_event
from apps.core.bulk import update_texts_if_unchanged
from apps.core.errors import ServiceError, TransitionConflict
from apps.core.models import AuditEvent, Batch, Finding, Message, Prospect, content_hash
from apps.review.models import Disposition
from apps.review.services import dispositions
from apps.review.services.claims import check_hold, lock_batch
from apps.validation.fixes import apply_fixes
from apps.validation.services import message_revalidate, messages_revalidate

REVALIDATE_CHUNK = 500


def _lock_batch_in_review(
    batch_id: int, *, actor: User | None = None, now: datetime | None = None
) -> Batch:
    batch = lock_batch(batch_id)
    check_hold(batch_id, actor=actor, now=now or timezone.now())
    return batch


def message_edit(
    *, message_id: int, actor: User, subject: str, body: str, expected_hash: str,
    fixes: frozenset[int] = frozenset(),
) -> str:
    """A reviewer's edit; re-validates the message. `expected_hash` is the content the reviewer
    saw: if it changed meanwhile, the edit is refused rather than overwriting someone else's.
    The findings the edit removes end as edited away, or as fixed for those in `fixes` (ids of
    the findings whose suggestion it applies)."""
    now = timezone.now()
    with transaction.atomic():
        message = Message.objects.select_related("prospect").get(pk=message_id)
        _lock_batch_in_review(message.batch_id, actor=actor, now=now)
        new_hash = content_hash(recipient=message.recipient, subject=subject, body=body)
        changed = Message.objects.filter(pk=message_id, content_hash=expected_hash).update(
            subject=subject, body=body, content_hash=new_hash
        )
        if changed != 1:
            raise TransitionConflict(
                f"Message {message_id}", "as you saw it", "changed by someone else"
            )
        before = {"subject": message.subject, "body": message.body}
        seen = dispositions.findings_before_edit({message.pk: dispositions.texts_of(message)})
        message.subject, message.body, message.content_hash = subject, body, new_hash
        worst = message_revalidate(message=message)
        dispositions.record_after_edit(
            seen, texts_after={message.pk: dispositions.texts_of(message)},
            client_id=message.batch.client_id, actor=actor, at=now, fixed=set(fixes),
        )
        record_event(
            actor=actor,
            action=AuditAction.MESSAGE_EDITED,
            at=now,
            batch_id=message.batch_id,
            message_id=message.pk,
            data={
                "before": before,
                "after": {"subject": subject, "body": body},
                "worst_severity_after": worst,
            },
        )
    return worst


def message_exclude(*, message_id: int, actor: User, reason: str) -> None:
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("Say why the message is excluded.")
    now = timezone.now()
    with transaction.atomic():
        message = Message.objects.get(pk=message_id)
        _lock_batch_in_review(message.batch_id, actor=actor, now=now)
        if Message.objects.filter(pk=message_id, excluded=False).update(
            excluded=True, exclusion_reason=reason
        ) != 1:
            raise TransitionConflict(f"Message {message_id}", "included", "excluded")
        dispositions.record_for_batch(
            batch_id=message.batch_id, message_id=message.pk, disposition=Disposition.EXCLUDED,
            actor=actor, at=now,
        )
        record_event(
            actor=actor, action=AuditAction.MESSAGE_EXCLUDED, at=now, batch_id=message.batch_id,
            message_id=message.pk, from_state="included", to_state="excluded", reason=reason,
        )


def finding_apply_fix(*, finding_id: int, actor: User) -> str:
    """Apply one finding's suggested replacement to its message's text, as an audited edit."""
    finding = Finding.objects.select_related("message").filter(pk=finding_id).first()
    if finding is None:
        raise ServiceError(
            "That finding is gone: the message was changed and re-validated meanwhile."
        )
    message = finding.message
    if (
        finding.suggestion is None
        or finding.start is None
        or finding.end is None  # a span is both ends; validators set them together
        or finding.field not in ("subject", "body")
    ):
        raise ServiceError("This finding has no suggested fix: edit the message instead.")
    texts = {"subject": message.subject, "body": message.body}
    text = texts[finding.field]
    texts[finding.field] = apply_fixes(
        text, spans=[(finding.start, finding.end)], suggestion=finding.suggestion,
        field=finding.field,
    )
    return message_edit(
        message_id=message.pk, actor=actor, subject=texts["subject"], body=texts["body"],
        expected_hash=message.content_hash, fixes=frozenset({finding.pk}),
    )


@dataclass(frozen=True)
class FindingGroup:
    """Findings that read the same: one rule, one field, the same flagged text and suggestion."""

    rule_code: str
    field: str
    text: str
    suggestion: str


@dataclass
class BulkFixResult:
    fixed: int = 0
    skipped: int = 0  # had the group's finding, but another edit changed the text first
    without: int = 0  # ticked, but the group's finding is not (or no longer) in them


def findings_fix_group(
    *, batch_id: int, actor: User, group: FindingGroup, message_ids: list[int] | None = None
) -> BulkFixResult:
    """Apply a group's suggested fix to every included message with it (or only to
    `message_ids`), re-validate those messages, and write one audit event per message."""
    if group.field not in ("subject", "body"):
        raise ServiceError("Only subject and body findings have a fix to apply.")
    now = timezone.now()
    result = BulkFixResult()
    with transaction.atomic():
        batch = _lock_batch_in_review(batch_id, actor=actor, now=now)
        findings = Finding.objects.of_included_messages([batch_id]).filter(
            rule_code=group.rule_code,
            field=group.field, suggestion=group.suggestion, start__isnull=False,
        ).values_list("message_id", "start", "end", "pk")
        if message_ids is not None:
            findings = findings.filter(message_id__in=message_ids)
        messages = Message.objects.in_bulk({m for m, _, _, _ in findings})
        spans: dict[int, list[tuple[int, int]]] = {}
        fixed: set[int] = set()  # the findings whose suggestion is applied
        for message_id, start, end, finding_id in findings:
            if start is None or end is None:  # not selected (start__isnull=False); for mypy
                continue
            if getattr(messages[message_id], group.field)[start:end] == group.text:
                spans.setdefault(message_id, []).append((start, end))
                fixed.add(finding_id)
        texts_before = {pk: dispositions.texts_of(messages[pk]) for pk in spans}
        if message_ids is not None:
            result.without = len(set(message_ids) - set(spans))
        edits = []
        for message_id, message_spans in spans.items():
            message = messages[message_id]
            before = {"subject": message.subject, "body": message.body}
            setattr(message, group.field, apply_fixes(
                getattr(message, group.field), spans=message_spans, suggestion=group.suggestion,
                field=group.field,
            ))
            old_hash = message.content_hash
            message.content_hash = content_hash(
                recipient=message.recipient, subject=message.subject, body=message.body
            )
            edits.append((message, old_hash, before))
        won = update_texts_if_unchanged([(message, old_hash) for message, old_hash, _ in edits])
        changed, events = [], []
        for message, _, before in edits:
            if message.pk not in won:
                result.skipped += 1
                continue
            changed.append(message)
            events.append(
                AuditEvent(
                    created_at=now,
                    actor=actor,
                    actor_label=actor_label(actor),
                    action=AuditAction.FINDING_FIXED,
                    batch_id=batch_id,
                    message_id=message.pk,
                    reason=f"{group.rule_code}: {group.text!r}",
                    data={
                        "before": before,
                        "after": {"subject": message.subject, "body": message.body},
                        "rule_code": group.rule_code,
                        "text": group.text,
                        "suggestion": group.suggestion,
                    },
                )
            )
        seen = dispositions.findings_before_edit({m.pk: texts_before[m.pk] for m in changed})
        _revalidate(changed)
        dispositions.record_after_edit(
            seen, texts_after={m.pk: dispositions.texts_of(m) for m in changed},
            client_id=batch.client_id, actor=actor, at=now, fixed=fixed,
        )
        AuditEvent.objects.bulk_create(events, batch_size=1000)
        result.fixed = len(changed)
    return result


def _revalidate(messages: list[Message]) -> None:
    """Re-run the rules on these messages of one batch: the batch rules included (a duplicate
    or suppressed recipient stays flagged after a fix), one resolver for all of them."""
    if not messages:
        return
    prospects = {p.pk: p for p in _prospects_of(messages)}
    batch = Batch.objects.get(pk=messages[0].batch_id)
    for start in range(0, len(messages), REVALIDATE_CHUNK):
        chunk = messages[start : start + REVALIDATE_CHUNK]
        for message in chunk:
            message.prospect = prospects[message.prospect_id]
            message.batch = batch
        messages_revalidate(messages=chunk)


def _prospects_of(messages: list[Message]) -> QuerySet[Prospect]:
    return Prospect.objects.filter(pk__in={m.prospect_id for m in messages})
