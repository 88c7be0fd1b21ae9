"""Fault tests on real parts: PostgreSQL, Redis, RQ workers in their own processes (killed with
SIGKILL at fault points), and the loopback SMTP server counting what it stores per Message-ID.

Whatever happens, no message is stored twice; a message the server may have is unknown, never
resent by itself; everything else ends up sent once the sweeper has come round.
"""

import os
import signal

import pytest
from rq import Retry

from apps.core.models import Batch, BatchStatus, Message, SendStatus
from apps.pipeline.sweeper import sweep
from apps.sending import journal
from tests.sending.conftest import age_claims, approved_batch, statuses
from tests.sending.workers import (
    enqueue_send,
    finish,
    sent_count,
    start_worker,
    wait_until,
)

pytestmark = pytest.mark.django_db(transaction=True)


def listening_workers() -> int:
    import django_rq
    from rq import Worker

    return len(Worker.all(connection=django_rq.get_connection("send")))


def assert_each_stored_once(smtp, batch, *, unknown: int = 0):
    assert smtp.duplicates() == {}
    messages = list(Message.objects.filter(batch=batch))
    sent = {m.message_id_header for m in messages if m.send_status == SendStatus.SENT}
    assert sent <= set(smtp.message_ids())
    assert statuses(batch) == ({SendStatus.SENT: len(messages) - unknown}
                               | ({SendStatus.UNKNOWN: unknown} if unknown else {}))
    # Never "sent" while any is in doubt: it waits for a person
    # (tests/sending/test_needs_attention.py).
    assert Batch.objects.get(pk=batch.pk).status == (
        BatchStatus.NEEDS_ATTENTION if unknown else BatchStatus.SENT
    )


def sweep_after_lease(batch) -> dict:
    age_claims(batch)  # as if the sweeper ran once the lease was over
    return sweep()


def test_killed_right_after_the_claim_the_journal_requeues_at_once(pipeline, acme_campaign):
    batch = approved_batch(acme_campaign, 10)
    enqueue_send(batch.pk)

    finish(start_worker(SENDING_FAULT_POINT="after_claim", SEND_CLAIM_CHUNK="4"))

    assert pipeline.messages == []
    assert statuses(batch) == {SendStatus.SENDING: 4, SendStatus.QUEUED: 6}
    counts = sweep()  # the lease has not run out: the dead process's journal decides
    assert (counts["requeued"], counts["unknown"], counts["enqueued"]) == (4, 0, 1)
    finish(start_worker())

    assert_each_stored_once(pipeline, batch)
    assert len(pipeline.messages) == 10


def test_killed_after_the_reply_was_journaled_only_the_unsent_are_queued_again(
    pipeline, acme_campaign
):
    batch = approved_batch(acme_campaign, 10)
    enqueue_send(batch.pk)

    finish(start_worker(SENDING_FAULT_POINT="after_delivery:2", SEND_CLAIM_CHUNK="4"))

    assert len(pipeline.messages) == 2
    counts = sweep()
    # The two answered are recorded sent with their replies (the batch's commit of its
    # successes never came); the two never handed over are queued again; none is unknown.
    assert (counts["answered"], counts["requeued"], counts["unknown"]) == (2, 2, 0)
    finish(start_worker())

    assert_each_stored_once(pipeline, batch)
    assert len(pipeline.messages) == 10
    first = Message.objects.filter(batch=batch).order_by("pk").first()
    attempt = first.attempts.get()
    assert (attempt.outcome, attempt.smtp_code) == (SendStatus.SENT, 250)


def test_killed_between_the_reply_and_its_journal_line_only_that_message_is_unknown(
    pipeline, acme_campaign
):
    batch = approved_batch(acme_campaign, 10)
    enqueue_send(batch.pk)

    finish(start_worker(SENDING_FAULT_POINT="after_reply:2", SEND_CLAIM_CHUNK="4"))

    assert len(pipeline.messages) == 2
    counts = sweep()
    assert (counts["answered"], counts["requeued"], counts["unknown"]) == (1, 2, 1)
    finish(start_worker())

    assert_each_stored_once(pipeline, batch, unknown=1)
    unknown = Message.objects.get(batch=batch, send_status=SendStatus.UNKNOWN)
    # The server has it: the person resolving it finds it in the log, and the attempt says so.
    assert pipeline.count_by_message_id()[unknown.message_id_header] == 1
    assert unknown.message_id_header in unknown.attempts.get().detail
    assert len(pipeline.messages) == 10


def test_killed_as_the_data_went_out_only_that_message_is_unknown(pipeline, acme_campaign):
    batch = approved_batch(acme_campaign, 10)
    enqueue_send(batch.pk)

    # Killed after the journal said "handing over" and before the bytes went: the server
    # does not have it, but nothing can prove that, so it is the one unknown.
    finish(start_worker(SENDING_FAULT_POINT="handing_over:3", SEND_CLAIM_CHUNK="4"))

    assert len(pipeline.messages) == 2
    counts = sweep()
    assert (counts["answered"], counts["requeued"], counts["unknown"]) == (2, 1, 1)
    finish(start_worker())

    assert_each_stored_once(pipeline, batch, unknown=1)
    assert len(pipeline.messages) == 9

def test_killed_mid_window_with_chunking_what_went_out_unanswered_is_unknown(
    pipeline, acme_campaign
):
    """With CHUNKING a window's transactions are all written before the first reply is read.
    Killed as the third goes out: the two before it were written and never answered (the
    server may have them, or may have lost them with the connection), the third's H line is
    written: three unknown, and the fourth, none of whose bytes went, queued again."""
    pipeline.handler.chunking = True
    batch = approved_batch(acme_campaign, 10)
    enqueue_send(batch.pk)

    finish(start_worker(SENDING_FAULT_POINT="handing_over:3", SEND_CLAIM_CHUNK="4"))

    counts = sweep()
    assert (counts["answered"], counts["requeued"], counts["unknown"]) == (0, 1, 3)
    finish(start_worker())

    assert_each_stored_once(pipeline, batch, unknown=3)
    assert set(pipeline.handler.commands) == {"BDAT"}
    assert len(pipeline.messages) >= 7


def test_exception_after_k_of_n_then_the_retry_sends_only_the_rest(pipeline, acme_campaign):
    batch = approved_batch(acme_campaign, 5)
    enqueue_send(batch.pk, retry=Retry(max=1))

    output = finish(start_worker(SENDING_FAULT_POINT="after_outcome:3:raise"))

    assert "fault injected at after_outcome" in output
    assert_each_stored_once(pipeline, batch)
    assert len(pipeline.messages) == 5


def test_parent_killed_while_its_work_horse_sends_the_horse_stops_and_the_retry_sends_the_rest(
    pipeline, acme_campaign
):
    """A work-horse dies with its worker (apps/pipeline/worker.py, die_with_parent): no orphan
    goes on sending beside the retry. Its journal settles its claim (500 messages) at once: only
    the messages in flight may be unknown, one per SMTP connection (SEND_SMTP_CONNECTIONS: the
    worker runs with the default, and the server does not offer CHUNKING)."""
    from django.conf import settings

    in_flight = settings.SEND_SMTP_CONNECTIONS
    batch = approved_batch(acme_campaign, 300)
    pipeline.delay(0.2)  # slow, so the kill lands mid-send
    enqueue_send(batch.pk)
    first = start_worker(burst=False)
    wait_until(lambda: len(pipeline.messages) >= 5, timeout=60, what="the first worker to send")

    os.kill(first.pid, signal.SIGKILL)
    # Its output pipe closes only once the work-horse, which shares it, is gone too.
    finish(first, timeout=60)
    pipeline.delay(0)
    # RQ hands the job to another worker (here at once, instead of after its ~90 s).
    enqueue_send(batch.pk, job_id=f"send_batch-{batch.pk}-retried")
    counts = sweep()  # the lease has not run out: the dead horse's journal decides
    assert counts["unknown"] <= in_flight and counts["answered"] >= 5
    finish(start_worker())

    unknown = statuses(batch).get(SendStatus.UNKNOWN, 0)
    assert unknown <= in_flight  # at most the messages in flight
    assert_each_stored_once(pipeline, batch, unknown=unknown)
    assert len(pipeline.messages) >= 300 - unknown


def test_redis_flushed_mid_batch_the_sweeper_finishes_it(pipeline, acme_campaign, redis_queues):
    batch = approved_batch(acme_campaign, 12)
    enqueue_send(batch.pk)
    finish(start_worker(SENDING_FAULT_POINT="after_claim:2", SEND_CLAIM_CHUNK="4"))
    assert sent_count(batch) == 4

    redis_queues.flushdb()  # every job, registry and result gone
    counts = sweep_after_lease(batch)
    assert counts["enqueued"] == 1
    finish(start_worker())

    assert_each_stored_once(pipeline, batch)
    assert len(pipeline.messages) == 12


def test_redis_down_while_the_approval_commits_the_sweeper_sends(
    pipeline, acme_client, acme_campaign, rita, settings
):
    import redis

    from apps.review.services import batch_approve
    from tests.conftest import in_review_batch
    from tests.sending.conftest import approved_batch as _unused  # noqa: F401
    from tests.support.smtp_server import free_port

    prospects = [
        __import__("apps.core.models", fromlist=["Prospect"]).Prospect.objects.create(
            client=acme_client, email=f"r{i}@hooli.com", first_name=f"R{i}"
        )
        for i in range(3)
    ]
    batch = in_review_batch(acme_campaign, prospects)
    working = settings.RQ_QUEUES
    settings.RQ_QUEUES = {
        name: {**conf, "URL": f"redis://127.0.0.1:{free_port()}/0"}
        for name, conf in working.items()
    }
    with pytest.raises(redis.ConnectionError):
        batch_approve(batch_id=batch.pk, actor=rita)  # committed; the doorbell failed
    settings.RQ_QUEUES = working
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.APPROVED
    Batch.objects.filter(pk=batch.pk).update(decided_at=None)  # past the sweeper's grace

    assert sweep()["enqueued"] == 1
    finish(start_worker())

    assert_each_stored_once(pipeline, batch)
    assert len(pipeline.messages) == 3


def test_a_journal_written_before_a_reboot_is_not_trusted(pipeline, acme_campaign, settings):
    batch = approved_batch(acme_campaign, 10)
    enqueue_send(batch.pk)
    finish(start_worker(SENDING_FAULT_POINT="after_delivery:2", SEND_CLAIM_CHUNK="4"))
    for path in settings.SEND_JOURNAL_DIR.glob("*.journal"):
        text = path.read_text()
        path.write_text(text.replace(journal.BOOT_ID, "an-earlier-boot", 1))

    # Lines may be missing from a journal the machine lost: the lease decides, as without one.
    assert (sweep()["requeued"], sweep()["unknown"]) == (0, 0)
    counts = sweep_after_lease(batch)
    assert (counts["requeued"], counts["unknown"]) == (0, 4)
    assert list(settings.SEND_JOURNAL_DIR.glob("*.journal")) == []
    finish(start_worker())

    assert_each_stored_once(pipeline, batch, unknown=4)
    assert len(pipeline.messages) == 8
