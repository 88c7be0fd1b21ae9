"""The shared cases in tests/data/validator_cases.csv that the foundation checks cover.

Rows of later scope (generic greetings, role accounts, typo'd and disposable domains,
homographs) are left out by name; the DNS rows run against a real server in
test_recipient_domain.py.
"""

import csv
from pathlib import Path

import pytest

from apps.validation.checks.base import MessageFields, verdict_of
from apps.validation.checks.legal_forms import base_name
from apps.validation.suite import run_checks

from .helpers import ADDRESS_RULES, MESSAGE_RULES, apply_suggestions

CASES_FILE = Path(__file__).resolve().parents[1] / "data" / "validator_cases.csv"
ROWS = list(csv.DictReader(CASES_FILE.open(encoding="utf-8", newline="")))

LATER_SCOPE = {"Dear Sir/Madam,"}
ADDRESSES_IN_SCOPE = {
    "{{first_name}}@acme.com",
    "%FIRSTNAME%@acme.com",
    "jo@acme.com",
    "a" * 65 + "@acme.com",
    " john@acme.com ",
    "John Doe <john@acme.com>",
    "john@acme..com",
    "jöhn@müller.de",
}


def rows(kind, keep=lambda row: True):
    selected = [row for row in ROWS if row["kind"] == kind and keep(row)]
    return pytest.mark.parametrize("row", selected, ids=[row["input"] for row in selected])


@rows("company_name")
def test_base_name(row):
    assert base_name(row["input"]) == row["expected"]


@rows("message", lambda row: row["input"] not in LATER_SCOPE)
def test_message(row):
    fields = MessageFields(company=row["company"], body=row["input"])

    findings = run_checks(fields, MESSAGE_RULES, resolver=None)

    assert verdict_of(findings) == row["verdict"]
    if row["expected"]:
        assert apply_suggestions(row["input"], findings) == row["expected"]


@rows("address", lambda row: row["input"] in ADDRESSES_IN_SCOPE)
def test_address(row):
    findings = run_checks(MessageFields(email=row["input"]), ADDRESS_RULES, resolver=None)

    assert verdict_of(findings) == row["verdict"]


def test_every_address_in_scope_is_in_the_cases_file():
    # Guards the list above against a silent typo that would drop a case.
    assert ADDRESSES_IN_SCOPE <= {row["input"] for row in ROWS if row["kind"] == "address"}
