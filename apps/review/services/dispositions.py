"""How findings end (FindingDisposition): written by the review action that ends them, inside
that action's transaction. The callers: edits.py (fixed, edited away, excluded) and
decisions.py (approved unchanged, batch rejected).

A finding ends once: the row is unique per finding and every write here skips a finding that
already has one, so two reviewers acting at once (whose actions the batch lock and the
conditional moves already serialise) never give a finding two endings.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from apps.core.audit import Actor, AuditAction, actor_label
from apps.core.bulk import among, insert_rows
from apps.core.models import AuditEvent, Batch, Finding, Message
from apps.review.models import Disposition, FindingDisposition

TEXT_MAX = 200  # FindingDisposition.text: enough to recognise the flagged words in a sample


def _user_id(actor: Actor) -> int | None:
    pk = getattr(actor, "pk", None)
    return pk if isinstance(pk, int) else None


# One statement for a whole batch: the approval of a batch of thousands of messages copies its
# findings without loading them. The flagged text is cut from the message's field as it is now.
_INSERT_FROM_FINDINGS = """
INSERT INTO review_findingdisposition (
    finding_id, batch_id, message_id, client_id, rule_code, rule_version, severity, field,
    text, disposition, decided_at, actor_id, actor_label, backfilled
)
SELECT f.id, f.batch_id, f.message_id, b.client_id, f.rule_code, f.rule_version, f.severity,
    f.field,
    COALESCE(SUBSTR(CASE f.field WHEN 'subject' THEN m.subject WHEN 'body' THEN m.body
                                 WHEN 'email' THEN m.recipient ELSE '' END,
                    f.start + 1, MIN_OF(f."end" - f.start, {text_max})), ''),
    %s, %s, %s, %s, %s
FROM core_finding f
JOIN core_message m ON m.id = f.message_id
JOIN core_batch b ON b.id = f.batch_id
WHERE {where}
ON CONFLICT (finding_id) DO NOTHING
"""


def _min_function() -> str:
    return "LEAST" if connection.vendor == "postgresql" else "MIN"


def record_for_batch(
    *, batch_id: int, disposition: Disposition, actor: Actor, at: datetime,
    included_only: bool = False, message_id: int | None = None, backfilled: bool = False,
    message_ids: list[int] | None = None,
) -> int:
    """End every finding of a batch (or of one of its messages, or of `message_ids`; or of
    its included messages only) that has not ended yet. Returns how many ended now."""
    if message_ids is not None:  # a group exclusion: thousands of messages, 500 a statement
        return sum(
            _insert_from_findings(
                batch_id=batch_id, disposition=disposition, actor=actor, at=at,
                included_only=included_only, message_ids=message_ids[i:i + 500],
                backfilled=backfilled,
            )
            for i in range(0, len(message_ids), 500)
        )
    return _insert_from_findings(
        batch_id=batch_id, disposition=disposition, actor=actor, at=at,
        included_only=included_only, message_ids=[message_id] if message_id else None,
        backfilled=backfilled,
    )


def _insert_from_findings(
    *, batch_id: int, disposition: Disposition, actor: Actor, at: datetime,
    included_only: bool, message_ids: list[int] | None, backfilled: bool,
) -> int:
    where = ["f.batch_id = %s"]
    params: list[str | int | bool | datetime | None] = [
        str(disposition), at, _user_id(actor), actor_label(actor), backfilled, batch_id
    ]
    if message_ids is not None:
        where.append(f"f.message_id IN ({', '.join(['%s'] * len(message_ids))})")
        params.extend(message_ids)
    if included_only:
        where.append("m.excluded = %s")
        params.append(False)
    sql = _INSERT_FROM_FINDINGS.format(text_max=TEXT_MAX, where=" AND ".join(where)).replace(
        "MIN_OF", _min_function()
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return max(int(cursor.rowcount), 0)


@dataclass(frozen=True)
class _Seen:
    """A finding as it stood before an edit, and the key that tells whether it survived it."""

    finding_id: int
    batch_id: int
    message_id: int
    rule_code: str
    rule_version: int
    severity: str
    field: str
    text: str
    suggestion: str | None

    @property
    def key(self) -> tuple[int, str, str, str, str | None]:
        return (self.message_id, self.rule_code, self.field, self.text, self.suggestion)


def _flagged(texts: dict[str, str], field: str, start: int | None, end: int | None) -> str:
    if start is None or end is None:
        return ""
    return texts.get(field, "")[start:end]


def findings_before_edit(texts: dict[int, dict[str, str]]) -> list[_Seen]:
    """The findings of these messages (id → {"subject", "body", "email"} before the edit), read
    before re-validation replaces them."""
    rows = Finding.objects.filter(message_id__in=among(texts)).values_list(
        "pk", "batch_id", "message_id", "rule_code", "rule_version", "severity", "field",
        "start", "end", "suggestion",
    )
    return [
        _Seen(pk, batch_id, message_id, code, version, severity, field,
              _flagged(texts[message_id], field, start, end), suggestion)
        for pk, batch_id, message_id, code, version, severity, field, start, end, suggestion
        in rows
    ]


def record_after_edit(
    before: list[_Seen], *, texts_after: dict[int, dict[str, str]], client_id: int,
    actor: Actor, at: datetime, fixed: set[int] | None = None,
) -> int:
    """After re-validation: a finding that no longer reads the same (same rule, field, flagged
    text and suggestion) in its message has ended: fixed when the edit applied its suggestion
    (`fixed`: finding ids), else edited away. One that still reads the same carries on in its
    new row. Returns how many ended."""
    if not before:
        return 0
    after = Counter(
        (message_id, code, field, _flagged(texts_after[message_id], field, start, end), suggestion)
        for message_id, code, field, start, end, suggestion in Finding.objects.filter(
            message_id__in=among(texts_after)
        ).values_list("message_id", "rule_code", "field", "start", "end", "suggestion")
    )
    gone = []
    for seen in before:
        if after[seen.key] > 0:
            after[seen.key] -= 1
        else:
            gone.append(seen)
    # A finding of an excluded message may have ended already. The caller holds the batch
    # lock, which every writer of endings takes, so none can be written meanwhile: the rest
    # go in by COPY (thousands in a group fix), no conflict to skip.
    already = set(FindingDisposition.objects.filter(
        finding_id__in=among(seen.finding_id for seen in gone)
    ).values_list("finding_id", flat=True)) if gone else set()
    label, user_id = actor_label(actor), _user_id(actor)
    return insert_rows(FindingDisposition, _ROW_FIELDS, (
        (seen.finding_id, seen.batch_id, seen.message_id, client_id, seen.rule_code,
         seen.rule_version, seen.severity, seen.field, seen.text[:TEXT_MAX],
         str(Disposition.FIXED if seen.finding_id in (fixed or set()) else Disposition.EDITED),
         at, user_id, label, False)
        for seen in gone if seen.finding_id not in already
    ))


_ROW_FIELDS = ("finding_id", "batch_id", "message_id", "client_id", "rule_code", "rule_version",
               "severity", "field", "text", "disposition", "decided_at", "actor_id",
               "actor_label", "backfilled")


def approval_withdrawn(*, batch_id: int) -> int:
    """A recall takes the approval back: its findings have not ended, the next round decides
    them. (The audit trail keeps the approval and the recall.)"""
    deleted, _ = FindingDisposition.objects.filter(
        batch_id=batch_id, disposition=Disposition.APPROVED
    ).delete()
    return deleted


def texts_of(message: Message) -> dict[str, str]:
    return {"subject": message.subject, "body": message.body, "email": message.recipient}


# --- Backfill: endings from before dispositions were recorded (manage.py backfill_dispositions)


@dataclass(frozen=True)
class _Named:
    """An actor the trail names without a user row (an API token, "system")."""

    audit_label: str


def _actor_of(event: AuditEvent) -> Actor:
    if event.actor is not None:
        return event.actor
    return None if event.actor_label == "system" else _Named(event.actor_label)


def _lock(batch_id: int) -> None:
    # Every writer of endings holds its batch's row (record_after_edit counts on it).
    list(Batch.objects.select_for_update().filter(pk=batch_id).values_list("pk"))


def backfill_from_trail() -> dict[str, int]:
    """Endings the audit trail still allows, oldest first so the first ending wins: exclusions
    (an excluded message is never re-validated, its findings are still there), each batch's
    final approval or rejection (not one a recall took back) over the findings still stored,
    and group fixes, which name their rule and text (their finding rows are gone: no finding
    id, no severity). Findings edited away left no trace of their own. Idempotent: a finding
    (or fix event) already recorded is skipped."""
    counts: Counter[str] = Counter()
    for event in AuditEvent.objects.filter(action=AuditAction.MESSAGE_EXCLUDED).select_related(
        "actor"
    ).order_by("created_at", "pk"):
        if event.message_id is None or event.batch_id is None:
            continue  # not a message's exclusion: nothing to end
        _lock(event.batch_id)
        counts["excluded"] += record_for_batch(
            batch_id=event.batch_id, message_id=event.message_id,
            disposition=Disposition.EXCLUDED, actor=_actor_of(event), at=event.created_at,
            backfilled=True,
        )
    decisions = (AuditAction.BATCH_APPROVED, AuditAction.BATCH_REJECTED,
                 AuditAction.BATCH_RECALLED, AuditAction.BATCH_ROUTED)
    last: dict[int, AuditEvent] = {}
    for event in AuditEvent.objects.filter(action__in=decisions, batch__isnull=False).exclude(
        action=AuditAction.BATCH_ROUTED, to_state="in_review"
    ).select_related("actor").order_by("created_at", "pk"):
        if event.batch_id is not None:  # selected so (batch__isnull=False); for mypy
            last[event.batch_id] = event
    for batch_id, event in last.items():
        if event.action == AuditAction.BATCH_RECALLED:
            continue
        rejected = event.action == AuditAction.BATCH_REJECTED
        _lock(batch_id)
        how = Disposition.REJECTED if rejected else Disposition.APPROVED
        counts[str(how)] += record_for_batch(
            batch_id=batch_id, disposition=how, actor=_actor_of(event),
            at=event.created_at, included_only=not rejected, backfilled=True,
        )
    clients = dict(Batch.objects.values_list("pk", "client_id"))
    fixes = []
    for event in AuditEvent.objects.filter(
        action=AuditAction.FINDING_FIXED, batch__isnull=False, message__isnull=False
    ).order_by("created_at", "pk"):
        if event.batch_id is None or event.message_id is None:
            continue  # not selected (isnull=False above); for mypy
        data = event.data or {}
        fixes.append(FindingDisposition(
            source_event=event.pk, batch_id=event.batch_id, message_id=event.message_id,
            client_id=clients[event.batch_id], rule_code=str(data.get("rule_code", ""))[:50],
            text=str(data.get("text", ""))[:TEXT_MAX], disposition=Disposition.FIXED,
            decided_at=event.created_at, actor_id=event.actor_id,
            actor_label=event.actor_label, backfilled=True,
        ))
    from_events = FindingDisposition.objects.filter(source_event__isnull=False)
    before = from_events.count()
    FindingDisposition.objects.bulk_create(fixes, ignore_conflicts=True, batch_size=1000)
    counts["fixed"] += from_events.count() - before
    return dict(counts)
