"""Jobs that only tests enqueue, to look inside a real worker's work-horse."""

import gc


def collector_settings() -> tuple[int, tuple[int, int, int]]:
    """(objects frozen out of the cyclic collector's reach, its thresholds), as the horse runs."""
    return gc.get_freeze_count(), gc.get_threshold()


def record_pid_and_sleep(key: str, seconds: float) -> None:
    """Stores the work-horse's pid at `key` in Redis, then works (sleeps) a long time."""
    import os
    import time

    from rq import get_current_job

    job = get_current_job()
    assert job is not None, "run only as an RQ job"
    job.connection.set(key, os.getpid())
    time.sleep(seconds)
