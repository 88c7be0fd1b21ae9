"""Every row of tests/data/validator_cases.csv, through one parametrised test.

The rules are the seeded ones, as an operator finds them after installing. Each row's other
fields are filled with clean values (a plain subject, a plain address, a plain body), so the
verdict is the row's own. The DNS rows ask a real DNS server on loopback whose zone has one
domain per row.
"""

import csv
from pathlib import Path

import pytest

from apps.validation.checks.address_validity import parse_address
from apps.validation.checks.base import MessageFields, verdict_of
from apps.validation.checks.legal_forms import base_name
from apps.validation.dns import DomainResolver
from apps.validation.rules import active_rules
from apps.validation.suite import run_checks
from tests.validation.helpers import ZONE

from .helpers import apply_suggestions

CASES_FILE = Path(__file__).resolve().parents[1] / "data" / "validator_cases.csv"
ROWS = list(csv.DictReader(CASES_FILE.open(encoding="utf-8", newline="")))

CLEAN = MessageFields(
    email="jo@acme.com", first_name="Jo", company="Acme", subject="Quick question",
    body="Hi Jo,\n\nAre you free for a call next week?\n\nSam",
)
# One domain per DNS row, keyed by the row's description.
DNS_DOMAINS = {
    "domain whose MX is '0 .' (null MX)": "nullmx.test",
    "no MX; A is a global address": "implicit.test",
    "no MX; A is 10.0.0.5 only": "private.test",
    "no MX; A present; TXT v=spf1 -all": "spf-reject.test",
    "MX present; TXT v=spf1 -all": "mx-spf-reject.test",
    "NXDOMAIN with SOA in the authority section": "does-not-exist.test",
    "SERVFAIL": "servfail.test",
    "resolver never answers": "silent.test",
    "resolver answers NXDOMAIN to everything (no SOA) including a canary domain": "any.test",
    "MX points at 127.0.0.1": "loopback-mx.test",
}
LYING = "resolver answers NXDOMAIN to everything (no SOA) including a canary domain"


def fields_for(row) -> MessageFields:
    kind, text = row["kind"], row["input"]
    if kind == "message":
        return MessageFields(**{**CLEAN.__dict__, "company": row["company"], "body": text})
    if kind == "address":
        return MessageFields(**{**CLEAN.__dict__, "email": text})
    return MessageFields(**{**CLEAN.__dict__, "email": f"jo@{DNS_DOMAINS[text]}"})


def resolver_for(row, make_dns_server):
    if row["kind"] != "dns":
        return None
    server = make_dns_server(
        ZONE, servfail={"servfail.test"}, drop={"silent.test"}, lie=row["input"] == LYING
    )
    return DomainResolver(nameservers=[server.nameserver], timeout=1)


@pytest.mark.django_db
@pytest.mark.parametrize("row", ROWS, ids=[f"{r['kind']}:{r['input']}" for r in ROWS])
def test_case(row, make_dns_server, allow_test_tld, seeded_rules):
    if row["kind"] == "company_name":
        assert base_name(row["input"]) == row["expected"]
        return
    fields = fields_for(row)

    findings = run_checks(fields, active_rules(), resolver=resolver_for(row, make_dns_server))

    assert verdict_of(findings) == row["verdict"], findings
    if row["kind"] == "message" and row["expected"]:
        assert apply_suggestions(row["input"], findings) == row["expected"]
    if row["kind"] == "address" and row["expected"]:
        suggestions = {f.suggestion for f in findings if f.suggestion}
        if row["verdict"] == "pass":  # the expected value is the address made plain
            assert parse_address(row["input"]).address == row["expected"]
        else:  # the expected value is the suggested fix, and applying it clears the finding
            assert suggestions == {row["expected"]}
            fixed = apply_suggestions(row["input"], findings, field="email")
            assert verdict_of(run_checks(fields_for({**row, "input": fixed}), active_rules(),
                                         resolver=None)) == "pass"


def test_every_dns_row_has_a_domain():
    # Guards the mapping above against a reworded row that would fail obscurely.
    assert {row["input"] for row in ROWS if row["kind"] == "dns"} == set(DNS_DOMAINS)
