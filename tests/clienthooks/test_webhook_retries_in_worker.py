"""Retries go through the pipeline's own worker: a failed attempt schedules the next as an RQ
job at its time (the worker runs RQ's scheduler), and the pause doubles each time. Real
`manage.py worker`, PostgreSQL, Redis and a loopback HTTP receiver."""

import pytest

from apps.clienthooks.models import WebhookDelivery
from apps.clienthooks.services import deliveries_fan_out, webhook_register
from apps.review.services import batch_withdraw
from tests.conftest import in_review_batch
from tests.sending.workers import wait_until
from tests.support.processes import start_manage, stop

pytestmark = pytest.mark.django_db(transaction=True)

START = 120  # Django's start-up on a busy machine, then two pauses of 1 and 2 s


def test_worker_retries_with_backoff_until_delivered(
    postgres_only, redis_queues, receiver, acme_client, acme_campaign, acme_prospects, carl,
    tmp_path,
):
    receiver.answers = [500, 500, 200]
    webhook_register(client=acme_client, url=receiver.url, actor=carl)
    batch = in_review_batch(acme_campaign, acme_prospects)
    batch_withdraw(batch=batch, actor=carl)
    assert deliveries_fan_out()["created"] == 1  # its first attempt is enqueued on commit

    worker = start_manage(
        tmp_path / "worker.log", "worker", WEBHOOK_RETRY_BASE_SECONDS="1",
        WEBHOOK_ALLOW_PRIVATE_ADDRESSES="true", WEBHOOK_TIMEOUT_SECONDS="5",
    )
    try:
        wait_until(lambda: WebhookDelivery.objects.get().status == "delivered", timeout=START,
                   what="the delivery, after two failures")
    finally:
        stop(worker)

    delivery = WebhookDelivery.objects.get()
    assert (delivery.attempts, delivery.last_status_code) == (3, 200)
    assert [r.headers["idempotency-key"] for r in receiver.requests] == [
        str(delivery.idempotency_key)] * 3
    first, second, third = (r.at for r in receiver.requests)
    # Scheduled jobs run at their time or after (rounded up to the second), never before.
    assert second - first >= 0.9 and third - second >= 1.9, (second - first, third - second)
