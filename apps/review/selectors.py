"""Reads for the review screens."""

from django.core.paginator import Paginator
from django.db.models import Count, Prefetch
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from apps.core.models import AuditEvent, Finding, Message

MESSAGES_PER_PAGE = 50


def batch_finding_counts(batch_id: int) -> list[dict]:
    """Findings by rule and severity, for the summary at the top of the review screen."""
    return list(
        Finding.objects.filter(message__batch_id=batch_id)
        .values("rule_code", "severity")
        .annotate(messages=Count("message", distinct=True))
        .order_by("-messages", "rule_code")
    )


def review_page(batch_id: int, page_number) -> object:
    messages = (
        Message.objects.filter(batch_id=batch_id)
        .select_related("prospect")
        .prefetch_related(Prefetch("findings", queryset=Finding.objects.order_by("field", "start")))
        .order_by("-worst_severity", "pk")
    )
    return Paginator(messages, MESSAGES_PER_PAGE).get_page(page_number)


def batch_events(batch_id: int):
    return AuditEvent.objects.filter(batch_id=batch_id).order_by("created_at", "pk")


def highlight(text: str, findings) -> SafeString:
    """The text, escaped, with each finding's span wrapped in <mark> (explanation as title)."""
    spans = sorted(
        (f for f in findings if f.start is not None and f.end is not None), key=lambda f: f.start
    )
    parts, cursor = [], 0
    for finding in spans:
        if finding.start < cursor:  # overlapping spans: the first one wins the highlight
            continue
        parts.append(escape(text[cursor : finding.start]))
        parts.append(
            format_html(
                '<mark class="finding finding-{}" title="{}">{}</mark>',
                finding.severity, finding.explanation, text[finding.start : finding.end],
            )
        )
        cursor = finding.end
    parts.append(escape(text[cursor:]))
    return mark_safe("".join(str(p) for p in parts))
