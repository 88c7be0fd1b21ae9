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
from apps.core.bulk import among, insert_returning
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
    if message.send_status == SendStatus.UNKNOWN:
        _resolve_unknown(kind=event.kind, source=event.source, event_id=event.pk,
                         message_id=message.pk, actor=actor)


def _suppress(event: BounceEvent, message: Message, actor: Actor, now: datetime) -> None:
    # The address the message was sent to: the VERP token or the relay names the message, and
    # that is the address to stop mailing (a DSN may name an alias it was forwarded to).
    email = address_key(message.recipient)
    client_id = message.batch.client_id
    reason = _reason(kind=event.kind, source=event.source, event_id=event.pk)
    _, created = Suppression.objects.get_or_create(client_id=client_id, email=email,
                                                   defaults={"reason": reason})
    if created:
        record_event(
            actor=actor, action=AuditAction.ADDRESS_SUPPRESSED, at=now, batch_id=message.batch_id,
            message_id=message.pk, reason=f"{reason}: {event.evidence[:1500]}",
            data={"event": event.pk, "email": email, "client": client_id},
        )


def _resolve_unknown(*, kind: str, source: str, event_id: int, message_id: int,
                     actor: Actor) -> None:
    """Resolve the unknown send of `message_id` as sent, by the evidence of a report."""
    from apps.sending.unknown_sends import RESOLVE_SENT, unknown_resolve_many

    try:
        with transaction.atomic():
            unknown_resolve_many(
                message_ids=[message_id], actor=actor, decision=RESOLVE_SENT,
                note=f"resolved by evidence: {EventKind(kind).label} from {source} "
                     f"(report {event_id}) proves the message left",
            )
    except TransitionConflict:
        pass  # a person resolved it meanwhile


@dataclass(frozen=True)
class Applied:
    """A report reports_apply recorded (not one applied before)."""

    event_id: int
    kind: str
    message_id: int | None
    batch_id: int | None
    sending_domain: str


@dataclass(frozen=True)
class _Sent:
    """What applying a report needs of its message (read as one row, no model instances)."""

    pk: int
    recipient: str
    send_status: str
    batch_id: int
    client_id: int
    sending_domain: str


def reports_apply(*, reports: list[Report], actor: Actor = None) -> list[Applied]:
    """Many reports at once (a chunk of the bounce mailbox, a claim of the webhook inbox), as
    report_apply would apply each, in one transaction of a few set-based statements: the events,
    the suppressions and all their audit rows each one INSERT … VALUES for up to a thousand
    rows (apps.core.bulk.insert_returning), no model instances. A report applied before (its
    key stored, by an earlier run or by another reader at the same moment) or twice in the list
    changes nothing. The breakers run after the commit, once per batch and domain. Returns the
    reports recorded."""
    with transaction.atomic():
        applied = _record(reports, actor, timezone.now())
    suppressing = [a for a in applied if a.kind in SUPPRESSING and a.message_id is not None]
    for batch_id in sorted({a.batch_id for a in suppressing if a.batch_id is not None}):
        reputation.bounce_breaker(batch_id)
    for domain in sorted({a.sending_domain for a in suppressing}):
        reputation.domain_breaker(domain)
    return applied


def _record(reports: list[Report], actor: Actor, now: datetime) -> list[Applied]:
    unique: dict[str, Report] = {}
    for report in reports:
        unique.setdefault(report.key[:300], report)
    ordered = list(unique.items())
    sent = _sent_messages({r.message_id for _, r in ordered if r.message_id is not None})
    # Rows in key order (the key is the first column): two readers inserting overlapping
    # chunks meet in the same order, so one waits for the other instead of deadlocking.
    event_ids = dict(insert_returning(
        BounceEvent, EVENT_COLUMNS, sorted(_event_row(key, r, sent.get(r.message_id), now)
                                           for key, r in ordered),
        returning=("key", "id")))
    applied: list[Applied] = []
    audit: list[tuple[Any, ...]] = []
    wanted: dict[tuple[int, str], tuple[int, Report, _Sent]] = {}
    for key, report in ordered:
        if key not in event_ids:
            continue  # applied before
        event_id, message = event_ids[key], sent.get(report.message_id)
        applied.append(Applied(event_id, report.kind, message.pk if message else None,
                               message.batch_id if message else None,
                               message.sending_domain if message else ""))
        if message is None:
            continue
        audit.append(_audit_row(actor, AuditAction(f"report_{report.kind}"), now, message,
                                _evidence(report)[:2000],
                                {"event": event_id, "source": report.source, "key": key}))
        if report.kind in SUPPRESSING:
            wanted.setdefault((message.client_id, address_key(message.recipient)),
                              (event_id, report, message))
    audit += _suppress_rows(wanted, actor, now)
    insert_returning(AuditEvent, AUDIT_COLUMNS, audit, returning=("id",), skip_conflicts=False)
    for key, report in ordered:
        message = sent.get(report.message_id)
        if key in event_ids and message is not None and message.send_status == SendStatus.UNKNOWN:
            _resolve_unknown(kind=report.kind, source=report.source, event_id=event_ids[key],
                             message_id=message.pk, actor=actor)
    return applied


EVENT_COLUMNS = ("key", "kind", "source", "message_id", "batch_id", "client_id", "recipient",
                 "sending_domain", "evidence", "received_at")
AUDIT_COLUMNS = ("created_at", "actor_id", "actor_label", "action", "batch_id", "message_id",
                 "from_state", "to_state", "reason", "data")


def _sent_messages(ids: set[int]) -> dict[int | None, _Sent]:
    if not ids:
        return {}
    rows = Message.objects.filter(pk__in=among(ids)).values_list(
        "pk", "recipient", "send_status", "batch_id", "batch__client_id",
        "batch__campaign__sender_email")
    return {pk: _Sent(pk, recipient, status, batch_id, client_id,
                      reputation.sending_domain(sender))
            for pk, recipient, status, batch_id, client_id, sender in rows}


def _evidence(report: Report) -> str:
    return report.evidence[:EVIDENCE_MAX]


def _event_row(key: str, report: Report, message: _Sent | None, at: datetime
               ) -> tuple[Any, ...]:
    # The same values report_apply gives its BounceEvent.
    return (key, report.kind, report.source, message.pk if message else None,
            message.batch_id if message else None, message.client_id if message else None,
            (report.recipient or (message.recipient if message else ""))[:320],
            message.sending_domain if message else "", _evidence(report), at)


def _audit_row(actor: Actor, action: str, at: datetime, message: _Sent, reason: str,
               data: dict[str, Any]) -> tuple[Any, ...]:
    # record_event's row (a person as the actor row, else told by the label).
    return (at, actor.pk if isinstance(actor, User) else None, actor_label(actor), action,
            message.batch_id, message.pk, "", "", reason,
            data)


def _suppress_rows(wanted: dict[tuple[int, str], tuple[int, Report, _Sent]], actor: Actor,
                   at: datetime) -> list[tuple[Any, ...]]:
    """Suppress each (client, address) not suppressed yet, in one statement; the audit rows of
    those it added (an address already suppressed, by an operator or an earlier report, keeps
    its row and gets none)."""
    reasons = {target: _reason(kind=report.kind, source=report.source, event_id=event_id)
               for target, (event_id, report, _) in wanted.items()}
    added = insert_returning(
        Suppression, ("client_id", "email", "reason", "created_at"),
        [(client_id, email, reasons[(client_id, email)], at)
         for client_id, email in sorted(wanted)],
        returning=("client_id", "email"))
    rows = []
    for client_id, email in sorted(added, key=lambda pair: wanted[pair][0]):
        event_id, report, message = wanted[(client_id, email)]
        rows.append(_audit_row(
            actor, AuditAction.ADDRESS_SUPPRESSED, at, message,
            f"{reasons[(client_id, email)]}: {_evidence(report)[:1500]}",
            {"event": event_id, "email": email, "client": client_id}))
    return rows


def _reason(*, kind: str, source: str, event_id: int) -> str:
    """A suppression's reason: which report, of what kind, from where."""
    return f"{EventKind(kind).label} ({source}, report {event_id})"[:200]


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
