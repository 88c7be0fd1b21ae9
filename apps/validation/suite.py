"""Runs the enabled rules' checks over one message, failing closed when a check breaks.

A batch validates its messages by calling run_checks in a loop with one DomainResolver, which
remembers every domain it was asked about.
"""

import logging
from collections.abc import Callable

from .checks.base import REVIEW, CheckFinding, MessageFields, RuleConfig
from .checks.legal_forms import check_legal_forms
from .checks.placeholders import check_placeholders
from .checks.recipient import check_recipient_domain, check_recipient_syntax
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
# Rules that ask the network; skipped when the caller passes resolver=None (--no-dns).
NEEDS_DNS = {"recipient_domain"}


def run_checks(
    fields: MessageFields, rules: list[RuleConfig], *, resolver: DomainResolver | None
) -> list[CheckFinding]:
    findings: list[CheckFinding] = []
    for rule in rules:
        if rule.code in NEEDS_DNS and resolver is None:
            continue
        try:
            check = CHECKS[rule.code]
            findings += check(fields, rule, resolver)
        except Exception:
            # Unknown is not valid: a broken check (or a rule with no check) must not let the
            # message pass, so a person looks at it.
            logger.exception("validation check %r failed", rule.code)
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
    return findings
