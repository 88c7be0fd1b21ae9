"""The webhook inbox (apps/deliverability/inbox.py): an event is stored before the relay is
answered 200 and applied later by a job; two appliers racing apply each event once; events
left waiting (the job lost) are found by the sweeper; the job is coalesced by a doorbell."""

import json
import threading
from datetime import timedelta

import django_rq
import pytest
from django.db import connection
from django.utils import timezone
from rq import SimpleWorker

from apps.core.models import Message
from apps.deliverability import inbox
from apps.deliverability.inbox import webhook_event_store, webhook_events_apply
from apps.deliverability.models import BounceEvent, WebhookEvent
from apps.pipeline.sweeper import sweep
from apps.pipeline.worker import Worker as PipelineWorker
from tests.deliverability.conftest import sent_batch
from tests.deliverability.test_webhooks import SECRET, SIGNING_KEY, basic_auth, postmark_bounce

pytestmark = pytest.mark.django_db


class InProcessWorker(SimpleWorker):
    """RQ's SimpleWorker (the job runs here, inside the test's transaction) with the pipeline
    worker's pub/sub wait (apps/pipeline/worker.py, Worker.subscribe): with RQ's own, a burst
    worker's exit now and then waits a minute for its pub/sub thread (rq issue #1613)."""

    subscribe = PipelineWorker.subscribe


@pytest.fixture(autouse=True)
def webhooks_configured(settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET, "MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY}


@pytest.fixture
def queue():
    queue = django_rq.get_queue(inbox.QUEUE)
    queue.empty()
    queue.connection.delete(inbox.DOORBELL)
    yield queue
    queue.empty()
    queue.connection.delete(inbox.DOORBELL)


def stored_bounce(message: Message, key: str) -> dict:
    return {"key": key, "kind": "hard", "source": "postmark", "recipient": message.recipient,
            "headers": [message.message_id_header], "return_path": "", "evidence": "bounced"}


def test_an_event_is_stored_before_200_and_applied_by_the_job(client, acme_campaign):
    message = Message.objects.filter(batch=sent_batch(acme_campaign, 1)).get()

    response = client.post("/webhooks/postmark/tracking/", json.dumps(postmark_bounce(message)),
                           content_type="application/json", **basic_auth())

    assert response.status_code == 200
    row = WebhookEvent.objects.get()
    assert (row.key, row.source, row.applied_at) == ("postmark:4242", "postmark", None)
    assert not BounceEvent.objects.exists()  # not applied on the request path
    assert webhook_events_apply() == 1
    row.refresh_from_db()
    assert row.applied_at is not None
    assert BounceEvent.objects.get().message_id == message.pk
    assert webhook_events_apply() == 0  # nothing waits any more


def test_a_replay_is_stored_once(acme_campaign):
    message = Message.objects.filter(batch=sent_batch(acme_campaign, 1)).get()
    payload = stored_bounce(message, "postmark:1")

    assert webhook_event_store(key="postmark:1", source="postmark", payload=payload)
    assert not webhook_event_store(key="postmark:1", source="postmark", payload=payload)
    assert WebhookEvent.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_appliers_racing_apply_each_event_once(acme_campaign):
    if connection.vendor != "postgresql":
        pytest.skip("SKIP LOCKED claims need PostgreSQL")
    messages = list(Message.objects.filter(batch=sent_batch(acme_campaign, 40)))
    now = timezone.now()
    WebhookEvent.objects.bulk_create(
        WebhookEvent(key=f"postmark:{m.pk}", source="postmark", received_at=now,
                     payload=stored_bounce(m, f"postmark:{m.pk}")) for m in messages)
    barrier, applied = threading.Barrier(2), []

    def applier():
        try:
            barrier.wait(timeout=30)
            applied.append(webhook_events_apply(limit=7))
        finally:
            connection.close()

    threads = [threading.Thread(target=applier) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert sum(applied) == len(messages) and len(applied) == 2
    assert BounceEvent.objects.count() == len(messages)
    assert not WebhookEvent.objects.filter(applied_at__isnull=True).exists()
    assert sorted(BounceEvent.objects.values_list("message_id", flat=True)) == sorted(
        m.pk for m in messages)


def test_events_left_waiting_are_applied_through_the_sweeper(acme_campaign, queue, settings):
    message = Message.objects.filter(batch=sent_batch(acme_campaign, 1)).get()
    old = timezone.now() - timedelta(seconds=settings.SWEEP_GRACE_SECONDS + 5)
    WebhookEvent.objects.create(key="postmark:lost", source="postmark", received_at=old,
                                payload=stored_bounce(message, "postmark:lost"))
    queue.connection.set(inbox.DOORBELL, "1")  # rung, but its job was lost

    assert sweep()["webhook_events_waiting"] == 1
    assert queue.count == 1
    InProcessWorker([queue], connection=queue.connection).work(burst=True)

    assert BounceEvent.objects.get().message_id == message.pk
    assert not WebhookEvent.objects.filter(applied_at__isnull=True).exists()


def test_the_doorbell_enqueues_one_job_until_the_job_starts(queue):
    assert inbox.ring() and not inbox.ring() and not inbox.ring()
    assert queue.count == 1
    inbox.silence()  # the job starts
    assert inbox.ring()
    assert queue.count == 2


def test_the_request_path_is_one_insert(client, acme_campaign):
    from django.db import connection as db
    from django.test.utils import CaptureQueriesContext

    message = Message.objects.filter(batch=sent_batch(acme_campaign, 1)).get()
    with CaptureQueriesContext(db) as queries:
        response = client.post("/webhooks/postmark/tracking/",
                               json.dumps(postmark_bounce(message)),
                               content_type="application/json", **basic_auth())

    assert response.status_code == 200
    statements = [q["sql"] for q in queries.captured_queries]  # not even a savepoint
    assert len(statements) == 1 and statements[0].upper().startswith("INSERT"), statements
