"""Address syntax: trimmed, display names reduced, RFC limits enforced, SMTPUTF8 noted."""

import pytest

from apps.validation.checks.address_validity import check_recipient_syntax, parse_address
from apps.validation.checks.base import BLOCK, WARN, MessageFields


def syntax_findings(address):
    return check_recipient_syntax(MessageFields(email=address), BLOCK)


@pytest.mark.parametrize(
    "address, normalised",
    [
        ("jo@acme.com", "jo@acme.com"),
        (" john@acme.com ", "john@acme.com"),
        ("John Doe <john@acme.com>", "john@acme.com"),
        ("a" * 64 + "@acme.com", "a" * 64 + "@acme.com"),
    ],
)
def test_valid_addresses_pass_and_normalise(address, normalised):
    assert syntax_findings(address) == []
    assert parse_address(address).address == normalised


@pytest.mark.parametrize(
    "address", ["john@acme..com", "a" * 65 + "@acme.com", "", "   ", "John <>", "acme.com"]
)
def test_invalid_addresses_block_the_whole_field(address):
    [finding] = syntax_findings(address)

    assert (finding.code, finding.severity, finding.field) == ("recipient_syntax", BLOCK, "email")
    assert (finding.start, finding.end) == (None, None)
    assert finding.message


def test_local_part_over_64_characters_says_so():
    [finding] = syntax_findings("a" * 65 + "@acme.com")

    assert "64" in finding.message


def test_internationalised_address_warns_about_smtputf8():
    [finding] = syntax_findings("jöhn@müller.de")

    assert (finding.code, finding.severity) == ("recipient_syntax.smtputf8", WARN)
    assert "SMTPUTF8" in finding.message
    assert parse_address("jöhn@müller.de").ascii_domain == "xn--mller-kva.de"


def test_ascii_local_part_at_an_idn_domain_needs_no_smtputf8():
    assert syntax_findings("jo@müller.de") == []


def test_the_domain_step_of_email_validator_is_memoised_and_still_refuses_bad_domains():
    import sys

    module = sys.modules["email_validator.validate_email"]
    assert hasattr(module.validate_email_domain_name, "cache_info")
    before = module.validate_email_domain_name.cache_info().hits

    parse_address("first@memo-test.com")
    second = parse_address("second@memo-test.com")

    assert module.validate_email_domain_name.cache_info().hits == before + 1
    assert second.ascii_domain == "memo-test.com"
    with pytest.raises(ValueError):
        parse_address("third@memo..test.com")
    with pytest.raises(ValueError):
        parse_address("fourth@memo..test.com")


def test_the_last_answer_kept_for_the_next_check_follows_the_test_switch(monkeypatch):
    # The suite's address checks ask about one address in a row, and the last answer is kept
    # for them; it depends on the test switch (*.test is reserved) as the cached ones do.
    import email_validator

    fields = MessageFields(email="jo@acme.test")
    monkeypatch.setattr(email_validator, "TEST_ENVIRONMENT", True)
    assert check_recipient_syntax(fields, BLOCK) == []
    monkeypatch.setattr(email_validator, "TEST_ENVIRONMENT", False)
    [finding] = check_recipient_syntax(fields, BLOCK)
    assert finding.code == "recipient_syntax"
    monkeypatch.setattr(email_validator, "TEST_ENVIRONMENT", True)
    assert check_recipient_syntax(fields, BLOCK) == []
