"""Every batch state change is POSTed to the client's URL, signed, under an idempotency key
that stays the same across retries; failures (500s, timeouts) are retried with doubling pauses
until a day after the change. Against a real HTTP server on loopback; the clock the schedule
follows is passed in (`now`), so a day of retries takes a second."""

import hashlib
import hmac
import json
import time
from datetime import timedelta

import pytest

from apps.clienthooks.models import DeliveryStatus, WebhookDelivery
from apps.clienthooks.services import (
    deliveries_fan_out,
    delivery_attempt,
    webhook_register,
    webhook_remove,
    webhook_secret_rotate,
)
from apps.review.services import batch_approve, batch_claim, batch_withdraw
from tests.conftest import in_review_batch

pytestmark = pytest.mark.django_db


def verify(secret: str, header: str, body: bytes, tolerance: int | None = 300) -> bool:
    """The check docs/api.md gives clients, as they would run it."""
    parts = dict(item.split("=", 1) for item in header.split(","))
    timestamp = int(parts["t"])
    if tolerance is not None and abs(time.time() - timestamp) > tolerance:
        return False
    signed = f"{timestamp}.".encode() + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


@pytest.fixture
def approved_change(receiver, acme_client, acme_campaign, acme_prospects, carl, rita):
    """carl registered the receiver; rita then approved a batch: one state change to deliver."""
    secret = webhook_register(client=acme_client, url=receiver.url, actor=carl)
    batch = in_review_batch(acme_campaign, acme_prospects)
    batch_approve(batch_id=batch.pk, actor=rita)
    deliveries_fan_out()
    return secret, batch, WebhookDelivery.objects.get(client=acme_client)


def test_delivered_and_signed(receiver, approved_change):
    secret, batch, delivery = approved_change

    assert delivery_attempt(delivery_id=delivery.pk) == DeliveryStatus.DELIVERED

    [request] = receiver.requests
    assert request.path == "/hooks/outbound"
    assert verify(secret, request.headers["outbound-signature"], request.body)
    assert not verify(secret + "x", request.headers["outbound-signature"], request.body)
    payload = json.loads(request.body)
    assert payload["id"] == request.headers["idempotency-key"] == str(delivery.idempotency_key)
    assert payload["type"] == "batch.status_changed"
    assert payload["data"]["batch_id"] == batch.pk
    data = payload["data"]
    assert (data["previous_status"], data["status"]) == ("in_review", "approved")
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 200)


def test_retried_after_500s_with_backoff_under_one_key(receiver, approved_change, settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 30
    secret, _, delivery = approved_change
    receiver.answers = [500, 503, 200]
    now = delivery.next_attempt_at

    assert delivery_attempt(delivery_id=delivery.pk, now=now) == "pending"
    delivery.refresh_from_db()
    assert delivery.next_attempt_at == now + timedelta(seconds=30)
    assert delivery_attempt(delivery_id=delivery.pk, now=now + timedelta(seconds=29)) is None
    assert delivery_attempt(delivery_id=delivery.pk, now=delivery.next_attempt_at) == "pending"
    second = delivery.next_attempt_at
    delivery.refresh_from_db()
    assert delivery.next_attempt_at == second + timedelta(seconds=60)
    assert (delivery.last_status_code, delivery.attempts) == (503, 2)
    assert delivery_attempt(delivery_id=delivery.pk, now=delivery.next_attempt_at) == "delivered"

    assert len(receiver.requests) == 3
    keys = {r.headers["idempotency-key"] for r in receiver.requests}
    assert keys == {str(delivery.idempotency_key)}
    assert len({r.body for r in receiver.requests}) == 1
    for request in receiver.requests:
        assert verify(secret, request.headers["outbound-signature"], request.body, tolerance=None)
    stamps = [int(r.headers["outbound-signature"].split(",")[0][2:]) for r in receiver.requests]
    assert [b - a for a, b in zip(stamps, stamps[1:], strict=False)] == [30, 60]


def test_a_timeout_is_retried(receiver, approved_change):
    _, _, delivery = approved_change
    receiver.answers = ["slow", 200]
    receiver.slow_seconds = 3  # the sender waits WEBHOOK_TIMEOUT_SECONDS = 1

    assert delivery_attempt(delivery_id=delivery.pk) == "pending"
    delivery.refresh_from_db()
    assert delivery.last_error == "No answer within 1 s." and delivery.last_status_code is None
    assert delivery_attempt(delivery_id=delivery.pk, now=delivery.next_attempt_at) == "delivered"
    assert len(receiver.requests) == 2


def test_given_up_a_day_after_the_change(receiver, approved_change, settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS, settings.WEBHOOK_RETRY_MAX_SECONDS = 30, 3600
    _, _, delivery = approved_change
    receiver.answers = [500]
    status, now = "pending", delivery.next_attempt_at

    while status == "pending":
        status = delivery_attempt(delivery_id=delivery.pk, now=now)
        delivery.refresh_from_db()
        now = delivery.next_attempt_at

    assert status == "gave_up"
    stamps = [int(r.headers["outbound-signature"].split(",")[0][2:]) for r in receiver.requests]
    gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
    assert gaps[:8] == [30, 60, 120, 240, 480, 960, 1920, 3600]
    assert set(gaps[8:]) == {3600}
    day = delivery.created_at.timestamp() + 86_400
    assert stamps[-1] <= day < stamps[-1] + 3600  # the next try would have been past the day
    assert delivery.attempts == len(receiver.requests)
    assert delivery.next_attempt_at is None


def test_fan_out_once_per_change_and_only_after_registration(
    receiver, acme_client, acme_campaign, acme_prospects, carl, rita
):
    before = in_review_batch(acme_campaign, acme_prospects)
    batch_approve(batch_id=before.pk, actor=rita)  # before the webhook: not sent
    webhook_register(client=acme_client, url=receiver.url, actor=carl)
    batch = in_review_batch(acme_campaign, acme_prospects)
    batch_claim(batch_id=batch.pk, actor=rita)  # a claim is not a state change
    batch_withdraw(batch=batch, actor=carl)

    first, again = deliveries_fan_out(), deliveries_fan_out()

    assert first["created"] == 1 and again["created"] == 0
    delivery = WebhookDelivery.objects.get()
    assert delivery.event.action == "batch_withdrawn"


def test_removed_webhook_gives_up(receiver, approved_change, acme_client, carl):
    _, _, delivery = approved_change
    webhook_remove(client=acme_client, actor=carl)
    assert delivery_attempt(delivery_id=delivery.pk) == "gave_up"
    assert receiver.requests == []


def test_rotated_secret_signs_the_next_attempt(receiver, approved_change, acme_client, carl):
    old, _, delivery = approved_change
    new = webhook_secret_rotate(client=acme_client, actor=carl)
    delivery_attempt(delivery_id=delivery.pk)
    [request] = receiver.requests
    assert verify(new, request.headers["outbound-signature"], request.body)
    assert not verify(old, request.headers["outbound-signature"], request.body)
