"""The subject and body as a reader sees them: a greeting that names nobody, an empty or
over-long text, a line break in the subject, phrases the operator banned, a missing opt-out.

Operators tune these through the rule's parameters (see apps/validation/parameters.py, which
checks them on save, so the checks can trust their types).
"""

import re
from functools import lru_cache

from .base import CheckFinding, MessageFields, RuleConfig

# Greetings that show the personalisation failed silently: the template fell back to nobody.
GENERIC_GREETINGS = (
    r"dear\s+(?:sir|madam)\s*(?:/|or|and|&)\s*(?:sir|madam)",
    r"dear\s+(?:sirs?|madam|all|friend|colleague|customer|valued\s+customer|client|user"
    r"|member|recipient|reader|prospect|business\s+owner|hiring\s+manager)",
    r"to\s+whom\s+it\s+may\s+concern",
    r"(?:hi|hello|hey)\s+(?:there|friend|sir|madam|all|everyone|user|customer|name)",
    r"greetings",
)
# A greeting opens the message: only its first lines are read for one.
GREETING_WINDOW = 300
DEFAULT_MAX_SUBJECT_CHARS = 150
DEFAULT_MAX_BODY_CHARS = 8000
DEFAULT_OPT_OUT_PHRASES = (
    "unsubscribe", "opt out", "opt-out", "opt me out", "reply stop", 'reply "stop"',
    "no longer wish", "let me know if you'd rather not",
    "remove you from", "don't want to hear", "do not want to hear",
)
# Everything Python treats as a line end: any of them splits a header in some mail software.
LINE_BREAK_RE = re.compile(r"[\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


@lru_cache(maxsize=256)
def _phrase_regex(phrases: tuple[str, ...], patterns: tuple[str, ...] = ()) -> re.Pattern | None:
    """One case-insensitive alternation: phrases word-bounded, patterns as the operator wrote
    them. Cached per parameter set: rules change rarely, messages arrive by the thousand."""
    parts = [r"(?<!\w)" + re.escape(p) + r"(?!\w)" for p in phrases if p.strip()]
    parts += [f"(?:{p})" for p in patterns if p]
    return re.compile("|".join(parts), re.IGNORECASE | re.MULTILINE) if parts else None


def _strings(rule: RuleConfig, name: str, default=()) -> tuple[str, ...]:
    value = rule.parameters.get(name)
    return tuple(str(v) for v in value) if isinstance(value, list) else tuple(default)


@lru_cache(maxsize=64)
def _greeting_regex(extra: tuple[str, ...]) -> re.Pattern:
    alternatives = list(GENERIC_GREETINGS) + [re.escape(p).replace(r"\ ", r"\s+") for p in extra]
    # At the start of a line only: "dear customers of Acme" mid-sentence is not a greeting.
    return re.compile(
        r"^[ \t]*(?P<greeting>(?:" + "|".join(alternatives) + r"))(?=[\s,.!:;—-]|$)",
        re.IGNORECASE | re.MULTILINE,
    )


# The letters the built-in greetings begin with (a test checks GENERIC_GREETINGS against it).
GREETING_INITIALS = "dthg"


@lru_cache(maxsize=64)
def _greeting_line_breaks(extra: tuple[str, ...]) -> re.Pattern | None:
    """Finds each line break after which a greeting may begin: the next line's first character
    past spaces and tabs is an initial of a greeting, in either case, or is not ASCII (case
    folding reaches beyond ASCII: "ſ" is an "s"). None, every line then tried, when a phrase
    of the operator's does not begin with an ASCII letter."""
    if any(not (p[:1].isascii() and p[:1].isalpha()) for p in extra):
        return None
    initials = set(GREETING_INITIALS) | {p[0].lower() for p in extra}
    letters = "".join(sorted(initials | {ch.upper() for ch in initials}))
    return re.compile(f"\n[ \t]*[{letters}\x80-\U0010ffff]")


def check_generic_greeting(fields: MessageFields, rule: RuleConfig) -> list[CheckFinding]:
    phrases = _strings(rule, "phrases")
    regex = _greeting_regex(phrases)
    return [
        CheckFinding(
            "generic_greeting", rule.severity, "body", m.start("greeting"), m.end("greeting"),
            f"'{m.group('greeting')}' greets nobody in particular: the prospect's name was "
            "probably missing when the message was written.",
        )
        for m in _matches_at_line_starts(
            regex, fields.body, GREETING_WINDOW, _greeting_line_breaks(phrases)
        )
    ]


def _matches_at_line_starts(
    regex: re.Pattern, text: str, end: int, line_breaks: re.Pattern | None = None
) -> list[re.Match]:
    """regex.finditer(text, 0, end) for a regex that can only match where a line starts (^ in
    MULTILINE mode): tried there alone, not at every character of the window. line_breaks, if
    given, finds the line breaks after which a match may begin: the other lines are skipped
    without a try (most lines of a message; the search for them runs in C)."""
    if line_breaks is not None:
        return _matches_after(regex, text, end, line_breaks)
    matches: list[re.Match] = []
    taken = 0  # finditer goes on after a match: a line start inside it is skipped
    start = 0
    while 0 <= start <= end:
        if start >= taken and (match := regex.match(text, start, end)):
            matches.append(match)
            taken = match.end()
        newline = text.find("\n", start, end)
        start = newline + 1 if newline >= 0 else -1
    return matches


def _matches_after(regex: re.Pattern, text: str, end: int, line_breaks: re.Pattern):
    """_matches_at_line_starts at the text's start and after the line breaks found."""
    matches: list[re.Match] = []
    if end < 0:
        return matches
    match = regex.match(text, 0, end)
    taken = match.end() if match else 0
    if match:
        matches.append(match)
    for line_break in line_breaks.finditer(text, 0, end):
        start = line_break.start() + 1
        if start >= taken and (match := regex.match(text, start, end)):
            matches.append(match)
            taken = match.end()
    return matches


def _is_blank(text: str) -> bool:
    # not text.strip(), without copying the text: isspace stops at the first visible character
    return not text or text.isspace()


def check_empty_content(fields: MessageFields, rule: RuleConfig) -> list[CheckFinding]:
    if not (_is_blank(fields.subject) or _is_blank(fields.body)):
        return []  # most messages
    return [
        CheckFinding(
            f"empty_content.{field}", rule.severity, field, None, None,
            f"The {field} is empty.",
        )
        for field in ("subject", "body")
        if _is_blank(getattr(fields, field))
    ]


def check_content_length(fields: MessageFields, rule: RuleConfig) -> list[CheckFinding]:
    subject_limit = int(rule.parameters.get("max_subject_chars", DEFAULT_MAX_SUBJECT_CHARS))
    body_limit = int(rule.parameters.get("max_body_chars", DEFAULT_MAX_BODY_CHARS))
    if len(fields.subject) <= subject_limit and len(fields.body) <= body_limit:
        return []  # most messages
    findings = []
    for field, limit in (("subject", subject_limit), ("body", body_limit)):
        length = len(getattr(fields, field))
        if length > limit:
            findings.append(
                CheckFinding(
                    f"content_length.{field}", rule.severity, field, limit, length,
                    f"The {field} is {length} characters long; the limit is {limit}.",
                )
            )
    return findings


def check_header_injection(fields: MessageFields, rule: RuleConfig) -> list[CheckFinding]:
    match = LINE_BREAK_RE.search(fields.subject)
    if match is None:
        return []
    return [
        CheckFinding(
            "header_injection", rule.severity, "subject", match.start(), match.end(),
            "The subject contains a line break: it could smuggle extra headers into the "
            "message, and mail software may cut the subject there.",
            suggestion=" ",
        )
    ]


def check_banned_phrases(fields: MessageFields, rule: RuleConfig) -> list[CheckFinding]:
    regex = _phrase_regex(_strings(rule, "phrases"), _strings(rule, "patterns"))
    if regex is None:
        return []
    return [
        CheckFinding(
            "banned_phrase", rule.severity, field, m.start(), m.end(),
            f"'{m.group()}' is on the operator's list of phrases not to send.",
        )
        for field in ("subject", "body")
        for m in regex.finditer(getattr(fields, field))
        if m.end() > m.start()  # a pattern that matches the empty string flags nothing
    ]


def check_opt_out(fields: MessageFields, rule: RuleConfig) -> list[CheckFinding]:
    if not rule.parameters.get("required", False):
        return []
    regex = _phrase_regex(_strings(rule, "phrases", DEFAULT_OPT_OUT_PHRASES))
    if regex is not None and regex.search(fields.body):
        return []
    return [
        CheckFinding(
            "opt_out", rule.severity, "body", None, None,
            "This client requires an opt-out line (e.g. 'reply STOP to unsubscribe') and the "
            "body has none.",
        )
    ]
