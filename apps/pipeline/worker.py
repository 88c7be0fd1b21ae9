"""The RQ worker the pipeline runs (settings.RQ["WORKER_CLASS"]): RQ's own, with what every job
needs loaded once, in the worker, before it forks a work-horse for each job.

A work-horse starts as a copy of its worker, so whatever the worker has imported the job has
too. Without this, every send job first imported the URL configuration (for the unsubscribe
link: the API's schemas make that ~0.5 s, a tenth of a 5,000-message job), and every generate
or validate job compiled the legal-form regexes it met.
"""

from rq import Worker as RqWorker


class Worker(RqWorker):
    def work(self, *args, **kwargs):
        prepare_for_jobs(self.queue_names())
        return super().work(*args, **kwargs)


def prepare_for_jobs(queue_names=()) -> None:
    import apps.pipeline.jobs  # noqa: F401  (the jobs, and the stages they call)
    from apps.sending.unsubscribe import url_prefix

    url_prefix()  # resolves the unsubscribe link's path, importing the URL configuration
    if {"generate", "validate"} & set(queue_names):
        # The legal-form regexes (~1 s to compile all): once here rather than in every job.
        from apps.validation.checks.legal_forms import compile_all

        compile_all()
