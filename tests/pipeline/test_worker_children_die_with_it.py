"""A worker killed with SIGKILL takes its children with it (apps/pipeline/worker.py,
die_with_parent): its scheduler process stops, releasing the scheduler's lock, which another
worker then takes within its maintenance interval; its work-horse does not go on with the job.
Real workers (`manage.py worker`, as deployed: with the scheduler) on the test Redis."""

import os
import signal

import django_rq
import pytest
from rq import Worker

from tests.sending.workers import wait_until
from tests.support.processes import alive, scheduler_holder, start_manage, stop

pytestmark = pytest.mark.django_db(transaction=True)

START = 120  # Django's start-up on a busy machine
CEILING = 60  # the maintenance interval is 15 s; RQ's default was 600 s
# The taking-over worker's maintenance interval (how often it tries the scheduler's lock): short,
# so the test waits for the takeover, not for the deployed interval to come round. A lock that
# is never released (61 s) or RQ's 600 s still overrun the ceiling.
TAKEOVER_INTERVAL = "2"


def test_a_killed_worker_leaves_no_scheduler_and_another_worker_takes_the_lock(
    redis_queues, tmp_path
):
    first = start_manage(tmp_path / "first.log", "worker")
    second = None
    try:
        wait_until(lambda: (scheduler_holder(redis_queues) or ("", 0))[1] > 0, timeout=START,
                   what="the first worker's scheduler to hold the lock")
        name, scheduler_pid = scheduler_holder(redis_queues)
        second = start_manage(tmp_path / "second.log", "worker",
                              WORKER_MAINTENANCE_INTERVAL_SECONDS=TAKEOVER_INTERVAL)
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


def blocked_pops(redis) -> int:
    """Clients of the test's Redis database that Redis sees waiting in a blocking pop (a worker
    waiting for a job)."""
    db = str(redis.connection_pool.connection_kwargs.get("db", 0))
    return sum(1 for client in redis.client_list()
               if client.get("cmd") in ("blpop", "blmove") and client.get("db") == db)


def test_a_killed_workers_scheduler_holds_no_copy_of_its_job_connection(redis_queues, tmp_path):
    """Otherwise Redis keeps the dead worker's blocking pop alive through the scheduler's copy
    of its socket, and hands it the next job, which is lost."""
    worker = start_manage(tmp_path / "worker.log", "worker")
    try:
        wait_until(lambda: (scheduler_holder(redis_queues) or ("", 0))[1] > 0, timeout=START,
                   what="the worker's scheduler to hold the lock")
        _, scheduler_pid = scheduler_holder(redis_queues)
        wait_until(lambda: blocked_pops(redis_queues) == 1, timeout=START,
                   what="the worker to wait for a job")
        # The scheduler stopped (as if busy) so that it outlives the worker for a moment.
        os.kill(scheduler_pid, signal.SIGSTOP)

        worker.send_signal(signal.SIGKILL)
        worker.wait()

        wait_until(lambda: blocked_pops(redis_queues) == 0, timeout=CEILING,
                   what="Redis to see the dead worker's pop end")
    finally:
        if alive(scheduler_pid):
            os.kill(scheduler_pid, signal.SIGCONT)
        stop(worker)
    wait_until(lambda: not alive(scheduler_pid), timeout=CEILING, what="the scheduler to stop")
