"""Review's services: routing validated batches, the holding queue's claims, the reviewer's
decisions and edits, and the SLA notices. Callers import them from here, the stage's API;
each lives in the module named for its part:

- clients.py: batch_withdraw, status_check_record (the client's side: withdrawing, looking)
- claims.py: batch_claim, claim_reassign, claim_release (one reviewer at a time)
- decisions.py: batch_route, batch_approve, batch_approve_by_client, batch_reject, batch_recall
- edits.py: message_edit, message_exclude, finding_apply_fix, findings_fix_group
- group_actions.py: rule_fix, rule_replace, rule_exclude (one action over a rule's findings)
- notices.py: notify_at_risk (operators hear of a batch at risk of missing its SLA)
- dispositions.py: how each finding ended, written by edits.py and decisions.py
- proposals.py: rule_proposals_find, rule_proposal_accept, rule_proposal_decline (rules that
  learn from how reviewers ended their findings)
- rounds.py: the review rounds and claim spans the others write (time in review)

Each function is one transaction: a conditional state change (the loser is told), the audit
event, and follow-up jobs enqueued only after commit. Time in review (apps/review/models.py
ReviewRound, ClaimSpan) is written in the same transaction, from one clock: timezone.now().
"""

from apps.review.services.claims import (
    ClaimConflict,
    batch_claim,
    claim_idle,
    claim_reassign,
    claim_release,
)
from apps.review.services.clients import batch_withdraw, status_check_record
from apps.review.services.decisions import (
    batch_approve,
    batch_approve_by_client,
    batch_recall,
    batch_reject,
    batch_route,
)
from apps.review.services.edits import (
    BulkFixResult,
    FindingGroup,
    finding_apply_fix,
    findings_fix_group,
    message_edit,
    message_exclude,
)
from apps.review.services.group_actions import (
    GroupActionResult,
    RuleChange,
    rule_exclude,
    rule_fix,
    rule_replace,
)
from apps.review.services.notices import notify_at_risk
from apps.review.services.proposals import (
    rule_proposal_accept,
    rule_proposal_decline,
    rule_proposals_find,
)

__all__ = [
    "BulkFixResult", "ClaimConflict", "FindingGroup", "batch_approve",
    "batch_approve_by_client", "batch_claim", "batch_recall", "batch_reject", "batch_route",
    "batch_withdraw", "status_check_record",
    "claim_idle", "claim_reassign", "claim_release", "finding_apply_fix", "findings_fix_group",
    "message_edit", "message_exclude", "notify_at_risk",
    "GroupActionResult", "RuleChange", "rule_exclude", "rule_fix", "rule_replace",
    "rule_proposal_accept", "rule_proposal_decline", "rule_proposals_find",
]
