"""Applying what came back about a sent message: each report once, in one transaction with its
audit events.

- hard bounce or complaint: the recipient is suppressed for the message's client at once
  (a complaint is never worth a second try), with the report as evidence;
- any report about a message whose send outcome is unknown proves the message left: it is
  resolved as sent (a person no longer has to), through the same service a person uses;
- soft bounces, auto-replies and unreadable reports are recorded and change nothing.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.core.addresses import address_key
from apps.core.audit import Actor, AuditAction, actor_label, record_event
from apps.core.errors import TransitionConflict
from apps.core.models import AuditEvent, Message, SendStatus, Suppression
from apps.deliverability.models import BounceEvent, EventKind, WebhookEvent
from apps.sending import reputation

log = logging.getLogger(__name__)
SUPPRESSING = (EventKind.HARD, EventKind.COMPLAINT)
EVIDENCE_MAX = 8000


@dataclass(frozen=True)
class Report:
    """One report about one message, as a source read it (mail or webhook)."""

    key: str
    kind: str
    source: str
    message_id: int | None
    recipient: str = ""
    evidence: str = ""


def report_apply(*, report: Report, actor: Actor = None) -> BounceEvent | None:
    """Record the report and apply what it changes. None if it was applied before (the same key:
    a mail read twice, a webhook replayed) — then nothing changes."""
    now = timezone.now()
    message = None
    if report.message_id is not None:
        message = (Message.objects.select_related("batch__campaign").filter(pk=report.message_id)
                   .only("pk", "recipient", "send_status", "batch__client_id",
                         "batch__campaign__sender_email").first())
    try:
        with transaction.atomic():
            event = BounceEvent.objects.create(
                key=report.key[:300], kind=report.kind, source=report.source, message=message,
                batch_id=message.batch_id if message else None,
                client_id=message.batch.client_id if message else None,
                recipient=(report.recipient or (message.recipient if message else ""))[:320],
                sending_domain=(reputation.sending_domain(message.batch.campaign.sender_email)
                                if message else ""),
                evidence=report.evidence[:EVIDENCE_MAX], received_at=now,
            )
            if message is not None:
                _apply(event, message, actor, now)
    except IntegrityError:
        if BounceEvent.objects.filter(key=report.key[:300]).exists():
            return None  # applied before
        raise
    if message is not None and report.kind in SUPPRESSING:
        # A batch still sending pauses as it does for 5xx replies, once the late bounces and
        # complaints push it past the threshold (after the commit: the breaker counts this one);
        # so does every batch sending from a domain whose recent reports do.
        reputation.bounce_breaker(message.batch_id)
        reputation.domain_breaker(event.sending_domain)
    return event


def _apply(event: BounceEvent, message: Message, actor: Actor, now: datetime) -> None:
    record_event(
        actor=actor, action=AuditAction(f"report_{event.kind}"), at=now, batch_id=message.batch_id,
        message_id=message.pk, reason=event.evidence[:2000],
        data={"event": event.pk, "source": event.source, "key": event.key},
    )
    if event.kind in SUPPRESSING:
        _suppress(event, message, actor, now)
    # Any report naming the message (a signed return path, or a relay's event about it) proves
    # the message left: a bounce of any kind, an auto-reply, a delivery event.
    _resolve_unknown(event, message, actor)


def _suppress(event: BounceEvent, message: Message, actor: Actor, now: datetime) -> None:
    # The address the message was sent to: the VERP token or the relay names the message, and
    # that is the address to stop mailing (a DSN may name an alias it was forwarded to).
    email = address_key(message.recipient)
    client_id = message.batch.client_id
    reason = _suppression_reason(event)
    _, created = Suppression.objects.get_or_create(client_id=client_id, email=email,
                                                   defaults={"reason": reason})
    if created:
        record_event(
            actor=actor, action=AuditAction.ADDRESS_SUPPRESSED, at=now, batch_id=message.batch_id,
            message_id=message.pk, reason=f"{reason}: {event.evidence[:1500]}",
            data={"event": event.pk, "email": email, "client": client_id},
        )


def _resolve_unknown(event: BounceEvent, message: Message, actor: Actor) -> None:
    from apps.sending.unknown_sends import RESOLVE_SENT, unknown_resolve_many

    if message.send_status != SendStatus.UNKNOWN:
        return
    try:
        with transaction.atomic():
            unknown_resolve_many(
                message_ids=[message.pk], actor=actor, decision=RESOLVE_SENT,
                note=f"resolved by evidence: {event.get_kind_display()} from {event.source} "
                     f"(report {event.pk}) proves the message left",
            )
    except TransitionConflict:
        pass  # a person resolved it meanwhile


def reports_apply(*, reports: list[Report], actor: Actor = None) -> list[BounceEvent]:
    """Many reports at once (a chunk of the bounce mailbox), as report_apply would apply each,
    in a handful of statements instead of about ten per report: the events, their audit rows
    and the suppressions written in bulk; the breakers run once per batch and domain. Reports
    applied before (or twice in the list) change nothing. Returns the events recorded.
    Should another reader insert one of the same reports meanwhile, the chunk falls back to
    report_apply one by one."""
    try:
        with transaction.atomic():
            events, messages = _record_events(reports, actor)
    except IntegrityError:
        events = [e for e in (report_apply(report=r, actor=actor) for r in reports) if e]
        return events
    for batch_id in {m.batch_id for e, m in messages if e.kind in SUPPRESSING}:
        reputation.bounce_breaker(batch_id)
    for domain in {e.sending_domain for e, m in messages if e.kind in SUPPRESSING}:
        reputation.domain_breaker(domain)
    return events


def _record_events(
    reports: list[Report], actor: Actor
) -> tuple[list[BounceEvent], list[tuple[BounceEvent, Message]]]:
    now = timezone.now()
    keys = {r.key[:300] for r in reports}
    seen = set(BounceEvent.objects.filter(key__in=keys).values_list("key", flat=True))
    fresh = []
    for report in reports:
        if report.key[:300] not in seen:
            seen.add(report.key[:300])
            fresh.append(report)
    found: dict[int | None, Message] = {m.pk: m for m in Message.objects.select_related(
        "batch__campaign").filter(
        pk__in={r.message_id for r in fresh if r.message_id is not None}
    ).only("pk", "recipient", "send_status", "batch__client_id",
           "batch__campaign__sender_email")}
    events = BounceEvent.objects.bulk_create(
        _event(report, found.get(report.message_id), now) for report in fresh)
    messages = [(e, e.message) for e in events if e.message is not None]
    audit = [_audit(actor, AuditAction(f"report_{e.kind}"), now, m, e.evidence[:2000],
                    {"event": e.pk, "source": e.source, "key": e.key}) for e, m in messages]
    audit += _suppress_many([(e, m) for e, m in messages if e.kind in SUPPRESSING], actor, now)
    AuditEvent.objects.bulk_create(audit)
    for event, message in messages:
        _resolve_unknown(event, message, actor)
    return events, messages


def _event(report: Report, message: Message | None, now: datetime) -> BounceEvent:
    return BounceEvent(
        key=report.key[:300], kind=report.kind, source=report.source, message=message,
        batch_id=message.batch_id if message else None,
        client_id=message.batch.client_id if message else None,
        recipient=(report.recipient or (message.recipient if message else ""))[:320],
        sending_domain=(reputation.sending_domain(message.batch.campaign.sender_email)
                        if message else ""),
        evidence=report.evidence[:EVIDENCE_MAX], received_at=now,
    )


def _audit(actor: Actor, action: str, now: datetime, message: Message, reason: str,
           data: dict[str, Any]) -> AuditEvent:
    # record_event's row, for bulk_create (a person as the actor row, else by the label).
    return AuditEvent(
        created_at=now, actor=actor if isinstance(actor, User) else None,
        actor_label=actor_label(actor), action=action, batch_id=message.batch_id,
        message_id=message.pk, reason=reason, data=data,
    )


def _suppress_many(pairs: list[tuple[BounceEvent, Message]], actor: Actor, now: datetime
                   ) -> list[AuditEvent]:
    """The suppressions _suppress would add, in two statements; their audit rows."""
    wanted: dict[tuple[int, str], tuple[BounceEvent, Message]] = {}
    for event, message in pairs:
        wanted.setdefault((message.batch.client_id, address_key(message.recipient)),
                          (event, message))
    existing = set(Suppression.objects.filter(
        client_id__in={c for c, _ in wanted}, email__in={e for _, e in wanted}
    ).values_list("client_id", "email"))
    new = {key: pair for key, pair in wanted.items() if key not in existing}
    Suppression.objects.bulk_create(
        Suppression(client_id=client_id, email=email, reason=_suppression_reason(event))
        for (client_id, email), (event, _) in new.items()
    )
    return [_audit(actor, AuditAction.ADDRESS_SUPPRESSED, now, message,
                   f"{_suppression_reason(event)}: {event.evidence[:1500]}",
                   {"event": event.pk, "email": email, "client": client_id})
            for (client_id, email), (event, message) in new.items()]


def _suppression_reason(event: BounceEvent) -> str:
    return f"{event.get_kind_display()} ({event.source}, report {event.pk})"[:200]


def webhook_events_forget(*, now: datetime) -> int:
    """Forget the webhook events applied before twice the SNS age limit: an SNS message that old
    is refused by its Timestamp (apps/deliverability/sns.py) before its id is looked at, and an
    ESP's replay is still applied once by its BounceEvent key. How many."""
    cutoff = now - timedelta(seconds=2 * settings.AMAZON_SNS_MAX_AGE_SECONDS)
    stale = WebhookEvent.objects.filter(applied_at__isnull=False, received_at__lt=cutoff)
    # Read first: a DELETE takes SQLite's write lock even when it matches nothing, and a sweep
    # with nothing to do must not wait for a long import's writer.
    if not stale.exists():
        return 0
    deleted, _ = stale.delete()
    return deleted
