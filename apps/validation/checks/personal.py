"""Values that are not a name where a name is expected (first_name, last_name, company).

A CRM export or a careless paste puts spreadsheet formulas (=HYPERLINK("http://x","y")),
markup (<b>, <script>) or links in the name columns; a template writes them into the
greeting ("Hi =HYPERLINK(…),") and nothing else notices. Company names with & ! * . or a
domain ("Booking.com") are real names and pass.
"""

import re
from functools import lru_cache

from .base import CheckFinding, MessageFields

PERSONAL_FIELDS = ("first_name", "last_name", "company")

# A spreadsheet runs a cell starting with = + - @ as a formula; a name starts with a letter,
# a digit, a quote or a bracket ("1-800-Flowers", "'t Hooft", "(RED)").
FORMULA_START = re.compile(r"^\s*[=+\-@]")
MARKUP = re.compile(r"<\s*/?\s*[A-Za-z!?][^>]*>|&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);")
LINK = re.compile(r"\b(?:[a-z][a-z0-9+.\-]*://|www\.|javascript:|data:|mailto:)", re.IGNORECASE)
# Unicode's control characters (category Cc: C0, DEL, C1) and lone surrogates (Cs).
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


# Cached: a batch repeats its names (a handful of first names, one company for many
# prospects), and the answer depends on the value alone.
@lru_cache(maxsize=16384)
def not_a_name(value: str) -> str:
    """Why `value` is not a name ("" when it may be one)."""
    if not value:
        return ""
    if FORMULA_START.match(value):
        return "starts like a spreadsheet formula (= + - @)"
    if MARKUP.search(value):
        return "contains markup (an HTML tag or entity)"
    if LINK.search(value):
        return "contains a link"
    if CONTROL.search(value):
        return "contains a control character"
    return ""


def check_personal_values(fields: MessageFields, rule) -> list[CheckFinding]:
    findings = []
    for name in PERSONAL_FIELDS:
        value = getattr(fields, name)
        reason = not_a_name(value)
        if reason:
            findings.append(CheckFinding(
                "personal_value", rule.severity, name, 0, len(value),
                f"The {name.replace('_', ' ')} {reason}: it is not a name, and it is written "
                "into the message as it is.",
            ))
    return findings
