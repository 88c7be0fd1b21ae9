"""A check that breaks flags the message for a person; it never lets it pass."""

import logging

import pytest

from apps.validation import suite
from apps.validation.checks.base import REVIEW, MessageFields, RuleConfig, verdict_of
from apps.validation.suite import run_checks

CLEAN = MessageFields(email="jo@acme.com", company="Acme", subject="Hi", body="Hi Jo,")


def explode(fields, rule, resolver):
    raise RuntimeError("boom")


def test_a_crashing_check_becomes_a_review_finding(monkeypatch, caplog):
    monkeypatch.setitem(suite.CHECKS, "placeholder", explode)
    rules = [RuleConfig("legal_form", "block"), RuleConfig("placeholder", "block")]

    with caplog.at_level(logging.ERROR, logger="apps.validation.suite"):
        findings = run_checks(CLEAN, rules, resolver=None)

    [finding] = findings
    assert (finding.code, finding.severity, finding.field) == ("placeholder.error", REVIEW, "")
    assert (finding.start, finding.end) == (None, None)
    assert "person" in finding.message
    assert verdict_of(findings) == "review"
    [record] = caplog.records
    assert "placeholder" in record.getMessage() and record.exc_info is not None


def test_a_rule_without_a_check_is_review_not_pass():
    findings = run_checks(CLEAN, [RuleConfig("not_written_yet", "warn")], resolver=None)

    assert [(f.code, f.severity) for f in findings] == [("not_written_yet.error", REVIEW)]


def test_the_other_rules_still_run_after_a_crash(monkeypatch):
    monkeypatch.setitem(suite.CHECKS, "legal_form", explode)
    fields = MessageFields(email="jo@acme.com", body="Hi {{first_name}},")
    rules = [RuleConfig("legal_form", "block"), RuleConfig("placeholder", "block")]

    codes = [f.code for f in run_checks(fields, rules, resolver=None)]

    assert codes == ["legal_form.error", "placeholder"]


def test_without_a_resolver_the_dns_rule_is_skipped(monkeypatch):
    monkeypatch.setitem(suite.CHECKS, "recipient_domain", explode)

    assert run_checks(CLEAN, [RuleConfig("recipient_domain", "block")], resolver=None) == []


@pytest.mark.parametrize("severity", ["block", "review", "warn"])
def test_definite_findings_take_the_rule_severity(severity):
    fields = MessageFields(email="jo@acme.com", body="Hi {{first_name}},")

    [finding] = run_checks(fields, [RuleConfig("placeholder", severity)], resolver=None)

    assert finding.severity == severity


@pytest.mark.django_db
def test_a_crash_in_a_batch_is_logged_with_the_rule_its_version_and_the_message(
    monkeypatch, caplog, acme_campaign, acme_prospects, seeded_rules, dns_server
):
    from apps.core.models import BatchStatus, Finding
    from apps.validation.services import batch_validate
    from tests.conftest import make_batch

    batch = make_batch(acme_campaign, acme_prospects[:1], status=BatchStatus.VALIDATING)
    message = batch.messages.get()
    monkeypatch.setitem(suite.CHECKS, "banned_phrase", explode)

    with caplog.at_level(logging.ERROR, logger="apps.validation.suite"):
        batch_validate(batch_id=batch.pk)

    [record] = caplog.records
    assert "'banned_phrase' (version 1)" in record.getMessage()
    assert f"message {message.pk}" in record.getMessage()
    finding = Finding.objects.get(message=message, rule_code="banned_phrase.error")
    assert (finding.severity, finding.rule_version) == (REVIEW, 1)
