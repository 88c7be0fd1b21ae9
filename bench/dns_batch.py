"""DNS checks of a batch against a real DNS server on loopback that answers 50 ms late.

    .venv/bin/python bench/dns_batch.py [--addresses 10000] [--domains 1000]
                                        [--baseline-sample 200] [--latency 0.05]

Ours: one DomainResolver per batch, the batch's unique domains fetched in a bounded pool
(DNS_CONCURRENCY, 32), then every address checked from memory. Baseline, in the same run:
email_validator.validate_email(address, check_deliverability=True) called per address with
its own (non-caching) resolver pointed at the same server. One address costs the baseline at
least one 50 ms round trip, so it runs on a sample (--baseline-sample addresses) and its time
for the whole batch is extrapolated from that: say so when quoting it. Target: >= 20x.

A second part checks a batch against a server that never answers: 1,000 addresses over 100
domains must finish in <= 15 s (DNS_TIMEOUT_SECONDS = 3) with every address unknown.
"""

import argparse
import contextlib
import random
import time

import dns.nameserver
import dns.resolver
from django.conf import settings
from email_validator import EmailNotValidError, validate_email

import _setup  # noqa: F401  (Django settings)
from apps.validation.dns import UNKNOWN, DomainResolver, clear_dns_cache
from tests.support.dns_server import DnsServer

MAIL_HOST = "mx.mailhost-bench.com"


def addresses(count: int, domains: int, *, seed: int = 3) -> list[str]:
    rng = random.Random(seed)
    names = [f"prospect-{n:04d}.com" for n in range(domains)]
    # Every domain at least once, then the rest at random: a batch has many people per company.
    picks = names + [rng.choice(names) for _ in range(count - domains)]
    rng.shuffle(picks)
    return [f"person{i}@{domain}" for i, domain in enumerate(picks)]


def zone(domains: int) -> dict:
    records = {f"prospect-{n:04d}.com": {"MX": [f"10 {MAIL_HOST}."]} for n in range(domains)}
    records[MAIL_HOST] = {"A": ["93.184.216.34"]}
    return records


def ours(batch, nameserver) -> tuple[float, dict]:
    clear_dns_cache()  # a cold start: no verdict from an earlier run
    started = time.perf_counter()
    resolver = DomainResolver(nameservers=[nameserver])
    resolver.prefetch(batch)
    statuses: dict[str, int] = {}
    for address in batch:
        status = resolver.check(address.rsplit("@", 1)[1]).status
        statuses[status] = statuses.get(status, 0) + 1
    return time.perf_counter() - started, statuses


def baseline(sample, server) -> float:
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [dns.nameserver.Do53Nameserver("127.0.0.1", server.port)]
    started = time.perf_counter()
    for address in sample:
        with contextlib.suppress(EmailNotValidError):
            validate_email(address, check_deliverability=True, dns_resolver=resolver)
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--addresses", type=int, default=10000)
    parser.add_argument("--domains", type=int, default=1000)
    parser.add_argument("--baseline-sample", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.05)
    args = parser.parse_args()
    batch = addresses(args.addresses, args.domains)

    with DnsServer(zone(args.domains), latency=args.latency) as server:
        elapsed, statuses = ours(batch, server.nameserver)
        print(f"ours:     {elapsed:8.2f} s for {len(batch):,} addresses over {args.domains:,} "
              f"domains ({len(batch) / elapsed:,.0f} addresses/s; verdicts {statuses}; "
              f"{settings.DNS_CONCURRENCY} lookups at a time)")
        sample = batch[: args.baseline_sample]
        sample_elapsed = baseline(sample, server)
    whole = sample_elapsed / len(sample) * len(batch)
    print(f"baseline: {sample_elapsed:8.2f} s for a sample of {len(sample):,} addresses "
          f"-> {whole:,.0f} s extrapolated to {len(batch):,} "
          f"(email_validator check_deliverability=True, per address)")
    print(f"ratio:    {whole / elapsed:8.1f}x   target: >= 20x "
          f"({'met' if whole / elapsed >= 20 else 'NOT met'})")

    silent = addresses(1000, 100)
    with DnsServer({}, drop={f"prospect-{n:04d}.com" for n in range(100)} | {"gmail.com"}) as dead:
        clear_dns_cache()
        started = time.perf_counter()
        resolver = DomainResolver(nameservers=[dead.nameserver], canary_domain="gmail.com")
        resolver.prefetch(silent)
        verdicts = [resolver.check(a.rsplit("@", 1)[1]).status for a in silent]
        dead_elapsed = time.perf_counter() - started
    unknown = sum(status == UNKNOWN for status in verdicts)
    print(f"dead resolver: {dead_elapsed:.1f} s for 1,000 addresses over 100 domains, "
          f"{unknown:,} unknown (timeout {settings.DNS_TIMEOUT_SECONDS} s; target <= 15 s, "
          f"all unknown: {'met' if dead_elapsed <= 15 and unknown == 1000 else 'NOT met'})")


if __name__ == "__main__":
    main()
