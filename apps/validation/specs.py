"""Every validator rule, written down once.

A RuleSpec says what a rule is: its code, its default severity, the parameters it takes, what
it means in plain words for reviewers (the rule's description in the admin) and for clients
(the portal and the API), and the check that runs it. Everything else is made from SPECS:

- the registry the suite runs (suite.CHECKS, NEEDS_DNS, BATCH_LEVEL),
- the ValidationRule rows (services.rules_sync, run after every `migrate`),
- the parameter schemas the admin checks and describes (parameters.SCHEMAS),
- the client's wording of a finding (client_words).

Adding a rule is one RuleSpec here and one check function in checks/ (docs/rules.md).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .checks import content, recipient_risks
from .checks.address_validity import check_recipient_domain, check_recipient_syntax
from .checks.base import BLOCK, REVIEW, CheckFinding, MessageFields, RuleConfig
from .checks.legal_forms import check_legal_forms
from .checks.personal import check_personal_values
from .checks.placeholders import check_placeholders
from .dns import DomainResolver

# The suite calls every check the same way; the resolver is None when DNS is off (the validate
# command's --no-dns).
Check = Callable[[MessageFields, RuleConfig, DomainResolver | None], list[CheckFinding]]

STRING_LIST, REGEX_LIST = "list of texts", "list of regular expressions"
INTEGER, BOOLEAN = "whole number", "true or false"

# Where a rule runs: on each message by the suite, or over the batch by the validation services
# (the same recipient twice needs the whole batch; suppression and re-contact need the database).
MESSAGE, BATCH = "message", "batch"

CLIENT_WORDS_UNKNOWN = "A check flagged this for a person to look at."


@dataclass(frozen=True)
class Param:
    """One parameter an operator may set: its type, and for a whole number its range (a limit
    of 0, or past what a message can hold, is a typo, not a setting)."""

    kind: str
    low: int | None = None
    high: int | None = None


@dataclass(frozen=True)
class RuleSpec:
    code: str
    severity: str  # the default; operators change it per rule and per client
    reviewers: str  # for staff: what it flags, stored as ValidationRule.description
    clients: str  # for a client reading why a batch was held: no jargon, no parameters
    check: Check | None = None  # None: a batch-level rule the validation services run
    parameters: dict[str, Param] = field(default_factory=dict)
    scope: str = MESSAGE
    needs_dns: bool = False  # skipped when the caller passes resolver=None


# What a check takes besides the message's fields.
TAKES_RULE, TAKES_SEVERITY, TAKES_RESOLVER = "rule", "severity", "severity and resolver"


@dataclass(frozen=True)
class CheckCall:
    """A check function and what it takes besides the fields: called as every check is (fields,
    rule, resolver), and read by the suite's CheckPlan, which calls the function itself once
    per message instead of through this adapter (one Python call less per rule and message)."""

    function: Callable[..., list[CheckFinding]]
    takes: str

    def one_argument(
        self, rule: RuleConfig
    ) -> tuple[Callable[..., list[CheckFinding]], Any] | None:
        """(function, argument) when the check takes one thing besides the fields (the rule or
        its severity): it is function(fields, argument). None for one that takes more."""
        if self.takes == TAKES_RULE:
            return self.function, rule
        if self.takes == TAKES_SEVERITY:
            return self.function, rule.severity
        return None

    def __call__(
        self, fields: MessageFields, rule: RuleConfig, resolver: DomainResolver | None
    ) -> list[CheckFinding]:
        direct = self.one_argument(rule)
        if direct is not None:
            function, argument = direct
            return function(fields, argument)
        return self.function(fields, rule.severity, resolver)


def taking_rule(check: Callable[[MessageFields, RuleConfig], list[CheckFinding]]) -> CheckCall:
    """A check that reads the rule (its severity and parameters): the usual kind."""
    return CheckCall(check, TAKES_RULE)


def taking_severity(check: Callable[[MessageFields, str], list[CheckFinding]]) -> CheckCall:
    return CheckCall(check, TAKES_SEVERITY)


def taking_resolver(
    check: Callable[[MessageFields, str, DomainResolver | None], list[CheckFinding]],
) -> CheckCall:
    return CheckCall(check, TAKES_RESOLVER)


SPECS: tuple[RuleSpec, ...] = (
    # --- The text ------------------------------------------------------------------------------
    RuleSpec(
        code="legal_form", severity=BLOCK,
        reviewers="A company legal form (Inc., GmbH, Ltd …) left in the subject or body.",
        clients="A company legal form (like “Inc.” or “GmbH”) was left in the text.",
        check=taking_severity(check_legal_forms),
    ),
    RuleSpec(
        code="placeholder", severity=BLOCK,
        reviewers="A placeholder left unresolved in any merge syntax ({{first_name}}, "
                  "%FIRSTNAME%, [firstname], «First_Name», {!Contact.FirstName}, *|FNAME|*, "
                  "__FIRST_NAME__ …), closed or not.",
        clients="A placeholder (like {{first_name}}) was left unfilled.",
        check=taking_severity(check_placeholders),
    ),
    RuleSpec(
        code="personal_value", severity=BLOCK,
        reviewers="A name or company that is not one: a spreadsheet formula, markup or a link.",
        clients="A name or company in your prospect list does not look like a name (it looks "
                "like a spreadsheet formula, web code or a link).",
        check=taking_rule(check_personal_values),
    ),
    RuleSpec(
        code="generic_greeting", severity=REVIEW,
        reviewers="A greeting that names nobody (Dear Sir/Madam …).",
        clients="The message opens with a greeting that names nobody (like “Dear Sir or "
                "Madam”).",
        check=taking_rule(content.check_generic_greeting),
        parameters={"phrases": Param(STRING_LIST)},
    ),
    RuleSpec(
        code="empty_content", severity=BLOCK,
        reviewers="The subject or body is empty.",
        clients="The message has an empty subject line or an empty text.",
        check=taking_rule(content.check_empty_content),
    ),
    RuleSpec(
        code="content_length", severity=REVIEW,
        reviewers="The subject or body is longer than the set limit.",
        clients="The subject line or the text is longer than the limit set for messages.",
        check=taking_rule(content.check_content_length),
        parameters={
            "max_subject_chars": Param(INTEGER, 1, 1000),
            "max_body_chars": Param(INTEGER, 1, 100_000),
        },
    ),
    RuleSpec(
        code="header_injection", severity=BLOCK,
        reviewers="A line break in the subject.",
        clients="The subject line breaks onto a second line, which mail programs can misread.",
        check=taking_rule(content.check_header_injection),
    ),
    RuleSpec(
        code="banned_phrase", severity=REVIEW,
        reviewers="A phrase on the operator's list (parameters: phrases, patterns).",
        clients="The message uses a phrase on our list of words to avoid.",
        check=taking_rule(content.check_banned_phrases),
        parameters={"phrases": Param(STRING_LIST), "patterns": Param(REGEX_LIST)},
    ),
    RuleSpec(
        code="opt_out", severity=BLOCK,
        reviewers="No opt-out line where the client requires one (parameter required).",
        clients="The message has no line telling the reader how to stop receiving e-mail, "
                "which your account requires.",
        check=taking_rule(content.check_opt_out),
        parameters={"required": Param(BOOLEAN), "phrases": Param(STRING_LIST)},
    ),
    # --- The recipient -------------------------------------------------------------------------
    RuleSpec(
        code="recipient_syntax", severity=BLOCK,
        reviewers="The recipient address is not a valid e-mail address.",
        clients="The recipient address is not a valid e-mail address.",
        check=taking_severity(check_recipient_syntax),
    ),
    RuleSpec(
        code="recipient_domain", severity=BLOCK,
        reviewers="The recipient's domain cannot receive mail. A lookup that cannot tell is "
                  "review.",
        clients="The recipient's domain may not accept mail.",
        check=taking_resolver(check_recipient_domain), needs_dns=True,
    ),
    RuleSpec(
        code="recipient_noreply", severity=BLOCK,
        reviewers="The recipient is a no-reply mailbox nobody reads.",
        clients="The recipient address is a “no-reply” mailbox that nobody reads.",
        check=taking_rule(recipient_risks.check_noreply),
        parameters={"local_parts": Param(STRING_LIST)},
    ),
    RuleSpec(
        code="recipient_role", severity=REVIEW,
        reviewers="The recipient is a shared role inbox (info@, sales@ …).",
        clients="The recipient address is a shared team inbox (like info@ or sales@), not a "
                "person.",
        check=taking_rule(recipient_risks.check_role_account),
        parameters={"local_parts": Param(STRING_LIST)},
    ),
    RuleSpec(
        code="recipient_disposable", severity=BLOCK,
        reviewers="The recipient's provider is a throw-away mail service.",
        clients="The recipient address is at a throw-away mail service.",
        check=taking_rule(recipient_risks.check_disposable),
        parameters={"domains": Param(STRING_LIST), "allowed_domains": Param(STRING_LIST)},
    ),
    RuleSpec(
        code="recipient_relay", severity=REVIEW,
        reviewers="The recipient is a privacy relay (slmail.me …).",
        clients="The recipient address is a privacy forwarding address that hides the real "
                "one.",
        check=taking_rule(recipient_risks.check_relay),
        parameters={"domains": Param(STRING_LIST)},
    ),
    RuleSpec(
        code="recipient_typo", severity=REVIEW,
        reviewers="The domain looks like a typo of a major provider.",
        clients="The recipient address looks mistyped (like gmial.com for gmail.com).",
        check=taking_rule(recipient_risks.check_typo),
        parameters={"known_domains": Param(STRING_LIST)},
    ),
    RuleSpec(
        code="recipient_homograph", severity=REVIEW,
        reviewers="The address mixes scripts (a look-alike address); the finding names the "
                  "letters.",
        clients="The recipient address mixes letters from different alphabets, as look-alike "
                "addresses do.",
        check=taking_rule(recipient_risks.check_homograph),
    ),
    RuleSpec(
        code="recipient_reserved", severity=BLOCK,
        reviewers="The recipient's domain is a reserved example name (example.com, .example "
                  "…): sample data, nobody's mailbox.",
        clients="The recipient address is a made-up example address (like name@example.com), "
                "not a real person's.",
        check=taking_rule(recipient_risks.check_reserved),
    ),
    # --- The batch and the client's history (run by apps/validation/services.py) --------------
    RuleSpec(
        code="duplicate_recipient", severity=BLOCK, scope=BATCH,
        reviewers="The same recipient twice in one batch.",
        clients="The same person is in this batch more than once, so they would get the "
                "message twice.",
    ),
    RuleSpec(
        code="suppressed", severity=BLOCK, scope=BATCH,
        reviewers="The recipient is on the client's or the global suppression list.",
        clients="The recipient asked not to be contacted, or their address bounced before: "
                "they are on the do-not-mail list.",
    ),
    RuleSpec(
        code="recently_contacted", severity=REVIEW, scope=BATCH,
        reviewers="The client mailed this person recently (within its re-contact cap) or has "
                  "them in another batch in review, approved or sending.",
        clients="You contacted this person recently, or they are in another of your batches "
                "that is waiting or sending.",
    ),
)

BY_CODE: dict[str, RuleSpec] = {spec.code: spec for spec in SPECS}


def client_words(rule_code: str) -> str:
    """A finding's rule in a client's words; "legal_form.error" (the check broke) reads as its
    rule. A code no spec names (a finding written by another stage) gets a general sentence."""
    spec = BY_CODE.get(rule_code.split(".", 1)[0])
    return spec.clients if spec else CLIENT_WORDS_UNKNOWN
