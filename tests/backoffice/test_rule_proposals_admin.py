"""The staff admin's rule statistics and proposals: operators see each proposal's evidence
and impact preview and accept or decline it; reviewers may not decide."""

import html
import re

import pytest
from django.urls import reverse

from apps.core.models import AuditEvent, ValidationRule
from apps.review.models import RuleProposal
from apps.review.services import rule_proposals_find
from tests.conftest import in_review_batch
from tests.review.test_rule_proposals import endings

pytestmark = pytest.mark.django_db


@pytest.fixture
def proposal(acme_campaign, acme_prospects, seeded):
    ValidationRule.objects.update_or_create(
        code="banned_phrase",
        defaults={"severity": "review", "enabled": True, "parameters": {"phrases": ["Peter"]}},
    )
    batch = in_review_batch(acme_campaign, acme_prospects)
    endings(batch, "banned_phrase", {"approved": 198, "excluded": 2})
    [proposal] = rule_proposals_find()
    return proposal


def page_of(client, proposal):
    url = reverse("admin:review_ruleproposal_change", args=[proposal.pk])
    return html.unescape(client.get(url).content.decode())


def test_the_proposal_shows_its_evidence_samples_and_impact(client, oscar, proposal):
    client.force_login(oscar)

    page = page_of(client, proposal)

    assert "banned_phrase</strong>: from <strong>review</strong> to\n<strong>warn</strong>" in page
    assert "198 (99.0 %)" in page
    samples = re.findall(r'href="/admin/core/message/(\d+)/change/"', page)
    assert len(samples) == len(set(samples)) == 3  # one per message of the batch
    assert "1 message's verdict would change (review → pass 1)" in page
    assert 'value="Accept"' in page and 'value="Decline"' in page


def test_an_operator_accepts_and_the_rule_changes(client, oscar, proposal):
    client.force_login(oscar)

    response = client.post(
        reverse("admin:review_ruleproposal_accept", args=[proposal.pk]), follow=True
    )

    assert "Accepted: rule banned_phrase is now warn" in response.content.decode()
    assert ValidationRule.objects.get(code="banned_phrase").severity == "warn"
    assert AuditEvent.objects.filter(action="rule_proposal_accepted", actor=oscar).exists()
    assert 'value="Accept"' not in page_of(client, proposal)


def test_an_operator_declines_with_a_reason(client, oscar, proposal):
    client.force_login(oscar)
    url = reverse("admin:review_ruleproposal_decline", args=[proposal.pk])

    empty = client.post(url, {"reason": ""}, follow=True).content.decode()
    assert "Say why the proposal is declined." in empty
    client.post(url, {"reason": "We keep it"})

    assert RuleProposal.objects.get(pk=proposal.pk).status == "declined"
    assert ValidationRule.objects.get(code="banned_phrase").severity == "review"


def test_a_reviewer_cannot_decide(client, rita, proposal):
    client.force_login(rita)

    accept = client.post(reverse("admin:review_ruleproposal_accept", args=[proposal.pk]))
    find = client.post(reverse("admin:review_ruleproposal_find"))

    assert accept.status_code == 403 and find.status_code == 403
    assert RuleProposal.objects.get(pk=proposal.pk).status == "open"


def test_a_proposal_that_is_not_there_is_404(client, oscar, seeded):
    client.force_login(oscar)

    response = client.post(reverse("admin:review_ruleproposal_accept", args=[999999]))

    assert response.status_code == 404


def test_accept_is_post_only(client, oscar, proposal):
    client.force_login(oscar)

    response = client.get(reverse("admin:review_ruleproposal_accept", args=[proposal.pk]))

    assert response.status_code == 405


def test_the_statistics_page_lists_each_rule_and_client(client, oscar, proposal):
    client.force_login(oscar)
    url = reverse("admin:review_rule_statistics")

    page = html.unescape(client.get(url, {"days": 30, "by_client": "on"}).content.decode())

    assert '<td class="name">banned_phrase</td><td class="name">Acme Outreach</td>' in page
    assert "198 <span" in page and "(99 %)" in page


def test_look_for_proposals_now(client, oscar, proposal):
    RuleProposal.objects.all().delete()
    client.force_login(oscar)

    response = client.post(reverse("admin:review_ruleproposal_find"), follow=True)

    assert "1 new proposal(s)." in response.content.decode()
    assert RuleProposal.objects.filter(status="open").count() == 1
