"""A small authoritative DNS server on loopback whose answers the test controls.

    with DnsServer({"acme.test": {"MX": ["10 mx.acme.test."]}}) as server:
        resolver = DomainResolver(nameservers=[server.nameserver], timeout=1)
        assert resolver.check("acme.test").status == "ok"

Zone: {name: {rdtype: [rdata text, ...]}}. A name not in the zone gets NXDOMAIN with an SOA in
the authority section (as a real authoritative server answers); a name in the zone without the
asked type gets NOERROR with no answer. Behaviours per name: servfail, drop (never answer),
bare_nxdomain (NXDOMAIN without SOA), latency (seconds before answering: a number for every
name or {name: seconds}); lie=True answers NXDOMAIN without SOA to every name.

The canary domain (DNS_CANARY_DOMAIN, gmail.com by default) gets an MX unless the zone names it
or lie=True, so a resolver pointed here does not take this server for a lying one.
"""

import contextlib
import socket
import threading
import time
from typing import Self

import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset

TTL = 300
SOA = "ns.test. hostmaster.test. 1 3600 600 86400 300"


class DnsServer:
    def __init__(
        self,
        zone: dict[str, dict[str, list[str]]] | None = None,
        *,
        servfail: set[str] | frozenset[str] = frozenset(),
        drop: set[str] | frozenset[str] = frozenset(),
        bare_nxdomain: set[str] | frozenset[str] = frozenset(),
        latency: float | dict[str, float] = 0.0,
        lie: bool = False,
        canary: str | None = "gmail.com",
    ):
        self.zone = {_key(name): records for name, records in (zone or {}).items()}
        if canary and not lie and _key(canary) not in self.zone:
            self.zone[_key(canary)] = {"MX": [f"5 mx.{_key(canary)}."]}
        self.servfail = {_key(n) for n in servfail}
        self.drop = {_key(n) for n in drop}
        self.bare_nxdomain = {_key(n) for n in bare_nxdomain}
        self.latency = latency
        self.lie = lie
        self.queries: list[tuple[str, str]] = []  # (name, type) as received, for assertions
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    @property
    def port(self) -> int:
        return self._bound().getsockname()[1]

    def _bound(self) -> socket.socket:
        if self._socket is None:
            raise RuntimeError("the DNS server is not started")
        return self._socket

    @property
    def nameserver(self) -> str:
        """The "host:port" string DNS_NAMESERVERS and DomainResolver take."""
        return f"127.0.0.1:{self.port}"

    def queries_for(self, name: str) -> list[str]:
        return [rdtype for qname, rdtype in self.queries if qname == _key(name)]

    def start(self) -> Self:
        # A new server is a new world: verdicts cached from an earlier one (maybe on this very
        # port) must not answer for it.
        from apps.validation.dns import clear_dns_cache

        clear_dns_cache()
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.settimeout(0.05)  # wake up now and then to notice stop()
        self._thread = threading.Thread(target=self._serve, name="test-dns", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self._bound().close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                data, client = self._bound().recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            # A thread per query, so a slow answer does not hold up the others.
            threading.Thread(target=self._answer, args=(data, client), daemon=True).start()

    def _answer(self, data: bytes, client) -> None:
        try:
            query = dns.message.from_wire(data)
        except dns.exception.DNSException:
            return  # not a DNS query: ignore it, as a real server would
        question = query.question[0]
        name = _key(question.name.to_text())
        self.queries.append((name, dns.rdatatype.to_text(question.rdtype)))
        if name in self.drop:
            return
        delay = self.latency.get(name, 0.0) if isinstance(self.latency, dict) else self.latency
        if delay:
            time.sleep(delay)
        response = self._response(query, name, question.rdtype)
        with contextlib.suppress(OSError):  # stopped meanwhile
            self._bound().sendto(response.to_wire(), client)

    def _response(self, query, name: str, rdtype) -> dns.message.Message:
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if self.lie or name in self.bare_nxdomain:
            response.set_rcode(dns.rcode.NXDOMAIN)
            return response
        if name in self.servfail:
            response.set_rcode(dns.rcode.SERVFAIL)
            return response
        records = self.zone.get(name)
        if records is None:
            response.set_rcode(dns.rcode.NXDOMAIN)
            response.authority.append(_soa_rrset(name))
            return response
        texts = records.get(dns.rdatatype.to_text(rdtype), [])
        if texts:
            rdatas = [
                dns.rdata.from_text(dns.rdataclass.IN, rdtype, _rdata(rdtype, t)) for t in texts
            ]
            response.answer.append(dns.rrset.from_rdata_list(query.question[0].name, TTL, rdatas))
        else:
            response.authority.append(_soa_rrset(name))
        return response


def _key(name: str) -> str:
    return name.strip().rstrip(".").lower()


def _rdata(rdtype, text: str) -> str:
    # TXT data is written bare in the zone ("v=spf1 -all"); unquoted it would split at spaces.
    if rdtype == dns.rdatatype.TXT and not text.startswith('"'):
        return '"' + text.replace('"', '\\"') + '"'
    return text


def _soa_rrset(name: str) -> dns.rrset.RRset:
    # The zone apex is taken to be the last two labels; the tests' domains are all that shape.
    apex = ".".join(name.split(".")[-2:]) + "."
    return dns.rrset.from_text(apex, TTL, "IN", "SOA", SOA)
