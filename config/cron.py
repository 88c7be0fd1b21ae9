"""Every periodic job, for RQ's cron scheduler: `python manage.py rqcron config.cron`.

Run one next to the workers (two do no harm: each job is idempotent). Each entry only enqueues
a job on a stage's queue; a worker runs it like any other.
"""

from django.conf import settings
from rq import cron

from apps.clienthooks.jobs import fan_out_webhooks
from apps.pipeline.jobs import sweep_stuck_work
from apps.planning.jobs import refresh_quotes
from apps.portal.jobs import notify_clients
from apps.review.jobs import look_for_rule_proposals, notify_at_risk_batches

# Nothing lost: re-enqueue work standing still in any stage (apps/pipeline/sweeper.py).
cron.register(
    sweep_stuck_work, "send", interval=settings.SWEEP_INTERVAL_SECONDS,
    job_timeout=max(60, settings.SWEEP_INTERVAL_SECONDS), result_ttl=600,
)
# Operators hear about batches at risk of missing their SLA before the breach.
cron.register(
    notify_at_risk_batches, "validate", interval=settings.REVIEW_AT_RISK_CHECK_SECONDS,
    result_ttl=600,
)
# Rules learn from reviewers: proposals from how findings ended (operators accept or decline).
cron.register(look_for_rule_proposals, "validate",
              interval=settings.RULE_PROPOSALS_INTERVAL_SECONDS, result_ttl=600)
# Clients hear that their batch was approved, rejected or sent.
cron.register(
    notify_clients, "validate", interval=settings.CLIENT_NOTIFY_INTERVAL_SECONDS, result_ttl=600
)
# Quotes follow the queue: every waiting batch's quote is recomputed as the queue moves.
cron.register(refresh_quotes, "validate", interval=settings.QUOTE_REFRESH_SECONDS, result_ttl=600)
# Clients' webhooks: a delivery for each new batch state change, and a ring for overdue ones.
cron.register(fan_out_webhooks, "validate", interval=settings.WEBHOOK_FANOUT_INTERVAL_SECONDS,
              result_ttl=600)

# Deliverability: bounces and complaints from the bounce mailbox (off while BOUNCE_IMAP_HOST is
# unset; webhooks need no schedule).
if settings.BOUNCE_IMAP_HOST:
    from apps.deliverability.jobs import read_bounce_mailbox

    cron.register(read_bounce_mailbox, "validate", interval=settings.BOUNCE_IMAP_INTERVAL_SECONDS,
                  job_timeout=max(300, settings.BOUNCE_IMAP_INTERVAL_SECONDS), result_ttl=600)
