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
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.core.addresses import address_key
from apps.core.audit import AuditAction, record_event
from apps.core.errors import TransitionConflict
from apps.core.models import Message, SendStatus, Suppression
from apps.deliverability.models import BounceEvent, EventKind
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


def report_apply(*, report: Report, actor=None) -> BounceEvent | None:
    """Record the report and apply what it changes. None if it was applied before (the same key:
    a mail read twice, a webhook replayed) — then nothing changes."""
    now = timezone.now()
    message = None
    if report.message_id is not None:
        message = (Message.objects.select_related("batch").filter(pk=report.message_id)
                   .only("pk", "recipient", "send_status", "batch__client_id").first())
    try:
        with transaction.atomic():
            event = BounceEvent.objects.create(
                key=report.key[:300], kind=report.kind, source=report.source, message=message,
                batch_id=message.batch_id if message else None,
                client_id=message.batch.client_id if message else None,
                recipient=(report.recipient or (message.recipient if message else ""))[:320],
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
        # complaints push it past the threshold (after the commit: the breaker counts this one).
        reputation.bounce_breaker(message.batch_id)
    return event


def _apply(event: BounceEvent, message: Message, actor, now: datetime) -> None:
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


def _suppress(event: BounceEvent, message: Message, actor, now: datetime) -> None:
    # The address the message was sent to: the VERP token or the relay names the message, and
    # that is the address to stop mailing (a DSN may name an alias it was forwarded to).
    email = address_key(message.recipient)
    client_id = message.batch.client_id
    reason = f"{event.get_kind_display()} ({event.source}, report {event.pk})"[:200]
    _, created = Suppression.objects.get_or_create(client_id=client_id, email=email,
                                                   defaults={"reason": reason})
    if created:
        record_event(
            actor=actor, action=AuditAction.ADDRESS_SUPPRESSED, at=now, batch_id=message.batch_id,
            message_id=message.pk, reason=f"{reason}: {event.evidence[:1500]}",
            data={"event": event.pk, "email": email, "client": client_id},
        )


def _resolve_unknown(event: BounceEvent, message: Message, actor) -> None:
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
