"""Operators edit rules and per-client overrides in the admin: parameters checked on save,
an impact preview that saves nothing, every change a new audited version."""

import html
import json

import pytest
from django.urls import reverse

from apps.core.models import AuditEvent, ValidationRule
from apps.validation.models import RuleOverride
from tests.conftest import in_review_batch

pytestmark = pytest.mark.django_db


def post_rule(client, rule, parameters, **extra):
    url = reverse("admin:core_validationrule_change", args=[rule.pk])
    data = {"enabled": "on", "severity": rule.severity, "parameters": json.dumps(parameters),
            "seen_version": rule.version, **extra}
    return client.post(url, data)


@pytest.fixture
def banned(seeded_rules):
    return ValidationRule.objects.get(code="banned_phrase")


@pytest.mark.parametrize(
    "parameters, problem",
    [
        ({"patterns": ["(unclosed"]}, "is not a valid regular expression"),
        ({"patterns": ["x*"]}, "matches empty text"),
        ({"phrases": "free money"}, "must be a list of texts"),
        ({"phrases": ["ok", ""]}, "has an empty entry"),
        ({"words": ["x"]}, "'words' is not a parameter of banned_phrase"),
    ],
)
def test_bad_parameters_are_refused_with_a_message_and_nothing_changes(
    client, oscar, banned, parameters, problem
):
    client.force_login(oscar)

    response = post_rule(client, banned, parameters)

    assert response.status_code == 200
    assert problem in html.unescape(response.content.decode())
    assert ValidationRule.objects.get(pk=banned.pk).version == banned.version


def test_good_parameters_are_saved_as_a_new_version(client, oscar, banned):
    client.force_login(oscar)

    response = post_rule(client, banned, {"phrases": ["free money"], "patterns": [r"\bact now\b"]})

    assert response.status_code == 302
    saved = ValidationRule.objects.get(pk=banned.pk)
    assert saved.version == banned.version + 1
    assert saved.parameters["phrases"] == ["free money"]


def test_the_impact_preview_counts_recent_messages_and_saves_nothing(
    client, oscar, banned, acme_campaign, acme_prospects
):
    in_review_batch(acme_campaign, acme_prospects)  # bodies "Hi Peter,", "Hi Richard,"...
    client.force_login(oscar)

    response = post_rule(client, banned, {"phrases": ["Peter", "Alice"]}, _preview="1")

    page = response.content.decode()
    assert response.status_code == 200
    assert "would flag 2 of 3 recent messages" in page
    assert "nothing saved" in page
    assert ValidationRule.objects.get(pk=banned.pk).parameters == {}
    assert not AuditEvent.objects.filter(action="rule_changed").exists()


def test_the_preview_of_a_dns_rule_reads_its_stored_findings(client, oscar, seeded_rules):
    rule = ValidationRule.objects.get(code="recipient_domain")
    client.force_login(oscar)

    response = post_rule(client, rule, {}, _preview="1")

    page = html.unescape(response.content.decode())
    assert "no message's verdict would change" in page
    assert "No preview" not in page


def test_an_operator_adds_a_client_override_and_it_is_audited(client, oscar, acme_client,
                                                              seeded_rules):
    rule = ValidationRule.objects.get(code="opt_out")
    client.force_login(oscar)
    url = reverse("admin:validation_ruleoverride_add")

    bad = client.post(url, {"rule": rule.pk, "client": acme_client.pk, "severity": "",
                            "enabled": "unknown", "parameters": '{"required": "yes"}'})
    assert "must be true or false" in bad.content.decode()
    assert not RuleOverride.objects.exists()

    good = client.post(url, {"rule": rule.pk, "client": acme_client.pk, "severity": "",
                             "enabled": "unknown", "parameters": '{"required": true}'})

    assert good.status_code == 302
    override = RuleOverride.objects.get()
    assert override.parameters == {"required": True} and override.enabled is None
    assert AuditEvent.objects.get(action="rule_override_changed").actor == oscar


def test_a_reviewer_cannot_add_overrides(client, rita, acme_client, seeded_rules):
    rule = ValidationRule.objects.get(code="opt_out")
    client.force_login(rita)

    response = client.post(reverse("admin:validation_ruleoverride_add"),
                           {"rule": rule.pk, "client": acme_client.pk, "parameters": "{}"})

    assert response.status_code == 403
    assert not RuleOverride.objects.exists()


def test_the_rule_page_offers_the_preview_to_operators_only(client, oscar, rita, banned):
    url = reverse("admin:core_validationrule_change", args=[banned.pk])
    client.force_login(oscar)
    assert "Preview impact" in client.get(url).content.decode()

    client.force_login(rita)
    page = client.get(url)
    assert page.status_code == 200 and "Preview impact" not in page.content.decode()


def test_a_reviewer_can_see_overrides(client, rita, acme_client, seeded_rules):
    rule = ValidationRule.objects.get(code="opt_out")
    override = RuleOverride.objects.create(
        rule=rule, client=acme_client, parameters={"required": True}
    )
    client.force_login(rita)

    listing = client.get(reverse("admin:validation_ruleoverride_changelist"))
    page = client.get(reverse("admin:validation_ruleoverride_change", args=[override.pk]))

    assert listing.status_code == 200 and "Acme Outreach" in listing.content.decode()
    assert page.status_code == 200 and "required" in page.content.decode()
