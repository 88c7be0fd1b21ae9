"""The recipient address: is it an address at all, and does its domain take mail?"""

import re
import sys
from dataclasses import dataclass
from email.utils import parseaddr
from functools import lru_cache
from typing import Any

import email_validator
from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import ATEXT, CASE_INSENSITIVE_MAILBOX_NAMES, EMAIL_MAX_LENGTH

from .base import REVIEW, WARN, CheckFinding, MessageFields

MAX_LOCAL_PART = 64  # RFC 5321 4.5.3.1.1; email-validator 2.4 lets 65+ through


def _memoise_domain_step() -> None:
    """email-validator spends nearly all its time per address on the domain (IDNA, UTS-46 per
    character), and a batch has far fewer domains than addresses. That step is a pure function
    of (domain, test_environment, globally_deliverable) returning two strings, so it is
    memoised; a domain it rejects raises each time, as before. Pinned to email-validator 2.4
    (tests/validation/test_recipient_syntax.py checks the hook is in place)."""
    # The submodule, by name: the package's attribute of that name is the function.
    module: Any = sys.modules["email_validator.validate_email"]
    if not hasattr(module.validate_email_domain_name, "cache_info"):
        module.validate_email_domain_name = lru_cache(maxsize=65536)(
            module.validate_email_domain_name
        )


_memoise_domain_step()


@dataclass(frozen=True)
class ParsedAddress:
    address: str  # normalised form, Unicode where the address has it
    ascii_domain: str  # IDNA-encoded, what DNS is asked about
    smtputf8: bool  # the local part is not ASCII: only an SMTPUTF8 server can deliver it
    local_part: str = ""
    domain: str = ""  # Unicode form, as a person reads it


def parse_address(raw: str) -> ParsedAddress:
    """Trim, reduce "Name <addr>" to addr, validate; raises ValueError saying what is wrong."""
    text = raw.strip()
    if not text:
        raise ValueError("There is no recipient address.")
    if "<" in text:
        _, text = parseaddr(text)
        if not text:
            raise ValueError("The address is not in the form 'Name <user@domain>'.")
    plain = parse_plain_address(text)
    if plain is not None:
        return plain
    try:
        valid = validate_email(text, check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError as exc:
        raise ValueError(_in_plain_words(str(exc), text)) from exc
    if len(valid.local_part) > MAX_LOCAL_PART:
        raise ValueError(
            f"The part before the @-sign is {len(valid.local_part)} characters long; "
            f"the limit is {MAX_LOCAL_PART}."
        )
    return ParsedAddress(
        valid.normalized, valid.ascii_domain, bool(valid.smtputf8), valid.local_part, valid.domain
    )


def _in_plain_words(error: str, address: str) -> str:
    """email-validator's error, with the reserved name it refused named: "special-use or
    reserved name" alone does not tell a reviewer which name, nor that it is sample data."""
    if "special-use or reserved name" not in error:
        return error
    domain = address.rsplit("@", 1)[-1]
    return (
        f"{domain} is a reserved or special-use name (RFC 2606, RFC 6761: .test, .invalid, "
        ".localhost …): no mail can reach it from the internet; the address is likely sample "
        "or test data."
    )


# A plain address: an ASCII dot-atom before the @-sign, ASCII labels after it. Nearly every
# prospect's address is one, and for it email-validator's answer is simple: the local part as
# written (the mailbox names it treats as case-insensitive, such as postmaster, lower-cased)
# and the answer of its (memoised) domain step. Its general parser, a character loop for
# quotes, comments and display names, is most of what it costs per address.
_PLAIN_ADDRESS_RE = re.compile(
    rf"(?P<local>[{ATEXT}]+(?:\.[{ATEXT}]+)*)@(?P<domain>[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)"
)


def parse_plain_address(text: str) -> ParsedAddress | None:
    """What parse_address answers for a plain, valid address; None for any other address
    (email-validator then decides, and words the error). tests/validation/
    test_recipient_syntax.py checks the two agree."""
    match = _PLAIN_ADDRESS_RE.fullmatch(text)
    if match is None or len(match["local"]) > MAX_LOCAL_PART:
        return None
    module = sys.modules["email_validator.validate_email"]
    try:
        domain = module.validate_email_domain_name(
            match["domain"],
            test_environment=email_validator.TEST_ENVIRONMENT,
            globally_deliverable=email_validator.GLOBALLY_DELIVERABLE,
        )
    except EmailNotValidError:
        return None
    if domain["domain"] != domain["ascii_domain"]:
        return None  # an IDN written in ASCII (xn--): lengths differ by form; not plain
    local = match["local"]
    if local.lower() in CASE_INSENSITIVE_MAILBOX_NAMES:
        local = local.lower()
    normalized = f"{local}@{domain['domain']}"
    if len(normalized) > EMAIL_MAX_LENGTH or len(text) > EMAIL_MAX_LENGTH:
        return None  # too long: the general path says by how much
    return ParsedAddress(normalized, domain["ascii_domain"], False, local, domain["domain"])


# The last answer, kept beside the cache: the suite's address checks (ten of them) ask about
# one message's address one after the other, and an identity test is half the cost of a
# cache lookup. (raw, test switch, answer); replaced whole, so a reader sees one answer.
_last_parsed: tuple[str | None, bool | None, tuple[ParsedAddress | None, str]] = (
    None, None, (None, ""),
)


def _parse_cached(raw: str) -> tuple[ParsedAddress | None, str]:
    global _last_parsed
    # The test switch that lets reserved names (*.test) through is part of the answer.
    test_environment = email_validator.TEST_ENVIRONMENT
    last_raw, last_test_environment, answer = _last_parsed
    if raw is last_raw and test_environment is last_test_environment:
        return answer
    answer = _parse_cached_for(raw, test_environment)
    _last_parsed = (raw, test_environment, answer)
    return answer


@lru_cache(maxsize=8192)
def _parse_cached_for(raw: str, test_environment: bool) -> tuple[ParsedAddress | None, str]:
    try:
        return parse_address(raw), ""
    except ValueError as exc:
        return None, str(exc)


def parse_address_or_none(raw: str) -> ParsedAddress | None:
    """parse_address for checks that only care about valid addresses (the syntax check
    reports the others). Cached: every address check of a message asks the same question."""
    return _parse_cached(raw)[0]


def check_recipient_syntax(fields: MessageFields, severity: str) -> list[CheckFinding]:
    parsed, error = _parse_cached(fields.email)
    if parsed is None:
        return [CheckFinding("recipient_syntax", severity, "email", None, None, error)]
    if parsed.smtputf8:
        return [
            CheckFinding(
                "recipient_syntax.smtputf8",
                WARN,
                "email",
                None,
                None,
                "The address has non-ASCII characters before the @-sign: it can only be sent "
                "through a mail server that supports SMTPUTF8.",
            )
        ]
    return []


def check_recipient_domain(fields: MessageFields, severity: str, resolver) -> list[CheckFinding]:
    """resolver is a DomainResolver (apps.validation.dns); one is shared across a batch."""
    parsed = parse_address_or_none(fields.email)
    if parsed is None:
        return []  # the syntax check reports a bad address
    verdict = resolver.check(parsed.ascii_domain)
    severity_by_status = {"no_mail": severity, "unknown": REVIEW, "ok_implicit_mx": WARN}
    if verdict.status not in severity_by_status:
        return []
    # unknown keeps one code whatever the cause (timeout, SERVFAIL...); the detail says which.
    sub_code = {"unknown": "unknown", "ok_implicit_mx": "implicit_mx"}.get(
        verdict.status, verdict.reason or verdict.status
    )
    return [
        CheckFinding(
            f"recipient_domain.{sub_code}",
            severity_by_status[verdict.status],
            "email",
            None,
            None,
            verdict.detail,
        )
    ]
