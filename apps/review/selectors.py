"""Reads for the review screens: the queue, the review screen, the audit export."""

import difflib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import (
    Case,
    Count,
    DateTimeField,
    DurationField,
    Exists,
    F,
    IntegerField,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Cast
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from apps.core.audit import AuditAction
from apps.core.models import AuditEvent, Batch, BatchStatus, Finding, Message
from apps.core.spreadsheets import safe_cell
from apps.review.models import Claim, SlaTarget
from apps.review.services import claim_idle
from apps.validation.fixes import fix_edit

MESSAGES_PER_PAGE = 50


def review_page(*, batch_id: int, page_number: int | str | None) -> Page[Any]:
    """One page of a batch's messages, blocking ones first. Two steps: the page's ids (the sort
    reads only the narrow columns), then those rows with their findings (the page's ids are
    swapped for them, so it is a page of messages)."""
    # Severity by rank, not by name: alphabetically "warn" would come before "block".
    rank = Case(
        When(worst_severity="block", then=0), When(worst_severity="review", then=1),
        When(worst_severity="warn", then=2), default=3, output_field=IntegerField(),
    )
    ids = (
        Message.objects.filter(batch_id=batch_id)
        .order_by(rank, "pk")
        .values_list("pk", flat=True)
    )
    page: Page[Any] = Paginator(ids, MESSAGES_PER_PAGE).get_page(page_number)
    page_ids = list(page.object_list)
    rows = (
        Message.objects.filter(pk__in=page_ids)
        .select_related("prospect")
        .prefetch_related(Prefetch("findings", queryset=Finding.objects.order_by("field", "start")))
        .in_bulk()
    )
    page.object_list = [rows[pk] for pk in page_ids if pk in rows]
    return page


def batch_events(*, batch_id: int) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(batch_id=batch_id).order_by("created_at", "pk")


def recent_batch_events(*, batch_id: int, limit: int) -> list[AuditEvent]:
    """The newest `limit` events, oldest first."""
    newest = batch_events(batch_id=batch_id).order_by("-created_at", "-pk")[:limit]
    return list(reversed(newest))


def highlight(*, text: str, findings: Iterable[Finding]) -> SafeString:
    """The text, escaped, with each finding's span wrapped in <mark> (explanation as title)."""
    spans = sorted(
        (
            (f.start, f.end, f)
            for f in findings
            if f.start is not None and f.end is not None
        ),
        key=lambda span: span[0],
    )
    parts: list[str] = []
    cursor = 0
    for start, end, finding in spans:
        if start < cursor:  # overlapping spans: the first one wins the highlight
            continue
        parts.append(escape(text[cursor:start]))
        parts.append(
            format_html(
                '<mark class="finding finding-{}" title="{}">{}</mark>',
                finding.severity, finding.explanation, text[start:end],
            )
        )
        cursor = end
    parts.append(escape(text[cursor:]))
    return mark_safe("".join(str(p) for p in parts))


PREVIEW_CONTEXT = 40  # characters of the line shown either side of a fix


@dataclass(frozen=True)
class FixPreview:
    """A fix as the reviewer reads it: the line before, with `removed` struck through, and
    after, with `inserted` marked; `lead` and `trail` are the unchanged text around it, with
    the spacing and punctuation as the fix leaves them. Plain text: the template escapes it."""

    lead: str
    removed: str
    inserted: str
    trail: str
    cut_before: bool  # the line goes on before `lead`
    cut_after: bool

    @property
    def before(self) -> str:
        return self.lead + self.removed + self.trail

    @property
    def after(self) -> str:
        return self.lead + self.inserted + self.trail


def fix_preview(*, text: str, start: int, end: int, suggestion: str, field: str) -> FixPreview:
    """What applying the suggestion does to the text: the same edit the fix services make."""
    edit = fix_edit(text, start=start, end=end, suggestion=suggestion, field=field)
    line_start = text.rfind("\n", 0, edit.start) + 1
    line_end = text.find("\n", edit.end)
    line_end = len(text) if line_end == -1 else line_end
    lead_from = max(line_start, edit.start - PREVIEW_CONTEXT)
    trail_to = min(max(line_end, edit.end), edit.end + PREVIEW_CONTEXT)
    return FixPreview(
        lead=text[lead_from : edit.start],
        removed=_visible_breaks(text[edit.start : edit.end]),
        inserted=_visible_breaks(edit.replacement),
        trail=text[edit.end : trail_to],
        cut_before=lead_from > line_start,
        cut_after=trail_to < line_end,
    )


def _visible_breaks(text: str) -> str:
    return text.replace("\r\n", "⏎").replace("\n", "⏎").replace("\r", "⏎")


def finding_preview(finding: Finding, message: Message) -> FixPreview | None:
    """The preview of a finding's suggested fix, or None when it has none to apply."""
    start, end = finding.start, finding.end
    fixable = finding.field in ("subject", "body")
    if finding.suggestion is None or not fixable or start is None or end is None:
        return None
    return fix_preview(
        text=getattr(message, finding.field), start=start, end=end,
        suggestion=finding.suggestion, field=finding.field,
    )


def group_samples(*, groups: list[dict[str, Any]]) -> None:
    """Give each fixable group of finding_groups the preview of its sample message: "214
    messages: 'Initech Inc. is growing' -> 'Initech is growing'"."""
    for group in groups:
        fixable = group["field"] in ("subject", "body") and group["sample_start"] is not None
        group["sample"] = None
        if group["suggestion"] is not None and group["text"] is not None and fixable:
            group["sample"] = fix_preview(
                text=group["sample_text"], start=group["sample_start"] - group["sample_from"],
                end=group["sample_end"] - group["sample_from"], suggestion=group["suggestion"],
                field=group["field"],
            )


# --- The holding queue ------------------------------------------------------------------------

@dataclass
class QueueFilters:
    client_id: int | None = None
    tier: str = ""
    rule_code: str = ""
    claimed: str = ""  # "claimed", "free" or "" for both


def sla_targets() -> dict[str, SlaTarget]:
    return {target.tier: target for target in SlaTarget.objects.all()}


def _deadline(targets: dict[str, SlaTarget]) -> Cast | Case:
    """The SLA deadline of the current round, per the client's tier, computed in the database so
    the queue can be ordered by it. A tier without a target sorts after every deadline."""
    whens = [
        When(client__tier=tier, then=F("entered_review_at") + Value(t.target, DurationField()))
        for tier, t in targets.items()
    ]
    if not whens:
        # No target at all: every deadline is unknown. A bare NULL is not a valid ORDER BY on
        # PostgreSQL ("non-integer constant"), a typed one is.
        return Cast(Value(None), DateTimeField())
    return Case(*whens, default=Value(None), output_field=DateTimeField())


def queue_batches(
    *, filters: QueueFilters, now: datetime, targets: dict[str, SlaTarget]
) -> QuerySet[Batch]:
    """Batches in review, most urgent first: SLA deadline, then the time they entered review."""
    live_claim = Q(claim__holder__isnull=False, claim__last_active_at__gte=now - claim_idle())
    batches = (
        Batch.objects.filter(status=BatchStatus.IN_REVIEW)
        .select_related("client", "campaign", "claim__holder")
        .annotate(deadline=_deadline(targets))
        .order_by(F("deadline").asc(nulls_last=True), "entered_review_at", "pk")
    )
    if filters.client_id:
        batches = batches.filter(client_id=filters.client_id)
    if filters.tier:
        batches = batches.filter(client__tier=filters.tier)
    if filters.rule_code:
        batches = batches.filter(
            Exists(Finding.objects.filter(batch_id=OuterRef("pk"), rule_code=filters.rule_code))
        )
    if filters.claimed == "claimed":
        batches = batches.filter(live_claim)
    elif filters.claimed == "free":
        batches = batches.exclude(live_claim)
    return batches


def annotate_queue_page(
    *, batches: list[Batch], now: datetime, targets: dict[str, SlaTarget]
) -> None:
    """Sizes, findings by kind, waiting time and the SLA badge of one page: three queries at
    most, however many batches the page holds."""
    ids = [batch.pk for batch in batches]
    sizes = dict(
        Message.objects.filter(batch_id__in=ids).values("batch_id").annotate(n=Count("pk"))
        .values_list("batch_id", "n")
    )
    kinds = _finding_kinds(ids)
    idle = claim_idle()
    for batch in batches:
        claim = batch.claim if _has_claim(batch) else None
        live = (
            claim is not None and claim.holder_id is not None
            and claim.last_active_at is not None and claim.last_active_at >= now - idle
        )
        # What the queue's template shows beside each batch, set on the page's instances.
        vars(batch).update(
            size=sizes.get(batch.pk, 0),
            finding_kinds=kinds.get(batch.pk, []),
            waiting=(
                _duration_text(now - batch.entered_review_at) if batch.entered_review_at else ""
            ),
            badge=_badge(batch, now=now, target=targets.get(batch.client.tier)),
            holder=claim.holder if live and claim is not None else None,
        )


def _batch_versions(ids: list[int]) -> dict[int, str]:
    """A version per batch that changes whenever its messages, findings or exclusions do: each
    such change writes an audit event on the batch in the same transaction."""
    versions = {batch_id: "0" for batch_id in ids}
    for batch_id, last, count in (
        AuditEvent.objects.filter(batch_id__in=ids).values("batch_id")
        .annotate(last=Max("created_at"), n=Count("pk")).values_list("batch_id", "last", "n")
    ):
        versions[batch_id] = f"{last.timestamp()}-{count}"
    return versions


def _finding_kinds(ids: list[int]) -> dict[int, list[tuple[str, int]]]:
    """Messages flagged per rule, for each batch of a queue page. Counting them reads every
    finding of every batch on the page (~50k rows for 100 batches of 500), so each batch's
    counts are cached until its next audit event; only the changed batches are counted."""
    keys = {
        batch_id: f"review:kinds:{batch_id}:{version}"
        for batch_id, version in _batch_versions(ids).items()
    }
    cached = cache.get_many(list(keys.values()))
    kinds = {batch_id: cached[key] for batch_id, key in keys.items() if key in cached}
    missing = [batch_id for batch_id in ids if batch_id not in kinds]
    if missing:
        fresh: dict[int, list[tuple[str, int]]] = {batch_id: [] for batch_id in missing}
        for batch_id, rule_code, count in (
            Finding.objects.of_included_messages(missing)
            .values("batch_id", "rule_code").annotate(n=Count("message_id", distinct=True))
            .order_by("batch_id", "-n", "rule_code")
            .values_list("batch_id", "rule_code", "n")
        ):
            fresh[batch_id].append((rule_code, count))
        cache.set_many({keys[batch_id]: value for batch_id, value in fresh.items()}, timeout=3600)
        kinds.update(fresh)
    return kinds


def _duration_text(delta: timedelta) -> str:
    minutes = max(int(delta.total_seconds() // 60), 0)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def _has_claim(batch: Batch) -> bool:
    try:
        return batch.claim is not None
    except Claim.DoesNotExist:
        return False


def _badge(batch: Batch, *, now: datetime, target: SlaTarget | None) -> str:
    if target is None or batch.entered_review_at is None:
        return ""
    elapsed = now - batch.entered_review_at
    if elapsed >= target.target:
        return "overdue"
    if elapsed >= target.at_risk_after:
        return "at risk"
    return ""


# --- The review screen ------------------------------------------------------------------------

# The batch is named on both sides of the join so that PostgreSQL reads only this batch's
# findings and messages by their indexes (see FindingQuerySet.of_included_messages). Each group
# also brings one of its findings (the sample) with the text around it, SAMPLE_MARGIN characters
# either side, for the screen's "before -> after": in the same query, so the screen's query
# count does not depend on whether a batch has findings.
SAMPLE_MARGIN = 200
FINDING_GROUPS_SQL = f"""
    WITH g AS (
        SELECT f.rule_code, f.field, f.severity,
               CASE WHEN f.start IS NULL THEN NULL
                    WHEN f.field = 'subject' THEN substr(m.subject, f.start + 1, f."end" - f.start)
                    WHEN f.field = 'body' THEN substr(m.body, f.start + 1, f."end" - f.start)
               END AS text,
               f.suggestion, COUNT(DISTINCT f.message_id) AS messages,
               MIN(f.id) AS sample_finding_id
        FROM core_finding f JOIN core_message m ON m.id = f.message_id
        WHERE f.batch_id = %s AND m.batch_id = %s AND NOT m.excluded
        GROUP BY 1, 2, 3, 4, 5
    ), s AS (
        SELECT g.*, f.message_id AS sample_message_id, f.start AS sample_start,
               f."end" AS sample_end,
               CASE WHEN f.start > {SAMPLE_MARGIN} THEN f.start - {SAMPLE_MARGIN} ELSE 0 END
                   AS sample_from,
               CASE WHEN g.field = 'subject' THEN m.subject WHEN g.field = 'body' THEN m.body
               END AS sample_field
        FROM g JOIN core_finding f ON f.id = g.sample_finding_id
        JOIN core_message m ON m.id = f.message_id
    )
    SELECT rule_code, field, severity, text, suggestion, messages, sample_message_id,
           sample_start, sample_end, sample_from,
           substr(sample_field, sample_from + 1, sample_end - sample_from + {SAMPLE_MARGIN})
               AS sample_text
    FROM s
    ORDER BY messages DESC, rule_code, text
"""


def finding_groups(*, batch_id: int) -> list[dict[str, Any]]:
    """Findings of included messages grouped by rule, field, flagged text and suggestion, with
    how many messages have each: "214 messages contain ' GmbH'". Findings without a span (the
    recipient's) group by rule with text None.

    One aggregate over the whole batch (it reads the flagged messages' texts: the review
    screen's largest cost, docs/performance.md), so it is cached until the batch's next audit
    event: every change to a message's text, findings or exclusion writes one in the same
    transaction. Raw SQL for the flagged text (a substring
    of the subject or body at the finding's span); it counts messages, not findings."""
    latest = (
        AuditEvent.objects.filter(batch_id=batch_id).order_by("-created_at", "-pk")
        .values_list("pk", flat=True).first()
    )
    key = f"review:finding-groups:{batch_id}:{latest}"
    groups: list[dict[str, Any]] | None = cache.get(key)
    if groups is None:
        with connection.cursor() as cursor:
            cursor.execute(FINDING_GROUPS_SQL, [batch_id, batch_id])
            columns = [c[0] for c in cursor.description]
            groups = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
        cache.set(key, groups, timeout=3600)
    return groups


def batch_claim_state(*, batch_id: int, now: datetime) -> dict[str, Any]:
    claim = Claim.objects.select_related("holder").filter(batch_id=batch_id).first()
    if claim is None or claim.holder_id is None:
        return {"holder": None, "lapsed": False, "claim": claim}
    lapsed = claim.last_active_at is None or claim.last_active_at < now - claim_idle()
    return {"holder": claim.holder, "lapsed": lapsed, "claim": claim}


def generated_text(*, message: Message) -> dict[str, str]:
    """The text as generated: the "before" of the message's first edit or fix, else as it is."""
    first_edit = (
        AuditEvent.objects.filter(
            message_id=message.pk,
            action__in=(AuditAction.MESSAGE_EDITED, AuditAction.FINDING_FIXED),
        )
        .order_by("created_at", "pk")
        .values_list("data", flat=True)
        .first()
    )
    if first_edit and "before" in first_edit:
        before: dict[str, str] = first_edit["before"]
        return before
    return {"subject": message.subject, "body": message.body}


def diff_lines(*, before: str, after: str) -> list[tuple[str, str]]:
    """(kind, line) pairs for a line diff; kind is "add", "del" or "same". Escaped by the
    template."""
    lines = []
    for line in difflib.ndiff(before.splitlines(), after.splitlines()):
        tag, text = line[:2], line[2:]
        if tag == "? ":
            continue
        lines.append(({"+ ": "add", "- ": "del"}.get(tag, "same"), text))
    return lines


# --- Audit export -----------------------------------------------------------------------------

AUDIT_CSV_HEADER = [
    "time_utc", "actor", "action", "batch", "message", "from", "to", "reason", "data",
]


def audit_csv_rows(*, batch_id: int) -> Iterator[list[str]]:
    events = AuditEvent.objects.filter(batch_id=batch_id).order_by("created_at", "pk")
    for e in events.iterator(chunk_size=2000):
        yield [
            safe_cell(v) for v in (
                e.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                e.actor_label, e.action, e.batch_id, e.message_id, e.from_state, e.to_state,
                e.reason, json.dumps(e.data, ensure_ascii=False, sort_keys=True),
            )
        ]
