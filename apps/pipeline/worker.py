"""The RQ worker the pipeline runs (settings.RQ["WORKER_CLASS"]): RQ's own, with what every job
needs loaded once, in the worker, before it forks a work-horse for each job.

A work-horse starts as a copy of its worker, so whatever the worker has imported the job has
too. Without this, every send job first imported the URL configuration (for the unsubscribe
link: the API's schemas make that ~0.5 s, a tenth of a 5,000-message job), and every generate
or validate job compiled the legal-form regexes it met.

A work-horse also sets Python's cyclic garbage collector for a short life of many new objects.
A chunk job makes hundreds of thousands (its rows, texts, findings) and the collector, by
default every 700 more allocations than frees, walked them, and in its older generations every
object the worker had loaded (Django, the validators' tables): ~18 % of a generation chunk's
time. So the horse freezes what it inherited (permanent: never walked, and never garbage while
the horse lives) and collects its own objects less often; it exits after its one job, which
returns everything at once.

A worker also stops at once (see subscribe below).
"""

import gc

from rq import Worker as RqWorker

# (allocations before a young collection, young collections before a middle one, middle before
# an old one): Python's defaults are (700, 10, 10).
HORSE_GC_THRESHOLDS = (50_000, 20, 100)


# How long the worker's pub/sub thread waits for a command before it looks at its stop flag.
PUBSUB_POLL_SECONDS = 0.5


class Worker(RqWorker):
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
        # The legal-form regexes (~1 s to compile all): once here rather than in every job.
        from apps.validation.checks.legal_forms import compile_all

        compile_all()
