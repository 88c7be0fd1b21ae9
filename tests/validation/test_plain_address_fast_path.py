"""The fast path for plain addresses answers exactly what email-validator answers."""

import string

import email_validator
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.validation.checks.address_validity import ParsedAddress, parse_plain_address


def by_email_validator(text):
    """parse_address's answer without the fast path (None: refused)."""
    try:
        valid = email_validator.validate_email(
            text, check_deliverability=False, allow_smtputf8=True
        )
    except email_validator.EmailNotValidError:
        return None
    if len(valid.local_part) > 64:
        return None
    return ParsedAddress(
        valid.normalized, valid.ascii_domain, bool(valid.smtputf8), valid.local_part, valid.domain
    )


def assert_agrees(text):
    fast = parse_plain_address(text)
    if fast is not None:  # None hands the address to email-validator: nothing to compare
        assert fast == by_email_validator(text)


@pytest.mark.parametrize(
    "text",
    [
        "jo@acme.com",
        "Jo.Smith+tag@Acme.COM",
        "PostMaster@acme.com",  # a case-insensitive mailbox: lower-cased
        "o'brien@acme.co.uk",
        "x@xn--mller-kva.de",  # an IDN written in ASCII: left to email-validator
        "jo@localhost",  # reserved / not globally deliverable: refused
        "jo@acme",  # no dot in the domain
        "jo@acme.test",
        "jo@-acme.com",
        "jo@acme-.com",
        "jo@123.456",
        "jo@acme.c0m",
        "a" * 64 + "@acme.com",
        "a" * 65 + "@acme.com",
        "a@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 63 + "." + "e" * 60 + ".com",
        "jo.@acme.com",
        ".jo@acme.com",
        "j..o@acme.com",
    ],
)
def test_known_shapes_agree(text):
    assert_agrees(text)


def test_a_plain_address_takes_the_fast_path():
    assert parse_plain_address("Jo.Smith@Acme.COM") == ParsedAddress(
        "Jo.Smith@acme.com", "acme.com", False, "Jo.Smith", "acme.com"
    )


ATOM = string.ascii_letters + string.digits + "!#$%&'*+/=?^_`{|}~-."
LABEL = string.ascii_letters + string.digits + "-"
local_parts = st.text(alphabet=ATOM, min_size=1, max_size=70)
domains = st.lists(st.text(alphabet=LABEL, min_size=1, max_size=12), min_size=1, max_size=4).map(
    ".".join
) | st.sampled_from(["acme.com", "example.org", "xn--mller-kva.de", "mail.test", "co.uk"])


@settings(max_examples=400, deadline=None)
@given(local_parts, domains)
def test_generated_addresses_agree(local, domain):
    assert_agrees(f"{local}@{domain}")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_any_text_agrees(text):
    assert_agrees(text)
