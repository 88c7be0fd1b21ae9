"""Group actions: one reviewer action over every included message of a batch that one rule
flagged, after a preview of the distinct changes it makes (apps/review/review_path.py):

- rule_fix: apply the rule's suggested fixes ("Remove the legal forms from 4,612 messages");
- rule_replace: put one replacement where findings with no fix stand ("[First Name]" ->
  "there");
- rule_exclude: exclude every message with the finding, with one reason.

The reviewer ticks the changes to make (RuleChange: a field and the flagged text, as the
preview lists them). A message changed after the preview (`seen`: the id of the batch's
newest audit event the preview was built from) is left alone and counted, never overwritten:
the reviewer did not see what it says now. The new texts are validated first (the same rules
and batch rules as any re-validation), then written in one statement with each message's
worst severity, each on condition that its content hash is still the one read in this
transaction; the findings of the messages written are replaced, and each is audited one event
per message, as a single fix is. Messages are read as plain rows, not model instances: an
action reads thousands. The action itself is one batch event with its duration (the
review-time figures count actions and their seconds per flagged message).
"""

import json
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from apps.core.audit import AuditAction, actor_label, record_event
from apps.core.bulk import among, insert_rows, update_texts_if_unchanged, uses_copy
from apps.core.errors import ServiceError
from apps.core.models import AuditEvent, Finding, Message, content_hash
from apps.review.models import Disposition
from apps.review.services import dispositions
from apps.review.services.claims import check_hold, lock_batch
from apps.validation.fixes import apply_replacements
from apps.validation.services import texts_judge

TEXT_FIELDS = ("subject", "body")
REPLACEMENT_MAX = 200
FIX, REPLACE, EXCLUDE = "fix", "replace", "exclude"


@dataclass(frozen=True)
class RuleChange:
    """One distinct change of a group action: the findings of a rule in one field that flag
    the same text. `text` is None for a finding with no span in the subject or body (the
    recipient's, the prospect's name): those can only be excluded."""

    field: str
    text: str | None


@dataclass
class GroupActionResult:
    changed: int = 0  # messages fixed, edited or excluded
    skipped: int = 0  # changed since the preview, or by someone meanwhile: left alone
    seconds: float = 0.0


# (message id, field, start, end, suggestion) of one finding
FindingRow = tuple[int, str, int | None, int | None, str | None]


@dataclass(slots=True)
class _Text:
    """What a group action reads of a message, and validation after it (a plain row: an action
    reads thousands, and model instances would cost more than the texts' own work)."""

    pk: int
    recipient: str
    subject: str
    body: str
    content_hash: str
    first_name: str
    last_name: str
    company: str

    def validation_row(self) -> tuple[int, str, str, str, str, str, str]:
        return (self.pk, self.recipient, self.subject, self.body, self.first_name,
                self.last_name, self.company)


def rule_fix(
    *, batch_id: int, actor: User, rule_code: str, changes: Collection[RuleChange],
    seen: int | None = None,
) -> GroupActionResult:
    """Apply each ticked change's suggested fix to every included message with it."""
    return _rewrite(
        batch_id=batch_id, actor=actor, rule_code=rule_code, changes=changes, seen=seen,
        kind=FIX, put=lambda suggestion: suggestion,
    )


def rule_replace(
    *, batch_id: int, actor: User, rule_code: str, changes: Collection[RuleChange],
    replacement: str, seen: int | None = None,
) -> GroupActionResult:
    """Put `replacement` in place of each ticked change's flagged text where the finding has
    no fix of its own, in every included message with it (the join tidied as a fix is)."""
    if "\n" in replacement or "\r" in replacement:
        raise ServiceError("A replacement is one line: it goes where the flagged text stood.")
    if len(replacement) > REPLACEMENT_MAX:
        raise ServiceError(f"A replacement is at most {REPLACEMENT_MAX} characters.")
    return _rewrite(
        batch_id=batch_id, actor=actor, rule_code=rule_code, changes=changes, seen=seen,
        kind=REPLACE, put=lambda suggestion: replacement if suggestion is None else None,
        replacement=replacement,
    )


def rule_exclude(
    *, batch_id: int, actor: User, rule_code: str, changes: Collection[RuleChange],
    reason: str, seen: int | None = None,
) -> GroupActionResult:
    """Exclude every included message with one of the ticked changes, for one reason."""
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("Say why these messages are excluded.")
    _check_changes(changes)
    started, now = time.perf_counter(), timezone.now()
    result = GroupActionResult()
    with transaction.atomic():
        _lock(batch_id, actor=actor, now=now)
        rows = _findings(batch_id, rule_code, changes)
        messages = _texts(rows)
        chosen = {row[0] for row in rows if _change_of(rows_of=messages, row=row) in changes}
        stale = _changed_since(batch_id, seen) & chosen
        wanted = sorted(chosen - stale)
        won = set(
            Message.objects.filter(pk__in=among(wanted), excluded=False)
            .select_for_update().values_list("pk", flat=True)
        )
        Message.objects.filter(pk__in=among(sorted(won))).update(
            excluded=True, exclusion_reason=reason
        )
        dispositions.record_for_batch(
            batch_id=batch_id, message_ids=sorted(won), disposition=Disposition.EXCLUDED,
            actor=actor, at=now,
        )
        label = actor_label(actor)
        _write_events(
            (now, actor.pk, label, AuditAction.MESSAGE_EXCLUDED, batch_id, pk, "included",
             "excluded", reason, {})
            for pk in sorted(won)
        )
        result.changed, result.skipped = len(won), len(stale) + len(wanted) - len(won)
        _record_action(batch_id, actor, now, started, result, kind=EXCLUDE,
                       rule_code=rule_code, changes=changes, reason=reason)
    return result


def _rewrite(
    *, batch_id: int, actor: User, rule_code: str, changes: Collection[RuleChange],
    seen: int | None, kind: str, put: Callable[[str | None], str | None], replacement: str = "",
) -> GroupActionResult:
    _check_changes(changes)
    started, now = time.perf_counter(), timezone.now()
    result = GroupActionResult()
    with transaction.atomic():
        client_id = _lock(batch_id, actor=actor, now=now)
        rows = _findings(batch_id, rule_code, changes)
        messages = _texts(rows)
        stale = _changed_since(batch_id, seen)
        spans: dict[int, dict[str, list[tuple[int, int, str]]]] = {}
        skipped: set[int] = set()
        for row in rows:
            message_id, field, start, end, suggestion = row
            new_text = put(suggestion)
            if field not in TEXT_FIELDS or start is None or end is None or new_text is None:
                continue  # not in the text, or (fix) no suggestion: nothing this can write
            if _change_of(rows_of=messages, row=row) not in changes:
                continue
            if message_id in stale:
                skipped.add(message_id)
                continue
            spans.setdefault(message_id, {}).setdefault(field, []).append((start, end, new_text))
        edits = []
        for message_id, by_field in spans.items():
            message = messages[message_id]
            before = {"subject": message.subject, "body": message.body}
            for field, field_spans in by_field.items():
                setattr(message, field, apply_replacements(
                    getattr(message, field), spans=field_spans, field=field
                ))
            old_hash = message.content_hash
            message.content_hash = content_hash(
                recipient=message.recipient, subject=message.subject, body=message.body
            )
            edits.append((message, old_hash, before))
        # Judged before the write (the batch rules read the recipients, which this leaves
        # alone), so each message's worst severity goes in the same conditional update.
        judgement = texts_judge(batch_id=batch_id, client_id=client_id,
                                messages=[message.validation_row() for message, _, _ in edits])
        won = update_texts_if_unchanged(
            [(message, old_hash) for message, old_hash, _ in edits],
            worst=judgement.worst, validated_at=timezone.now(),
        )
        changed = [message for message, _, _ in edits if message.pk in won]
        seen_before = dispositions.findings_before_edit({
            message.pk: {**before, "email": message.recipient}
            for message, _, before in edits if message.pk in won
        })
        judgement.replace(only=won)
        dispositions.record_after_edit(
            seen_before, texts_after={m.pk: _texts_of(m) for m in changed},
            client_id=client_id, actor=actor, at=now,
            # A fix applies the findings' own suggestions; a replacement is the reviewer's text.
            fixed={seen.finding_id for seen in seen_before if kind == FIX
                   and seen.rule_code == rule_code and seen.suggestion is not None
                   and RuleChange(seen.field, seen.text) in changes},
        )
        action = AuditAction.FINDING_FIXED if kind == FIX else AuditAction.MESSAGE_EDITED
        label = actor_label(actor)
        why = f"{rule_code}: {kind}" + (f" with {replacement!r}" if kind == REPLACE else "")
        _write_events(
            (now, actor.pk, label, action, batch_id, message.pk, "", "", why,
             {"before": before, "after": {"subject": message.subject, "body": message.body},
              "rule_code": rule_code, "group_action": kind})
            for message, _, before in edits if message.pk in won
        )
        result.changed = len(changed)
        result.skipped = len(skipped) + len(edits) - len(changed)
        _record_action(batch_id, actor, now, started, result, kind=kind, rule_code=rule_code,
                       changes=changes, reason=replacement if kind == REPLACE else "")
    return result


def _check_changes(changes: Collection[RuleChange]) -> None:
    if not changes:
        raise ServiceError("Tick at least one change to make.")


def _lock(batch_id: int, *, actor: User, now: datetime) -> int:
    """Returns the batch's client."""
    # The batch row is held to the end: a second reviewer's group action (or an edit, or the
    # approval) on this batch waits here, then reads the findings as this one left them.
    batch = lock_batch(batch_id)
    check_hold(batch_id, actor=actor, now=now)
    return batch.client_id


def _findings(batch_id: int, rule_code: str, changes: Collection[RuleChange]) -> list[FindingRow]:
    fields = sorted({change.field for change in changes})
    return list(
        Finding.objects.of_included_messages([batch_id])
        .filter(rule_code=rule_code, field__in=fields)
        .order_by("message_id", "field", "start")
        .values_list("message_id", "field", "start", "end", "suggestion")
    )


def _texts(rows: list[FindingRow]) -> dict[int, _Text]:
    ids = sorted({row[0] for row in rows})
    return {
        row[0]: _Text(*row)
        for row in Message.objects.filter(pk__in=among(ids)).values_list(
            "pk", "recipient", "subject", "body", "content_hash", "prospect__first_name",
            "prospect__last_name", "prospect__company",
        )
    }


def _texts_of(message: _Text) -> dict[str, str]:
    """As dispositions.texts_of reads a Message."""
    return {"subject": message.subject, "body": message.body, "email": message.recipient}


def _change_of(*, rows_of: dict[int, _Text], row: FindingRow) -> RuleChange:
    """The change a finding belongs to: its field and the text at its span now (as the review
    screen's groups read it)."""
    message_id, field, start, end, _ = row
    if field not in TEXT_FIELDS or start is None or end is None:
        return RuleChange(field=field, text=None)
    return RuleChange(field=field, text=getattr(rows_of[message_id], field)[start:end])


def _changed_since(batch_id: int, seen: int | None) -> set[int]:
    """Messages with an audit event after the preview's: edited, fixed or excluded since."""
    if seen is None:
        return set()
    return set(
        AuditEvent.objects.filter(batch_id=batch_id, pk__gt=seen, message_id__isnull=False)
        .values_list("message_id", flat=True)
    )


# An audit event's columns, in the order _write_events takes its rows.
EVENT_FIELDS = ("created_at", "actor_id", "actor_label", "action", "batch_id", "message_id",
                "from_state", "to_state", "reason", "data")


def _write_events(rows: Iterable[tuple[object, ...]]) -> None:
    """One event per message (rows of EVENT_FIELDS): by COPY on PostgreSQL (each carries the
    texts before and after, and thousands of them as INSERT parameters cost more than the rest
    of the action)."""
    if not uses_copy():
        AuditEvent.objects.bulk_create(
            (AuditEvent(**dict(zip(EVENT_FIELDS, row, strict=True))) for row in rows),
            batch_size=1000,
        )
        return
    insert_rows(AuditEvent, EVENT_FIELDS, (
        (*row[:-1], json.dumps(row[-1])) for row in rows
    ))


def _record_action(
    batch_id: int, actor: User, now: datetime, started: float, result: GroupActionResult, *,
    kind: str, rule_code: str, changes: Collection[RuleChange], reason: str,
) -> None:
    result.seconds = time.perf_counter() - started
    record_event(
        actor=actor, action=AuditAction.FINDINGS_GROUP_ACTION, at=now, batch_id=batch_id,
        reason=f"{rule_code}: {kind} in {result.changed} message(s)",
        data={"kind": kind, "rule_code": rule_code, "changes": len(changes),
              "changed": result.changed, "skipped": result.skipped,
              "seconds": round(result.seconds, 3), "detail": reason[:REPLACEMENT_MAX]},
    )
