"""The group actions record how the findings they end ended: a rule's fix ends the ticked
findings as fixed, a replacement (the reviewer's text, not the finding's suggestion) as edited
away, a group exclusion every finding of the excluded messages as excluded."""

import pytest

from apps.core.models import Finding
from apps.review.models import FindingDisposition
from apps.review.services import RuleChange, rule_exclude, rule_fix, rule_replace
from tests.review.test_group_actions import messy_batch

pytestmark = pytest.mark.django_db


@pytest.fixture
def batch(postgres_only, acme_campaign, acme_client, dns_server):
    return messy_batch(acme_campaign, acme_client)


def endings(batch, rule_code):
    return sorted(FindingDisposition.objects.filter(batch=batch, rule_code=rule_code)
                  .values_list("disposition", "text"))


def test_a_rules_fix_ends_the_ticked_findings_as_fixed(batch, rita):
    gmbh = set(Finding.objects.filter(batch=batch, rule_code="legal_form", field="body")
               .values_list("pk", flat=True))

    rule_fix(batch_id=batch.pk, actor=rita, rule_code="legal_form",
             changes={RuleChange("body", " GmbH")})

    ended = FindingDisposition.objects.filter(batch=batch, rule_code="legal_form")
    assert {(e.disposition, e.text.strip(), e.actor_id) for e in ended} == {
        ("fixed", "GmbH", rita.pk)
    }
    assert ended.count() == 2 and set(ended.values_list("finding_id", flat=True)) <= gmbh


def test_a_replacement_ends_its_findings_as_edited_away(batch, rita):
    rule_replace(batch_id=batch.pk, actor=rita, rule_code="placeholder",
                 changes={RuleChange("body", "[First Name]")}, replacement="there")

    assert ("edited", "[First Name]") in endings(batch, "placeholder")
    assert "fixed" not in {how for how, _ in endings(batch, "placeholder")}


def test_a_group_exclusion_ends_every_finding_of_the_messages_as_excluded(batch, rita):
    excluded_findings = Finding.objects.filter(
        batch=batch, message__body__contains="[First Name]"
    ).count()

    rule_exclude(batch_id=batch.pk, actor=rita, rule_code="placeholder",
                 changes={RuleChange("body", "[First Name]"), RuleChange("first_name", None)},
                 reason="no first name in the CRM")

    ended = FindingDisposition.objects.filter(batch=batch)
    assert ended.count() == excluded_findings > 0
    assert set(ended.values_list("disposition", flat=True)) == {"excluded"}
