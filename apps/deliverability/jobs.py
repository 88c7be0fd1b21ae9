"""Thin jobs: each calls one service."""

from dataclasses import asdict

from apps.deliverability.mailbox import read_bounce_mailbox as read


def read_bounce_mailbox() -> dict:
    """The bounce mailbox's new reports, applied (config/cron.py runs it on a schedule)."""
    return asdict(read())
