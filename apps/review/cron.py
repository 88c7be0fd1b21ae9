"""RQ's cron scheduler configuration for the holding queue:

    DJANGO_SETTINGS_MODULE=config.settings rq cron apps/review/cron.py --url "$REDIS_URL"

enqueues the at-risk check every REVIEW_AT_RISK_CHECK_SECONDS on the `validate` queue, which
the workers already listen on. Without RQ cron, `manage.py review_notify_at_risk` from the
system's cron does the same.
"""

import django

django.setup()

from django.conf import settings  # noqa: E402 (after setup)
from rq import cron  # noqa: E402

from apps.review.jobs import notify_at_risk_batches  # noqa: E402

cron.register(
    notify_at_risk_batches, queue_name="validate",
    interval=settings.REVIEW_AT_RISK_CHECK_SECONDS,
)
