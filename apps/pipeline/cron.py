"""RQ's cron scheduler configuration: `python manage.py rqcron apps.pipeline.cron`.

Run one (or more: the sweep is idempotent) next to the workers. It enqueues the sweeper on the
send queue every SWEEP_INTERVAL_SECONDS; a worker runs it like any other job.
"""

from django.conf import settings
from rq import cron

from apps.pipeline.jobs import sweep_stuck_work

cron.register(
    sweep_stuck_work, "send", interval=settings.SWEEP_INTERVAL_SECONDS,
    job_timeout=max(60, settings.SWEEP_INTERVAL_SECONDS), result_ttl=600,
)
