"""Writes for client webhooks: the client's URL and secret, turning batch state changes into
deliveries, and each delivery attempt with its retries.

A delivery is a row before it is a request: the periodic fan-out (config/cron.py) makes one per
state change in the audit trail, so nothing is lost if Redis is flushed or a worker dies, and
it rings again for any delivery overdue. An attempt claims its row with a conditional update,
POSTs outside any transaction, and records the outcome; a failure schedules the next attempt
(an RQ job at a time, base * 2^(n-1) seconds later, at most WEBHOOK_RETRY_MAX_SECONDS) until a
day after the change. Delivery is at least once: the idempotency key tells repeats apart.
"""

import hashlib
import hmac
import json
import logging
import secrets
import uuid
from datetime import datetime, timedelta

import requests
from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Exists, F, OuterRef, QuerySet
from django.urls import reverse
from django.utils import timezone

from apps.clienthooks.addresses import UrlRefused, check_destination
from apps.clienthooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from apps.core.audit import Actor, AuditAction, record_event
from apps.core.embedded_redis import ensure_embedded_redis
from apps.core.models import AuditEvent, BatchStatus, Client
from apps.core.queueing import not_before

log = logging.getLogger(__name__)

SECRET_PREFIX = "whsec_"
EVENT_TYPE = "batch.status_changed"
DELIVER_JOB = "apps.clienthooks.jobs.deliver_webhook"
QUEUE = "validate"
# Events with a batch state in to_state that are not state changes: claims name reviewers.
NOT_STATE_CHANGES = (
    AuditAction.BATCH_CLAIMED, AuditAction.CLAIM_REASSIGNED, AuditAction.CLAIM_RELEASED,
)
# How far back the fan-out looks for state changes with no delivery yet.
LOOKBACK = timedelta(days=2)
USER_AGENT = "outbound-review-webhooks/1"


# --- The client's URL and secret ----------------------------------------------------------------

def _new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def webhook_register(*, client: Client, url: str, actor: Actor) -> str | None:
    """Save the client's URL. Returns the new secret when one was made (the first registration),
    None when only the URL changed (the secret stays)."""
    url = check_destination(url)
    now = timezone.now()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().filter(client=client).first()
        raw = None
        if endpoint is None:
            raw = _new_secret()
            WebhookEndpoint.objects.create(
                client=client, url=url, secret=raw, secret_prefix=raw[:12], created_at=now,
                updated_at=now, updated_by=_user(actor),
            )
        else:
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
                url=url, updated_at=now, updated_by=_user(actor)
            )
        record_event(actor=actor, action=AuditAction.WEBHOOK_REGISTERED, at=now,
                     reason=f"{client.name}: {url}")
    return raw


def webhook_secret_rotate(*, client: Client, actor: Actor) -> str:
    """A new secret, at once: the old one stops signing with the next attempt."""
    raw = _new_secret()
    now = timezone.now()
    with transaction.atomic():
        changed = WebhookEndpoint.objects.filter(client=client).update(
            secret=raw, secret_prefix=raw[:12], updated_at=now, updated_by=_user(actor)
        )
        if changed != 1:
            raise UrlRefused("Register a webhook URL first.")
        record_event(actor=actor, action=AuditAction.WEBHOOK_SECRET_ROTATED, at=now,
                     reason=f"{client.name}: {raw[:12]}…")
    return raw


def webhook_remove(*, client: Client, actor: Actor) -> None:
    """No more deliveries; those still waiting are given up at their next attempt."""
    now = timezone.now()
    with transaction.atomic():
        if WebhookEndpoint.objects.filter(client=client).delete()[0]:
            record_event(
                actor=actor, action=AuditAction.WEBHOOK_REMOVED, at=now, reason=client.name
            )


def _user(actor: Actor) -> User | None:
    """The person who acted, for updated_by (an API token or the pipeline is not one)."""
    return actor if isinstance(actor, User) else None


# --- Fan-out: a delivery per state change ----------------------------------------------------

def _payload(event: AuditEvent, key: uuid.UUID) -> str:
    batch = event.batch
    if batch is None:  # never: only a batch's state changes are fanned out
        raise ValueError(f"audit event {event.pk} has no batch to report")
    body = {
        "id": str(key),
        "type": EVENT_TYPE,
        "occurred_at": event.created_at.isoformat(),
        "data": {
            "batch_id": batch.pk,
            "campaign_id": batch.campaign_id,
            "status": event.to_state,
            "previous_status": event.from_state or None,
            "reason": event.reason or None,
            "url": settings.SITE_URL.rstrip("/") + reverse("portal:batch-detail", args=[batch.pk]),
        },
    }
    return json.dumps(body, separators=(",", ":"), sort_keys=True)


def _undelivered_state_changes(
    *, since: datetime, client_ids: list[int]
) -> QuerySet[AuditEvent]:
    delivered = WebhookDelivery.objects.filter(
        event=OuterRef("pk"), client_id=OuterRef("batch__client_id")
    )
    return (
        AuditEvent.objects.filter(
            created_at__gte=since, batch__client_id__in=client_ids, message__isnull=True,
            to_state__in=BatchStatus.values,
        )
        .exclude(action__in=NOT_STATE_CHANGES).exclude(from_state=F("to_state"))
        .exclude(Exists(delivered))
        .select_related("batch").order_by("created_at", "pk")
    )


def deliveries_fan_out(*, now: datetime | None = None) -> dict[str, int]:
    """One pass of the periodic job: a delivery for each new state change of a batch whose
    client has a URL (changes from before the URL was registered are not sent), and a ring
    for every delivery overdue (its scheduled job lost) or stuck in flight (its worker died)."""
    now = now or timezone.now()
    endpoints = dict(WebhookEndpoint.objects.values_list("client_id", "created_at"))
    rows = []
    if endpoints:
        for event in _undelivered_state_changes(since=now - LOOKBACK, client_ids=list(endpoints)):
            if event.batch is None:  # never: the batch__client_id filter needs a batch
                continue
            client_id = event.batch.client_id
            if event.created_at < endpoints[client_id]:
                continue
            key = uuid.uuid4()
            rows.append(WebhookDelivery(
                client_id=client_id, event=event, idempotency_key=key, url="",
                body=_payload(event, key), created_at=event.created_at, next_attempt_at=now,
            ))
    with transaction.atomic():
        # A second fan-out running at once makes the same rows: the unique (client, event)
        # keeps one, and the other's are ignored.
        WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True)
        stuck = _release_stuck(now=now)
        due = list(
            WebhookDelivery.objects.filter(
                status=DeliveryStatus.PENDING, next_attempt_at__lte=now - _ring_slack()
            ).values_list("pk", "attempts")
        )
        fresh = list(
            WebhookDelivery.objects.filter(
                idempotency_key__in=[row.idempotency_key for row in rows]
            ).values_list("pk", "attempts")
        )
        for delivery_id, attempts in {*due, *fresh}:
            _enqueue_attempt(delivery_id, attempts + 1, at=None)
    return {"created": len(fresh), "rung": len(due), "released": stuck}


def _ring_slack() -> timedelta:
    # A scheduled attempt is moved to its queue within a second; one this late has no job.
    return timedelta(seconds=max(30, 2 * settings.WEBHOOK_FANOUT_INTERVAL_SECONDS))


def _release_stuck(*, now: datetime) -> int:
    """An attempt in flight far longer than its timeout: its worker died. It counts as a failed
    attempt (it may have arrived: the idempotency key covers that) and is tried again now."""
    stale = now - timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS + 120)
    return WebhookDelivery.objects.filter(
        status=DeliveryStatus.DELIVERING, last_attempt_at__lt=stale
    ).update(status=DeliveryStatus.PENDING, next_attempt_at=now,
             last_error="The attempt ended without an outcome (worker stopped).")


def _enqueue_attempt(delivery_id: int, attempt: int, *, at: datetime | None) -> None:
    """The attempt's job, once the transaction commits. The id names the attempt: a retry is
    never scheduled under the id of the job still running."""
    job_id = f"deliver_webhook-{delivery_id}-{attempt}"

    def enqueue() -> None:
        import django_rq

        ensure_embedded_redis()
        queue = django_rq.get_queue(QUEUE, commit_mode="auto")
        if at is None:
            queue.enqueue(DELIVER_JOB, delivery_id, job_id=job_id)
        else:
            queue.enqueue_at(not_before(at), DELIVER_JOB, delivery_id, job_id=job_id)

    transaction.on_commit(enqueue)


# --- An attempt --------------------------------------------------------------------------------

def signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """HMAC-SHA256 of "<timestamp>.<body>" under the client's secret, hex (docs/api.md)."""
    signed = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def retry_delay(attempts: int) -> timedelta:
    """After the n-th failed attempt: base * 2^(n-1) seconds, at most the maximum."""
    base, ceiling = settings.WEBHOOK_RETRY_BASE_SECONDS, settings.WEBHOOK_RETRY_MAX_SECONDS
    return timedelta(seconds=min(ceiling, base * 2 ** min(attempts - 1, 30)))


def _post(
    *, url: str, secret: str, delivery: WebhookDelivery, at: datetime
) -> tuple[int | None, str]:
    """(status code, error) of one POST; never raises for the receiver's faults."""
    try:
        check_destination(url)
    except UrlRefused as exc:
        return None, str(exc)
    body = delivery.body.encode("utf-8")
    timestamp = int(at.timestamp())
    mac = signature(secret=secret, timestamp=timestamp, body=body)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Idempotency-Key": str(delivery.idempotency_key),
        "Outbound-Event": EVENT_TYPE,
        "Outbound-Signature": f"t={timestamp},v1={mac}",
    }
    try:
        # No redirects: a redirect could lead where check_destination would not let us go.
        response = requests.post(url, data=body, headers=headers, allow_redirects=False,
                                 timeout=settings.WEBHOOK_TIMEOUT_SECONDS)
    except requests.Timeout:
        return None, f"No answer within {settings.WEBHOOK_TIMEOUT_SECONDS} s."
    except requests.RequestException as exc:
        return None, f"{type(exc).__name__}: {exc}"[:300]
    response.close()
    code = response.status_code
    return code, "" if 200 <= code < 300 else f"HTTP {code}"


def delivery_attempt(*, delivery_id: int, now: datetime | None = None) -> str | None:
    """Try one delivery if it is due. Returns its status afterwards; None when it was not due or
    another attempt holds it (a duplicate job does nothing)."""
    now = now or timezone.now()
    won = WebhookDelivery.objects.filter(
        pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now
    ).update(status=DeliveryStatus.DELIVERING, attempts=F("attempts") + 1, last_attempt_at=now)
    if won != 1:
        return None
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    endpoint = WebhookEndpoint.objects.filter(client_id=delivery.client_id).first()
    if endpoint is None:
        code, error = None, "The webhook was removed."
    else:
        code, error = _post(url=endpoint.url, secret=endpoint.secret, delivery=delivery, at=now)
    return _record(delivery, url=endpoint.url if endpoint else delivery.url, code=code,
                   error=error, now=now, final=endpoint is None)


def _record(delivery: WebhookDelivery, *, url: str, code: int | None, error: str, now: datetime,
            final: bool) -> str:
    fields: dict[str, object] = {"url": url, "last_status_code": code, "last_error": error[:300]}
    retry_at: datetime | None = None
    if not error:
        status, fields = DeliveryStatus.DELIVERED, {**fields, "delivered_at": now,
                                                     "next_attempt_at": None}
    else:
        next_at = now + retry_delay(delivery.attempts)
        give_up_at = delivery.created_at + timedelta(seconds=settings.WEBHOOK_GIVE_UP_SECONDS)
        if final or next_at > give_up_at:
            status, fields = DeliveryStatus.GAVE_UP, {**fields, "next_attempt_at": None}
        else:
            status, fields = DeliveryStatus.PENDING, {**fields, "next_attempt_at": next_at}
            retry_at = next_at
    with transaction.atomic():
        WebhookDelivery.objects.filter(
            pk=delivery.pk, status=DeliveryStatus.DELIVERING
        ).update(status=status, **fields)
        if retry_at is not None:  # PENDING: the next attempt is due then
            _enqueue_attempt(delivery.pk, delivery.attempts + 1, at=retry_at)
    if error:
        log.info("webhook delivery %s attempt %s: %s", delivery.pk, delivery.attempts, error)
    return status
