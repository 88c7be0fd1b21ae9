"""Rules that need the batch or the client: duplicates, suppressions, per-client overrides."""

import pytest

from apps.core.models import BatchStatus, Finding, Prospect, Suppression, ValidationRule
from apps.validation.models import RuleOverride
from apps.validation.rules import active_rules
from apps.validation.services import batch_validate, message_revalidate, rule_override_save
from tests.conftest import make_batch


def codes_by_recipient(batch):
    found = {}
    for finding in Finding.objects.filter(message__batch=batch).select_related("message"):
        found.setdefault(finding.message.recipient, set()).add(finding.rule_code)
    return found


@pytest.fixture
def acme_batch(acme_campaign, acme_prospects, seeded_rules, dns_server):
    return make_batch(acme_campaign, acme_prospects, status=BatchStatus.VALIDATING)


@pytest.mark.django_db
def test_the_same_mailbox_twice_is_flagged_on_its_later_message(
    acme_campaign, acme_prospects, seeded_rules, dns_server
):
    again = Prospect.objects.create(
        client=acme_campaign.client, email="Peter Gibbons <PETER@initech.com>", first_name="Pete"
    )
    batch = make_batch(acme_campaign, acme_prospects + [again], status=BatchStatus.VALIDATING)

    batch_validate(batch_id=batch.pk)

    found = codes_by_recipient(batch)
    assert "duplicate_recipient" in found[again.email]
    assert "duplicate_recipient" not in found.get("peter@initech.com", set())
    finding = Finding.objects.get(rule_code="duplicate_recipient")
    assert finding.severity == "block" and "peter@initech.com" in finding.explanation


@pytest.mark.django_db
def test_the_clients_and_the_global_suppression_lists_apply_and_no_other_clients(
    acme_batch, globex_client
):
    acme = acme_batch.client
    Suppression.objects.create(client=acme, email="richard@hooli.com", reason="asked")
    Suppression.objects.create(client=None, email="alice@umbrella.com", reason="complained")
    Suppression.objects.create(client=globex_client, email="peter@initech.com", reason="globex")

    batch_validate(batch_id=acme_batch.pk)

    found = codes_by_recipient(acme_batch)
    assert "suppressed" in found["richard@hooli.com"]
    assert "suppressed" in found["alice@umbrella.com"]
    assert "suppressed" not in found.get("peter@initech.com", set())


@pytest.mark.django_db
def test_a_client_override_requires_the_opt_out_line_for_that_client_only(
    acme_batch, globex_client
):
    rule = ValidationRule.objects.get(code="opt_out")
    RuleOverride.objects.create(rule=rule, client=acme_batch.client, parameters={"required": True})

    batch_validate(batch_id=acme_batch.pk)

    assert all("opt_out" in codes for codes in codes_by_recipient(acme_batch).values())
    assert Finding.objects.filter(rule_code="opt_out").first().rule_version == rule.version
    globex = {r.code: r for r in active_rules(client_id=globex_client.pk)}
    assert globex["opt_out"].parameters.get("required") is not True


@pytest.mark.django_db
def test_a_finding_records_the_version_of_the_override_that_shaped_it(acme_batch, rita):
    rule = ValidationRule.objects.get(code="opt_out")
    override = rule_override_save(
        actor=rita, rule_id=rule.pk, client_id=acme_batch.client_id, enabled=None,
        severity="", parameters={"required": True},
    )
    rule_override_save(
        actor=rita, rule_id=rule.pk, client_id=acme_batch.client_id, enabled=None,
        severity="review", parameters={"required": True},
    )

    batch_validate(batch_id=acme_batch.pk)

    finding = Finding.objects.filter(rule_code="opt_out").first()
    assert (finding.rule_version, finding.rule_override_version) == (
        rule.version, override.version + 1,
    )
    assert finding.severity == "review"
    # Findings of rules the client did not override name no override.
    assert set(
        Finding.objects.exclude(rule_code="opt_out").values_list("rule_override_version", flat=True)
    ) <= {None}


@pytest.mark.django_db
def test_an_override_can_switch_a_rule_off_or_on_and_change_its_severity(acme_client, seeded_rules):
    role = ValidationRule.objects.get(code="recipient_role")
    banned = ValidationRule.objects.get(code="banned_phrase")
    ValidationRule.objects.filter(pk=banned.pk).update(enabled=False, parameters={"phrases": ["x"]})
    RuleOverride.objects.create(rule=role, client=acme_client, enabled=False)
    RuleOverride.objects.create(
        rule=banned, client=acme_client, enabled=True, severity="block",
        parameters={"patterns": ["y+"]},
    )

    rules = {r.code: r for r in active_rules(client_id=acme_client.pk)}

    assert "recipient_role" not in rules
    assert rules["banned_phrase"].severity == "block"
    assert rules["banned_phrase"].parameters == {"phrases": ["x"], "patterns": ["y+"]}
    assert "banned_phrase" not in {r.code for r in active_rules()}


@pytest.mark.django_db
def test_revalidating_one_message_still_sees_its_batch(acme_campaign, acme_prospects, seeded_rules,
                                                       dns_server):
    again = Prospect.objects.create(client=acme_campaign.client, email="PETER@initech.com")
    batch = make_batch(acme_campaign, acme_prospects + [again], status=BatchStatus.VALIDATING)
    Suppression.objects.create(client=None, email="peter@initech.com", reason="complained")
    message = batch.messages.get(prospect=again)

    worst = message_revalidate(message=message)

    codes = set(message.findings.values_list("rule_code", flat=True))
    assert {"duplicate_recipient", "suppressed"} <= codes
    assert worst == "block"
