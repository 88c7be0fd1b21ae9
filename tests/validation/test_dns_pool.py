"""A batch's domains are fetched together in a bounded pool, verdicts are remembered for their
TTL across batches, and a resolver that answers nothing costs one round of timeouts."""

import time

from apps.validation.dns import OK, UNKNOWN, VERDICT_CACHE, DomainResolver

GLOBAL_IP = "93.184.216.34"


def zone(count):
    records = {f"d{i}.test": {"MX": [f"10 mx.d{i}.test."]} for i in range(count)}
    records.update({f"mx.d{i}.test": {"A": [GLOBAL_IP]} for i in range(count)})
    return records


def test_prefetch_asks_for_the_domains_side_by_side(make_dns_server, allow_test_tld):
    server = make_dns_server(zone(20), latency=0.3)
    resolver = DomainResolver(nameservers=[server.nameserver], timeout=2)
    addresses = [f"u{n}@d{n % 20}.test" for n in range(200)]

    started = time.monotonic()
    resolver.prefetch(addresses, workers=20)
    elapsed = time.monotonic() - started

    # One after another this is 20 x (MX + the exchange's A and AAAA) x 0.3 s = 18 s.
    assert elapsed < 4
    assert all(len(server.queries_for(f"d{i}.test")) == 1 for i in range(20))
    queries_before = len(server.queries)
    assert {resolver.check(f"d{i}.test").status for i in range(20)} == {OK}
    assert len(server.queries) == queries_before  # answered from memory


def test_prefetch_skips_invalid_addresses(make_dns_server):
    server = make_dns_server({})
    DomainResolver(nameservers=[server.nameserver], timeout=1).prefetch(["{{email}}", "x@a..b"])

    assert server.queries == []


def test_a_verdict_is_reused_by_the_next_batch_within_its_ttl(make_dns_server, allow_test_tld):
    server = make_dns_server(zone(1))
    DomainResolver(nameservers=[server.nameserver], timeout=1).check("d0.test")

    verdict = DomainResolver(nameservers=[server.nameserver], timeout=1).check("d0.test")

    assert verdict.status == OK
    assert server.queries_for("d0.test") == ["MX"]


def test_a_failure_is_cached_too_but_only_briefly(make_dns_server, monkeypatch):
    server = make_dns_server({}, servfail={"broken.test"})
    DomainResolver(nameservers=[server.nameserver], timeout=1).check("broken.test")
    DomainResolver(nameservers=[server.nameserver], timeout=1).check("broken.test")
    assert server.queries_for("broken.test") == ["MX"]

    # Past the failure TTL (60 s), the next batch asks again.
    later = time.monotonic() + 61
    monkeypatch.setattr("apps.validation.dns.time.monotonic", lambda: later)
    DomainResolver(nameservers=[server.nameserver], timeout=1).check("broken.test")
    assert server.queries_for("broken.test") == ["MX", "MX"]


def test_a_resolver_that_never_answers_costs_one_round_of_timeouts(make_dns_server):
    server = make_dns_server({}, drop={f"d{i}.test" for i in range(100)} | {"gmail.com"})
    resolver = DomainResolver(nameservers=[server.nameserver], timeout=1)
    addresses = [f"u{n}@d{n % 100}.test" for n in range(1000)]

    started = time.monotonic()
    resolver.prefetch(addresses, workers=10)
    verdicts = [resolver.check(a.split("@")[1]) for a in addresses]
    elapsed = time.monotonic() - started

    assert {v.status for v in verdicts} == {UNKNOWN}
    # Sequentially 100 timeouts; with the canary cut-off, about two rounds.
    assert elapsed < 5
    assert len([q for q in server.queries if q[0] != "gmail.com"]) < 30


def test_the_cache_is_per_nameserver(make_dns_server, allow_test_tld):
    # Both servers first: starting one clears the cache.
    first, second = make_dns_server(zone(1)), make_dns_server(zone(1))
    DomainResolver(nameservers=[first.nameserver], timeout=1).check("d0.test")
    assert VERDICT_CACHE.get((first.nameserver, "d0.test")).status == OK

    DomainResolver(nameservers=[second.nameserver], timeout=1).check("d0.test")

    assert second.queries_for("d0.test") == ["MX"]


def test_prefetch_warms_the_very_domains_the_checks_ask_about(make_dns_server, allow_test_tld):
    """Plain addresses have their domain read off without a parse; whatever the way, each
    domain the recipient check then asks about is answered from memory."""
    from apps.validation.checks.address_validity import parse_address_or_none

    records = zone(3)
    records["xn--bcher-kva.test"] = {"MX": ["10 mx.d0.test."]}
    server = make_dns_server(records)
    resolver = DomainResolver(nameservers=[server.nameserver], timeout=1)
    addresses = ["u@d0.test", " U.Name+tag@D1.Test ", "o'brien@d2.test", "ü@bücher.test",
                 "Name <n@d0.test>", "x@a..b", "@d9.test"]
    resolver.prefetch(addresses)
    asked = len(server.queries)

    parsed = [p for p in map(parse_address_or_none, addresses) if p is not None]
    assert {p.ascii_domain for p in parsed} == {
        "d0.test",
        "d1.test",
        "d2.test",
        "xn--bcher-kva.test",
    }
    assert {resolver.check(p.ascii_domain).status for p in parsed} == {OK}
    assert len(server.queries) == asked  # every one answered from memory
    assert not server.queries_for("d9.test") and not server.queries_for("a..b")
