"""Rules that learn from reviewers: proposals of a new severity for a rule, from how its
findings ended (rule_stats.py), and the operator's decision on each.

Only findings at severity "review" are evidence: a blocking finding cannot be approved as it
is, and a warning holds nothing up. Over the window, among a review rule's findings that a
reviewer decided one by one (a rejected batch says nothing of one rule):

- approved unchanged in >= LOWER_SHARE of at least MIN_FINDINGS: propose "warn";
- fixed, edited away or excluded in >= BLOCK_SHARE of at least MIN_FINDINGS: propose "block".

Accepting changes the rule through validation's rule_update (a new version, its own
rule_changed event), so an accepted proposal is versioned and audited like any rule edit.
"""

import json
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.core.audit import AuditAction, record_event
from apps.core.errors import ServiceError, TransitionConflict
from apps.core.models import Severity, ValidationRule
from apps.review.models import Disposition, ProposalStatus, RuleProposal
from apps.review.rule_stats import RuleFigures, rule_figures, sample_endings
from apps.validation.services import rule_update

MIN_FINDINGS = 200
LOWER_SHARE = 0.95
BLOCK_SHARE = 0.95
WINDOW_DAYS = 30
SAMPLES = 5
ACTED_ON = (Disposition.FIXED, Disposition.EDITED, Disposition.EXCLUDED)


def proposed_severity(severity: str, figures: RuleFigures) -> tuple[str, str] | None:
    """(the proposed severity, the disposition that is the evidence) or None."""
    if severity != Severity.REVIEW:
        return None
    ended = figures.review_ended
    decided = sum(ended.values()) - ended.get(Disposition.REJECTED, 0)
    if decided < MIN_FINDINGS:
        return None
    if ended.get(Disposition.APPROVED, 0) >= LOWER_SHARE * decided:
        return Severity.WARN, Disposition.APPROVED
    if sum(ended.get(d, 0) for d in ACTED_ON) >= BLOCK_SHARE * decided:
        return Severity.BLOCK, Disposition.FIXED
    return None


def _evidence(
    figures: RuleFigures, shown: str, since: datetime, until: datetime
) -> dict[str, Any]:
    ended = figures.review_ended
    decided = sum(ended.values()) - ended.get(Disposition.REJECTED, 0)
    kinds = (Disposition.APPROVED,) if shown == Disposition.APPROVED else ACTED_ON
    matching = sum(ended.get(d, 0) for d in kinds)
    recent = []
    for kind in kinds:
        recent += sample_endings(
            rule_code=figures.rule_code, disposition=kind, since=since, until=until,
            severity=Severity.REVIEW, limit=SAMPLES * 4,
        )
    samples: dict[int, dict[str, Any]] = {}  # one finding per message: five messages to read
    for ending in sorted(recent, key=lambda s: s["decided_at"], reverse=True):
        samples.setdefault(ending["message_id"], ending)
    evidence = {
        "since": f"{since:%Y-%m-%d %H:%M}", "until": f"{until:%Y-%m-%d %H:%M}",
        "decided": decided, "matching": matching,
        "share_pct": round(100 * matching / decided, 1), "review_ended": ended,
        "figures": asdict(figures), "samples": list(samples.values())[:SAMPLES],
    }
    # Stored as JSON: datetimes as ISO text.
    stored: dict[str, Any] = json.loads(json.dumps(evidence, cls=DjangoJSONEncoder))
    return stored


def rule_proposals_find(*, now: datetime | None = None, window_days: int = WINDOW_DAYS
                        ) -> list[RuleProposal]:
    """Look at every enabled rule's endings over the window and open a proposal where the
    evidence says so. A rule with an open proposal, or whose same proposal was already decided
    for its current version, gets none. Returns the proposals opened."""
    now = now or timezone.now()
    since = now - timedelta(days=window_days)
    figures = {f.rule_code: f for f in rule_figures(since=since, until=now)}
    opened = []
    for rule in ValidationRule.objects.filter(enabled=True).order_by("code"):
        if rule.code not in figures:
            continue
        proposed = proposed_severity(rule.severity, figures[rule.code])
        if proposed is None:
            continue
        to, shown = proposed
        if RuleProposal.objects.filter(rule=rule, status=ProposalStatus.OPEN).exists() or (
            RuleProposal.objects.filter(rule=rule, rule_version=rule.version, to_severity=to)
            .exists()
        ):
            continue
        proposal = _open(rule, to, _evidence(figures[rule.code], shown, since, now), now)
        if proposal is not None:
            opened.append(proposal)
    return opened


def _open(
    rule: ValidationRule, to: str, evidence: dict[str, Any], now: datetime
) -> RuleProposal | None:
    try:
        with transaction.atomic():
            proposal = RuleProposal.objects.create(
                rule=rule, rule_version=rule.version, from_severity=rule.severity,
                to_severity=to, evidence=evidence, created_at=now,
            )
            record_event(
                actor=None, action=AuditAction.RULE_PROPOSED, at=now, reason=rule.code,
                from_state=rule.severity, to_state=to,
                data={"proposal": proposal.pk, "rule_version": rule.version,
                      "decided": evidence["decided"], "share_pct": evidence["share_pct"]},
            )
    except IntegrityError:
        return None  # another look opened one for this rule at the same moment
    return proposal


def _decide(proposal_id: int, *, to: str, actor: User, now: datetime, reason: str = ""
            ) -> RuleProposal:
    """The conditional move open → accepted/declined: one decision per proposal."""
    proposal = RuleProposal.objects.select_related("rule").filter(pk=proposal_id).first()
    if proposal is None:
        raise ServiceError(f"There is no rule proposal {proposal_id}.")
    moved = RuleProposal.objects.filter(pk=proposal_id, status=ProposalStatus.OPEN).update(
        status=to, decided_at=now, decided_by=actor, decision_reason=reason
    )
    if moved != 1:
        proposal.refresh_from_db()
        by = proposal.decided_by.get_username() if proposal.decided_by else ""
        raise TransitionConflict(f"Rule proposal {proposal_id}", ProposalStatus.OPEN,
                                 proposal.status, by=by)
    return proposal


def rule_proposal_accept(*, proposal_id: int, actor: User) -> None:
    """Give the rule the proposed severity: a new rule version (rule_changed) and the
    acceptance, in one transaction. Refused when the rule changed since the evidence was read."""
    now = timezone.now()
    with transaction.atomic():
        proposal = _decide(proposal_id, to=ProposalStatus.ACCEPTED, actor=actor, now=now)
        rule = ValidationRule.objects.select_for_update().get(pk=proposal.rule_id)
        if rule.version != proposal.rule_version:
            raise ServiceError(
                f"Rule {rule.code} changed since this proposal was made (version "
                f"{proposal.rule_version}, now {rule.version}): decline it; the next look at "
                "the statistics proposes from the rule as it is."
            )
        rule_update(
            rule_id=rule.pk, actor=actor, expected_version=rule.version, enabled=rule.enabled,
            severity=proposal.to_severity, parameters=rule.parameters,
        )
        record_event(
            actor=actor, action=AuditAction.RULE_PROPOSAL_ACCEPTED, at=now, reason=rule.code,
            from_state=proposal.from_severity, to_state=proposal.to_severity,
            data={"proposal": proposal.pk, "rule_version": rule.version + 1},
        )


def rule_proposal_decline(*, proposal_id: int, actor: User, reason: str) -> None:
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("Say why the proposal is declined.")
    now = timezone.now()
    with transaction.atomic():
        proposal = _decide(
            proposal_id, to=ProposalStatus.DECLINED, actor=actor, now=now, reason=reason
        )
        record_event(
            actor=actor, action=AuditAction.RULE_PROPOSAL_DECLINED, at=now,
            reason=f"{proposal.rule.code}: {reason}", from_state=proposal.from_severity,
            to_state=proposal.to_severity, data={"proposal": proposal.pk},
        )
