"""Reserved example and test names (RFC 2606, RFC 6761) block: nobody's mailbox is there."""

import email_validator
import pytest

from apps.validation.checks.base import BLOCK, MessageFields, RuleConfig, verdict_of
from apps.validation.checks.recipient_risks import check_reserved
from apps.validation.suite import run_checks


def run(email):
    return check_reserved(MessageFields(email=email), RuleConfig("recipient_reserved", BLOCK))


@pytest.mark.parametrize(
    "email, name",
    [("jo@example.com", "example.com"), ("jo@EXAMPLE.NET", "example.net"),
     ("jo@example.org", "example.org"), ("jo@mail.example.com", "example.com"),
     ("jo@a.b.example.org", "example.org"), ("jo@acme.example", ".example"),
     ("Jo <jo@sales.acme.example>", ".example")],
)
def test_example_names_and_their_subdomains_block(email, name):
    [finding] = run(email)

    assert (finding.code, finding.severity, finding.field) == ("recipient_reserved", BLOCK, "email")
    assert f"({name}, RFC 2606)" in finding.message


@pytest.mark.parametrize(
    "email", ["jo@example.co.uk", "jo@myexample.com", "jo@example.com.au", "jo@examples.org",
              "jo@example-corp.com", "example@acme.com", "jo@example.comcast.net"],
)
def test_real_names_that_only_look_like_examples_pass(email):
    assert run(email) == []


@pytest.mark.parametrize("domain", ["acme.test", "acme.invalid", "mail.localhost", "printer.local"])
def test_test_invalid_and_localhost_names_block_through_the_syntax_rule_naming_them(
    domain, monkeypatch
):
    monkeypatch.setattr(email_validator, "TEST_ENVIRONMENT", False)
    rules = [RuleConfig("recipient_syntax", BLOCK), RuleConfig("recipient_reserved", BLOCK)]

    [finding] = run_checks(MessageFields(email=f"jo@{domain}"), rules, resolver=None)

    assert (finding.code, verdict_of([finding])) == ("recipient_syntax", BLOCK)
    assert finding.message.startswith(f"{domain} is a reserved or special-use name")


def test_the_test_switch_lets_test_names_through_as_the_syntax_check_does(monkeypatch):
    # A test environment's own addresses (*.test) work when email-validator is told it runs in
    # one; the example names never do.
    monkeypatch.setattr(email_validator, "TEST_ENVIRONMENT", True)
    rules = [RuleConfig("recipient_syntax", BLOCK), RuleConfig("recipient_reserved", BLOCK)]

    assert run_checks(MessageFields(email="jo@acme.test"), rules, resolver=None) == []
    [finding] = run_checks(MessageFields(email="jo@example.com"), rules, resolver=None)
    assert finding.code == "recipient_reserved"
