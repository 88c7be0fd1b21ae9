"""The RQ worker the pipeline runs (settings.RQ["WORKER_CLASS"]): RQ's own, with what every job
needs loaded once, in the worker, before it forks a work-horse for each job.

A work-horse starts as a copy of its worker, so whatever the worker has imported the job has
too. Without this, every send job first imported the URL configuration (for the unsubscribe
link: the API's schemas make that slow), and every generate or validate job compiled the
legal-form regexes it met; docs/performance.md has what each cost.

A work-horse also sets Python's cyclic garbage collector for a short life of many new objects.
A chunk job makes hundreds of thousands (its rows, texts, findings) and the collector, by
default every 700 more allocations than frees, walked them, and in its older generations every
object the worker had loaded (Django, the validators' tables), over and over for nothing. So
the horse freezes what it inherited (permanent: never walked, and never garbage while
the horse lives) and collects its own objects less often; it exits after its one job, which
returns everything at once.

A worker also stops at once (see subscribe below), retries the scheduler's lock every
WORKER_MAINTENANCE_INTERVAL_SECONDS rather than RQ's ten minutes, and takes its children with
it when it dies: a SIGKILLed worker leaves neither its scheduler process nor its work-horse
running (see die_with_parent).
"""

import ctypes
import gc
import os
import signal
import sys

from django.conf import settings
from rq import Worker as RqWorker
from rq.defaults import DEFAULT_LOGGING_DATE_FORMAT, DEFAULT_LOGGING_FORMAT
from rq.scheduler import RQScheduler

# (allocations before a young collection, young collections before a middle one, middle before
# an old one): Python's defaults are (700, 10, 10).
HORSE_GC_THRESHOLDS = (50_000, 20, 100)


# How long the worker's pub/sub thread waits for a command before it looks at its stop flag.
PUBSUB_POLL_SECONDS = 0.5


class Scheduler(RQScheduler):
    """RQ's scheduler process, which dies with the worker that forked it, and lets go at once of
    the worker's connections to Redis it inherited."""

    def __init__(self, *args, connection, **kwargs):
        super().__init__(*args, connection=connection, **kwargs)
        self.worker_redis = connection  # the worker's own client (the scheduler makes its own)

    def start(self):
        self.parent_pid = os.getpid()  # the worker; start() forks the scheduler from it
        return super().start()

    def work(self):
        die_with_parent(self.parent_pid)
        close_inherited_connections(self.worker_redis)
        return super().work()

    def heartbeat(self):
        # Where prctl is missing: the loop (every `interval`, 1 s) notices it was orphaned and
        # stops as on SIGTERM, releasing its locks.
        if os.getppid() != self.parent_pid:
            self.request_stop()
        return super().heartbeat()


class Worker(RqWorker):
    def __init__(self, *args, **kwargs):
        # Also how often a worker started with the scheduler tries the scheduler's lock when it
        # does not hold it: RQ's default (600 s) left scheduled jobs waiting ten minutes after
        # their holder died. The lock of a holder killed with SIGKILL lives 61 s more (RQ's
        # interval + 60), so another worker takes over within about 61 + this; one that dies
        # with its worker (die_with_parent) releases it at once.
        kwargs.setdefault("maintenance_interval", settings.WORKER_MAINTENANCE_INTERVAL_SECONDS)
        super().__init__(*args, **kwargs)

    @property
    def dequeue_timeout(self) -> int:
        # An idle worker runs its maintenance only between two blocking dequeues, each of
        # worker_ttl - 15 s (45 s for `manage.py worker`, 405 s by default): it waits no longer
        # than the maintenance interval, or that interval would not hold while idle.
        return max(1, min(super().dequeue_timeout, self.maintenance_interval))

    def _start_scheduler(
        self, burst=False, logging_level="INFO", date_format=DEFAULT_LOGGING_DATE_FORMAT,
        log_format=DEFAULT_LOGGING_FORMAT,
    ):
        """RQ's own (rq/worker/base.py), with our Scheduler class in place of RQScheduler."""
        self.scheduler = Scheduler(
            self.queues, connection=self.connection, serializer=self.serializer,
            logging_level=logging_level if logging_level is not None else self.log.level,
            date_format=date_format, log_format=log_format,
        )
        self.scheduler.acquire_locks()
        if self.scheduler.acquired_locks:
            if burst:
                try:
                    self.scheduler.register_birth()
                    self.scheduler.enqueue_scheduled_jobs()
                finally:
                    self.scheduler.release_locks()
                    self.scheduler.register_death()
            else:
                self.scheduler.start()

    def subscribe(self):
        """RQ's own, with the pub/sub thread waiting PUBSUB_POLL_SECONDS for a message, not 60.

        Why: at exit RQ 3.0 unsubscribes, then calls PubSubWorkerThread.stop(), which in
        redis-py 8 joins the thread with no timeout. If the thread reads the unsubscribe
        confirmation before stop() clears its flag, it goes back into get_message(timeout=60)
        (waiting to be subscribed again) and the exit waits up to a minute: one burst worker in
        five on a busy machine, and every deploy's SIGTERM (rq issue #1613, PR #2172 for the
        history of that sleep_time). With a short wait the thread sees the flag within it. The
        cost is a wake-up of an idle thread twice a second."""
        self.log.info("Worker %s: subscribing to channel %s", self.name, self.pubsub_channel_name)
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        self.pubsub_thread = self.pubsub.run_in_thread(
            sleep_time=PUBSUB_POLL_SECONDS, daemon=True,
            exception_handler=self._pubsub_exception_handler,
        )

    def work(self, *args, **kwargs):
        prepare_for_jobs(self.queue_names())
        return super().work(*args, **kwargs)

    def main_work_horse(self, job, queue):
        # The horse's own signals first (SIGTERM at its default action: die at once), so the
        # parent-death signal cannot reach the worker's handlers it inherited.
        self.setup_work_horse_signals()
        die_with_parent(self.pid)
        settle_heap_for_one_job()
        return super().main_work_horse(job, queue)


def settle_heap_for_one_job() -> None:
    gc.freeze()
    gc.set_threshold(*HORSE_GC_THRESHOLDS)


def prepare_for_jobs(queue_names=()) -> None:
    import apps.pipeline.jobs  # noqa: F401  (the jobs, and the stages they call)
    from apps.sending.unsubscribe import url_prefix

    url_prefix()  # resolves the unsubscribe link's path, importing the URL configuration
    if {"generate", "validate"} & set(queue_names):
        # The legal-form regexes, slow to compile: once here rather than in every job.
        from apps.validation.checks.legal_forms import compile_all

        compile_all()


def close_inherited_connections(redis) -> None:
    """In a child the worker forked: close this process's copies of the worker's sockets to
    Redis (the worker's own stay open: a socket closed in a child, without shutdown, stays open
    for the other holders, and redis-py skips the shutdown in a process that did not open it).

    Why: the worker waits for jobs in a blocking pop on one of them. If the worker dies while
    its scheduler process still holds a copy of that socket, Redis still sees the pop waiting
    and hands the next job pushed to a reader that is gone: the job is lost (the sweeper brings
    pipeline work back; a cron job would wait for its next turn)."""
    pool = redis.connection_pool
    # The pool's own lists (private): its public reset() forgets them without closing them.
    for connection in [*pool._available_connections, *pool._in_use_connections]:
        connection.disconnect()


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent(parent_pid: int) -> None:
    """In a child the worker forked: be sent SIGTERM when the worker dies, however it dies.

    Why: a worker killed with SIGKILL cannot stop its children. Its scheduler process lived on
    as an orphan (holding the scheduler's lock, scheduling for a worker that no longer
    existed), and its work-horse went on with a job RQ will hand to another worker: two copies
    at once. Linux's prctl(PR_SET_PDEATHSIG) has the kernel send the signal; the scheduler
    stops on it (releasing its locks), the horse dies at once (the send journal makes a
    killed send horse leave at most its message in flight unknown). If the worker died before
    prctl took effect, the child is already an orphan and the signal will never come: it
    exits now. Elsewhere the scheduler's loop checks its parent (Scheduler.heartbeat).
    (The kernel sends it when the forking *thread* ends: RQ forks both from the worker's main
    thread, whose end is the worker's.)"""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"prctl(PR_SET_PDEATHSIG): {os.strerror(err)}")
    if os.getppid() != parent_pid:
        os._exit(1)
