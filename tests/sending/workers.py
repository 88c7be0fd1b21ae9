"""Real RQ workers for the fault tests: started with extra environment (fault points, a
short lease), run in burst mode or killed mid-job."""

import subprocess
import sys
import time

import django_rq

from apps.core.models import Message, SendStatus
from apps.core.queueing import SEND_BATCH
from tests.support.worker import PROJECT_ROOT, worker_env


def start_worker(*, queues=("send",), burst: bool = True, **env) -> subprocess.Popen:
    command = [sys.executable, "manage.py", "rqworker", *queues, "--worker-ttl", "30"]
    if burst:
        command.append("--burst")
    return subprocess.Popen(
        command, cwd=PROJECT_ROOT, env={**worker_env(), **env}, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )


def finish(process: subprocess.Popen, timeout: float = 60) -> str:
    try:
        out, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate()
        raise AssertionError(f"worker still running after {timeout}s:\n{out}") from None
    return out


def enqueue_send(batch_id: int, *, job_id: str | None = None, retry=None):
    queue = django_rq.get_queue("send", commit_mode="auto")
    return queue.enqueue(
        SEND_BATCH.path, batch_id, job_id=job_id or SEND_BATCH.job_id(batch_id),
        retry=retry,
    )


def wait_until(predicate, *, timeout: float = 30, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def sent_count(batch) -> int:
    return Message.objects.filter(batch=batch, send_status=SendStatus.SENT).count()


def open_count(batch) -> int:
    return Message.objects.filter(
        batch=batch, send_status__in=[SendStatus.QUEUED, SendStatus.SENDING]
    ).count()
