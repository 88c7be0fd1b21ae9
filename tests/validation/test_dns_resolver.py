"""DomainResolver: one lookup per domain per batch, bounded waits, and no trust in liars."""

import time

from apps.validation.dns import NO_MAIL, OK, UNKNOWN, DomainResolver

ZONE = {"acme.test": {"MX": ["10 mail.acme.test."]}, "mail.acme.test": {"A": ["93.184.216.34"]}}


def test_each_domain_is_looked_up_once_per_resolver(make_dns_server):
    server = make_dns_server(ZONE)
    resolver = DomainResolver(nameservers=[server.nameserver], timeout=1)

    verdicts = {resolver.check(domain).status for domain in ["acme.test", "ACME.test."] * 10}

    assert verdicts == {OK}
    assert server.queries_for("acme.test") == ["MX"]


def test_a_silent_server_costs_one_timeout_for_many_addresses(make_dns_server):
    server = make_dns_server(ZONE, drop={"silent.test"})
    resolver = DomainResolver(nameservers=[server.nameserver], timeout=1)

    started = time.monotonic()
    verdicts = [resolver.check("silent.test") for _ in range(20)]
    elapsed = time.monotonic() - started

    assert {v.status for v in verdicts} == {UNKNOWN}
    assert "did not answer" in verdicts[0].detail
    assert elapsed < 2.5
    assert len(server.queries_for("silent.test")) == 1


def test_a_slow_answer_within_the_timeout_is_still_an_answer(make_dns_server):
    server = make_dns_server(ZONE, latency={"acme.test": 0.3})

    verdict = DomainResolver(nameservers=[server.nameserver], timeout=2).check("acme.test")

    assert verdict.status == OK


def test_nxdomain_without_soa_is_unknown_when_the_canary_resolves(make_dns_server):
    server = make_dns_server(ZONE, bare_nxdomain={"filtered.test"})
    resolver = DomainResolver(nameservers=[server.nameserver], timeout=1)

    assert resolver.check("filtered.test").status == UNKNOWN
    assert resolver.check("gone.test").status == NO_MAIL  # NXDOMAIN with SOA: real proof
    assert resolver.check("acme.test").status == OK
    assert server.queries_for("gmail.com") == ["MX"]  # the canary is asked once


def test_a_resolver_denying_the_canary_makes_every_verdict_unknown(make_dns_server):
    server = make_dns_server(ZONE, lie=True)
    resolver = DomainResolver(
        nameservers=[server.nameserver], timeout=1, canary_domain="canary.test"
    )

    verdicts = [resolver.check(domain) for domain in ["gone.test", "other.test", "acme.test"]]

    assert {v.status for v in verdicts} == {UNKNOWN}
    assert "canary.test" in verdicts[0].detail
    assert server.queries_for("canary.test") == ["MX"]


def test_settings_supply_nameservers_timeout_and_canary(make_dns_server, settings):
    server = make_dns_server({"canary.test": {"MX": ["1 mx.canary.test."]}}, canary=None)
    settings.DNS_NAMESERVERS = [server.nameserver]
    settings.DNS_TIMEOUT_SECONDS = 1
    settings.DNS_CANARY_DOMAIN = "canary.test"

    verdict = DomainResolver().check("gone.test")

    assert verdict.status == NO_MAIL
    assert server.queries_for("canary.test") == ["MX"]


def test_no_reachable_nameserver_is_unknown():
    # Nothing listens on port 9 of loopback: the query fails, which is not a verdict.
    verdict = DomainResolver(nameservers=["127.0.0.1:9"], timeout=1).check("acme.test")

    assert verdict.status == UNKNOWN


def test_a_malformed_nameserver_setting_makes_domains_unknown_not_a_crash():
    verdict = DomainResolver(nameservers=["127.0.0.1:notaport"], timeout=1).check("acme.test")

    assert verdict.status == UNKNOWN
