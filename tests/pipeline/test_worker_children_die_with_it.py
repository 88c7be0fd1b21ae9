"""A worker killed with SIGKILL takes its children with it (apps/pipeline/worker.py,
die_with_parent): its scheduler process stops, releasing the scheduler's lock, which another
worker then takes within its maintenance interval; its work-horse does not go on with the job.
Real workers (`manage.py worker`, as deployed: with the scheduler) on the test Redis."""

import signal

import django_rq
import pytest
from rq import Worker

from tests.sending.workers import wait_until
from tests.support.processes import alive, scheduler_holder, start_manage, stop

pytestmark = pytest.mark.django_db(transaction=True)

START = 120  # Django's start-up on a busy machine
CEILING = 60  # the maintenance interval is 15 s; RQ's default was 600 s


def test_a_killed_worker_leaves_no_scheduler_and_another_worker_takes_the_lock(redis_queues, tmp_path):
    first = start_manage(tmp_path / "first.log", "worker")
    second = None
    try:
        wait_until(lambda: (scheduler_holder(redis_queues) or ("", 0))[1] > 0, timeout=START,
                   what="the first worker's scheduler to hold the lock")
        name, scheduler_pid = scheduler_holder(redis_queues)
        second = start_manage(tmp_path / "second.log", "worker")
        wait_until(lambda: len(Worker.all(connection=redis_queues)) == 2, timeout=START,
                   what="the second worker")

        first.send_signal(signal.SIGKILL)
        first.wait()

        wait_until(lambda: not alive(scheduler_pid), timeout=CEILING,
                   what=f"the killed worker's scheduler (pid {scheduler_pid}) to stop")
        wait_until(
            lambda: (scheduler_holder(redis_queues) or (name, 0))[0] != name, timeout=CEILING,
            what="the second worker's scheduler to take the lock",
        )
    finally:
        stop(first, *([second] if second else []))
    logs = (tmp_path / "first.log").read_text() + (tmp_path / "second.log").read_text()
    assert "Acquired scheduler lock" in logs


def test_a_killed_worker_leaves_no_work_horse(redis_queues, tmp_path):
    worker = start_manage(tmp_path / "worker.log", "rqworker", "validate")
    try:
        django_rq.get_queue("validate", commit_mode="auto").enqueue(
            "tests.support.jobs.record_pid_and_sleep", "test:horse-pid", 600
        )
        wait_until(lambda: redis_queues.get("test:horse-pid"), timeout=START,
                   what="the work-horse to start")
        horse_pid = int(redis_queues.get("test:horse-pid"))
        assert alive(horse_pid)

        worker.send_signal(signal.SIGKILL)
        worker.wait()

        wait_until(lambda: not alive(horse_pid), timeout=CEILING,
                   what=f"the killed worker's work-horse (pid {horse_pid}) to stop")
    finally:
        stop(worker)
