"""The holding queue's periodic job: thin, calls one service, safe to run twice (or at once
on two workers: the AtRiskNotice row decides who sends)."""

from apps.review.services import notify_at_risk


def notify_at_risk_batches() -> int:
    return notify_at_risk()
