"""Does a domain take mail? MX, A/AAAA and SPF lookups with our own timeouts and nameservers.

The rule behind every branch: unknown is not valid. A timeout, a SERVFAIL or a resolver that
lies must never let an address pass, and must never block it either (that would drop a good
prospect for our network's fault), so those come back "unknown" and a person looks.

One DomainResolver is made per batch; it remembers every answer, failures included, so a batch
asks once per domain and 20 addresses at a silent domain cost one timeout, not 20. prefetch()
asks for all of a batch's domains at once in a bounded thread pool. Verdicts are also kept
across batches in a process-wide cache, and in Redis for every process (DNS_SHARED_CACHE), for
the TTL of the records they rest on (a failure for FAILURE_TTL), and a resolver that answers
nothing at all (not even the canary) is given up on after one round of timeouts: a dead
resolver costs seconds per batch, not per message.
"""

import ipaddress
import json
import logging
import math
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings

# dnspython is imported where a lookup is made: a process that never resolves (the web
# process, `manage.py validate --no-dns`) need not pay for importing it at start-up.
if TYPE_CHECKING:
    import dns.name
    import dns.resolver

logger = logging.getLogger(__name__)

OK, OK_IMPLICIT_MX, NO_MAIL, UNKNOWN = "ok", "ok_implicit_mx", "no_mail", "unknown"
MAX_EXCHANGES = 5  # enough to tell a loopback MX from a real one; real domains have 1-5
FAILURE_TTL = 60  # seconds a "could not tell" is remembered: long enough for a batch, no more
MAX_TTL = 3600  # a record's own TTL, but no longer than this


class _VerdictCache:
    """Verdicts by (nameservers, domain) until their TTL runs out; shared by every batch of
    the process, safe across threads, and through Redis (DNS_SHARED_CACHE) by every process:
    RQ forks a process per job, so without it each chunk job of a batch would ask again."""

    def __init__(self):
        self._entries: dict[tuple[str, str], tuple[float, DomainVerdict]] = {}
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            entry = self._entries.get(key)
        if entry is not None:
            # Expired here means expired in Redis too (put there at the same time, same TTL).
            return entry[1] if entry[0] > time.monotonic() else None
        shared = _shared_get(key)
        if shared is None:
            return None
        verdict, ttl = shared
        with self._lock:
            self._entries[key] = (time.monotonic() + ttl, verdict)
        return verdict

    def put(self, key, verdict, ttl: float) -> None:
        if ttl > 0:
            ttl = min(ttl, MAX_TTL)
            with self._lock:
                self._entries[key] = (time.monotonic() + ttl, verdict)
            _shared_put(key, verdict, ttl)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
        _shared_clear()


SHARED_PREFIX = "dns-verdict:"


def _shared_redis():
    if not settings.DNS_SHARED_CACHE:
        return None
    import django_rq

    return django_rq.get_connection("validate")


def _shared_key(key: tuple[str, str]) -> str:
    return f"{SHARED_PREFIX}{key[0]}|{key[1]}"


# Redis is a convenience here, never a dependency: if it fails, this process asks DNS itself.
def _shared_get(key):
    try:
        redis = _shared_redis()
        if redis is None:
            return None
        with redis.pipeline(transaction=False) as pipe:
            raw, ttl_ms = pipe.get(_shared_key(key)).pttl(_shared_key(key)).execute()
        if raw is None or ttl_ms is None or ttl_ms <= 0:
            return None
        status, detail, reason = json.loads(raw)
        return DomainVerdict(status, detail, reason), ttl_ms / 1000
    except Exception:  # noqa: BLE001
        logger.debug("shared DNS verdict cache unavailable", exc_info=True)
        return None


def _shared_put(key, verdict, ttl: float) -> None:
    try:
        redis = _shared_redis()
        if redis is not None:
            value = json.dumps([verdict.status, verdict.detail, verdict.reason])
            redis.set(_shared_key(key), value, px=max(1, int(ttl * 1000)))
    except Exception:  # noqa: BLE001
        logger.debug("shared DNS verdict cache unavailable", exc_info=True)


def _shared_clear() -> None:
    try:
        redis = _shared_redis()
        if redis is not None:
            keys = list(redis.scan_iter(match=f"{SHARED_PREFIX}*", count=1000))
            if keys:
                redis.delete(*keys)
    except Exception:  # noqa: BLE001
        logger.debug("shared DNS verdict cache unavailable", exc_info=True)


VERDICT_CACHE = _VerdictCache()


def clear_dns_cache() -> None:
    """Forget every cached verdict, this process's and the shared ones (tests starting a fresh
    DNS server call this)."""
    VERDICT_CACHE.clear()


@dataclass(frozen=True)
class DomainVerdict:
    status: str  # OK, OK_IMPLICIT_MX, NO_MAIL or UNKNOWN
    detail: str  # a sentence for the reviewer
    reason: str = ""  # short machine tag: null_mx, nxdomain, loopback_mx, timeout...


class _Failed(Exception):
    """A lookup that could not tell (timeout, SERVFAIL, no nameserver, anything unexpected)."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason, self.detail = reason, detail


def _parse_nameserver(entry: str) -> tuple[str, int]:
    """'1.2.3.4', '1.2.3.4:5353', '[::1]:5353' or '::1' -> (host, port)."""
    entry = entry.strip()
    if entry.startswith("[") and "]" in entry:
        host, _, rest = entry[1:].partition("]")
        return host, int(rest.lstrip(":") or 53)
    if entry.count(":") == 1:
        host, _, port = entry.partition(":")
        return host, int(port)
    return entry, 53


# An address whose domain is plain ASCII letters, digits and hyphens in two or more labels: the
# domain DNS is asked about is that text (lower-cased). A prefetch only warms the verdicts:
# were the address invalid after all, a domain looked up for nothing is all it costs.
PLAIN_ADDRESS_DOMAIN = re.compile(r'\s*[^@\s"]+@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)\s*')


def _key(domain: str) -> str:
    return domain.strip().rstrip(".").lower()


def _is_loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return ip.is_loopback or ip.is_unspecified


class DomainResolver:
    def __init__(
        self,
        nameservers: list[str] | None = None,
        timeout: float | None = None,
        canary_domain: str | None = None,
    ):
        if nameservers is None:
            nameservers = list(settings.DNS_NAMESERVERS)
        self.timeout = float(timeout if timeout is not None else settings.DNS_TIMEOUT_SECONDS)
        self.canary_domain = canary_domain or settings.DNS_CANARY_DOMAIN
        self._resolver = self._make_resolver(nameservers)
        self._cache_scope = ",".join(nameservers) or "system"
        self._verdicts: dict[str, DomainVerdict] = {}
        self._addresses: dict[tuple[str, str], list[str]] = {}
        self._lying: bool | None = None  # decided on the first NXDOMAIN, by the canary
        self._dead: bool | None = None  # decided on the first timeout, by the canary
        self._canary_lock = threading.RLock()  # the two canary questions may nest
        self._local = threading.local()  # the lowest TTL seen while deciding one domain

    def _make_resolver(self, nameservers: list[str]) -> "dns.resolver.Resolver | None":
        import dns.nameserver
        import dns.resolver

        try:
            resolver = dns.resolver.Resolver(configure=not nameservers)
        except dns.resolver.NoResolverConfiguration:
            logger.warning("no system DNS resolver configured: every domain will be unknown")
            return None
        if nameservers:
            try:
                resolver.nameservers = [
                    dns.nameserver.Do53Nameserver(host, port)
                    for host, port in map(_parse_nameserver, nameservers)
                ]
            except ValueError:
                # manage.py check reports the bad setting; meanwhile every domain is unknown
                # (review), never a crash that stops the batch.
                logger.exception(
                    "bad DNS_NAMESERVERS %r: every domain will be unknown", nameservers
                )
                return None
        # lifetime bounds the whole query, retries included; timeout bounds one attempt.
        resolver.lifetime = self.timeout
        resolver.timeout = self.timeout
        resolver.cache = None  # our own per-batch memory below is the cache
        return resolver

    def prefetch(self, addresses, *, workers: int | None = None) -> None:
        """Look up the domains of these addresses, up to `workers` at a time, so check() then
        answers from memory. Invalid addresses are skipped (the syntax check reports them)."""
        from .checks.address_validity import parse_address_or_none  # the checks import this module

        domains = set()
        for raw in addresses:
            plain = PLAIN_ADDRESS_DOMAIN.fullmatch(raw)
            if plain is not None:  # its domain as parsing would give it, without the parse
                domains.add(_key(plain.group(1)))
                continue
            parsed = parse_address_or_none(raw)
            if parsed is not None:
                domains.add(_key(parsed.ascii_domain))
        domains -= self._verdicts.keys()
        # What the cache knows needs no thread: check() answers it from the cache just as fast.
        domains = {d for d in domains if VERDICT_CACHE.get((self._cache_scope, d)) is None}
        if not domains:
            return
        workers = min(workers or settings.DNS_CONCURRENCY, len(domains))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dns") as pool:
            list(pool.map(self.check, sorted(domains)))

    def check(self, domain: str) -> DomainVerdict:
        domain = _key(domain)
        if domain not in self._verdicts:
            cache_key = (self._cache_scope, domain)
            verdict = VERDICT_CACHE.get(cache_key)
            if verdict is None:
                self._local.ttl = math.inf
                verdict = self._check(domain)
                ttl = FAILURE_TTL if verdict.status == UNKNOWN else self._local.ttl
                VERDICT_CACHE.put(cache_key, verdict, ttl if ttl != math.inf else FAILURE_TTL)
            self._verdicts[domain] = verdict
        if self._lying:
            return DomainVerdict(
                UNKNOWN,
                f"The DNS resolver says even {self.canary_domain} does not exist, so its "
                f"answer for {domain} cannot be trusted.",
                "lying_resolver",
            )
        return self._verdicts[domain]

    # --- the decision ----------------------------------------------------------------------

    def _check(self, domain: str) -> DomainVerdict:
        if self._dead:
            return DomainVerdict(
                UNKNOWN,
                f"Could not tell whether {domain} takes mail: the DNS server answers nothing, "
                f"not even for {self.canary_domain}.",
                "dead_resolver",
            )
        try:
            return self._decide(domain)
        except _Failed as failure:
            return DomainVerdict(
                UNKNOWN,
                f"Could not tell whether {domain} takes mail: {failure.detail}",
                failure.reason,
            )

    def _decide(self, domain: str) -> DomainVerdict:
        answer = self._query(domain, "MX")
        if answer == "nxdomain_soa" or answer == "nxdomain":
            if self._resolver_is_lying():
                raise _Failed("lying_resolver", "the resolver denies that every domain exists.")
            if answer == "nxdomain":
                # A real NXDOMAIN carries the zone's SOA; a bare one comes from a filtering or
                # broken resolver, which is no proof.
                raise _Failed(
                    "nxdomain_without_soa",
                    "the resolver said it does not exist but gave no proof (no SOA record).",
                )
            return DomainVerdict(NO_MAIL, f"The domain {domain} does not exist.", "nxdomain")
        if answer:
            return self._decide_mx(domain, answer)
        return self._decide_without_mx(domain)

    def _decide_mx(self, domain: str, records) -> DomainVerdict:
        import dns.name

        exchanges = sorted(records, key=lambda r: r.preference)
        hosts = [r.exchange for r in exchanges if r.exchange != dns.name.root]
        if not hosts:
            return DomainVerdict(
                NO_MAIL,
                f"The domain {domain} declares that it accepts no mail (null MX).",
                "null_mx",
            )
        addresses = []
        for host in hosts[:MAX_EXCHANGES]:
            addresses += self._exchange_addresses(host)
        if addresses and all(_is_loopback(a) for a in addresses):
            return DomainVerdict(
                NO_MAIL,
                f"The mail server of {domain} points at a loopback address.",
                "loopback_mx",
            )
        return DomainVerdict(OK, f"The domain {domain} has a mail server.", "mx")

    def _decide_without_mx(self, domain: str) -> DomainVerdict:
        # RFC 5321 5.1: with no MX, mail goes to the domain's own address (implicit MX).
        addresses = self._addresses_of(domain, strict=True)
        spf = [t for t in self._txt(domain) if t.lower().startswith("v=spf1")]
        if any(t.lower().split() == ["v=spf1", "-all"] for t in spf):
            return DomainVerdict(
                NO_MAIL,
                f"The domain {domain} has no mail server and declares that it sends "
                "no mail (SPF 'v=spf1 -all').",
                "spf_no_mail",
            )
        if any(ipaddress.ip_address(a).is_global for a in addresses):
            return DomainVerdict(
                OK_IMPLICIT_MX,
                f"The domain {domain} has no MX record; mail would go to its "
                "web address (implicit MX), which often does not accept it.",
                "implicit_mx",
            )
        if addresses:
            return DomainVerdict(
                NO_MAIL,
                f"The domain {domain} has no MX record and only private or loopback addresses.",
                "private_address",
            )
        return DomainVerdict(
            NO_MAIL, f"The domain {domain} has no mail server and no address.", "no_address"
        )

    def _resolver_is_dead(self) -> bool:
        """Asked once per instance, on the first timeout: does the canary get an answer? If
        not, every further lookup would only wait out its timeout too."""
        with self._canary_lock:
            if self._dead is None:
                try:
                    self._query(self.canary_domain, "MX", probing=True)
                    self._dead = False
                except _Failed as failure:
                    self._dead = failure.reason == "timeout"
                if self._dead:
                    logger.warning(
                        "DNS resolver does not answer, not even for %s: every domain of this "
                        "batch is unknown", self.canary_domain,
                    )
        return self._dead

    def _resolver_is_lying(self) -> bool:
        """Asked once per instance, on the first NXDOMAIN: does the canary exist for it?"""
        with self._canary_lock:
            return self._canary_denied()

    def _canary_denied(self) -> bool:
        if self._lying is None:
            try:
                answer = self._query(self.canary_domain, "MX", probing=True)
            except _Failed:
                answer = None
            self._lying = not (answer and answer not in ("nxdomain", "nxdomain_soa"))
            if self._lying:
                logger.warning(
                    "DNS resolver denies the canary domain %s: treating every verdict as unknown",
                    self.canary_domain,
                )
        return self._lying

    # --- lookups -----------------------------------------------------------------------------

    def _query(self, name: str, rdtype: str, *, probing: bool = False):
        """The records, [] for no data, "nxdomain"/"nxdomain_soa", or raise _Failed."""
        try:
            return self._ask(name, rdtype)
        except _Failed as failure:
            if failure.reason == "timeout" and not probing and self._resolver_is_dead():
                raise _Failed("dead_resolver", failure.detail) from None
            raise

    def _seen_ttl(self, ttl: int) -> None:
        self._local.ttl = min(getattr(self._local, "ttl", math.inf), ttl)

    def _ask(self, name: str, rdtype: str):
        import dns.exception
        import dns.name
        import dns.rdatatype
        import dns.resolver

        if self._resolver is None:
            raise _Failed("no_nameservers", "no DNS resolver is configured.")
        try:
            answer = self._resolver.resolve(
                dns.name.from_text(name), rdtype, raise_on_no_answer=False, search=False
            )
        except dns.resolver.NXDOMAIN as exc:
            responses = exc.responses().values()
            soas = [
                rrset for r in responses for rrset in r.authority
                if rrset.rdtype == dns.rdatatype.SOA
            ]
            for rrset in soas:  # RFC 2308: a negative answer lives min(SOA TTL, minimum)
                self._seen_ttl(min(rrset.ttl, min(r.minimum for r in rrset)))
            return "nxdomain_soa" if soas else "nxdomain"
        except dns.exception.Timeout as exc:
            timeout = f"the DNS server did not answer within {self.timeout:g} s."
            raise _Failed("timeout", timeout) from exc
        except dns.resolver.NoNameservers as exc:
            raise _Failed("servfail", "the DNS server failed to answer (SERVFAIL).") from exc
        # Whatever else goes wrong (a malformed name, a socket error) is "could not tell".
        except Exception as exc:  # noqa: BLE001
            detail = f"the lookup failed ({exc.__class__.__name__}: {exc})."
            raise _Failed("error", detail) from exc
        if answer.rrset is None:
            return []
        self._seen_ttl(answer.rrset.ttl)
        return list(answer.rrset)

    def _addresses_of(self, name: str, *, strict: bool) -> list[str]:
        """A and AAAA of a name. strict: a failed lookup raises _Failed (the domain's own
        address decides the verdict); else it counts as no address (an MX host's)."""
        found = []
        for rdtype in ("A", "AAAA"):
            key = (name, rdtype)
            if key not in self._addresses:
                try:
                    answer = self._query(name, rdtype)
                except _Failed:
                    if strict:
                        raise
                    answer = []
                self._addresses[key] = (
                    [r.address for r in answer] if isinstance(answer, list) else []
                )
            found += self._addresses[key]
        return found

    def _exchange_addresses(self, host: "dns.name.Name") -> list[str]:
        text = host.to_text(omit_final_dot=True)
        try:
            return [str(ipaddress.ip_address(text))]  # "MX 10 127.0.0.1." is seen in the wild
        except ValueError:
            pass
        if text.lower() == "localhost":
            return ["127.0.0.1"]
        return self._addresses_of(text, strict=False)

    def _txt(self, domain: str) -> list[str]:
        answer = self._query(domain, "TXT")
        if not isinstance(answer, list):
            return []
        return [b"".join(r.strings).decode("utf-8", "replace") for r in answer]
