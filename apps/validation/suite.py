"""Runs the enabled rules' checks over one message, failing closed when a check breaks.

A batch validates its messages with one CheckPlan, called per message, and one DomainResolver,
which remembers every domain it was asked about.
"""

import logging
from collections.abc import Callable
from typing import Any

from .checks.address_validity import parse_address_or_none
from .checks.base import REVIEW, CheckFinding, MessageFields, RuleConfig
from .dns import DomainResolver
from .specs import BATCH, SPECS, Check, CheckCall

logger = logging.getLogger(__name__)

# Made from the rule specs (apps/validation/specs.py): rule code -> its check.
CHECKS: dict[str, Check] = {spec.code: spec.check for spec in SPECS if spec.check is not None}
# Rules that ask the network; skipped when the caller passes resolver=None (--no-dns).
NEEDS_DNS = {spec.code for spec in SPECS if spec.needs_dns}
# Rules that look at the whole batch (or the client's other batches), not one message: the
# validation services run them (recently_contacted: apps/validation/recontact.py).
BATCH_LEVEL = {spec.code for spec in SPECS if spec.scope == BATCH}


class CheckPlan:
    """The checks of a set of rules, made ready once and run over message after message: a
    batch (or a file) makes one plan and calls it per message, so the per-message loop does
    not sort out, for every rule of every message, which rules run and how each is called."""

    def __init__(self, rules: list[RuleConfig], *, resolver: DomainResolver | None):
        self._steps = [
            self._step(rule, resolver)
            for rule in rules
            if rule.code not in BATCH_LEVEL and (resolver is not None or rule.code not in NEEDS_DNS)
        ]

    @staticmethod
    def _step(
        rule: RuleConfig, resolver: DomainResolver | None
    ) -> tuple[RuleConfig, Callable[[MessageFields, Any], list[CheckFinding]], Any]:
        """(rule, function, argument): the check is function(fields, argument)."""
        check = CHECKS.get(rule.code)
        direct = check.one_argument(rule) if isinstance(check, CheckCall) else None
        if direct is not None:
            return rule, *direct
        # The DNS check, a check put in CHECKS by hand, or none at all (KeyError when run:
        # fails closed like any broken check).
        return rule, lambda fields, _: CHECKS[rule.code](fields, rule, resolver), None

    def __call__(self, fields: MessageFields, label: str = "a message") -> list[CheckFinding]:
        """label names the message in the log when a check breaks ("message 42", "row 7")."""
        findings: list[CheckFinding] = []
        for rule, check, argument in self._steps:
            try:
                found = check(fields, argument)
            except Exception:
                # Unknown is not valid: a broken check (or a rule with no check) must not let
                # the message pass, so a person looks at it.
                logger.exception(
                    "validation rule %r (version %s) failed on %s", rule.code, rule.version, label
                )
                findings.append(_failed_to_run(rule))
            else:
                if found:  # most checks find nothing
                    findings += found
        return findings


def _failed_to_run(rule: RuleConfig) -> CheckFinding:
    return CheckFinding(
        code=f"{rule.code}.error",
        severity=REVIEW,
        field="",
        start=None,
        end=None,
        message=f"The check '{rule.code}' failed to run, so this message could not be fully "
        "validated: a person must look at it.",
    )


def run_checks(
    fields: MessageFields,
    rules: list[RuleConfig],
    *,
    resolver: DomainResolver | None,
    label: str = "a message",
) -> list[CheckFinding]:
    """One message's findings (a loop over many messages makes one CheckPlan instead)."""
    return CheckPlan(rules, resolver=resolver)(fields, label)


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
