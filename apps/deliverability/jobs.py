"""Thin jobs: each calls one service."""

from dataclasses import asdict

from apps.deliverability.inbox import silence, webhook_events_apply
from apps.deliverability.mailbox import read_bounce_mailbox as read


def read_bounce_mailbox() -> dict:
    """The bounce mailbox's new reports, applied (config/cron.py runs it on a schedule)."""
    return asdict(read())


def apply_webhook_events() -> int:
    """The webhook inbox's waiting events, applied (apps/deliverability/inbox.py). The doorbell
    is silenced first: an event stored from now on rings it and enqueues the next job."""
    silence()
    return webhook_events_apply()
