"""The sweeper rings the doorbell again for work standing still: batches generating, validating,
approved past their grace window, or sending. It enqueues the stage's own idempotent job under
that job's usual id, never a second copy of one already waiting, running or scheduled."""

from datetime import timedelta

import django_rq
import pytest
from django.utils import timezone

from apps.core.models import Batch, BatchStatus, Message, Prospect, SendStatus
from apps.core.queueing import SEND_BATCH
from apps.generation.services import batch_start
from apps.pipeline.sweeper import sweep
from tests.conftest import make_campaign
from tests.sending.conftest import approved_batch
from tests.sending.workers import finish, start_worker
from tests.support.worker import run_worker_burst

pytestmark = pytest.mark.django_db(transaction=True)
LONG_AGO = timedelta(hours=1)


def queued_ids(name: str) -> list[str]:
    return django_rq.get_queue(name).get_job_ids()


def make_stuck(batch, status: str) -> None:
    Batch.objects.filter(pk=batch.pk).update(
        status=status, created_at=timezone.now() - LONG_AGO, decided_at=timezone.now() - LONG_AGO
    )


@pytest.mark.parametrize("status, queue, job", [
    (BatchStatus.GENERATING, "generate", "generate_batch"),
    (BatchStatus.VALIDATING, "validate", "validate_batch"),
    (BatchStatus.APPROVED, "send", "send_batch"),
    (BatchStatus.SENDING, "send", "send_batch"),
])
def test_stuck_batch_is_enqueued_once(
    postgres_only, redis_queues, acme_campaign, status, queue, job
):
    batch = approved_batch(acme_campaign, 2)
    make_stuck(batch, status)

    first, second = sweep(), sweep()

    assert queued_ids(queue) == [f"{job}-{batch.pk}"]
    assert (first["enqueued"], second["enqueued"], second["already_queued"]) == (1, 0, 1)


def test_young_batches_and_finished_ones_are_left_alone(postgres_only, redis_queues, acme_campaign):
    young = approved_batch(acme_campaign, 1)
    Batch.objects.filter(pk=young.pk).update(status=BatchStatus.GENERATING)
    for status in (BatchStatus.IN_REVIEW, BatchStatus.SENT, BatchStatus.REJECTED):
        make_stuck(approved_batch(acme_campaign, 1, start=hash(status) % 1000 + 100), status)

    assert sweep()["enqueued"] == 0
    assert all(queued_ids(q) == [] for q in ("generate", "validate", "send"))


def test_inside_the_grace_window_the_scheduled_job_is_not_doubled(
    postgres_only, redis_queues, acme_campaign
):
    batch = approved_batch(acme_campaign, 1)
    make_stuck(batch, BatchStatus.APPROVED)
    later = timezone.now() + timedelta(minutes=5)
    Batch.objects.filter(pk=batch.pk).update(send_not_before=later)

    assert sweep()["enqueued"] == 0  # not due yet

    # Due, and its scheduled job (enqueue_at by approval) is still in the scheduled registry.
    queue = django_rq.get_queue("send", commit_mode="auto")
    queue.enqueue_at(later, SEND_BATCH.path, batch.pk, job_id=f"send_batch-{batch.pk}")
    Batch.objects.filter(pk=batch.pk).update(send_not_before=timezone.now() - timedelta(seconds=1))
    counts = sweep()
    assert (counts["enqueued"], counts["already_queued"]) == (0, 1)


def test_a_lost_hook_delays_but_does_not_drop(pipeline, acme_client, oscar):
    """The start's on-commit enqueue is lost (Redis flushed right after the commit): the
    sweeper rings again and the batch of an auto-approving client goes all the way."""
    acme_client.review_policy = "auto_approve_clean"
    acme_client.save()
    campaign = make_campaign(acme_client, body_template="Hi {{ first_name }},\n\nSam")
    prospects = [
        Prospect.objects.create(client=acme_client, email=f"s{i}@hooli.com", first_name=f"S{i}")
        for i in range(3)
    ]
    batch = batch_start(campaign=campaign, prospects=prospects, actor=oscar)
    django_rq.get_connection("generate").flushdb()
    run_worker_burst()
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.GENERATING  # nothing rang

    Batch.objects.filter(pk=batch.pk).update(created_at=timezone.now() - LONG_AGO)
    sweep()
    run_worker_burst()

    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.SENT
    assert set(Message.objects.filter(batch=batch).values_list("send_status", flat=True)) == {
        SendStatus.SENT
    }
    assert pipeline.duplicates() == {} and len(pipeline.messages) == 3


def test_the_cron_configuration_registers_every_periodic_job(settings):
    from rq.cron import CronScheduler

    from tests.support.worker import worker_env  # noqa: F401 (same settings as the workers)

    scheduler = CronScheduler(connection=django_rq.get_connection("send"))
    scheduler.load_config_from_file("config.cron")

    jobs = {job.func_name: (job.queue_name, job.interval) for job in scheduler.get_jobs()}
    assert jobs == {
        "apps.pipeline.jobs.sweep_stuck_work": ("send", settings.SWEEP_INTERVAL_SECONDS),
        "apps.review.jobs.notify_at_risk_batches": (
            "validate",
            settings.REVIEW_AT_RISK_CHECK_SECONDS,
        ),
        "apps.review.jobs.look_for_rule_proposals": (
            "validate", settings.RULE_PROPOSALS_INTERVAL_SECONDS,
        ),
        "apps.portal.jobs.notify_clients": ("validate", settings.CLIENT_NOTIFY_INTERVAL_SECONDS),
        "apps.planning.jobs.refresh_quotes": ("validate", settings.QUOTE_REFRESH_SECONDS),
        "apps.clienthooks.jobs.fan_out_webhooks": (
            "validate", settings.WEBHOOK_FANOUT_INTERVAL_SECONDS,
        ),
    }


def test_the_sweep_job_runs_in_a_worker(pipeline, acme_campaign):
    batch = approved_batch(acme_campaign, 2)
    make_stuck(batch, BatchStatus.APPROVED)
    django_rq.get_queue("send", commit_mode="auto").enqueue("apps.pipeline.jobs.sweep_stuck_work")

    finish(start_worker())  # runs the sweep, then the send job it enqueued

    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.SENT
    assert len(pipeline.messages) == 2


def test_a_started_job_whose_heartbeat_stopped_is_enqueued_again(
    postgres_only, redis_queues, acme_campaign
):
    from datetime import timedelta as delta

    batch = approved_batch(acme_campaign, 1)
    make_stuck(batch, BatchStatus.SENDING)
    queue = django_rq.get_queue("send", commit_mode="auto")
    job = queue.enqueue(SEND_BATCH.path, batch.pk, job_id=f"send_batch-{batch.pk}")
    queue.connection.lpop(queue.key)  # a worker took it ...
    job.set_status("started")
    job.heartbeat(timezone.now(), 60)
    assert sweep()["already_queued"] == 1  # ... and is alive

    job.heartbeat(timezone.now() - delta(minutes=10), 60)  # ... and died (SIGKILL)
    assert sweep()["enqueued"] == 1
    assert queued_ids("send") == [f"send_batch-{batch.pk}"]


def approved_with_window(campaign, *, decided_ago: float, window_ended_ago: float):
    batch = approved_batch(campaign, 1)
    now = timezone.now()
    Batch.objects.filter(pk=batch.pk).update(
        decided_at=now - timedelta(seconds=decided_ago),
        send_not_before=now - timedelta(seconds=window_ended_ago),
    )
    return batch


def test_a_scheduled_job_whose_time_has_passed_is_enqueued_now_and_only_once(
    postgres_only, redis_queues, acme_campaign
):
    """The process holding RQ's scheduler died: the job scheduled for the end of the window
    stays in the scheduled registry. The sweeper enqueues it and takes it out of there."""
    batch = approved_with_window(acme_campaign, decided_ago=120, window_ended_ago=30)
    queue = django_rq.get_queue("send", commit_mode="auto")
    job_id = f"send_batch-{batch.pk}"
    queue.enqueue_at(batch_due(batch), SEND_BATCH.path, batch.pk, job_id=job_id)
    assert queue.fetch_job(job_id).get_status().value == "scheduled"

    first, second = sweep(), sweep()

    assert (first["enqueued"], second["enqueued"], second["already_queued"]) == (1, 0, 1)
    assert queued_ids("send") == [job_id]
    assert queue.scheduled_job_registry.get_job_ids() == []


def test_an_approved_batch_is_swept_soon_after_its_window_not_a_grace_after_its_approval(
    postgres_only, redis_queues, acme_campaign, settings
):
    settings.SWEEP_GRACE_SECONDS = 60
    overdue = approved_with_window(acme_campaign, decided_ago=20, window_ended_ago=10)
    # Approved 10 s ago with no window: its own enqueue (the hook) still has the grace.
    fresh = approved_batch(acme_campaign, 1, start=50)
    ten_seconds_ago = timezone.now() - timedelta(seconds=10)
    Batch.objects.filter(pk=fresh.pk).update(
        decided_at=ten_seconds_ago, send_not_before=ten_seconds_ago
    )

    assert sweep()["enqueued"] == 1
    assert queued_ids("send") == [f"send_batch-{overdue.pk}"]


def batch_due(batch):
    return Batch.objects.get(pk=batch.pk).send_not_before
