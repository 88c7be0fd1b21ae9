"""Runs the enabled rules' checks over one message, failing closed when a check breaks.

A batch validates its messages by calling run_checks in a loop with one DomainResolver, which
remembers every domain it was asked about.
"""

import logging
from collections.abc import Callable

from .checks import content, recipient_risks
from .checks.base import REVIEW, CheckFinding, MessageFields, RuleConfig
from .checks.legal_forms import check_legal_forms
from .checks.personal import check_personal_values
from .checks.placeholders import check_placeholders
from .checks.address_validity import (
    check_recipient_domain,
    check_recipient_syntax,
    parse_address_or_none,
)
from .dns import DomainResolver

logger = logging.getLogger(__name__)

Check = Callable[[MessageFields, RuleConfig, DomainResolver | None], list[CheckFinding]]

# Rule code -> its check. A new rule is a function here plus a ValidationRule row.
CHECKS: dict[str, Check] = {
    "legal_form": lambda fields, rule, resolver: check_legal_forms(fields, rule.severity),
    "placeholder": lambda fields, rule, resolver: check_placeholders(fields, rule.severity),
    "recipient_syntax": lambda fields, rule, resolver: check_recipient_syntax(
        fields, rule.severity
    ),
    "recipient_domain": lambda fields, rule, resolver: check_recipient_domain(
        fields, rule.severity, resolver
    ),
}
# Checks that take the rule itself (for its parameters) and no resolver.
CHECKS.update(
    {
        code: (lambda check: lambda fields, rule, resolver: check(fields, rule))(check)
        for code, check in {
            "recipient_noreply": recipient_risks.check_noreply,
            "recipient_role": recipient_risks.check_role_account,
            "recipient_disposable": recipient_risks.check_disposable,
            "recipient_relay": recipient_risks.check_relay,
            "recipient_typo": recipient_risks.check_typo,
            "recipient_homograph": recipient_risks.check_homograph,
            "generic_greeting": content.check_generic_greeting,
            "empty_content": content.check_empty_content,
            "content_length": content.check_content_length,
            "header_injection": content.check_header_injection,
            "banned_phrase": content.check_banned_phrases,
            "opt_out": content.check_opt_out,
            "personal_value": check_personal_values,
        }.items()
    }
)
# Rules that ask the network; skipped when the caller passes resolver=None (--no-dns).
NEEDS_DNS = {"recipient_domain"}
# Rules that look at the whole batch (or the client's other batches), not one message: the
# validation services run them (recently_contacted: apps/validation/recontact.py).
BATCH_LEVEL = {"duplicate_recipient", "suppressed", "recently_contacted"}


def run_checks(
    fields: MessageFields,
    rules: list[RuleConfig],
    *,
    resolver: DomainResolver | None,
    label: str = "a message",
) -> list[CheckFinding]:
    """label names the message in the log when a check breaks ("message 42", "row 7")."""
    findings: list[CheckFinding] = []
    for rule in rules:
        code = rule.code
        if code in BATCH_LEVEL or (resolver is None and code in NEEDS_DNS):
            continue
        try:
            found = CHECKS[code](fields, rule, resolver)
        except Exception:
            # Unknown is not valid: a broken check (or a rule with no check) must not let the
            # message pass, so a person looks at it.
            logger.exception(
                "validation rule %r (version %s) failed on %s", rule.code, rule.version, label
            )
            findings.append(
                CheckFinding(
                    code=f"{rule.code}.error",
                    severity=REVIEW,
                    field="",
                    start=None,
                    end=None,
                    message=f"The check '{rule.code}' failed to run, so this message could not "
                    "be fully validated: a person must look at it.",
                )
            )
        else:
            if found:  # most checks find nothing
                findings += found
    return findings


def recipient_key(raw: str) -> str:
    """The address as the same mailbox: normalised when valid, else trimmed and lower-cased."""
    parsed = parse_address_or_none(raw)
    return (parsed.address if parsed else raw.strip()).lower()


class BatchChecks:
    """The rules that need the whole batch: the same recipient twice, a suppressed recipient.

    Fed the batch's messages in order (one call per message), so a batch of any size streams
    through in chunks; suppressed is the set of recipient_key()s the caller looked up.
    """

    def __init__(self, rules: list[RuleConfig]):
        self.rules = {rule.code: rule for rule in rules if rule.code in BATCH_LEVEL}
        self._first_seen: dict[str, str] = {}

    def findings(self, raw_address: str, label: str, suppressed: set[str]) -> list[CheckFinding]:
        key = recipient_key(raw_address)
        found = []
        duplicate = self.rules.get("duplicate_recipient")
        if duplicate and key:
            first = self._first_seen.setdefault(key, label)
            if first != label:
                found.append(
                    CheckFinding(
                        "duplicate_recipient", duplicate.severity, "email", None, None,
                        f"{key} is also the recipient of {first} in this batch: they would "
                        "get the message twice.",
                    )
                )
        blocked = self.rules.get("suppressed")
        if blocked and key in suppressed:
            found.append(
                CheckFinding(
                    "suppressed", blocked.severity, "email", None, None,
                    f"{key} is on the suppression list: it must never be sent to.",
                )
            )
        return found
