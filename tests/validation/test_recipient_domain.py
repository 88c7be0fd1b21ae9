"""Does the recipient's domain take mail? Asked of a real DNS server on loopback."""

import pytest

from apps.validation.checks.address_validity import check_recipient_domain
from apps.validation.checks.base import BLOCK, REVIEW, WARN, MessageFields
from apps.validation.dns import DomainResolver
from tests.validation.helpers import ZONE


@pytest.fixture
def server(make_dns_server, allow_test_tld):
    return make_dns_server(ZONE, servfail={"servfail.test"}, drop={"silent.test"})


def domain_findings(server, domain):
    resolver = DomainResolver(nameservers=[server.nameserver], timeout=1)
    return check_recipient_domain(MessageFields(email=f"jo@{domain}"), BLOCK, resolver)


@pytest.mark.parametrize("domain", ["mx.test", "mx-spf-reject.test"])
def test_domain_with_a_mail_server_passes(server, domain):
    assert domain_findings(server, domain) == []


@pytest.mark.parametrize(
    "domain, code",
    [
        ("nullmx.test", "recipient_domain.null_mx"),
        ("does-not-exist.test", "recipient_domain.nxdomain"),
        ("private.test", "recipient_domain.private_address"),
        ("spf-reject.test", "recipient_domain.spf_no_mail"),
        ("loopback-mx.test", "recipient_domain.loopback_mx"),
    ],
)
def test_domain_that_takes_no_mail_gets_the_rule_severity(server, domain, code):
    [finding] = domain_findings(server, domain)

    assert (finding.code, finding.severity, finding.field) == (code, BLOCK, "email")
    assert domain in finding.message


def test_implicit_mx_is_a_warning(server):
    [finding] = domain_findings(server, "implicit.test")

    assert (finding.code, finding.severity) == ("recipient_domain.implicit_mx", WARN)


@pytest.mark.parametrize("domain", ["servfail.test", "silent.test"])
def test_a_failing_lookup_is_review_never_pass_nor_block(server, domain):
    [finding] = domain_findings(server, domain)

    assert (finding.code, finding.severity) == ("recipient_domain.unknown", REVIEW)


def test_lying_resolver_makes_every_domain_review(make_dns_server, allow_test_tld):
    # NXDOMAIN without SOA for everything, the canary included: a filtering resolver.
    liar = make_dns_server(ZONE, lie=True)

    [finding] = domain_findings(liar, "does-not-exist.test")

    assert (finding.code, finding.severity) == ("recipient_domain.unknown", REVIEW)


def test_internationalised_domain_is_asked_in_its_ascii_form(make_dns_server):
    server = make_dns_server({"xn--mller-kva.de": {"MX": ["10 mail.mx.test."]}})

    assert domain_findings(server, "müller.de") == []
    assert server.queries_for("xn--mller-kva.de") == ["MX"]


def test_bad_syntax_is_left_to_the_syntax_check(server):
    assert domain_findings(server, "acme..com") == []
    assert server.queries == []
