"""Reads the portal and the API share: counts, findings in plain words, history."""

from typing import TYPE_CHECKING, Any, TypedDict

from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.template.defaultfilters import pluralize

from apps.core.models import AuditEvent, Batch, BatchStatus, Finding, Message, SendStatus
from apps.validation.specs import client_words


class BatchCounts(TypedDict):
    """The counts with_counts annotates a batch with."""

    total: int
    excluded: int
    flagged: int
    done: int
    sent: int
    unknown: int
    validated: int
    prospects_total: int


if TYPE_CHECKING:  # django-stubs-ext is a development dependency only
    from django_stubs_ext import WithAnnotations

    CountedBatch = WithAnnotations[Batch, BatchCounts]


def plain_words(*, rule_code: str) -> str:
    """What a finding's rule means, for a client reading why their batch was held (each rule's
    wording is written in its spec: apps/validation/specs.py)."""
    return client_words(rule_code)


def message_count(**conditions: object) -> Coalesce:
    """Messages of the outer batch matching `conditions`, as a correlated subquery: joining
    messages (and prospects) into the batch query would multiply rows per batch."""
    counted = (
        Message.objects.filter(batch=OuterRef("pk"), **conditions)
        .order_by()
        .values("batch")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted), 0)


def with_counts(*, batches: QuerySet[Batch]) -> "QuerySet[CountedBatch]":
    """Annotate a batch queryset with its message counts (still one query for a whole page)."""
    prospects = (
        Batch.prospects.through.objects.filter(batch=OuterRef("pk"))
        .order_by()
        .values("batch")
        .annotate(n=Count("pk"))
        # django-stubs does not follow annotations on an auto-created through model.
        .values("n")  # type: ignore[misc]
    )
    finished = [SendStatus.SENT, SendStatus.FAILED, SendStatus.UNKNOWN]
    return batches.annotate(
        total=message_count(),
        excluded=message_count(excluded=True),
        flagged=message_count(worst_severity__in=["block", "review"]),
        done=message_count(send_status__in=finished),
        sent=message_count(send_status=SendStatus.SENT),
        unknown=message_count(send_status=SendStatus.UNKNOWN),
        validated=message_count(validated_at__isnull=False),
        prospects_total=Coalesce(Subquery(prospects), 0),
    )


def findings_summary(*, batch_id: int) -> list[dict[str, Any]]:
    rows = (
        Finding.objects.filter(batch_id=batch_id)
        .values("rule_code", "severity")
        .annotate(messages=Count("message", distinct=True))
        .order_by("-messages", "rule_code")
    )
    return [{**row, "explanation": plain_words(rule_code=row["rule_code"])} for row in rows]


class ExcludedMessage(TypedDict):
    recipient: str
    exclusion_reason: str


def excluded_messages(*, batch_id: int) -> QuerySet[Message, ExcludedMessage]:
    return Message.objects.filter(batch_id=batch_id, excluded=True).values(
        "recipient", "exclusion_reason"
    )


def history(*, batch_id: int) -> QuerySet[AuditEvent]:
    # Message-level events carry reviewers' working notes; the client sees the batch's moves.
    return AuditEvent.objects.filter(batch_id=batch_id, message__isnull=True).order_by(
        "created_at", "pk"
    )


def stage_label(*, batch: "CountedBatch") -> str:
    """The stage as a client reads it, from a batch annotated by with_counts. A batch back in
    review after sending began was paused (the bounce breaker stopped it): say so."""
    if batch.status == "in_review" and batch.done:
        return "Paused (sending stopped: too many bounces; a reviewer is looking)"
    if batch.status == BatchStatus.NEEDS_ATTENTION:
        return attention_words(unknown=batch.unknown)
    return batch.get_status_display()


def attention_words(*, unknown: int) -> str:
    """Why a batch whose sending finished is not "sent": never "sent" while any is in doubt."""
    return (
        f"Needs attention: {unknown} message{pluralize(unknown)} whose delivery could not be "
        "confirmed (the mail server may or may not have "
        f"{'it' if unknown == 1 else 'them'}); our team is checking"
    )


def progress(*, batch: "CountedBatch") -> dict[str, Any]:
    """Where a running stage stands, from a batch annotated by with_counts."""
    if batch.status == "generating":
        done, total = batch.total, batch.prospects_total
    elif batch.status == "validating":
        done, total = batch.validated, batch.total
    elif batch.status in (BatchStatus.SENDING, BatchStatus.NEEDS_ATTENTION, BatchStatus.SENT):
        done, total = batch.done, batch.total - batch.excluded
    else:
        return {"running": False, "done": 0, "total": 0, "percent": None}
    percent = 100 if total == 0 else round(100 * done / total)
    return {"running": batch.status == BatchStatus.SENDING, "done": done, "total": total,
            "percent": percent}
