"""Two operators decide one proposal at the same moment (one accepting, one declining, or both
accepting): exactly one decision stands, the rule changes at most once, the other is told."""

import pytest

from apps.core.errors import TransitionConflict
from apps.core.models import AuditEvent, ValidationRule
from apps.review.models import RuleProposal
from apps.review.services import rule_proposal_accept, rule_proposal_decline, rule_proposals_find
from tests.conftest import _staff, in_review_batch
from tests.review.conftest import race
from tests.review.test_rule_proposals import endings

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def proposal(acme_campaign, acme_prospects, oscar):
    ValidationRule.objects.update_or_create(
        code="generic_greeting", defaults={"severity": "review", "enabled": True}
    )
    endings(in_review_batch(acme_campaign, acme_prospects), "generic_greeting", {"approved": 200})
    [proposal] = rule_proposals_find()
    return proposal


@pytest.mark.parametrize("round_", range(3))
def test_accept_and_decline_at_once_one_decision_stands(postgres_only, proposal, oscar, round_):
    olga = _staff("olga", "operator")
    version = ValidationRule.objects.get(code="generic_greeting").version

    accept, decline = race(
        lambda: rule_proposal_accept(proposal_id=proposal.pk, actor=oscar),
        lambda: rule_proposal_decline(proposal_id=proposal.pk, actor=olga, reason="Keep it"),
    )

    assert sorted(o == "won" for o in (accept, decline)) == [False, True], (accept, decline)
    loser = decline if accept == "won" else accept
    assert isinstance(loser, TransitionConflict), repr(loser)
    rule = ValidationRule.objects.get(code="generic_greeting")
    status = RuleProposal.objects.get(pk=proposal.pk).status
    if accept == "won":
        assert (status, rule.severity, rule.version) == ("accepted", "warn", version + 1)
    else:
        assert (status, rule.severity, rule.version) == ("declined", "review", version)
    decisions = AuditEvent.objects.filter(
        action__in=["rule_proposal_accepted", "rule_proposal_declined"]
    )
    assert decisions.count() == 1


def test_two_accepts_at_once_change_the_rule_once(postgres_only, proposal, oscar):
    olga = _staff("olga", "operator")
    version = ValidationRule.objects.get(code="generic_greeting").version

    outcomes = race(
        lambda: rule_proposal_accept(proposal_id=proposal.pk, actor=oscar),
        lambda: rule_proposal_accept(proposal_id=proposal.pk, actor=olga),
    )

    assert outcomes.count("won") == 1, outcomes
    assert ValidationRule.objects.get(code="generic_greeting").version == version + 1
    assert AuditEvent.objects.filter(action="rule_changed").count() == 1
