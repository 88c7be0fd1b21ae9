"""Sending approved messages over SMTP: each message at most once, nothing unapproved, nothing
lost.

RQ runs a job at least once and SMTP has no idempotency key, so the guarantees come from the
database and from how doubt is treated:

1. A worker claims a chunk of messages (queued → sending, `SKIP LOCKED` on PostgreSQL) and
   commits the claim; the claim's time is the worker's token.
2. Just before handing the chunk over, the worker re-checks it under the claim (still ours,
   batch still sending, approved hash equal to the hash of what is about to be sent, recipient
   not suppressed nor mailed by the client from another batch since the approval, within its
   re-contact cap) and records a DeliveryAttempt for each message that passed, in one
   transaction whose commit waits for the disk. If the sweeper took a claim back meanwhile (the
   lease ran out), the token no longer matches and the worker leaves that message alone.
3. The outcomes are committed after the server's replies: sent (together, once per chunk),
   failed (5xx), queued again for later (4xx, bounded exponential backoff) or unknown (no
   reply to DATA).
4. Each hand-over and reply is also written to the process's journal (apps/sending/journal.py)
   as it happens. When a sending process dies, its journal is read: answered messages get their
   reply, those in flight become unknown (only a person may send them again), the rest of the
   chunk goes back to the queue at once.
5. A message still "sending" after its lease, with no journal to explain it, was claimed by a
   worker that died. Without an open attempt it never reached the server and goes back to the
   queue; with one, the server may have it: it becomes unknown.

What fails the send-time check is skipped with the reason in the audit trail, or (batch paused)
given back to the queue.
"""
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.core.addresses import address_key
from apps.core.audit import AuditAction, record_event
from apps.core.bulk import commit_without_waiting_for_disk
from apps.core.models import (
    Batch,
    BatchStatus,
    DeliveryAttempt,
    Message,
    SendStatus,
    Suppression,
    content_hash,
)
from apps.core.transitions import try_move_batch
from apps.sending import contacts, reputation, smtp, statements
from apps.sending.compose import Composer, Draft, Outgoing
from apps.sending.faults import fault_point
from apps.sending.journal import Segment, SendJournal, abandoned_segments
from apps.sending.models import SendDeferral

log = logging.getLogger(__name__)
OPEN_STATES = (SendStatus.QUEUED, SendStatus.SENDING)


# --- starting ---------------------------------------------------------------------------------

def _start_sending(batch_id: int, now: datetime) -> bool:
    """approved → sending once the grace window is over. True if the batch is sending."""
    with transaction.atomic():
        due = Q(send_not_before__isnull=True) | Q(send_not_before__lte=now)
        if Batch.objects.filter(due, pk=batch_id, status=BatchStatus.APPROVED).update(
            status=BatchStatus.SENDING
        ):
            record_event(
                actor=None, action=AuditAction.BATCH_SENDING, at=now, batch_id=batch_id,
                from_state=BatchStatus.APPROVED, to_state=BatchStatus.SENDING,
            )
            return True
    batch = Batch.objects.filter(pk=batch_id).values("status", "send_not_before").first()
    if batch is None:
        return False
    if batch["status"] == BatchStatus.APPROVED:
        # Still inside the grace window, in which a reviewer may recall it: the job scheduled
        # for the end of the window (or the sweeper) comes back then.
        log.info("batch %s may be recalled until %s; not sending yet", batch_id,
                 batch["send_not_before"])
    elif batch["status"] != BatchStatus.SENDING:
        log.info("batch %s is %s; nothing to send", batch_id, batch["status"])
    return batch["status"] == BatchStatus.SENDING


# --- commits --------------------------------------------------------------------------------

# Commits here that do not wait for the disk (apps.core.bulk.commit_without_waiting_for_disk),
# and why their loss in a database crash is harmless: a claim (the messages are simply queued
# again, and nothing was handed over: the attempts' commit comes later and waits) and an outcome
# (the message stays "sending" with its attempt open, which the lease turns into unknown). The
# commit of the attempts always waits, and so flushes every earlier commit with it.


# --- claiming -----------------------------------------------------------------------------

def _not_deferred(now: datetime) -> Q:
    return Q(deferral__isnull=True) | Q(deferral__not_before__lte=now)


def _claim_next(batch_id: int, journal: SendJournal | None = None
                ) -> tuple[datetime, list[Draft]]:
    """Claim up to SEND_CLAIM_CHUNK messages and read what they are built from, in one
    transaction committed before any SMTP traffic. Returns the claim's token (its time) and the
    messages, by id. The journal names the claimed messages before the claim commits: a process
    killed just after the commit leaves them to its journal's reader (queued again at once),
    not to their lease."""
    token = timezone.now()
    with transaction.atomic():
        commit_without_waiting_for_disk()
        if transaction.get_connection().vendor == "postgresql":
            rows = statements.claim(batch_id, token, settings.SEND_CLAIM_CHUNK)
        else:
            rows = _claim_portably(batch_id, token)
        if rows and journal is not None:
            journal.new_claim(token, [row[0] for row in rows])
    return token, [_draft(row) for row in rows]


def _draft(row: tuple[Any, ...]) -> Draft:
    """A claimed row (id, batch, recipient, subject, body) and the hash of its content."""
    pk, batch_id, recipient, subject, body = row
    return Draft(pk, batch_id, recipient, subject, body,
                 content_hash=content_hash(recipient=recipient, subject=subject, body=body))


def _claim_portably(batch_id: int, token: datetime) -> list[tuple[Any, ...]]:
    candidates = Message.objects.filter(
        _not_deferred(token),
        batch_id=batch_id,
        batch__status=BatchStatus.SENDING,  # recalled or paused: claim nothing more
        send_status=SendStatus.QUEUED,
        excluded=False,
        approved_hash=F("content_hash"),
        sent_at__isnull=True,  # sent once already (whatever reset it since): never again
    ).order_by("pk")
    if transaction.get_connection().features.has_select_for_update_skip_locked:
        # Two workers on one batch take disjoint rows without waiting.
        candidates = candidates.select_for_update(skip_locked=True, of=("self",))
    ids = list(candidates.values_list("pk", flat=True)[: settings.SEND_CLAIM_CHUNK])
    Message.objects.filter(
        pk__in=ids, send_status=SendStatus.QUEUED, approved_hash=F("content_hash")
    ).update(send_status=SendStatus.SENDING, send_claimed_at=token)
    return list(
        Message.objects.filter(pk__in=ids, send_status=SendStatus.SENDING, send_claimed_at=token)
        .order_by("pk").values_list("pk", "batch_id", "recipient", "subject", "body")
    )


def _suppressed(client_id: int, drafts: list[Draft]) -> set[str]:
    addresses = {address_key(d.recipient) for d in drafts}
    return set(
        Suppression.objects.filter(Q(client_id=client_id) | Q(client__isnull=True))
        .filter(email__in=addresses)
        .values_list("email", flat=True)
    )


# --- skipping ---------------------------------------------------------------------------

def _skip(message: Message | Draft, *, token: datetime | None, check: str, reason: str,
          exclude: bool = False) -> None:
    """Take a message out of sending for a reason a check found; the batch can then finish.
    `exclude`: also excluded from its batch with the reason, which the reviewer and the client
    see beside the batch's other exclusions."""
    now = timezone.now()
    with transaction.atomic():
        held = Message.objects.filter(pk=message.pk)
        held = held.filter(send_status=SendStatus.SENDING, send_claimed_at=token) if token else (
            held.filter(send_status=SendStatus.QUEUED)
        )
        before = SendStatus.SENDING if token else SendStatus.QUEUED
        excluded = {"excluded": True, "exclusion_reason": reason} if exclude else {}
        if held.update(send_status=SendStatus.NOT_SCHEDULED, send_claimed_at=None, **excluded):
            record_event(
                actor=None, action=AuditAction.MESSAGE_SEND_SKIPPED, at=now,
                batch_id=message.batch_id,
                message_id=message.pk, from_state=before, to_state=SendStatus.NOT_SCHEDULED,
                reason=reason, data={"check": check},
            )


def _skip_unapproved(batch_id: int) -> None:
    """Queued messages whose approval no longer matches their content (or was withdrawn)."""
    stale = Message.objects.filter(batch_id=batch_id, send_status=SendStatus.QUEUED).filter(
        Q(approved_hash="") | ~Q(approved_hash=F("content_hash")) | Q(excluded=True)
    )
    for message in stale:
        _skip(message, token=None, check="approval",
              reason="not sent: its content is not the content that was approved")
    # Sent once already, then put back in the queue by something else: it stays sent.
    now = timezone.now()
    for message in Message.objects.filter(
        batch_id=batch_id, send_status=SendStatus.QUEUED, sent_at__isnull=False
    ):
        with transaction.atomic():
            if Message.objects.filter(pk=message.pk, send_status=SendStatus.QUEUED).update(
                send_status=SendStatus.SENT
            ):
                record_event(
                    actor=None, action=AuditAction.MESSAGE_SEND_SKIPPED, at=now, batch_id=batch_id,
                    message_id=message.pk, from_state=SendStatus.QUEUED, to_state=SendStatus.SENT,
                    reason=(
                        f"not sent again: already sent at {message.sent_at:%Y-%m-%d %H:%M:%S} UTC"
                    ),
                    data={"check": "already_sent"},
                )


# --- the check at the moment of sending, and the record of the hand-over --------------------

Opened = dict[int, int]  # message id → its attempt's id (checked, not yet handed over)


def _open_attempts(drafts: list[Draft], token: datetime, client_id: int) -> Opened:
    """The send-time check and the record of the hand-over for a group of claimed messages, in
    one transaction whose commit waits for the disk, just before the group goes to the server.

    A message passes if it is still ours (claimed with `token`: the sweeper did not take it
    back), its batch is still sending (not recalled, not paused), its approved hash is the hash
    of the very subject, body and recipient about to be sent, and its recipient is not
    suppressed nor mailed by this client from another batch since the approval, within the
    client's re-contact cap (apps/sending/contacts.py). For each, a DeliveryAttempt is
    committed. A message that fails the check is skipped with the reason (suppressed, content
    not the approved content; recently contacted: excluded too) or given back to the queue
    (batch no longer sending); one no longer ours is left alone.

    Until the group's outcomes are committed, every message in it has an open attempt: a worker
    that dies meanwhile leaves all of them to the lease rule, which makes them unknown (never
    resent without a person), whether or not they reached the server. What is queued again
    is only ever what had no attempt: provably never handed over."""
    if not drafts:
        return {}
    now = timezone.now()
    with transaction.atomic():
        if _in_one_statement():
            attempts = statements.open_attempts(
                ids=[d.pk for d in drafts], hashes=[d.content_hash for d in drafts],
                headers=[d.message_id_header for d in drafts],
                addresses=[address_key(d.recipient) for d in drafts],
                token=token, now=now, client_id=client_id,
            )
        else:
            attempts = _open_attempts_portably(drafts, token, now, client_id)
        if len(attempts) < len(drafts):
            _turn_away([d for d in drafts if d.pk not in attempts], token, client_id)
    return attempts


def _in_one_statement() -> bool:
    """The send-time check and the sent outcomes as PostgreSQL statements (apps/sending/
    statements.py), or the ORM's queries elsewhere; the tests run both on PostgreSQL."""
    return bool(transaction.get_connection().vendor == "postgresql")


def _open_attempts_portably(drafts: list[Draft], token: datetime, now: datetime,
                            client_id: int) -> dict[int, int]:
    suppressed = _suppressed(client_id, drafts)
    recontacted = contacts.recontacted(client_id, [d.pk for d in drafts], now)
    approved = dict(
        Message.objects.select_for_update().filter(
            pk__in=[d.pk for d in drafts if address_key(d.recipient) not in suppressed
                    and d.pk not in recontacted],
            send_status=SendStatus.SENDING, send_claimed_at=token,
            approved_hash=F("content_hash"), batch__status=BatchStatus.SENDING,
        ).values_list("pk", "approved_hash")
    )
    # The rows stay locked until the commit: the sweeper sees the attempts or nothing passed.
    passed = [d for d in drafts if approved.get(d.pk) == d.content_hash]
    attempts = DeliveryAttempt.objects.bulk_create(
        DeliveryAttempt(message_id=d.pk, message_id_header=d.message_id_header, started_at=now)
        for d in passed
    )
    return {attempt.message_id: attempt.pk for attempt in attempts}


def _turn_away(drafts: list[Draft], token: datetime, client_id: int) -> None:
    """The messages of a group that failed the send-time check (see _open_attempts): those
    still ours are skipped with the reason, or (their batch no longer sending) given back to
    the queue; those no longer ours are left alone."""
    ours = dict(
        Message.objects.filter(pk__in=[d.pk for d in drafts], send_status=SendStatus.SENDING,
                               send_claimed_at=token).values_list("pk", "approved_hash")
    )
    suppressed = _suppressed(client_id, drafts)
    recontacted = contacts.recontacted(client_id, list(ours), timezone.now())
    for draft in drafts:
        if draft.pk not in ours:
            continue
        if address_key(draft.recipient) in suppressed:
            _skip(draft, token=token, check="suppression",
                  reason="not sent: the recipient is on the suppression list")
        elif draft.pk in recontacted:
            _skip(draft, token=token, check="recontact", exclude=True,
                  reason=contacts.reason(recontacted[draft.pk]))
        elif ours[draft.pk] != draft.content_hash:
            # Not approved as what was read at the claim: it changed since.
            _skip(draft, token=token, check="approval",
                  reason="not sent: its content is not the content that was approved")
    _release(drafts, token)  # the batch is no longer sending (a no-op for the skipped)


def _begin_attempt(draft: Draft, token: datetime) -> int | None:
    """The send-time check and attempt for one message (the attempt's id); None if it did not
    pass."""
    client_id = Batch.objects.filter(pk=draft.batch_id).values_list("client_id", flat=True).get()
    return _open_attempts([draft], token, client_id).get(draft.pk)


def _close_unused(opened: Opened, token: datetime) -> None:
    """Attempts opened for messages this process knows it never handed over: closed, and the
    messages queued again."""
    if not opened:
        return
    with transaction.atomic():
        DeliveryAttempt.objects.filter(pk__in=list(opened.values())).update(
            finished_at=timezone.now(), outcome=SendStatus.FAILED,
            detail="not handed over (the run stopped before it)",
        )
        Message.objects.filter(
            pk__in=list(opened), send_status=SendStatus.SENDING, send_claimed_at=token,
        ).update(send_status=SendStatus.QUEUED, send_claimed_at=None)
    opened.clear()


def _release(drafts: list[Draft], token: datetime) -> None:
    """Give back claims whose messages were never handed to a server."""
    Message.objects.filter(
        pk__in=[d.pk for d in drafts], send_status=SendStatus.SENDING, send_claimed_at=token
    ).update(send_status=SendStatus.QUEUED, send_claimed_at=None)


def _renewal_time(token: datetime) -> datetime:
    """When a claim made at `token` is to be renewed (checked before every hand-over: the time
    is worked out once per token, not per message)."""
    return token + timedelta(seconds=settings.SEND_LEASE_SECONDS / 3)


def _renew_claim(token: datetime, ids: list[int], journal: SendJournal) -> datetime:
    """A live worker whose claim grows old (a rate limit's waits, a slow server) moves its
    claim's time to now, for the messages still ours, once a third of the lease has passed
    (_renewal_time): the sweeper must not take it for dead. Returns the token to use from now on."""
    now = timezone.now()
    journal.renewed(now, ids)  # before the commit: a kill in between leaves either token ours
    Message.objects.filter(
        pk__in=ids, send_status=SendStatus.SENDING, send_claimed_at=token
    ).update(send_claimed_at=now)
    return now


# --- outcomes ---------------------------------------------------------------------------------

def _retry_delay(temporary_failures: int) -> timedelta:
    seconds = settings.SEND_RETRY_BASE_SECONDS * 2 ** (temporary_failures - 1)
    return timedelta(seconds=min(seconds, settings.SEND_RETRY_MAX_SECONDS))


def _defer(draft: "Draft | _Recovered", token: datetime, delivery: smtp.Delivery,
           now: datetime) -> str:
    """4xx: back to the queue with a growing delay, or failed after too many."""
    deferral, _ = SendDeferral.objects.get_or_create(
        message_id=draft.pk, defaults={"not_before": now}
    )
    failures = deferral.temporary_failures + 1
    if failures >= settings.SEND_MAX_TEMPORARY_FAILURES:
        delivery.detail += f" (temporary failure {failures}: giving up)"
        return SendStatus.FAILED
    SendDeferral.objects.filter(pk=deferral.pk).update(
        temporary_failures=failures, not_before=now + _retry_delay(failures),
        last_reply=delivery.detail,
    )
    Message.objects.filter(
        pk=draft.pk, send_status=SendStatus.SENDING, send_claimed_at=token
    ).update(send_status=SendStatus.QUEUED, send_claimed_at=None)
    return SendStatus.QUEUED


def _record_outcome(draft: "Draft | _Recovered", begun: tuple[datetime, int],
                    delivery: smtp.Delivery) -> None:
    """Any outcome but sent (those are committed together, _SentOutcomes), at once."""
    token, attempt_id = begun
    now = timezone.now()
    with transaction.atomic():
        commit_without_waiting_for_disk()
        outcome = delivery.outcome
        if outcome == smtp.DEFERRED:
            outcome = _defer(draft, token, delivery, now)
        if outcome != SendStatus.QUEUED:
            # Conditional on the token: if the lease ran out meanwhile, the sweeper's verdict
            # (unknown) stands, and the attempt below is the evidence a person needs.
            Message.objects.filter(
                pk=draft.pk, send_status=SendStatus.SENDING, send_claimed_at=token
            ).update(send_status=outcome, sent_at=now if outcome == SendStatus.SENT else None)
        attempt_outcome = SendStatus.FAILED if outcome == SendStatus.QUEUED else outcome
        DeliveryAttempt.objects.filter(pk=attempt_id).update(
            finished_at=now, outcome=attempt_outcome, smtp_code=delivery.code,
            detail=delivery.detail,
        )
        if outcome != SendStatus.SENT:
            record_event(
                actor=None,
                action=AuditAction(f"message_{'deferred' if outcome == 'queued' else outcome}"),
                at=now, batch_id=draft.batch_id, message_id=draft.pk,
                from_state=SendStatus.SENDING, to_state=outcome, reason=delivery.detail,
                data={"smtp_code": delivery.code, "refused": delivery.refused},
            )


class _SentOutcomes:
    """Successful sends of one claim, committed together: one statement, one commit that does
    not wait for the disk (see "commits" above). Until then each has an open
    attempt, so a crash in between makes them unknown — never resent."""

    def __init__(self) -> None:
        self.pending: list[tuple[int, datetime, int, int | None, str]] = []

    def add(self, draft: "Draft | _Recovered", begun: tuple[datetime, int],
            delivery: smtp.Delivery) -> None:
        token, attempt_id = begun
        self.pending.append((draft.pk, token, attempt_id, delivery.code, delivery.detail))

    def flush(self) -> None:
        if not self.pending:
            return
        now = timezone.now()
        with transaction.atomic():
            commit_without_waiting_for_disk()
            if _in_one_statement():
                # One statement per attempt token: one per group, so one per claim by default.
                for token in dict.fromkeys(token for _, token, _, _, _ in self.pending):
                    rows = [row for row in self.pending if row[1] == token]
                    statements.record_sent(
                        ids=[row[0] for row in rows], token=token,
                        attempts=[row[2] for row in rows], codes=[row[3] for row in rows],
                        details=[row[4] for row in rows], now=now,
                    )
            else:
                self._flush_portably(now)
        self.pending = []

    def _flush_portably(self, now: datetime) -> None:
        # Conditional on the tokens: if a lease ran out meanwhile, the sweeper's verdict
        # (unknown) stands, and the attempt is the evidence a person needs.
        for token in {token for _, token, _, _, _ in self.pending}:
            Message.objects.filter(
                pk__in=[pk for pk, t, _, _, _ in self.pending if t == token],
                send_status=SendStatus.SENDING, send_claimed_at=token,
            ).update(send_status=SendStatus.SENT, sent_at=now)
        contacts.record_sent([pk for pk, _, _, _, _ in self.pending], now)
        by_reply: dict[tuple[int | None, str], list[int]] = {}
        for _, _, attempt_id, code, detail in self.pending:
            by_reply.setdefault((code, detail), []).append(attempt_id)
        for (code, detail), attempt_ids in by_reply.items():
            DeliveryAttempt.objects.filter(pk__in=attempt_ids).update(
                finished_at=now, outcome=SendStatus.SENT, smtp_code=code, detail=detail
            )


# --- a claim, a group at a time ---------------------------------------------------------------

def _send_claimed(pool: smtp.SmtpPool, journal: SendJournal, composer: Composer,
                  token: datetime, claimed: list[Draft], limit: reputation.Limit,
                  bounces: reputation.BounceWatch) -> bool:
    """Send a claim's messages; False when sending must stop (the bounce breaker tripped).

    The claim is one group (fewer where the rate limit grants fewer slots): one send-time check,
    one commit of its attempts and one of its outcomes. The group goes to the server at once,
    shared between the pool's connections (apps/sending/smtp.py). The journal
    (apps/sending/journal.py) records each hand-over and reply as it happens, so a crash leaves
    unknown only the messages in flight."""
    bounces.refresh_if_stale()
    sent = _SentOutcomes()
    waiting = list(claimed)  # not yet checked: no attempt
    opened: Opened = {}  # checked, attempt committed, not yet handed over
    written: dict[int, Written] = {}
    ready: list[Draft] = []
    slots = reputation.Slots(limit, granted=0)  # none taken yet: giving back is a no-op
    renew_at = _renewal_time(token)
    try:
        while waiting or opened:
            if not opened:
                slots = reputation.take_send_slots(limit, len(waiting))  # may wait
            if timezone.now() >= renew_at:  # the rate limit's waits, or a slow server
                sent.flush()  # what is pending goes with its token
                token = _renew_claim(token, [*opened, *(d.pk for d in waiting)], journal)
                renew_at = _renewal_time(token)
            if not opened:
                group, waiting = waiting[: slots.granted], waiting[slots.granted:]
                opened = _open_attempts(group, token, composer.client_id)
                journal.attempts_committed()
                slots.give_back(len(group) - len(opened))
                ready = [d for d in group if d.pk in opened]
                written = _write_all(pool, composer, ready)
            else:  # what the last round had no time for
                ready = [d for d in ready if d.pk in opened]
            if not _hand_over_group(pool, journal, ready, written, opened, token, renew_at,
                                    sent, bounces):
                slots.give_back(len(opened))
                _close_unused(opened, token)
                _release(waiting, token)
                return False
    except BaseException:
        # Whatever went wrong, what was sent is recorded, and the messages not yet handed over
        # go back now rather than after the lease, so the retry sends them at once. (The
        # messages in hand, if handed over, are left to their outcomes, the journal or the
        # lease.)
        sent.flush()
        slots.give_back(len(opened))
        _close_unused(opened, token)
        _release(waiting, token)
        raise
    sent.flush()
    return True


def _hand_over_group(pool: smtp.SmtpPool, journal: SendJournal, ready: list[Draft],
                     written: dict[int, "Written"], opened: Opened, token: datetime,
                     renew_at: datetime, sent: "_SentOutcomes",
                     bounces: reputation.BounceWatch) -> bool:
    """Hand the checked messages of a group (`ready`, attempts in `opened`) to the server and
    record what came of each; False if the bounce breaker tripped. A message is taken out of
    `opened` before it may reach the server. No message is begun once the claim is due for
    renewal (a slow server), nor once the verdicts so far take the bounce breaker's count past
    its threshold: those stay in `opened` for the next round, if there is one. Raises
    NotHandedOver, once the rest is recorded, if the server could not be reached for some."""
    begun = {d.pk: (token, opened.pop(d.pk)) for d in ready}  # from here on they may go
    # It could not be written: failed without a word to the server.
    unwritable = [(d, w) for d in ready if isinstance(w := written[d.pk], smtp.Delivery)]
    drafts = [d for d in ready if not isinstance(written[d.pk], smtp.Delivery)]

    def handing_over(i: int) -> None:
        _handing_over(journal, token, drafts[i].pk)

    def answered(i: int, delivery: smtp.Delivery) -> None:
        fault_point("after_reply")  # the reply read, not yet in the journal
        journal.answered(token, drafts[i].pk, delivery.outcome, delivery.code, delivery.detail)
        fault_point("after_delivery")
        verdicts.count(delivery)

    def may_begin() -> bool:
        return time.monotonic() < stop_at and not verdicts.past_threshold

    results: list[tuple[Draft, tuple[datetime, int], smtp.Delivery]] = []
    for draft, delivery in unwritable:
        written.pop(draft.pk)
        journal.answered(token, draft.pk, delivery.outcome, delivery.code, delivery.detail)
        results.append((draft, begun[draft.pk], delivery))
    stop_at = time.monotonic() + (renew_at - timezone.now()).total_seconds()
    verdicts = _Verdicts(bounces)
    outcome = pool.deliver_group([written[d.pk] for d in drafts], handing_over=handing_over,
                                 answered=answered, may_begin=may_begin)
    not_handed_over = []
    for i, draft in enumerate(drafts):
        if i in outcome.deliveries:
            written.pop(draft.pk)
            results.append((draft, begun[draft.pk], outcome.deliveries[i]))
        elif outcome.failure is None:
            opened[draft.pk] = begun[draft.pk][1]  # out of time: after the renewal
        else:
            not_handed_over.append(draft)
    tripped = False
    for draft, attempt, delivery in results:
        if delivery.outcome == smtp.SENT:
            sent.add(draft, attempt, delivery)
        else:
            _record_outcome(draft, attempt, delivery)
        fault_point("after_outcome")
        # Past the breaker's threshold the rest of the group is on the wire already: its
        # verdicts are recorded all the same.
        if not tripped:
            tripped = bounces.tripped(delivery.outcome, delivery.code, commit_pending=sent.flush)
    if not_handed_over and outcome.failure is not None:  # (there is one when any is left)
        _not_handed_over(not_handed_over, begun, outcome.failure)
        raise outcome.failure
    return not tripped


class _Verdicts:
    """A group's verdicts as the pool's threads read them, counted for the bounce breaker, so
    that the connections begin no new message once its threshold is passed (the breaker itself
    decides afterwards, on the database's count, in the caller's thread)."""

    def __init__(self, bounces: reputation.BounceWatch) -> None:
        self.bounces = bounces
        self.lock = threading.Lock()
        self.hard = self.attempts = 0
        self.past_threshold = False

    def count(self, delivery: smtp.Delivery) -> None:
        if delivery.outcome not in (smtp.SENT, smtp.FAILED):
            return
        with self.lock:
            self.attempts += 1
            self.hard += delivery.outcome == smtp.FAILED and (delivery.code or 0) >= 500
            self.past_threshold = self.bounces.past_threshold_with(self.hard, self.attempts)


Written = Outgoing | EmailMessage | smtp.Delivery  # a message to hand over, or why it cannot be


def _write_all(pool: smtp.SmtpPool, composer: Composer, drafts: list[Draft]
               ) -> dict[int, Written]:
    """The checked messages of a group, written one after the other before the first is handed
    over: in one tight loop this costs a third of what it costs between SMTP exchanges, which
    push its code and data out of the CPU's caches (docs/performance.md)."""
    return {draft.pk: _write(pool, composer, draft) for draft in drafts}


def _write(pool: smtp.SmtpPool, composer: Composer, draft: Draft) -> Written:
    try:
        return composer.outgoing(draft) if pool.speaks_smtp else composer.django_email(draft)
    except ValueError as exc:  # BadHeaderError, an address that does not parse
        # It can never be written, so sending it again would fail again: failed, with why.
        return smtp.Delivery(smtp.FAILED, None, f"not sent: it cannot be written: {exc}")


def _not_handed_over(drafts: list[Draft], begun: dict[int, tuple[datetime, int]],
                     failure: smtp.NotHandedOver) -> None:
    """The server could not be reached for these: their attempts are closed and they go back
    to the queue (the job then fails, so that it is retried, or the sweeper comes back)."""
    with transaction.atomic():
        DeliveryAttempt.objects.filter(pk__in=[begun[d.pk][1] for d in drafts]).update(
            finished_at=timezone.now(), outcome=SendStatus.FAILED,
            detail=f"not handed over: {failure}",
        )
        for token in {begun[d.pk][0] for d in drafts}:
            _release([d for d in drafts if begun[d.pk][0] == token], token)


def _handing_over(journal: SendJournal, token: datetime, message_id: int) -> None:
    """Called as the message itself is about to go: from here on the server may have it."""
    journal.handing_over(token, message_id)
    fault_point("handing_over")


# --- the batch ----------------------------------------------------------------------------

def _finish_if_done(batch_id: int) -> None:
    """sending → sent, or → needs_attention when some outcomes are unknown: the server may or
    may not have those messages, and only a person can tell (unknown_resolve)."""
    if Message.objects.filter(batch_id=batch_id, send_status__in=OPEN_STATES).exists():
        return
    now = timezone.now()
    with transaction.atomic():
        # The batch row first: a person resolving an unknown of this batch locks it too
        # (_lock_batches), so the counts below include their decision or it waits for ours.
        if not _lock_batches([batch_id], status=BatchStatus.SENDING):
            return
        if Message.objects.filter(batch_id=batch_id, send_status__in=OPEN_STATES).exists():
            return  # a message was queued again (resend) since the check above
        counts = _outcome_counts(batch_id)
        to = BatchStatus.NEEDS_ATTENTION if counts[SendStatus.UNKNOWN] else BatchStatus.SENT
        try_move_batch(batch_id=batch_id, expected=BatchStatus.SENDING, to=to,
                       sent_at=now if to == BatchStatus.SENT else None)
        record_event(
            actor=None,
            action=(AuditAction.BATCH_SENT if to == BatchStatus.SENT
                    else AuditAction.BATCH_NEEDS_ATTENTION),
            at=now, batch_id=batch_id, from_state=BatchStatus.SENDING, to_state=to, data=counts,
            reason=_attention_reason(counts[SendStatus.UNKNOWN]) if to != BatchStatus.SENT else "",
        )


def batch_send(*, batch_id: int) -> None:
    """Send what is queued in an approved batch. Safe to run twice, or twice at once."""
    if not _start_sending(batch_id, timezone.now()):
        return
    batch = Batch.objects.select_related("campaign").get(pk=batch_id)
    composer = Composer(client_id=batch.client_id, sender_name=batch.campaign.sender_name,
                        sender_email=batch.campaign.sender_email)
    limit = reputation.limit_for(batch.campaign.sender_email)
    bounces = reputation.BounceWatch(batch_id)
    if reputation.domain_paused(batch_id):
        return  # its sending domain's recent bounces and complaints: back in the holding queue
    _skip_unapproved(batch_id)
    recover_abandoned_sends()  # a dead sender's messages, before this run claims any
    try:
        with smtp.SmtpPool(settings.SEND_SMTP_CONNECTIONS) as pool, _journal() as journal:
            while _may_send_now(batch):
                token, claimed = _claim_next(batch_id, journal)
                if not claimed:
                    break
                fault_point("after_claim")
                if not _send_claimed(pool, journal, composer, token, claimed, limit, bounces):
                    return  # paused by the bounce breaker: back in the holding queue
    except reputation.DailyLimitReached as exc:
        log.info("batch %s waits: %s", batch_id, exc)  # the sweeper comes back for it
        return
    _skip_unapproved(batch_id)
    _finish_if_done(batch_id)


def _may_send_now(batch: Batch) -> bool:
    if reputation.window_open(batch.client_id, timezone.now()):
        return True
    # Outside the client's send window: the rest waits, queued; the sweeper comes back.
    log.info("batch %s: outside its client's send window; waiting", batch.pk)
    return False


def _lock_batches(batch_ids: list[int], *, status: str | None = None) -> list[int]:
    """Lock these batch rows until the transaction ends (PostgreSQL; SQLite's IMMEDIATE
    transactions already run one at a time). Returns the ids found (in `status`, if given)."""
    batches = Batch.objects.filter(pk__in=batch_ids)
    if status is not None:
        batches = batches.filter(status=status)
    return list(batches.select_for_update().order_by("pk").values_list("pk", flat=True))


def _outcome_counts(batch_id: int) -> dict[str, int]:
    return {
        status: Message.objects.filter(batch_id=batch_id, send_status=status).count()
        for status in (SendStatus.SENT, SendStatus.FAILED, SendStatus.UNKNOWN)
    }


def _attention_reason(unknown: int) -> str:
    # Shown to the client in the batch's history: plain words, no internals.
    return (f"{unknown} message{'s' if unknown != 1 else ''} whose delivery could not be "
            f"confirmed; our team is checking")


# --- the journals of senders that died (apps/sending/journal.py) ---------------------------

def _database_key() -> str:
    """Which database a journal's message ids belong to."""
    db = connection.settings_dict
    return f"{connection.vendor}:{db.get('HOST') or ''}:{db.get('PORT') or ''}:{db['NAME']}"


def _journal() -> SendJournal:
    return SendJournal(settings.SEND_JOURNAL_DIR, _database_key())


def recover_abandoned_sends() -> dict[str, int]:
    """What the journals of dead sending processes say, applied: a message answered is recorded
    with its answer, one handed over without an answer becomes unknown (the one in flight), one
    never handed over is queued again at once, without waiting for its lease. Only messages still
    claimed under a token the journal names are touched; the rest moved on meanwhile."""
    counts = {"answered": 0, "requeued": 0, "unknown": 0}
    database = _database_key()
    for segment, done in abandoned_segments(settings.SEND_JOURNAL_DIR):
        if segment.database != database:
            # Another database's (another installation on this machine, a test run): its own
            # readers take it; one a day old has none left.
            if segment.age_seconds > 86_400:
                done()
            continue
        if segment.trusted:
            _apply_segment(segment, counts)
        # Untrusted (written before a reboot: lines may be missing): the lease rule decides.
        done()
    return counts


def _apply_segment(segment: Segment, counts: dict[str, int]) -> None:
    now = timezone.now()
    with transaction.atomic():
        claimed = Message.objects.select_for_update().filter(
            pk__in=list(segment.entries), send_status=SendStatus.SENDING
        ).values_list("pk", "batch_id", "send_claimed_at")
        attempts = dict(
            DeliveryAttempt.objects.filter(message_id__in=list(segment.entries),
                                           finished_at__isnull=True)
            .order_by("started_at").values_list("message_id", "pk")
        )  # each message's latest open attempt
        sent = _SentOutcomes()
        for pk, batch_id, token in claimed:
            entry = segment.entries[pk]
            if token is None or token not in entry.tokens | entry.handed_over | set(entry.replies):
                continue  # claimed again since, by someone else
            draft = _Recovered(pk, batch_id)
            reply = entry.replies.get(token)
            if reply is not None and pk in attempts:
                delivery = smtp.Delivery(reply.outcome, reply.code, reply.detail)
                if delivery.outcome == smtp.SENT:
                    sent.add(draft, (token, attempts[pk]), delivery)
                    counts["answered"] += 1
                else:
                    _record_outcome(draft, (token, attempts[pk]), delivery)
                    counts["answered"] += 1
            elif token in entry.handed_over and pk in attempts:
                _journal_unknown(draft, attempts[pk], now)
                counts["unknown"] += 1
            else:
                _journal_requeue(draft, token, attempts.get(pk), now)
                counts["requeued"] += 1
        sent.flush()
        if connection.vendor == "postgresql":
            # The segment is deleted after this commit: it must wait for the disk (the flush
            # above asked it not to).
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO ON")


@dataclass
class _Recovered:
    pk: int
    batch_id: int


def _journal_unknown(draft: _Recovered, attempt_id: int, now: datetime) -> None:
    attempt = DeliveryAttempt.objects.get(pk=attempt_id)
    detail = (
        f"the sending process stopped after starting to hand the message to the server at "
        f"{attempt.started_at:%Y-%m-%d %H:%M:%S} UTC and before it read the reply; the server "
        f"may have it: look for {attempt.message_id_header} in its log"
    )
    Message.objects.filter(pk=draft.pk, send_status=SendStatus.SENDING).update(
        send_status=SendStatus.UNKNOWN
    )
    DeliveryAttempt.objects.filter(pk=attempt_id).update(
        finished_at=now, outcome=SendStatus.UNKNOWN, detail=detail
    )
    record_event(
        actor=None, action=AuditAction.MESSAGE_UNKNOWN, at=now, batch_id=draft.batch_id,
        message_id=draft.pk, from_state=SendStatus.SENDING, to_state=SendStatus.UNKNOWN,
        reason=detail,
    )


def _journal_requeue(draft: _Recovered, token: datetime, attempt_id: int | None,
                     now: datetime) -> None:
    if attempt_id is not None:
        DeliveryAttempt.objects.filter(pk=attempt_id).update(
            finished_at=now, outcome=SendStatus.FAILED,
            detail="not handed over: the sending process stopped before it (its journal says so)",
        )
    Message.objects.filter(pk=draft.pk, send_status=SendStatus.SENDING,
                           send_claimed_at=token).update(
        send_status=SendStatus.QUEUED, send_claimed_at=None
    )
    record_event(
        actor=None, action=AuditAction.MESSAGE_CLAIM_EXPIRED, at=now, batch_id=draft.batch_id,
        message_id=draft.pk, from_state=SendStatus.SENDING, to_state=SendStatus.QUEUED,
        reason=f"claimed at {token:%Y-%m-%d %H:%M:%S} UTC by a sending process that stopped before "
               "handing it to the server (its journal says so); queued again",
    )
