"""Unresolved merge fields ("Hi {{first_name}},") and empty substitutions ("Hi ,").

Every field is scanned, the address too: braces are legal RFC 5322 characters, so an address
like {{first_name}}@acme.com passes a syntax check and only this check catches it.
"""

import re

from .base import FIELDS, CheckFinding, MessageFields

# One alternation, longest syntax first, so "{{x}}" is one finding and not also "{x}".
PLACEHOLDER_RE = re.compile(
    r"""
      \{\{[^{}\n]{0,80}\}\}                          # {{first_name}} (Jinja, Handlebars)
    | \{%[^\n]{0,80}?%\}                             # {% if ... %}
    | \$\{[^{}\n]{1,80}\}                            # ${first_name}
    | \*\|[^|\n]{1,60}\|\*                           # *|FNAME|* (Mailchimp)
    | <<[^<>\n]{1,60}>>                              # <<First Name>>
    | \{\s*[A-Za-z_][\w .\-]{0,60}\}                 # {first_name} (str.format style)
    | %[A-Za-z_][A-Za-z0-9_]{0,40}%                  # %FIRSTNAME% (merge tags)
    | \[\s*(?:[A-Z][\w'\-]*|[a-z]+_[\w]+)            # [First Name], [COMPANY], [first_name]
        (?:[ _](?:[A-Z][\w'\-]*|[a-z]+))*\s*\](?!\()  # ...but not a Markdown link [x](url)
    """,
    re.VERBOSE,
)

# A greeting whose name came out empty: "Hi ," or "Hi  team" (two spaces where the name was).
EMPTY_GREETING_RE = re.compile(
    r"\b(?:hi|hello|hey|dear|greetings|good (?:morning|afternoon|evening))"
    r"(?P<gap>[ \t]+(?=,)|[ \t]{2,}(?=\w))",
    re.IGNORECASE,
)


def _might_have_placeholder(text: str) -> bool:
    # Every placeholder syntax has one of these. Most texts have none, and str's "in" is a
    # plain substring search, far cheaper than the full pattern, which runs only where it might
    # match. A one-character test goes first: it takes a faster path than a two-character one.
    return (
        "{" in text or "%" in text or "[" in text or "$" in text
        or ("*" in text and "*|" in text) or ("<" in text and "<<" in text)
    )


def _might_have_gap(text: str) -> bool:
    # An empty substitution leaves a blank before a comma, or two blanks.
    return " ," in text or "  " in text or "\t" in text


# The prospect's own values: written into the message, never sent as they are.
PROSPECT_FIELDS = ("first_name", "last_name", "company")


def _shown(field: str, value: str, fields: MessageFields) -> bool:
    """Whether a placeholder in this field can reach the reader. The address always can; a
    prospect's name only where the message shows it: once a reviewer has put "there" where
    "[First Name]" stood, the prospect's name no longer blocks the message. A list checked
    before any text is written (no subject, no body) is judged on its values alone."""
    if field not in PROSPECT_FIELDS or not (fields.subject or fields.body):
        return True
    return value in fields.subject or value in fields.body


def check_placeholders(fields: MessageFields, severity: str) -> list[CheckFinding]:
    # The happy path: one test over all the fields at once. No marker contains a line break,
    # so none can straddle two fields joined by one.
    everything = "\n".join(
        (fields.email, fields.first_name, fields.last_name, fields.company, fields.subject,
         fields.body)
    )
    if not (_might_have_placeholder(everything) or _might_have_gap(everything)):
        return []
    findings = []
    for field in FIELDS:
        text = getattr(fields, field)
        if not text or not _shown(field, text, fields):
            continue
        placeholders = PLACEHOLDER_RE.finditer(text) if _might_have_placeholder(text) else ()
        for match in placeholders:
            findings.append(
                CheckFinding(
                    code="placeholder",
                    severity=severity,
                    field=field,
                    start=match.start(),
                    end=match.end(),
                    message=f"Unresolved placeholder '{match.group()}': the template was not "
                    "filled in for this prospect.",
                )
            )
        for match in EMPTY_GREETING_RE.finditer(text) if _might_have_gap(text) else ():
            findings.append(
                CheckFinding(
                    code="placeholder.empty",
                    severity=severity,
                    field=field,
                    start=match.start("gap"),
                    end=match.end("gap"),
                    message="The greeting has no name: a placeholder was filled with nothing.",
                )
            )
    return findings
