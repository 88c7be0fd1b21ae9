"""The impact preview counts verdict changes (pass / review / block per message) over the
recent messages, with each client's override of the rule applied, for any change: a new
severity alone, the switch, new parameters."""

import pytest

from apps.core.models import Finding, ValidationRule
from apps.validation.checks.base import RuleConfig
from apps.validation.models import RuleOverride
from apps.validation.selectors import rule_impact
from tests.conftest import in_review_batch

pytestmark = pytest.mark.django_db


@pytest.fixture
def banned(seeded_rules):
    """banned_phrase flags "Peter" at review (the messages read "Hi Peter,", "Hi Richard," …)."""
    rule = ValidationRule.objects.get(code="banned_phrase")
    ValidationRule.objects.filter(pk=rule.pk).update(
        enabled=True, severity="review", parameters={"phrases": ["Peter"]}
    )
    return ValidationRule.objects.get(pk=rule.pk)


def settings_of(rule, **changes):
    fields = {"severity": rule.severity, "parameters": rule.parameters, **changes}
    return RuleConfig(rule.code, fields["severity"], rule.version, fields["parameters"])


@pytest.fixture
def acme_batch(acme_campaign, acme_prospects):
    return in_review_batch(acme_campaign, acme_prospects)


def test_a_severity_only_change_shows_the_verdicts_it_changes(banned, acme_batch):
    impact = rule_impact(rule=settings_of(banned, severity="block"), code="banned_phrase")

    assert impact.checked == 3
    assert impact.changes == {("review", "block"): 1}
    assert "1 message's verdict would change (review → block 1)" in str(impact)
    assert (impact.flags_now, impact.would_flag) == (1, 1)


def test_switching_off_and_new_parameters_count_too(banned, acme_batch):
    off = rule_impact(rule=settings_of(banned), code="banned_phrase", enabled=False)
    wider = rule_impact(
        rule=settings_of(banned, parameters={"phrases": ["Peter", "Alice"]}), code="banned_phrase"
    )

    assert off.changes == {("review", "pass"): 1}
    assert wider.changes == {("pass", "review"): 1}


def test_unchanged_settings_change_nothing(banned, acme_batch):
    assert rule_impact(rule=settings_of(banned), code="banned_phrase").changes == {}


def test_a_clients_override_is_applied(banned, acme_batch, acme_client):
    # Acme keeps the rule at warn: raising the rule to block changes nothing for Acme.
    RuleOverride.objects.create(rule=banned, client=acme_client, severity="warn")

    impact = rule_impact(rule=settings_of(banned, severity="block"), code="banned_phrase")

    assert impact.changes == {}
    RuleOverride.objects.filter(client=acme_client).update(severity="", enabled=False)
    assert rule_impact(rule=settings_of(banned, severity="block"), code="banned_phrase"
                       ).changes == {}


def test_the_other_rules_findings_keep_their_verdict(banned, acme_batch):
    peter = acme_batch.messages.get(recipient__startswith="peter")
    Finding.objects.create(message=peter, batch=acme_batch, rule_code="legal_form",
                           severity="block", field="body", explanation="x")

    impact = rule_impact(rule=settings_of(banned, severity="warn"), code="banned_phrase")

    assert impact.changes == {}  # block stays block


def test_a_dns_rules_new_severity_is_previewed_from_its_stored_findings(
    seeded_rules, acme_batch
):
    rule = ValidationRule.objects.get(code="recipient_domain")
    ValidationRule.objects.filter(pk=rule.pk).update(enabled=True, severity="block")
    first, second = acme_batch.messages.order_by("pk")[:2]
    Finding.objects.create(message=first, batch=acme_batch, rule_code="recipient_domain",
                           severity="block", field="email", explanation="No such domain")
    # The "could not tell" kind is review whatever the rule says: it keeps its severity.
    Finding.objects.create(message=second, batch=acme_batch, rule_code="recipient_domain.unknown",
                           severity="review", field="email", explanation="DNS timed out")

    impact = rule_impact(rule=settings_of(rule, severity="review"), code="recipient_domain")

    assert impact.changes == {("block", "review"): 1}
    assert rule_impact(rule=settings_of(rule), code="recipient_domain", enabled=False
                       ).changes == {("block", "pass"): 1, ("review", "pass"): 1}
