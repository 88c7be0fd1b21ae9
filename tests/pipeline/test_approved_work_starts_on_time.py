"""An approved batch starts sending a few seconds after its grace window ends: with a live
worker and scheduler, through the job scheduled for the window's end (never early:
apps/core/queueing.py not_before); after the process holding RQ's scheduler was SIGKILLed,
through the sweeper, at most about a sweep interval late (apps/pipeline/sweeper.py).

Real parts: `manage.py worker` (with the scheduler, as deployed), `manage.py rqworker`, and
`manage.py rqcron config.cron` as the cron runs the sweeper, on PostgreSQL and Redis; the
batch is approved by rita through the service. Lateness is read from the database (the
batch_sending event against send_not_before), so a slow machine only stretches the waits."""

import signal
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from rq import Worker

from apps.core.models import AuditEvent, Batch, BatchStatus
from apps.review.services import batch_approve
from tests.conftest import in_review_batch
from tests.sending.workers import wait_until
from tests.support.processes import scheduler_holder, start_manage, stop

pytestmark = pytest.mark.django_db(transaction=True)

START = 120  # Django's start-up on a busy machine
SWEEP_INTERVAL = 5


def holds_the_scheduler(redis) -> bool:
    holder = scheduler_holder(redis)
    return holder is not None and holder[1] > 0


def approve_at_the_end_of_a_second(batch, rita) -> None:
    """Approve when the clock is late in its second, so the window ends late in one too: a job
    scheduled for that end in whole seconds cut down would run ~0.9 s before it."""
    while timezone.now().microsecond < 900_000:
        time.sleep(0.01)
    batch_approve(batch_id=batch.pk, actor=rita)


def lateness(batch, *, ceiling: float) -> timedelta:
    """How long after its window the batch started sending (polled for up to `ceiling` s)."""
    wait_until(
        lambda: Batch.objects.get(pk=batch.pk).status in (BatchStatus.SENDING, BatchStatus.SENT),
        timeout=ceiling, what=f"batch {batch.pk} to start sending",
    )
    started = AuditEvent.objects.get(batch_id=batch.pk, action="batch_sending").created_at
    not_before = Batch.objects.get(pk=batch.pk).send_not_before
    assert not_before is not None, "an approved batch has a window's end"
    return started - not_before


def test_a_live_scheduler_starts_the_batch_within_seconds_of_its_window(
    pipeline, acme_campaign, acme_prospects, rita, settings, tmp_path
):
    """Not the sweeper (none runs here): the job scheduled at approval."""
    worker = start_manage(tmp_path / "worker.log", "worker")
    try:
        wait_until(lambda: holds_the_scheduler(pipeline_redis()), timeout=START,
                   what="the worker's scheduler")
        settings.REVIEW_GRACE_SECONDS = 3
        batch = in_review_batch(acme_campaign, acme_prospects)

        approve_at_the_end_of_a_second(batch, rita)

        late = lateness(batch, ceiling=90)
    finally:
        stop(worker)
    assert timedelta(0) <= late <= timedelta(seconds=15), late


def test_the_sweeper_starts_the_batch_when_the_scheduler_holder_was_killed(
    pipeline, acme_campaign, acme_prospects, rita, settings, tmp_path
):
    redis = pipeline_redis()
    short = {"SWEEP_INTERVAL_SECONDS": str(SWEEP_INTERVAL)}
    holder = start_manage(tmp_path / "holder.log", "worker")
    processes = [holder]
    try:
        wait_until(lambda: holds_the_scheduler(redis), timeout=START, what="the scheduler")
        _, scheduler_pid = scheduler_holder(redis)
        # Another worker, without a scheduler of its own (so only the sweeper can help), and
        # RQ's cron scheduler enqueueing the sweep every SWEEP_INTERVAL seconds.
        processes.append(
            start_manage(
                tmp_path / "other.log", "rqworker", "send", "validate", "generate", **short
            )
        )
        processes.append(start_manage(tmp_path / "cron.log", "rqcron", "config.cron", **short))
        wait_until(
            lambda: len(Worker.all(connection=redis)) == 2, timeout=START, what="the other worker"
        )
        settings.REVIEW_GRACE_SECONDS = 5
        batch = in_review_batch(acme_campaign, acme_prospects)
        batch_approve(batch_id=batch.pk, actor=rita)

        # The scheduler first (so it cannot release its lock as its worker dies), then its worker.
        signal_pid(scheduler_pid, signal.SIGKILL)
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        assert Batch.objects.get(pk=batch.pk).status == BatchStatus.APPROVED  # still in its window

        late = lateness(batch, ceiling=120)
        assert scheduler_holder(redis)[1] == scheduler_pid  # its lock still there: no takeover
    finally:
        stop(*processes)
    # A sweep interval, the sweeper's slack for a scheduled job (5 s) and a busy machine's
    # delays; the dead scheduler's lock alone lasts 61 s and RQ retried it every 600 s.
    assert timedelta(0) <= late <= timedelta(seconds=SWEEP_INTERVAL + 5 + 20), late


def pipeline_redis():
    import django_rq

    return django_rq.get_connection("send")


def signal_pid(pid: int, sig: int) -> None:
    import os

    os.kill(pid, sig)
