"""Unresolved merge fields ("Hi {{first_name}},") and empty substitutions ("Hi ,").

Every field is scanned, the address too: braces are legal RFC 5322 characters, so an address
like {{first_name}}@acme.com passes a syntax check and only this check catches it.

The merge syntaxes of the tools our clients' templates come from: Jinja/Handlebars/Liquid
({{x}}, {% %}), str.format ({x}), JavaScript (${x}), Mailchimp (*|X|*), Salesforce
({!Contact.FirstName}), Word's mail merge («First_Name», <<First_Name>>), %FIRSTNAME%,
__FIRST_NAME__ and [First Name]. A template that broke half-way leaves a marker without its
end ("{{ first_name" or "first_name}}"), so those count too.

Three syntaxes are also ordinary writing, so a candidate there must look like a merge field:
- [x]: a reference "[1]", an editorial "[sic]" or "[...]" and a Markdown link "[x](url)" are
  text; a bracket starting with a capitalised word ([First Name], [COMPANY], [Industry]) or a
  snake_case name, or naming a merge field in any case ([firstname]), is a placeholder. A
  bracketed tag at the start of a subject ("[Webinar]") is flagged too: templates written by
  language models use exactly that form ("We help [Industry] teams"), and a person can approve
  the tag; a missed placeholder reaches the prospect.
- «x»: French and other languages quote with guillemets, mostly with spaces inside
  ("« bonjour »") but not always («Bonjour»). Word writes a merge field as one token with no
  spaces, so a token with an underscore or an inner capital (First_Name, FirstName), all in
  capitals, or a merge-field name («Company») is a placeholder; «Bonjour» is a quotation.
- __x__: Python's dunders (__init__, __name__) and Markdown's bold (__word__) use the same
  marks. Merge tags in this syntax are written in capitals by convention (__FIRST_NAME__), so
  capitals, or a merge-field name of several words or in mixed case (__first_name__,
  __FirstName__), are placeholders; one lower-case word (__init__, __name__) is code.
And %X%: "100%" and "20% off for 30% of teams" have a space or a digit next to the sign, and
percent-encoded bytes in a link ("%E2%80%99") are two hex digits, so neither is a tag.
"""

import re

from .base import FIELDS, CheckFinding, MessageFields

# One alternation, longest syntax first, so "{{x}}" is one finding and not also "{x}". The
# groups named guillemet, dunder and bracket are candidates that _is_merge_field decides.
PLACEHOLDER_RE = re.compile(
    r"""
      \{\{[^{}\n]{0,80}\}\}                          # {{first_name}} (Jinja, Handlebars)
    | \{\{\s*[A-Za-z_][\w.\-]{0,60}\}?               # {{ first_name  (its end lost)
    | \{%[^\n]{0,80}?%\}                             # {% if ... %}
    | \{![^{}\n]{1,80}\}                             # {!Contact.FirstName} (Salesforce)
    | \{![A-Za-z_][\w.]{0,80}                        # {!Contact.FirstName  (its end lost)
    | \$\{[^{}\n]{1,80}\}                            # ${first_name}
    | \*\|[^|\n]{1,60}\|\*                           # *|FNAME|* (Mailchimp)
    | \*\|[A-Za-z_][\w:]{0,60}                       # *|FNAME  (its end lost)
    | <<[^<>\n]{1,60}>>                              # <<First Name>> (Word)
    | «(?P<guillemet>[^\s«»]{1,60})»                 # «First_Name» (Word)
    | \{\s*[A-Za-z_][\w .\-]{0,60}\}                 # {first_name} (str.format style)
    | %(?![0-9A-Fa-f]{2}%)[A-Za-z_][A-Za-z0-9_]{0,40}%   # %FIRSTNAME% (not %E2%, a byte)
    | __(?<!\w__)(?P<dunder>[A-Za-z][A-Za-z0-9_]{0,60}?)__(?!\w)   # __FIRST_NAME__
    | \[[ ]?(?P<bracket>[A-Za-z][\w'\-]{0,40}(?:[ ][\w'\-]{1,40}){0,5})[ ]?\](?!\()  # not [x](url)
    """,
    re.VERBOSE,
)
# "first_name}}": the start of "{{ first_name }}" lost. Apart, and only where "}}" is: every
# other syntax starts with a mark, so the main pattern is tried only at those marks, but this
# one starts at any letter.
LOST_START_RE = re.compile(r"(?<![\w{])[A-Za-z_][\w.]{0,60} ?\}\}")

# What merge fields are called, written without spaces, underscores, dots or hyphens and in
# lower case: "First_Name", "first name" and "FirstName" all read "firstname".
MERGE_FIELD_NAMES = frozenset(
    """name firstname lastname fullname givenname familyname surname nickname fname lname
    contactname companyname accountname businessname organizationname organisationname
    yourname myname prospectname leadname recipientname sendername username customername
    clientname company organization organisation title jobtitle position role department
    industry city state country region website url domain email emailaddress phone
    phonenumber mobile address product painpoint competitor""".split()
)
_SEPARATORS_RE = re.compile(r"[\s_.\-]+")
_INNER_CAPITAL_RE = re.compile(r"[a-z][A-Z]")


def _field_name(token: str) -> str:
    return _SEPARATORS_RE.sub("", token).lower()


def _is_merge_field(match: re.Match[str]) -> bool:
    """For the syntaxes that are also ordinary writing (see the module's docstring)."""
    if (token := match["guillemet"]) is not None:
        return (
            "_" in token or bool(_INNER_CAPITAL_RE.search(token))
            or (token.isupper() and len(token) > 1) or _field_name(token) in MERGE_FIELD_NAMES
        )
    if (token := match["dunder"]) is not None:
        if token.isupper():
            return True
        one_lower_case_word = token.islower() and "_" not in token
        return not one_lower_case_word and _field_name(token) in MERGE_FIELD_NAMES
    if (token := match["bracket"]) is not None:
        first = token.split(" ", 1)[0]
        capitalised = first[0].isupper() and len(first) > 1
        return capitalised or "_" in first or _field_name(token) in MERGE_FIELD_NAMES
    return True


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
        "{" in text or "}" in text or "%" in text or "[" in text or "$" in text
        or "«" in text or ("*" in text and "*|" in text) or ("<" in text and "<<" in text)
        or ("_" in text and "__" in text)
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
        if _might_have_placeholder(text):
            findings += [
                CheckFinding(
                    code="placeholder",
                    severity=severity,
                    field=field,
                    start=start,
                    end=end,
                    message=f"Unresolved placeholder '{text[start:end]}': the template was not "
                    "filled in for this prospect.",
                )
                for start, end in _placeholder_spans(text)
            ]
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


def _placeholder_spans(text: str) -> list[tuple[int, int]]:
    spans = [m.span() for m in PLACEHOLDER_RE.finditer(text) if _is_merge_field(m)]
    if "}}" in text:
        # "{{ first_name }}" is found whole above; its "first_name }}" is not found again.
        lost = [
            m.span() for m in LOST_START_RE.finditer(text)
            if not any(start <= m.start() < end for start, end in spans)
        ]
        spans = sorted(spans + lost)
    return spans
