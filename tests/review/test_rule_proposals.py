"""Rule statistics over a window, and the proposals they lead to: a review rule approved
unchanged >= 95 % of >= 200 findings is proposed for warn, one almost always fixed or
excluded for block; an operator accepts (a new rule version, audited) or declines."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.core.errors import ServiceError, TransitionConflict
from apps.core.models import AuditEvent, ValidationRule
from apps.review.jobs import look_for_rule_proposals
from apps.review.models import FindingDisposition, ReviewRound, RuleProposal
from apps.review.rule_stats import rule_figures
from apps.review.services import rule_proposal_accept, rule_proposal_decline, rule_proposals_find
from apps.validation.services import rule_update
from tests.conftest import in_review_batch

pytestmark = pytest.mark.django_db


@pytest.fixture
def greeting(seeded):
    rule, _ = ValidationRule.objects.get_or_create(code="generic_greeting")
    ValidationRule.objects.filter(pk=rule.pk).update(severity="review", enabled=True)
    rule.refresh_from_db()
    return rule


@pytest.fixture
def batch(acme_campaign, acme_prospects):
    return in_review_batch(acme_campaign, acme_prospects)


def endings(batch, rule_code, counts, *, severity="review", days_ago=1, actor_label="rita"):
    """Recorded endings of a rule's findings, {disposition: n}, spread over the batch's
    messages (as the review actions write them; those are tested in test_dispositions.py)."""
    messages = list(batch.messages.order_by("pk"))
    at = timezone.now() - timedelta(days=days_ago)
    rows = [
        FindingDisposition(
            finding_id=None, batch=batch, message=messages[i % len(messages)],
            client=batch.client, rule_code=rule_code, rule_version=1, severity=severity,
            field="body", text="Hi there", disposition=how, decided_at=at,
            actor_label=actor_label,
        )
        for how, n in counts.items() for i in range(n)
    ]
    FindingDisposition.objects.bulk_create(rows)


def test_figures_count_flagged_messages_endings_and_share_out_reviewer_time(batch, greeting):
    endings(batch, "generic_greeting", {"approved": 3, "fixed": 1})
    endings(batch, "legal_form", {"fixed": 2}, severity="block")
    endings(batch, "generic_greeting", {"approved": 50}, days_ago=40)  # outside the window
    ReviewRound.objects.create(batch=batch, number=1, entered_at=timezone.now() - timedelta(
        days=1, hours=1), decided_at=timezone.now() - timedelta(days=1), handling_seconds=300)
    now = timezone.now()

    figures = {f.rule_code: f for f in rule_figures(since=now - timedelta(days=30), until=now)}

    greeting_figures = figures["generic_greeting"]
    assert greeting_figures.findings == 4
    assert greeting_figures.flagged_messages == 3
    assert greeting_figures.ended == {"approved": 3, "fixed": 1}
    assert greeting_figures.share("approved") == 0.75
    # 300 s over the batch's 3 flagged messages; messages 1 and 2 carry both rules.
    assert greeting_figures.reviewer_seconds + figures["legal_form"].reviewer_seconds == (
        pytest.approx(300)
    )
    assert greeting_figures.reviewer_seconds == pytest.approx(50 + 50 + 100)


def test_figures_per_client(batch, greeting, globex_campaign, acme_prospects):
    other = in_review_batch(globex_campaign, acme_prospects)
    endings(batch, "generic_greeting", {"approved": 2})
    endings(other, "generic_greeting", {"excluded": 1})
    now = timezone.now()

    rows = rule_figures(since=now - timedelta(days=30), until=now, by_client=True)

    assert {(r.client_name, r.findings, tuple(r.ended)) for r in rows} == {
        ("Acme Outreach", 2, ("approved",)), ("Globex", 1, ("excluded",))
    }


def test_a_rule_waved_through_95_percent_of_200_findings_is_proposed_for_warn(batch, greeting):
    endings(batch, "generic_greeting", {"approved": 190, "edited": 10, "rejected": 40})

    [proposal] = rule_proposals_find()

    assert (proposal.rule, proposal.from_severity, proposal.to_severity) == (
        greeting, "review", "warn"
    )
    assert proposal.evidence["decided"] == 200  # the rejected batch's findings say nothing
    assert proposal.evidence["share_pct"] == 95.0
    # Up to five, one finding per message (the batch has three messages).
    assert sorted(s["message_id"] for s in proposal.evidence["samples"]) == sorted(
        batch.messages.values_list("pk", flat=True)
    )
    assert {s["disposition"] for s in proposal.evidence["samples"]} == {"approved"}
    assert AuditEvent.objects.get(action="rule_proposed").reason == "generic_greeting"
    assert rule_proposals_find() == []  # one open proposal per rule


def test_the_periodic_job_opens_the_proposals_and_is_harmless_twice(batch, greeting):
    endings(batch, "generic_greeting", {"approved": 200})

    assert look_for_rule_proposals() == 1
    assert look_for_rule_proposals() == 0
    assert RuleProposal.objects.get().to_severity == "warn"


@pytest.mark.parametrize("counts", [
    {"approved": 189, "edited": 10},  # 199 findings: too few
    {"approved": 189, "edited": 11},  # 94.5 %
])
def test_below_either_threshold_nothing_is_proposed(batch, greeting, counts):
    endings(batch, "generic_greeting", counts)

    assert rule_proposals_find() == []


def test_a_rule_almost_always_fixed_or_excluded_is_proposed_for_block(batch, greeting):
    endings(batch, "generic_greeting", {"fixed": 100, "edited": 60, "excluded": 40, "approved": 5})

    [proposal] = rule_proposals_find()

    assert proposal.to_severity == "block"
    assert proposal.evidence["matching"] == 200 and proposal.evidence["decided"] == 205


def test_only_review_findings_are_evidence(batch, greeting):
    endings(batch, "generic_greeting", {"approved": 300}, severity="warn")

    assert rule_proposals_find() == []


def test_accepting_makes_a_new_audited_rule_version(batch, greeting, oscar):
    endings(batch, "generic_greeting", {"approved": 200})
    [proposal] = rule_proposals_find()

    rule_proposal_accept(proposal_id=proposal.pk, actor=oscar)

    rule = ValidationRule.objects.get(pk=greeting.pk)
    assert (rule.severity, rule.version) == ("warn", greeting.version + 1)
    changed = AuditEvent.objects.get(action="rule_changed")
    assert changed.actor == oscar and changed.data["after"]["severity"] == "warn"
    accepted = AuditEvent.objects.get(action="rule_proposal_accepted")
    assert (accepted.actor, accepted.from_state, accepted.to_state) == (oscar, "review", "warn")
    proposal.refresh_from_db()
    assert (proposal.status, proposal.decided_by) == ("accepted", oscar)
    with pytest.raises(TransitionConflict, match="is accepted, not open: oscar acted"):
        rule_proposal_accept(proposal_id=proposal.pk, actor=oscar)


def test_a_proposal_for_a_rule_changed_since_is_refused_and_nothing_changes(
    batch, greeting, oscar
):
    endings(batch, "generic_greeting", {"approved": 200})
    [proposal] = rule_proposals_find()
    rule_update(rule_id=greeting.pk, actor=oscar, expected_version=greeting.version,
                enabled=True, severity="review", parameters={"phrases": ["Hi there"]})

    with pytest.raises(ServiceError, match="changed since this proposal"):
        rule_proposal_accept(proposal_id=proposal.pk, actor=oscar)

    assert ValidationRule.objects.get(pk=greeting.pk).severity == "review"
    assert RuleProposal.objects.get(pk=proposal.pk).status == "open"


def test_declining_needs_a_reason_is_audited_and_is_not_proposed_again(batch, greeting, oscar):
    endings(batch, "generic_greeting", {"approved": 200})
    [proposal] = rule_proposals_find()

    with pytest.raises(ServiceError, match="Say why"):
        rule_proposal_decline(proposal_id=proposal.pk, actor=oscar, reason=" ")
    rule_proposal_decline(proposal_id=proposal.pk, actor=oscar, reason="Greetings matter to us")

    assert RuleProposal.objects.get(pk=proposal.pk).status == "declined"
    assert ValidationRule.objects.get(pk=greeting.pk).severity == "review"
    event = AuditEvent.objects.get(action="rule_proposal_declined")
    assert event.reason == "generic_greeting: Greetings matter to us"
    assert rule_proposals_find() == []  # declined for this version of the rule
