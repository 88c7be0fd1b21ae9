"""Company legal forms left in the text: "Hi Acme Inc. team," reads as machine-written.

The terms (legal_form_terms.py) are our own list (legal_forms.csv) merged with ISO 20275, the
GLEIF Entity Legal Forms list, and curated (legal_form_curation.csv). Each has a position and
an ambiguity:
- ambiguous: the term is also an ordinary word or abbreviation (Limited, Company, AG, SA,
  SE...), so in a message it is flagged only right next to the prospect's company name;
- position: suffix (after the name), prefix (before it: PT Telkom) or any (CJK forms, which are
  written without spaces on either side, and the forms that lead names in the Baltics, Russia,
  the Nordics: UAB Maxima, OOO Romashka, AB Volvo).
Ordinary uses of a form's spelling are not flagged (_ORDINARY_USES: "Inc. magazine", "inc. VAT",
"PLC programming"), nor is a form written in lower case ("inc.", "spa") unless it stands next to
the company's name.

Every term becomes a pattern tolerant of case, dots and spacing ("Pvt Ltd" = "Pvt. Ltd."),
bounded by word edges, its own abbreviation dot included ("Acme LLC. is" -> "LLC."); all of
them are compiled once, at import, into one alternation with one named group per term so a
match says which term it was.
"""

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from types import MappingProxyType

from .base import CheckFinding, MessageFields
from .legal_form_terms import LegalTerm, is_cjk, load_terms

SCANNED_FIELDS = ("subject", "body")


# Word edges. A hyphen counts as part of a word ("Coca-Cola" holds no "Co", "co-founder" no
# "co"); CJK characters do not, since they are written right against Latin ones ("公司UG").
_CJK_RANGES = "\u3040-\u9fff\uac00-\ud7af"
# (?-i:…): CJK has no case, and without the flag the class is compiled for both cases, which
# makes every term's regex slower to compile.
_LATIN_WORD_CHAR = f"(?-i:[^\\W{_CJK_RANGES}])"  # \w, CJK left out
EDGE_BEFORE = f"(?<!{_LATIN_WORD_CHAR})(?<!-)"
# After a term: neither "-" nor a word character unless a CJK one. Spelled as a lookahead on
# \w (a category, cheap to compile) and the two CJK ranges rather than one class "\w less
# CJK", which the re compiler builds character by character: every term's regexes carry it.
EDGE_AFTER = f"(?!-|(?=\\w)(?-i:(?![{_CJK_RANGES}])))"
# The same edge in an ASCII text, where no character is CJK. The CJK ranges are what makes a
# term's regex slow to compile, and most texts are ASCII: they get regexes spelled with this.
ASCII_EDGE_AFTER = r"(?![-\w])"


def _for_ascii_text(pattern: str) -> str:
    """The pattern as it reads on ASCII text: the same matches, quicker to compile."""
    return pattern.replace(EDGE_AFTER, ASCII_EDGE_AFTER)


def _tokens(term: str) -> list[str]:
    return re.findall(r"\w+|[^\w\s.,]|[\s.,]+", term)


def _is_separator(token: str) -> bool:
    return re.fullmatch(r"[\s.,]+", token) is not None


def _term_pattern(term: str) -> str:
    """The regex for one term: inner dots required ("a.s." must not match "as"), a dot before
    a space optional ("Pvt Ltd"), a final dot optional ("Inc"), any spacing around & / ( )
    inside the term. Word edges are added where the term starts or ends with a letter: a
    term that ends in ")" needs none ("UG (haftungsbeschränkt)UG ..." holds two)."""
    tokens = _tokens(term)
    parts = []
    for index, token in enumerate(tokens):
        first, last = index == 0, index == len(tokens) - 1
        if _is_separator(token):
            if last:
                parts.append(r"\.?" if "." in token else "")
            elif token.strip(".") == "":
                parts.append(r"\.\s?")
            else:
                parts.append(r"[.,]*\s*")
        elif re.fullmatch(r"\w+", token):
            parts.append(re.escape(token))
        else:
            parts.append(("" if first else r"\s*") + re.escape(token) + ("" if last else r"\s*"))
    pattern = "".join(parts)
    if is_cjk(term):
        return pattern
    words = [t for t in tokens if not _is_separator(t)]
    if re.fullmatch(r"\w+", words[-1]):
        if not _is_separator(tokens[-1]):
            pattern += r"\.?"  # its own abbreviation dot: "Acme LLC. is hiring"
        pattern += EDGE_AFTER
    return pattern


def _starts_with_word(term: str) -> bool:
    return not is_cjk(term) and re.match(r"\w", term) is not None


def _compile(terms: list[LegalTerm]) -> tuple[str, dict[str, LegalTerm], dict[str, str]]:
    by_group: dict[str, LegalTerm] = {}
    pattern_of: dict[str, str] = {}
    seen: set[str] = set()
    word_start: list[str] = []
    other_start: list[str] = []
    for term in terms:
        pattern = _term_pattern(term.term)
        if pattern.lower() in seen:  # "Co. Ltd." and "Co., Ltd." compile to the same thing
            continue
        seen.add(pattern.lower())
        group = f"t{len(by_group)}"
        by_group[group] = term
        pattern_of[group] = pattern
        named = f"(?P<{group}>{pattern})"
        (word_start if _starts_with_word(term.term) else other_start).append(named)
    # The start edge stands outside the alternation so that inside a word, where most
    # positions are, one failed look-behind skips every term instead of one look-behind each.
    alternation = EDGE_BEFORE + "(?:" + "|".join(word_start) + r")|" + "|".join(other_start)
    return alternation, by_group, pattern_of


class _CompiledOnUse(dict):
    """Patterns by key, each compiled (case-insensitive) the first time it is asked for.

    Compiling every term's regexes at import cost every process seconds at start-up (each
    carries the word-edge character classes, whose large CJK ranges the re compiler expands
    one character at a time); a message meets a handful of terms, so most are never needed.
    """

    def __init__(self, patterns: dict[str, str], *, ascii_text: bool = False):
        super().__init__()
        self.patterns = patterns
        self.ascii_text = ascii_text  # spelled for ASCII text only (_for_ascii_text)

    def ascii(self) -> "_CompiledOnUse":
        """The same patterns, compiled for ASCII text."""
        return _CompiledOnUse(self.patterns, ascii_text=True)

    def __missing__(self, key: str) -> re.Pattern:
        pattern = self.patterns[key]
        if self.ascii_text:
            pattern = _for_ascii_text(pattern)
        regex = _COMPILED.get(pattern)
        if regex is None:
            regex = _COMPILED[pattern] = re.compile(pattern, re.IGNORECASE)
        self[key] = regex
        return regex


class _AlternationOfGroups(dict):
    """Key -> the alternation of its groups' patterns, each a named group, spelled the first
    time it is asked for: most keys are never met, and spelling them all cost every process
    ~50 ms at start-up. groups_by_key is shared, not copied: keys added to it later are
    spelled too."""

    def __init__(self, groups_by_key: Mapping[str, list[str]]):
        super().__init__()
        self.groups_by_key = groups_by_key

    def __missing__(self, key: str) -> str:
        alternatives = "|".join(f"(?P<{g}>{_PATTERN_OF[g]})" for g in self.groups_by_key[key])
        self[key] = pattern = f"(?:{alternatives})"
        return pattern

    def __iter__(self):
        return iter(self.groups_by_key)


# One compiled regex per pattern, shared by every key spelled to it: a term's keys (" s a",
# "s.a", "s. a" ...) all try the same alternation of its terms.
_COMPILED: dict[str, re.Pattern] = {}


TERMS = load_terms()
_ALTERNATION, TERM_BY_GROUP, _PATTERN_OF = _compile(TERMS)


def _term_of(match: re.Match[str]) -> LegalTerm:
    """The term a match of the alternation found: each term is a named group of its own."""
    return TERM_BY_GROUP[match.lastgroup or ""]
# The whole alternation, in three shapes: what the fast scan must agree with, and the path
# taken without pyahocorasick or for text whose lower case changes length.
_WHOLE = _CompiledOnUse({
    "anywhere": _ALTERNATION,
    "trailing": r"[\s,/]*(?:" + _ALTERNATION + r")\s*$",
    "leading": r"^\s*(?:" + _ALTERNATION + r")\s*",
})


def legal_form_regex() -> re.Pattern:
    """Every legal form as one regex (slow: find_legal_forms finds the same matches faster)."""
    return _WHOLE["anywhere"]


# What may stand between two forms of one run: spaces, commas, and the slash of bilingual
# forms ("SA/NV", "Inc./Ltée").
_BETWEEN_FORMS_RE = re.compile(r"[\s,/]*")


def _past_separators(text: str, position: int) -> int:
    """Where the spaces, commas and slashes from `position` on end."""
    found = _BETWEEN_FORMS_RE.match(text, position)
    return found.end() if found else position  # never None: the pattern matches nothing too
_GROUP_ORDER = {group: index for index, group in enumerate(TERM_BY_GROUP)}


# --- The fast scan ----------------------------------------------------------------------------
# One regex alternation tries every term at every position of the text, so its cost is the
# text's length times the number of terms. Instead an Aho-Corasick automaton finds, in one pass
# over the lower-cased text, the places where some term can begin (its first word, or first two
# when the first is one letter: "a." of "a.s.", not every article "a"), and only there are that
# term's own regexes tried. The regexes decide; the automaton only skips the places where no
# term can start.

# What the separators between a term's first two words may look like in a key: what people
# type. The regexes allow more (two spaces, a tab: "S.  de R.L."); such a text is found
# whole by find_legal_forms(fast=False) and in pieces (a run of forms) by the fast scan.
_SEPARATOR_VARIANTS = {
    "dots": (".", ". ", ".\n"),
    "space": ("", " ", ".", ". ", ",", ", ", ".,", "., ", "\n", ".\n", ",\n"),
}


def _is_word(token: str) -> bool:
    return re.fullmatch(r"\w+", token) is not None


def _gaps(separator: str) -> tuple[str, ...]:
    """How the text between two words of a term may look, as the keys spell it."""
    if _is_separator(separator):
        return _SEPARATOR_VARIANTS["dots" if separator.strip(".") == "" else "space"]
    return (separator, " " + separator, separator + " ", " " + separator + " ")  # "a/s", "a / s"


def _may_follow(tokens: list[str], index: int) -> frozenset[str]:
    """The word characters that may come right after tokens[index] in a match: none when a
    dot, a symbol or the end must come first; the next word's first letter when the space
    between may shrink to nothing ("GmbH" for "G M B H")."""
    if index + 1 < len(tokens) and tokens[index + 1] == "-":
        return frozenset("-")  # "spółka komandytowo-akcyjna": the word goes on after a hyphen
    if index + 2 < len(tokens) and _is_separator(tokens[index + 1]):
        separator, after = tokens[index + 1], tokens[index + 2]
        if separator.strip(".") != "" and _is_word(after):
            return frozenset(after[0])
    return frozenset()


def _keys(term: str) -> list[tuple[str, frozenset[str] | None]]:
    """The lower-case strings a match of the term starts with, as the automaton looks for them,
    each with the word characters allowed right after it (None: anything)."""
    text = term.lower()
    if is_cjk(term):
        return [(text, None)]
    tokens = _tokens(text)
    if not _starts_with_word(term):
        return [(tokens[0], None)]  # "(" of "(Pty) Ltd", "&" of "& Co."
    # Two words where the term has them, so that "and" in prose is not a hit for "and Co.",
    # nor "a" for "a.s."; one where the second is not a word ("UG (haftungsbeschränkt)").
    if len(tokens) >= 3 and _is_word(tokens[2]):
        return [(tokens[0] + gap + tokens[2], _may_follow(tokens, 2)) for gap in _gaps(tokens[1])]
    return [(tokens[0], _may_follow(tokens, 0))]


_TERM_RE = _CompiledOnUse(_PATTERN_OF)
_TERM_TO_END_RE = _CompiledOnUse({g: f"(?:{p})\\s*$" for g, p in _PATTERN_OF.items()})
_ASCII_TERM_RE, _ASCII_TERM_TO_END_RE = _TERM_RE.ascii(), _TERM_TO_END_RE.ascii()


def _build_scanner():
    try:
        import ahocorasick
    except ImportError:  # the regex alternation still works, slowly
        return None, _CompiledOnUse({}), {}
    groups_by_key: dict[str, list[str]] = {}
    follow_by_key: dict[str, frozenset[str] | None] = {}
    for group, term in TERM_BY_GROUP.items():
        for key, may_follow in _keys(term.term):
            groups_by_key.setdefault(key, []).append(group)
            if may_follow is None or follow_by_key.get(key, frozenset()) is None:
                follow_by_key[key] = None
            else:
                follow_by_key[key] = follow_by_key.get(key, frozenset()) | may_follow
    automaton = ahocorasick.Automaton()
    regex_by_key = _CompiledOnUse(_AlternationOfGroups(groups_by_key))
    for key, groups in groups_by_key.items():
        start_edge = _starts_with_word(TERM_BY_GROUP[groups[0]].term)
        automaton.add_word(key, (key, len(key), start_edge, follow_by_key[key]))
    automaton.make_automaton()
    return automaton, regex_by_key, groups_by_key


# The scan of an ASCII text (most messages) goes further. Nearly all automaton hits in prose are
# short keys inside words ("se" in "these", "co" in "could"), each costing a Python loop turn to
# throw away. So the ASCII text is first mapped, in one bytes.translate, to lower case with
# every character that is not a word character (letters, digits, "_", "-") made a space, and
# the automaton holds every word-start key mapped the same way behind a space: " co", " s a"
# (for "s.a", "s a", "s/a"). A hit then is a key at a word start, and nothing else. Keys that
# collapse into one map to all of their terms, so the regexes at a start are a superset of what
# the plain scan tries (they still decide); the few keys that start without a word ("(", "&")
# are found by str.find. pyahocorasick finds a node's child by a linear scan of its children,
# so the first letters after the space are added in English letter-frequency order.
_LETTER_FREQUENCY = " etaoinshrdlcumwfgypbvkjxqz"
_WORD_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789_-")
# Lower-cases ASCII letters, keeps the other word characters, makes everything else a space.
_TO_WORDS = bytes(
    c + 0x20 if 0x41 <= c <= 0x5A else c if c in _WORD_BYTES else 0x20 for c in range(256)
)


def _frequency_rank(key: str) -> tuple[int, ...]:
    return tuple(
        _LETTER_FREQUENCY.find(ch) if ch in _LETTER_FREQUENCY else len(_LETTER_FREQUENCY)
        for ch in key
    )


def _to_words(ascii_text: str) -> str:
    return ascii_text.encode("ascii").translate(_TO_WORDS).decode("ascii")


def _word_start_scanner(automaton):
    """(automaton of the ASCII word-start keys as _to_words spells them, edges included; the
    ASCII keys that need no word start, such as "(")."""
    if automaton is None:  # pyahocorasick is not installed
        return None, ()
    import ahocorasick

    groups_by_key: dict[str, set[str]] = {}
    follow_by_key: dict[str, frozenset[str]] = {}
    symbols = []
    for key in (k for k in automaton if k.isascii()):
        _, _, start_edge, may_follow = automaton.get(key)
        if not start_edge:
            symbols.append(key)
            continue
        mapped = _to_words(key)
        groups_by_key.setdefault(mapped, set()).update(_GROUPS_BY_KEY[key])
        follow_by_key[mapped] = follow_by_key.get(mapped, frozenset()) | may_follow
    assert all(len(symbol) == 1 for symbol in symbols), symbols  # found one by one, by str.find
    edge_automaton = ahocorasick.Automaton()
    for mapped in sorted(groups_by_key, key=_frequency_rank):
        groups = sorted(groups_by_key[mapped], key=_GROUP_ORDER.__getitem__)
        _GROUPS_BY_KEY[mapped] = groups
        # The edges are part of what the automaton looks for: a space before, and after it a
        # space or a letter the term may run on with ("gmbh" of "G M B H"). Its hits are the
        # places to try, nothing else. It reports where the key ends, edge after included.
        for after in sorted(follow_by_key[mapped] | {" "}):
            edged = " " + mapped + after
            edge_automaton.add_word(edged, (mapped, len(edged) - 1))
    edge_automaton.make_automaton()
    return edge_automaton, tuple(symbols)


_AUTOMATON, _REGEX_BY_KEY, _GROUPS_BY_KEY = _build_scanner()
_WORD_START_AUTOMATON, _ASCII_SYMBOL_KEYS = _word_start_scanner(_AUTOMATON)
_ASCII_REGEX_BY_KEY = _REGEX_BY_KEY.ascii()


_ASCII_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-")  # in lower-cased text


def _is_word_char(ch: str) -> bool:
    # What EDGE_BEFORE and EDGE_AFTER treat as inside a word.
    if ch.isalnum():
        return not ("\u3040" <= ch <= "\u9fff" or "\uac00" <= ch <= "\ud7af")
    return ch == "_" or ch == "-"


def find_legal_forms(text: str, *, fast: bool = True) -> list[re.Match]:
    """Every legal form in the text, left to right, not overlapping: the matches of
    legal_form_regex().finditer(text), found by the fast scan above (fast=False: by the regex
    itself; docs/performance.md compares the two)."""
    starts = _candidate_starts(text) if fast else None
    if starts is None:
        return list(legal_form_regex().finditer(text))
    regex_by_key = _ASCII_REGEX_BY_KEY if text.isascii() else _REGEX_BY_KEY
    matches, taken_until = [], 0
    for start in sorted(starts):
        if start < taken_until:
            continue
        keys = starts[start]
        if len(keys) == 1:  # most starts: one key, so no choice between its matches
            best = regex_by_key[keys[0]].match(text, start)
        else:
            found = [m for key in keys if (m := regex_by_key[key].match(text, start))]
            best = min(found, key=lambda m: _GROUP_ORDER[m.lastgroup]) if found else None
        if best is not None:
            matches.append(best)
            taken_until = best.end()
    return matches


def _candidate_starts(text: str) -> Mapping[int, list[str]] | None:
    """Where a term may start in the text -> the automaton keys found there; None when the
    automaton cannot be used (not installed, or lower-casing changes the text's length, as
    "İ" does, so that offsets would drift)."""
    if _AUTOMATON is None:
        return None
    if len(text) <= SHORT_TEXT:
        return _kept_candidate_starts(text)
    return _scanned_candidate_starts(text)


# A subject, a company name: short texts that come back again and again in a batch (one
# subject per company, say). Their scan is mostly the automaton's fixed cost, so it is kept.
SHORT_TEXT = 200


@lru_cache(maxsize=8192)
def _kept_candidate_starts(text: str) -> Mapping[int, list[str]] | None:
    starts = _scanned_candidate_starts(text)
    # Read-only: every caller of the text gets this same mapping.
    return None if starts is None else MappingProxyType(starts)


def _scanned_candidate_starts(text: str) -> dict[int, list[str]] | None:
    """_candidate_starts, the automaton being there."""
    if text.isascii():
        return _ascii_candidate_starts(text)
    lowered = text.lower()
    if len(lowered) != len(text):
        return None
    starts: dict[int, list[str]] = {}
    last = len(text) - 1
    for end, (key, length, start_edge, may_follow) in _AUTOMATON.iter(lowered):
        start = end - length + 1
        # Most hits are inside words ("as" in "has", "co" in "could"): two character tests
        # drop them before any regex runs.
        if start_edge and start:
            before = lowered[start - 1]
            if before in _ASCII_WORD_CHARS or (before >= "\x80" and _is_word_char(before)):
                continue
        if may_follow is not None and end < last:
            after = lowered[end + 1]
            if after in may_follow:
                pass
            elif after in _ASCII_WORD_CHARS or (after >= "\x80" and _is_word_char(after)):
                continue
        starts.setdefault(start, []).append(key)
    return starts


def _ascii_candidate_starts(text: str) -> dict[int, list[str]]:
    # words[i + 1] is text[i] as _to_words maps it; the spaces around are the edges of a term
    # at the very start or end.
    words = " " + _to_words(text) + " "
    starts: dict[int, list[str]] = {}
    for end, (key, back) in _WORD_START_AUTOMATON.iter(words):
        starts.setdefault(end - back, []).append(key)
    for symbol in _ASCII_SYMBOL_KEYS:
        found = text.find(symbol)
        while found >= 0:
            starts.setdefault(found, []).append(symbol)
            found = text.find(symbol, found + 1)
    return starts


def _groups_at(starts: dict[int, list[str]], start: int) -> list[str]:
    """The terms that may match at start, in the alternation's order."""
    keys = starts.get(start, ())
    if len(keys) == 1:
        return _GROUPS_BY_KEY[keys[0]]  # kept in that order
    groups = {g for key in keys for g in _GROUPS_BY_KEY[key]}
    return sorted(groups, key=_GROUP_ORDER.__getitem__)


def _trailing_form(name: str, starts=False) -> tuple[int, str] | None:
    """Where the legal form that ends the name begins (with the spaces and commas before it),
    and its group: _WHOLE["trailing"].search(name) without trying every position with every term.
    starts: _candidate_starts(name), if the caller has it."""
    if starts is False:
        starts = _candidate_starts(name)
    if starts is None:
        match = _WHOLE["trailing"].search(name)
        return (match.start(), match.lastgroup) if match else None
    to_end = _ASCII_TERM_TO_END_RE if name.isascii() else _TERM_TO_END_RE
    for start in sorted(starts):
        for group in _groups_at(starts, start):
            if to_end[group].match(name, start):
                while start > 0 and (name[start - 1].isspace() or name[start - 1] in ",/"):
                    start -= 1
                return start, group
    return None


def _leading_form(name: str, starts=False) -> tuple[int, str] | None:
    """Where the name goes on after a legal form that opens it (spaces after it included), and
    its group: _WHOLE["leading"].match(name), tried only where a term can start.
    starts: _candidate_starts(name), if the caller has it."""
    if starts is False:
        starts = _candidate_starts(name)
    if starts is None:
        match = _WHOLE["leading"].match(name)
        return (match.end(), match.lastgroup) if match else None
    start = len(name) - len(name.lstrip())
    term_re = _ASCII_TERM_RE if name.isascii() else _TERM_RE
    for group in _groups_at(starts, start):
        match = term_re[group].match(name, start)
        if match:
            end = match.end()
            while end < len(name) and name[end].isspace():
                end += 1
            return end, group
    return None


def _balanced(text: str) -> bool:
    if "(" not in text and ")" not in text:
        return True  # most names
    depth = 0
    for ch in text:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


@lru_cache(maxsize=16384)
def base_name(company: str) -> str:
    """The name as a person writes it: legal forms stripped until nothing more comes off
    ("Acme Co., Ltd." -> "Acme"), brackets kept balanced, never empty (a name that is only a
    legal term is returned trimmed)."""
    name = company.strip()
    stripped_suffix = False
    starts = _candidate_starts(name)  # scanned once: a cut name keeps what lies inside it
    while True:
        before = name
        if not starts and starts is not None:
            return name  # no term can start anywhere in it: most names, once stripped
        found = _trailing_form(name, starts)
        if found and found[0] > 0:
            term = TERM_BY_GROUP[found[1]]
            if (
                term.position != "prefix"
                and not (stripped_suffix and term.is_word)
                and (not term.exact_case or _written_as_form(term, name[found[0] :]))
            ):
                candidate = name[: found[0]].rstrip(" ,/")
                if candidate and _balanced(candidate):
                    starts = _starts_within(starts, 0, len(candidate))
                    name, stripped_suffix = candidate, True
        found = _leading_form(name, starts)
        if found and found[0] < len(name):
            term = TERM_BY_GROUP[found[1]]
            candidate = name[found[0] :].lstrip()
            # An ambiguous form leads a name only as it is written: "AB Volvo", "PT Telkom",
            # but not "As Seen On TV".
            as_written = not (term.ambiguous or term.exact_case) or _written_as_form(
                term, name[: found[0]]
            )
            if term.position != "suffix" and candidate and _balanced(candidate) and as_written:
                starts = _starts_within(starts, len(name) - len(candidate), len(name))
                name = candidate
        if name == before:
            return name
        name, starts = _unquoted(name, starts)


# Baltic and Russian names are quoted after a leading form: UAB "Maxima LT", ООО «Ромашка».
_QUOTE_PAIRS = {'"': '"', "«": "»", "„": "“", "“": "”", "'": "'", "‘": "’"}


def _unquoted(name: str, starts):
    """The name without the quotes around all of it, once a form has come off it."""
    if len(name) > 2 and _QUOTE_PAIRS.get(name[0]) == name[-1]:
        inner = name[1:-1]
        if not any(q in inner for q in (name[0], name[-1])):
            return inner, _starts_within(starts, 1, len(name) - 1)
    return name, starts


def _starts_within(starts, low: int, high: int):
    """_candidate_starts(name[low:high]) from _candidate_starts(name), where name[low:high] is
    what base_name keeps of a name: the keys that lie inside, shifted. Their edges hold as
    before: the cut ends at a space or comma, or right after a form (whose end is a word edge),
    and a key is as long as the text it stands for. None (no automaton) stays None."""
    if starts is None:
        return None
    within = {}
    for start, keys in starts.items():
        if start >= low:
            inside = [key for key in keys if start + len(key) <= high]
            if inside:
                within[start - low] = inside
    return within


def _name_spans(text: str, name: str) -> list[tuple[int, int]]:
    """Where the company name stands in the text as a whole word, in any case."""
    if not name:
        return []
    lowered, wanted = text.lower(), name.lower()
    if len(lowered) != len(text) or len(wanted) != len(name):
        pattern = r"(?<!\w)" + re.escape(name) + r"(?!\w)"
        return [m.span() for m in re.finditer(pattern, text, re.IGNORECASE)]
    spans, start = [], lowered.find(wanted)
    while start >= 0:
        end = start + len(wanted)
        before_ok = start == 0 or not (text[start - 1].isalnum() or text[start - 1] == "_")
        after_ok = end == len(text) or not (text[end].isalnum() or text[end] == "_")
        if before_ok and after_ok:
            spans.append((start, end))
        start = lowered.find(wanted, start + 1)
    return spans


def _is_sentence_end(text: str, end: int) -> bool:
    """A form's final dot that also ends the sentence must stay: "... about Acme Ltd." """
    after = end
    while after < len(text) and text[after].isspace():
        after += 1
    gap = text[end:after]
    return after == len(text) or "\n" in gap or (gap != "" and text[after].isupper())


def _gap_start(text: str, start: int) -> int:
    """Where the separator before a match starts: "Acme, Inc." -> just after "Acme"."""
    while start > 0 and (text[start - 1].isspace() or text[start - 1] in ",/"):
        start -= 1
    return start


def _is_name_at(text: str, start: int, wanted: str) -> bool:
    """Whether the lower-cased name stands at start as a whole word, as _name_spans finds it
    in an ASCII text."""
    end = start + len(wanted)
    if start < 0 or end > len(text) or text[start:end].lower() != wanted:
        return False
    before_ok = start == 0 or not (text[start - 1].isalnum() or text[start - 1] == "_")
    return before_ok and (end == len(text) or not (text[end].isalnum() or text[end] == "_"))


# Uses of a form's spelling that name no company, whatever stands around them, by the form's
# letters in lower case: (what ends the text before it, what starts the text after it).
_ORDINARY_USES: dict[str, list[tuple[re.Pattern | None, re.Pattern | None]]] = {
    "inc": [
        # The magazine: "featured in Inc.", "Inc. magazine", "the Inc. 5000".
        (None, re.compile(r"\s+(?:magazine|5000|500)\b", re.IGNORECASE)),
        (re.compile(r"\b(?:featured|profiled|interviewed|mentioned|named|listed|covered|quoted"
                    r"|published|article|piece|story)\s+(?:in|by)\s+(?:the\s+)?$", re.IGNORECASE),
         None),
        # "Including" in a price: "£40 inc. VAT", "$99/month inc. shipping", "€40 inc."
        (None, re.compile(r"\s*(?:vat|gst|hst|tax(?:es)?|shipping|delivery|postage|p&p|fees?)\b",
                          re.IGNORECASE)),
        (re.compile(r"(?:[$€£¥]\s?\d[\d,.]*(?:/\w+)?|\d[\d,.]*\s?(?:usd|eur|gbp|[$€£]))\s*$",
                    re.IGNORECASE), None),
    ],
    # A programmable logic controller: "PLC programming", "our PLC", "Siemens S7 PLC".
    "plc": [
        (None, re.compile(r"[\s-]+(?:programm\w*|controller\w*|system\w*|panel\w*|logic|code"
                          r"|software|hardware|automation|integrat\w*|engineer\w*|module\w*|based"
                          r"|upgrade\w*|migration\w*|cabinet\w*|i/o|io|hmi|scada|ladder)\b",
                          re.IGNORECASE)),
        (re.compile(r"\b(?:a|an|the|our|your|their|each|every|new|legacy|existing|s7|siemens"
                    r"|allen[- ]bradley|rockwell|omron|mitsubishi|beckhoff)\s+$", re.IGNORECASE),
         None),
    ],
}


# The ordinary uses by term (group), looked up once per match.
_USES_BY_GROUP = {
    group: uses
    for group, term in TERM_BY_GROUP.items()
    if (uses := _ORDINARY_USES.get(re.sub(r"\W", "", term.term).lower()))
}


def _is_ordinary_use(text: str, match: re.Match) -> bool:
    uses = _USES_BY_GROUP.get(match.lastgroup or "")
    if not uses:
        return False
    before_text = text[max(0, match.start() - 60) : match.start()]
    for before, after in uses:
        if before is not None and before.search(before_text):
            return True
        if after is not None and after.match(text, match.end()):
            return True
    return False


def _written_as_form(term: LegalTerm, written: str) -> bool:
    """Whether the text is written as the term is (its letters in its own case) or in
    capitals: "AS" in "AS Tallink", not "As" in "As Seen On TV"."""
    letters = re.sub(r"\W", "", written)
    return letters == re.sub(r"\W", "", term.term) or letters.isupper()


def _is_form_here(text: str, match: re.Match) -> bool:
    """False for an ordinary use of the form's spelling: an acronym of the standard list
    written in other than its case ("Son" for "SON"), or one of _ORDINARY_USES."""
    term = _term_of(match)
    if term.exact_case and not _written_as_form(term, match.group()):
        return False
    return not _is_ordinary_use(text, match)


# Looked up per match, so kept as sets of groups.
_AMBIGUOUS_GROUPS = frozenset(g for g, term in TERM_BY_GROUP.items() if term.ambiguous)
_CAPITALISED_GROUPS = frozenset(g for g, t in TERM_BY_GROUP.items() if t.term != t.term.lower())
# The groups whose matches _is_form_here may turn down.
_CONDITIONAL_GROUPS = frozenset(
    g for g, term in TERM_BY_GROUP.items() if term.exact_case or g in _USES_BY_GROUP
)


def _ambiguous_here(match: re.Match) -> bool:
    """Whether the match is a form only next to the company's name: an ambiguous term, or one
    written all in lower case where its own spelling has capitals ("inc." for including,
    "spa", "kg"): a common noun unless it stands by the name."""
    group = match.lastgroup
    return group in _AMBIGUOUS_GROUPS or (
        group in _CAPITALISED_GROUPS and match.group().islower()
    )


def _only_prose(text: str, found: list[re.Match], name: str) -> bool:
    """True when none of the matches can be flagged: each is a term that is also an ordinary
    word ("as", "company" in nearly every message) and none stands next to the name. Then no
    form is flagged, nor is any run of them, so _flagged_runs need not find every place the
    name stands. Decided only where _is_name_at agrees with _name_spans (ASCII)."""
    if not (text.isascii() and name.isascii()):
        return False
    wanted = name.lower()
    for match in found:
        if not _ambiguous_here(match):
            return False
        if not wanted:
            continue
        if _is_name_at(text, _gap_start(text, match.start()) - len(wanted), wanted):
            return False
        if _term_of(match).position != "suffix" and _is_name_at(
            text, _past_separators(text, match.end()), wanted
        ):
            return False
    return True


def _flagged_runs(
    text: str, name: str, found: list[re.Match] | None = None
) -> list[list[re.Match]]:
    """Matches that are legal forms here, grouped into runs of adjacent forms ("Co., Ltd.").
    found: find_legal_forms(text), if the caller has it."""
    if found is None:
        found = find_legal_forms(text)
    found = [m for m in found if m.lastgroup not in _CONDITIONAL_GROUPS or _is_form_here(text, m)]
    if not found or _only_prose(text, found, name):
        return []  # most texts: no need to find every place the name stands
    names = _name_spans(text, name)
    name_ends = {end for _, end in names}
    name_starts = {start for start, _ in names}
    matches = [
        m
        for m in found
        # A term inside the name itself ("AG Barr") is the brand, not a stray form.
        if not any(start <= m.start() and m.end() <= end for start, end in names)
    ]

    def gap_before(index: int) -> int:
        return _gap_start(text, matches[index].start())

    def touches_next(index: int) -> bool:
        return index + 1 < len(matches) and gap_before(index + 1) == matches[index].end()

    flagged = [not _ambiguous_here(m) for m in matches]
    for index, m in enumerate(matches):
        term = _term_of(m)
        after_name = gap_before(index) in name_ends
        after_form = index > 0 and flagged[index - 1] and touches_next(index - 1)
        before_name = term.position != "suffix" and (
            _past_separators(text, m.end()) in name_starts
        )
        flagged[index] = flagged[index] or after_name or after_form or before_name
    # An ambiguous form directly in front of a flagged one belongs to it: "Co. Ltd."
    for index in range(len(matches) - 2, -1, -1):
        if flagged[index + 1] and touches_next(index):
            flagged[index] = True

    runs: list[list[re.Match]] = []
    for index, m in enumerate(matches):
        if not flagged[index]:
            continue
        if runs and index > 0 and flagged[index - 1] and touches_next(index - 1):
            runs[-1].append(m)
        else:
            runs.append([m])
    return runs


def _removal_span(text: str, start: int, end: int) -> tuple[int, int]:
    """The span to delete so the sentence still reads: the form, its final dot unless that
    ends the sentence, and the space or comma it leaves behind."""
    if text[end - 1] == "." and _is_sentence_end(text, end):
        end -= 1
    # Prefer the separator before the form (" Inc.", ", Inc."); at the start of a line or the
    # text there is none, so take the spaces after it ("PT " in "PT Telkom").
    before = start
    while before > 0 and text[before - 1] in _BLANKS:
        before -= 1
    if before > 0 and text[before - 1] == ",":
        before -= 1
    if 0 < before < start:
        return _kept_word_gap(text, before, end)
    while end < len(text) and text[end] in _BLANKS:
        end += 1
    return _kept_word_gap(text, start, end)


_BLANKS = " \t\u3000"  # the ideographic space too: "株式会社　アクメ"


def _is_unspaced(ch: str) -> bool:
    """Chinese and Japanese (Han, kana, their punctuation and full-width forms) are written
    without spaces between words; Korean, like Latin, puts spaces between them."""
    code = ord(ch)
    return 0x2E80 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF or 0xFF00 <= code <= 0xFFEF


def _kept_word_gap(text: str, start: int, end: int) -> tuple[int, int]:
    """The span to delete, less one blank where deleting it all would glue two words that a
    space separates ("Hi 株式会社メルカリ" -> "Hi メルカリ", "华为技术有限公司 team" ->
    "华为技术 team"); between two Chinese or Japanese characters nothing is kept
    ("アクメ　株式会社様" -> "アクメ様")."""
    if start == 0 or end >= len(text):
        return start, end
    left, right = text[start - 1], text[end]
    if not (left.isalnum() and right.isalnum()) or (_is_unspaced(left) and _is_unspaced(right)):
        return start, end
    if text[start] in _BLANKS:
        return start + 1, end
    if text[end - 1] in _BLANKS:
        return start, end - 1
    return start, end


def _removals(
    text: str, name: str, found: list[re.Match] | None = None
) -> list[tuple[int, int, str]]:
    """The spans to delete, left to right, each with the form it removes (found:
    find_legal_forms(text), if the caller has it).

    Deleting a form joins what stood on either side of it, and that join can spell a new
    form: "S股份有限公司Sa rl" without "股份有限公司Sa " reads "Srl"; "...S.A.O.G.Gesellschaft mit
    beschränkter Haftung K" without the German form ends in "G.K". So the text is fixed and
    looked at again; a form found there is deleted too, merged with the deletions it spans,
    until the fixed text has none (each round deletes more, so it ends)."""
    removals = [
        (*_removal_span(text, run[0].start(), run[-1].end()), text[run[0].start() : run[-1].end()])
        for run in _flagged_runs(text, name, found)
    ]
    while removals:
        ends = [0] + [end for _, end, _ in removals]
        starts = [start for start, _, _ in removals] + [len(text)]
        fixed = "".join(text[end:start] for end, start in zip(ends, starts, strict=False))
        left = _flagged_runs(fixed, name)
        if not left:
            break
        kept: list[int] = []  # the fixed text's characters, as offsets into text
        for end, start in zip(ends, starts, strict=False):
            kept.extend(range(end, start))
        for run in left:
            start, end = _removal_span(fixed, run[0].start(), run[-1].end())
            removals = _merged(removals, kept[start], kept[end - 1] + 1, text)
    return removals


def _merged(removals, start: int, end: int, text: str) -> list[tuple[int, int, str]]:
    """removals with text[start:end] deleted too, overlapping deletions made one."""
    result = []
    for other_start, other_end, form in removals:
        if other_end < start or end < other_start:
            result.append((other_start, other_end, form))
        else:
            start, end = min(start, other_start), max(end, other_end)
    result.append((start, end, text[start:end].strip(" ,")))
    return sorted(result)


@lru_cache(maxsize=8192)
def _kept_removals(text: str, name: str) -> tuple[tuple[int, int, str], ...]:
    """_removals of a short text (a subject): kept, as the scan of such texts is, since a
    batch writes the same subject for every prospect of a company."""
    return tuple(_removals(text, name))


def check_legal_forms(fields: MessageFields, severity: str) -> list[CheckFinding]:
    name = base_name(fields.company)
    findings = []
    for field in SCANNED_FIELDS:
        text = getattr(fields, field)
        removals: Sequence[tuple[int, int, str]]
        if len(text) <= SHORT_TEXT:
            removals = _kept_removals(text, name)
        else:
            found = find_legal_forms(text)
            if not found:
                continue  # most texts: no form at all, so nothing to remove
            removals = _removals(text, name, found)
        for start, end, form in removals:
            findings.append(
                CheckFinding(
                    code="legal_form",
                    severity=severity,
                    field=field,
                    start=start,
                    end=end,
                    message=f"Legal form '{form}' in the text: people do not write it in an "
                    "e-mail, so it shows the message was generated. Remove it.",
                    suggestion="",
                )
            )
    return findings


def compile_all() -> None:
    """Compile now every regex the scan of an ASCII text uses (most messages). An RQ worker
    calls this once before it forks a work-horse per job, so the jobs share them instead of
    each compiling the terms it meets. Left to compile on use: the same regexes for other
    text (their CJK word edges make them slow to compile, and a job meets few of them), and
    those base_name tries at a name's ends (as many again; a job meets its companies' forms)."""
    for key in _REGEX_BY_KEY.patterns:
        if key.isascii():
            _ASCII_REGEX_BY_KEY[key]  # noqa: B018  (compiled and kept by __missing__)
