"""The holding queue's periodic jobs: thin, calls one service, safe to run twice (or at once
on two workers: the AtRiskNotice row decides who sends)."""

from apps.review.services import notify_at_risk, rule_proposals_find


def notify_at_risk_batches() -> int:
    return notify_at_risk()


def look_for_rule_proposals() -> int:
    """Open a proposal for each rule whose endings say its severity is wrong (a rule with an
    open or already-decided proposal for its version gets none, so running twice is harmless)."""
    return len(rule_proposals_find())
