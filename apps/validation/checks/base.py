"""What every check takes and returns: plain data in, findings out, no database."""

from dataclasses import dataclass, field
from typing import Any

BLOCK, REVIEW, WARN = "block", "review", "warn"
SEVERITY_ORDER = {BLOCK: 3, REVIEW: 2, WARN: 1}
FIELDS = ("email", "first_name", "last_name", "company", "subject", "body")


@dataclass(frozen=True)
class MessageFields:
    """One message as the validators see it: the recipient, what it was made from, the text."""

    email: str = ""
    first_name: str = ""
    last_name: str = ""
    company: str = ""
    subject: str = ""
    body: str = ""


@dataclass(frozen=True)
class CheckFinding:
    """start/end are offsets into that field's text (None: the whole field); suggestion, when
    not None, replaces text[start:end] to fix the finding."""

    code: str
    severity: str
    field: str
    start: int | None
    end: int | None
    message: str
    suggestion: str | None = None


@dataclass(frozen=True)
class RuleConfig:
    """An enabled rule as the suite runs it (loaded from ValidationRule rows)."""

    code: str
    severity: str
    version: int = 1
    parameters: dict[str, Any] = field(default_factory=dict)
    # The version of the client's override that adjusted the rule; None: no override applied.
    override_version: int | None = None


def verdict_of(findings) -> str:
    severities = {f.severity for f in findings}
    if BLOCK in severities:
        return BLOCK
    if REVIEW in severities:
        return REVIEW
    return "pass"
