"""An idle worker exits at once: at the end of a burst and on SIGTERM (apps/pipeline/worker.py,
Worker.subscribe). Real workers (`manage.py rqworker`, our worker class) on the test Redis.

What is timed is the worker's own exit, from the moment it says it is done (its "done,
quitting" line, or the SIGTERM) to the end of its process: Django's start-up, slow on a busy
machine, is not counted. The hang this guards against is ~60 s (RQ's pub/sub wait); the ceiling
is a third of that, so a busy machine's slow exit (seconds) passes and the hang still fails."""

import signal
import subprocess
import sys
import threading
import time

import pytest
from rq import Worker

from tests.sending.workers import wait_until
from tests.support.worker import PROJECT_ROOT, worker_env

pytestmark = pytest.mark.django_db(transaction=True)

EXIT_CEILING_SECONDS = 20  # well below the ~60 s hang, above a loaded machine's slow exit
START_CEILING_SECONDS = 120  # Django's start-up on a machine whose cores are busy


class TimedWorker:
    """A worker subprocess whose output lines are read as they come, with the time each came."""

    def __init__(self, *args: str):
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "rqworker", *args], cwd=PROJECT_ROOT, env=worker_env(),
            text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        self.lines: list[tuple[float, str]] = []
        self.exited_at: float | None = None
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None  # started with stdout=PIPE
        for line in self.process.stdout:
            self.lines.append((time.monotonic(), line))
        self.process.wait()
        self.exited_at = time.monotonic()

    def saw(self, text: str) -> float | None:
        return next((at for at, line in self.lines if text in line), None)

    def wait_exit(self, timeout: float) -> None:
        self._reader.join(timeout)
        if self._reader.is_alive():
            self.process.kill()
            self._reader.join()
            raise AssertionError(f"worker still running after {timeout}s:\n{self.output}")

    @property
    def output(self) -> str:
        return "".join(line for _, line in self.lines)


def test_burst_workers_on_empty_queues_each_exit_promptly_after_done(redis_queues):
    # The hang is a race (about one burst worker in five), so many workers: 20 in all, 4 side
    # by side at a time, all but certain to show it if it is back.
    exits = []
    for _ in range(5):
        workers = [TimedWorker("send", "validate", "generate", "--burst") for _ in range(4)]
        for worker in workers:
            worker.wait_exit(START_CEILING_SECONDS + 60)
            done = worker.saw("done, quitting")
            assert worker.process.returncode == 0 and done is not None, worker.output
            exits.append(round(worker.exited_at - done, 1))
    assert max(exits) <= EXIT_CEILING_SECONDS, f"seconds from 'done' to exit: {exits}"


def test_idle_workers_exit_promptly_after_sigterm(redis_queues):
    workers = [TimedWorker("send", "validate", "generate") for _ in range(3)]
    try:
        # Each registered, subscribed and idle (in its blocking dequeue).
        wait_until(
            lambda: [w.get_state() for w in Worker.all(connection=redis_queues)] == ["idle"] * 3
            and all(w.saw("subscribing to channel") for w in workers),
            timeout=START_CEILING_SECONDS, what="the workers to listen",
        )
        exits = []
        for worker in workers:
            sent = time.monotonic()
            worker.process.send_signal(signal.SIGTERM)
            worker.wait_exit(90)
            exits.append(round(worker.exited_at - sent, 1))
    finally:
        for worker in workers:
            if worker.process.poll() is None:
                worker.process.kill()
    assert max(exits) <= EXIT_CEILING_SECONDS, f"seconds from SIGTERM to exit: {exits}"
