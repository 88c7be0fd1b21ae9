"""Promise 2: RQ runs a job at least once, so every job must be safe to run again, and two
copies of the send job running at once must still send each message once."""

import threading
from collections import Counter

import django_rq
import pytest
from django.db import connection

from apps.core.models import (
    AuditEvent,
    Batch,
    BatchStatus,
    DeliveryAttempt,
    Finding,
    Message,
    Prospect,
    SendStatus,
)
from apps.core.queueing import SEND_BATCH
from apps.generation.services import batch_start
from apps.pipeline.jobs import generate_batch_job, send_batch_job, validate_batch_job
from apps.review.services import batch_approve, message_exclude
from apps.validation.services import batch_validate
from tests.conftest import make_batch, make_campaign
from tests.support.worker import run_worker_burst

BODY = "Hi {{ company }} team,\n\nwould you like fewer bounces, {{ first_name }}?\n\nSam"


def findings_of(batch):
    return sorted(
        Finding.objects.filter(message__batch=batch).values_list(
            "message_id", "rule_code", "severity", "field", "start", "end"
        )
    )


def transitions_of(batch):
    return Counter(AuditEvent.objects.filter(batch=batch).values_list("action", flat=True))


@pytest.mark.django_db
def test_each_job_run_twice_does_its_work_once(smtp_server, dns_server, acme_client, oscar, rita):
    campaign = make_campaign(acme_client, body_template=BODY)
    prospects = [
        Prospect.objects.create(client=acme_client, email=email, first_name=name, company=company)
        for email, name, company in [
            ("peter@initech.com", "Peter", "Initech Inc."),
            ("richard@hooli.com", "Richard", "Hooli"),
            ("alice@umbrella.com", "Alice", "Umbrella"),
        ]
    ]
    batch = batch_start(campaign=campaign, prospects=prospects, actor=oscar)

    generate_batch_job(batch.pk)
    first = sorted(
        Message.objects.filter(batch=batch).values_list("pk", "prospect_id", "content_hash")
    )
    generate_batch_job(batch.pk)
    assert (
        sorted(Message.objects.filter(batch=batch).values_list("pk", "prospect_id", "content_hash"))
        == first
    )
    assert len(first) == 3

    # Validation retried before routing (the worker died between the two steps): the findings
    # are replaced, not added to.
    batch_validate(batch_id=batch.pk)
    found = findings_of(batch)
    assert [f[1] for f in found] == ["legal_form"]
    batch_validate(batch_id=batch.pk)
    assert findings_of(batch) == found
    validate_batch_job(batch.pk)
    validate_batch_job(batch.pk)
    assert findings_of(batch) == found
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.IN_REVIEW

    initech = Message.objects.get(batch=batch, recipient="peter@initech.com")
    message_exclude(message_id=initech.pk, actor=rita, reason="Legal form in the greeting")
    batch_approve(batch_id=batch.pk, actor=rita)
    send_batch_job(batch.pk)
    send_batch_job(batch.pk)

    sent = Message.objects.filter(batch=batch, excluded=False)
    assert sorted(smtp_server.message_ids()) == sorted(m.message_id_header for m in sent)
    assert set(sent.values_list("send_status", flat=True)) == {SendStatus.SENT}
    assert DeliveryAttempt.objects.filter(message__batch=batch).count() == 2
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.SENT
    assert transitions_of(batch) == {
        "batch_started": 1, "batch_generated": 1, "batch_routed": 1, "message_excluded": 1,
        "batch_approved": 1, "batch_sending": 1, "batch_sent": 1,
    }


def approved_batch(campaign, count: int) -> Batch:
    prospects = [
        Prospect.objects.create(
            client=campaign.client, email=f"p{i:03}@hooli.com", first_name=f"P{i}"
        )
        for i in range(count)
    ]
    batch = make_batch(campaign, prospects, status=BatchStatus.APPROVED)
    # As batch_approve leaves it (that service has tests of its own).
    from django.db.models import F

    Message.objects.filter(batch=batch).update(
        approved_hash=F("content_hash"), send_status=SendStatus.QUEUED
    )
    return batch


def assert_sent_once(smtp, batch, count: int):
    ids = smtp.message_ids()
    duplicates = [i for i, n in Counter(ids).items() if n > 1]
    assert not duplicates, f"sent more than once: {duplicates}"
    assert sorted(ids) == sorted(m.message_id_header for m in Message.objects.filter(batch=batch))
    assert len(ids) == count
    assert DeliveryAttempt.objects.filter(message__batch=batch).count() == count
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.SENT
    events = transitions_of(batch)
    assert (events["batch_sending"], events["batch_sent"]) == (1, 1)


@pytest.mark.django_db(transaction=True)
def test_two_send_jobs_at_once_send_each_message_once(postgres_only, smtp_server, acme_campaign,
                                                      settings):
    settings.SEND_CLAIM_CHUNK = 50
    settings.SEND_SMTP_CONNECTIONS = 1  # so that each run's connection tells the runs apart
    count = 150  # three claims' worth, so the two runs interleave
    batch = approved_batch(acme_campaign, count)
    barrier = threading.Barrier(2)
    errors = []

    def worker():
        try:
            barrier.wait(timeout=10)
            send_batch_job(batch.pk)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors, errors
    assert_sent_once(smtp_server, batch, count)
    # Both runs really sent (one SMTP connection each): the test saw them overlap.
    assert len({m.peer for m in smtp_server.messages}) == 2


@pytest.mark.django_db(transaction=True)
def test_duplicate_send_jobs_in_two_workers_send_each_message_once(pipeline, acme_campaign):
    count = 150
    batch = approved_batch(acme_campaign, count)
    queue = django_rq.get_queue("send", commit_mode="auto")
    for copy in ("a", "b"):  # a duplicate enqueue under another id, as after a lost result
        queue.enqueue(SEND_BATCH.path, batch.pk, job_id=f"send_batch-{batch.pk}-{copy}")

    run_worker_burst(queues=["send"], workers=2)

    assert_sent_once(pipeline, batch, count)
