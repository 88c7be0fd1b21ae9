"""Who the address reaches: a no-reply box, a shared role inbox, a throw-away or relay
provider, a typo of a big mail provider, a look-alike address, a reserved example name.

All of these are decided from the address alone (no network). Each is its own rule, so an
operator can switch one off or change its severity; each takes optional list parameters that
add to (never replace) the built-in lists.
"""

import re
import unicodedata
from functools import lru_cache

from disposable_email_domains import blocklist as DISPOSABLE_DOMAINS

from .address_validity import parse_address_or_none
from .base import CheckFinding, MessageFields, RuleConfig

# Mailboxes nobody reads: a message there is wasted and hurts the sender's reputation.
NOREPLY_RE = re.compile(
    r"^(?:no[-_.]?reply|do[-_.]?not[-_.]?reply|dont[-_.]?reply|no[-_.]?response"
    r"|mailer[-_.]?daemon|bounces?|postmaster)(?:[-_.+].*)?$",
    re.IGNORECASE,
)

# Shared inboxes: they reach a company, not the person the message was written for.
ROLE_LOCAL_PARTS = frozenset(
    """info contact contacts hello hi office admin administrator sales support help helpdesk
    service services customerservice enquiries enquiry inquiries inquiry team marketing hr
    jobs careers recruiting recruitment billing accounts accounting invoices finance legal
    press media pr webmaster hostmaster abuse security privacy compliance orders shop store
    feedback newsletter general reception mail email partners partnerships events ops it
    """.split()
)

# Forwarding services that hide the real address: they reach a person, but not a business
# address, so a person decides.
RELAY_DOMAINS = frozenset(
    """slmail.me simplelogin.com simplelogin.co simplelogin.fr aleeas.com silomails.com
    privaterelay.appleid.com duck.com mozmail.com anonaddy.me anonaddy.com addy.io
    passmail.net passmail.com passinbox.com 33mail.com relay.firefox.com""".split()
)

# Providers whose typos are worth catching: common, and with distinctive names, so a domain
# one or two edits away is almost surely a slip. Short names (me.com, qq.com, bt.com) are
# left out of the targets: at one edit from them lie many real domains.
TYPO_TARGETS = tuple(
    "gmail.com googlemail.com yahoo.com yahoo.co.uk yahoo.fr ymail.com hotmail.com "
    "hotmail.co.uk hotmail.fr outlook.com icloud.com protonmail.com comcast.net "
    "verizon.net sbcglobal.net bellsouth.net btinternet.com orange.fr wanadoo.fr "
    "laposte.net t-online.de yandex.ru rambler.ru libero.it rocketmail.com".split()
)
# Real domains near a target; never "corrected". Operators add theirs as known_domains.
KNOWN_DOMAINS = frozenset(
    """mail.com email.com gmx.com gmx.net gmx.de web.de live.com msn.com aol.com me.com
    mac.com qq.com 163.com 126.com bt.com sky.com mail.ru yahoo.de yahoo.es yahoo.it
    hotmail.de hotmail.es hotmail.it outlook.de outlook.fr live.co.uk proton.me
    yahoo.co.jp yahoo.ca hotmail.ca gmail.co.uk cloud.com online.de comcast.com
    verizon.com""".split()
)
# What eyes and fingers confuse: "rn" reads as "m", "vv" as "w".
_LOOK_ALIKES = (("rn", "m"), ("vv", "w"), ("cl", "d"))


_NOTHING: frozenset[str] = frozenset()
_LOCAL_PART_WORD_RE = re.compile(r"[-_.]")


def _list_param(rule: RuleConfig, name: str) -> frozenset[str]:
    items = rule.parameters.get(name)
    if not items:
        return _NOTHING  # most rules run with no extra list: build nothing per message
    try:
        return _normalised(tuple(items))
    except TypeError:  # an item that cannot be a key (the parameters' check refuses these)
        return _normalised.__wrapped__(tuple(items))


@lru_cache(maxsize=256)
def _normalised(items: tuple) -> frozenset[str]:
    """An operator's list as the checks compare it, built once per list rather than once per
    message; the same set each time, so the caches keyed by it hash it once."""
    return frozenset(str(item).strip().lower() for item in items if str(item).strip())


def _domain_and_parents(domain: str) -> list[str]:
    labels = domain.split(".")
    return [".".join(labels[i:]) for i in range(len(labels) - 1)]


def _domain_span(raw: str) -> tuple[int, int]:
    """Where the domain is written in the raw field, so a suggestion can replace just it."""
    at = raw.rfind("@")
    end = len(raw.rstrip().rstrip(">").rstrip())
    return at + 1, max(end, at + 1)


def _finding(code, rule, message, *, raw="", suggestion=None) -> CheckFinding:
    if suggestion is None:
        return CheckFinding(code, rule.severity, "email", None, None, message)
    start, end = _domain_span(raw)
    return CheckFinding(code, rule.severity, "email", start, end, message, suggestion)


def check_noreply(fields: MessageFields, rule: RuleConfig) -> list[CheckFinding]:
    parsed = parse_address_or_none(fields.email)
    if parsed is None:
        return []
    local = parsed.local_part.lower()
    if NOREPLY_RE.match(local) or local in _list_param(rule, "local_parts"):
        return [
            _finding(
                "recipient_noreply", rule,
                f"'{parsed.local_part}' is a no-reply mailbox: nobody reads it.",
            )
        ]
    return []


def check_role_account(fields: MessageFields, rule: RuleConfig) -> list[CheckFinding]:
    parsed = parse_address_or_none(fields.email)
    if parsed is None:
        return []
    local = parsed.local_part.lower().split("+", 1)[0]
    first_word = local
    if "-" in local or "_" in local or "." in local:  # a word in a part of several
        first_word = _LOCAL_PART_WORD_RE.split(local, maxsplit=1)[0]
    # Looked up in each set rather than in their union: a union copies ~80 names per message.
    extra = _list_param(rule, "local_parts")
    if (local in ROLE_LOCAL_PARTS or first_word in ROLE_LOCAL_PARTS
            or local in extra or first_word in extra):
        return [
            _finding(
                "recipient_role", rule,
                f"'{parsed.local_part}' is a shared role inbox, not a person: a message "
                "written for one person may land with the whole team.",
            )
        ]
    return []


def check_disposable(fields: MessageFields, rule: RuleConfig) -> list[CheckFinding]:
    parsed = parse_address_or_none(fields.email)
    if parsed is None:
        return []
    candidate = _disposable_part(
        parsed.ascii_domain, parsed.domain,
        _list_param(rule, "allowed_domains"), _list_param(rule, "domains"),
    )
    if candidate is None:
        return []
    return [
        _finding(
            "recipient_disposable", rule,
            f"{candidate} is a throw-away (disposable) mail provider.",
        )
    ]


@lru_cache(maxsize=16384)
def _disposable_part(
    ascii_domain: str, domain: str, allowed: frozenset[str], extra: frozenset[str]
) -> str | None:
    """The domain or parent that is a disposable provider, or None. Cached per domain: a batch
    has far fewer domains than addresses, and the answer depends on nothing else."""
    if ascii_domain not in extra and suggest_provider(domain) is not None:
        # The list carries squatted typo domains (gmial.com): the person meant the provider,
        # so the typo rule's suggestion is the useful finding, not a block.
        return None
    for candidate in _domain_and_parents(ascii_domain):
        if candidate in allowed:
            return None
        if candidate in DISPOSABLE_DOMAINS or candidate in extra:
            return candidate
    return None


def check_relay(fields: MessageFields, rule: RuleConfig) -> list[CheckFinding]:
    parsed = parse_address_or_none(fields.email)
    if parsed is None:
        return []
    candidate = _relay_part(parsed.ascii_domain, _list_param(rule, "domains"))
    if candidate is None:
        return []
    return [
        _finding(
            "recipient_relay", rule,
            f"{candidate} is a privacy relay: it forwards to a person's hidden "
            "address, which is not a business address.",
        )
    ]


@lru_cache(maxsize=16384)
def _relay_part(ascii_domain: str, extra: frozenset[str]) -> str | None:
    """The domain or parent that is a privacy relay, or None; cached per domain."""
    for candidate in _domain_and_parents(ascii_domain):
        if candidate in RELAY_DOMAINS or candidate in extra:
            return candidate
    return None


_DOMAIN_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789-."


def _one_slip_away(word: str) -> set[str]:
    """Every string one slip from word: a key missed, doubled or hit beside, two swapped."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    return (
        {a + b[1:] for a, b in splits if b}
        | {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
        | {a + c + b[1:] for a, b in splits if b for c in _DOMAIN_ALPHABET}
        | {a + c + b for a, b in splits for c in _DOMAIN_ALPHABET}
    )


def _typo_table() -> dict[str, str]:
    """Slip -> the provider meant, built once (~25k entries), so a lookup is one dict get
    instead of an edit distance against every provider."""
    table: dict[str, str] = {}
    for target in reversed(TYPO_TARGETS):  # earlier (more common) providers win a tie
        for slip in _one_slip_away(target):
            table[slip] = target
    return table


_TYPO_TABLE = _typo_table()


def suggest_provider(domain: str, known: frozenset[str] | set[str] = frozenset()) -> str | None:
    """The major provider this domain is a slip of, or None. A domain that is a target or a
    known real domain is never corrected.

    One slip only, or letters that read alike ("hornail" is "hotmail" seen as "homail"): two
    edits would reach real providers (yopmail.com is two from hotmail.com)."""
    domain = domain.lower()
    if domain in TYPO_TARGETS or domain in KNOWN_DOMAINS or domain in known:
        return None
    meant = _TYPO_TABLE.get(domain)
    if meant is None:
        seen = domain
        for confused, look_alike in _LOOK_ALIKES:
            seen = seen.replace(confused, look_alike)
        if seen in TYPO_TARGETS:
            return seen
        meant = _TYPO_TABLE.get(seen)
    return meant


# Per domain, like _disposable_part: the same domains come back all through a batch.
_cached_suggestion = lru_cache(maxsize=16384)(suggest_provider)


def check_typo(fields: MessageFields, rule: RuleConfig) -> list[CheckFinding]:
    parsed = parse_address_or_none(fields.email)
    if parsed is None:
        return []
    meant = _cached_suggestion(parsed.domain, _list_param(rule, "known_domains"))
    if meant is None:
        return []
    return [
        _finding(
            "recipient_typo", rule,
            f"{parsed.domain} looks like a typo of {meant}.",
            raw=fields.email, suggestion=meant,
        )
    ]


# Where Unicode's character names do not start with the script's own name.
_SCRIPT_OF_NAME = {"CJK": "Han", "IDEOGRAPHIC": "Han", "KATAKANA-HIRAGANA": ""}
# Scripts that are written together (UTS #39's "highly restrictive" level): Japanese mixes Han,
# Hiragana and Katakana, Korean Han and Hangul, Chinese Han and Bopomofo, each with Latin.
_SCRIPTS_WRITTEN_TOGETHER = (
    frozenset({"Latin", "Han", "Hiragana", "Katakana"}),
    frozenset({"Latin", "Han", "Hangul"}),
    frozenset({"Latin", "Han", "Bopomofo"}),
)
# The letters of other scripts that pass for Latin ones, for the finding's words.
_LOOKS_LATIN = dict(
    zip("аеорсухіјѕԁһԛԝӏєѵαονυιτκχϳ", "aeopcyxijsdhqwlevaovuitkxj", strict=True)
)


def _script(ch: str) -> str:
    """The script of a letter, from its Unicode name ("CYRILLIC SMALL LETTER A": Cyrillic);
    "" for one shared by several (the Japanese long-vowel mark)."""
    try:
        first = unicodedata.name(ch).split(" ", 1)[0]
    except ValueError:
        return "Unknown"
    return _SCRIPT_OF_NAME.get(first, first.title())


def _mixes_scripts(scripts: set[str]) -> bool:
    scripts.discard("")
    if len(scripts) < 2:
        return False
    return not any(scripts <= together for together in _SCRIPTS_WRITTEN_TOGETHER)


def mixed_script_letters(part: str) -> list[str]:
    """Each word of part (a local part or a domain) written in letters of scripts that are not
    written together, the classic look-alike trick, as "Cyrillic 'а' in 'paypаl'": the letters
    outside the word's main script, named. [] when every word is in one script."""
    named = []
    for word in re.split(r"[.\-_+]", part):
        letters = [(ch, _script(ch)) for ch in word if ch.isalpha()]
        if not _mixes_scripts({script for _, script in letters}):
            continue
        counts: dict[str, int] = {}
        for _, script in letters:
            counts[script] = counts.get(script, 0) + 1
        main = max(counts, key=lambda script: (counts[script], script == "Latin"))
        odd = dict.fromkeys((ch, script) for ch, script in letters if script not in ("", main))
        named.append(
            ", ".join(_letter_words(ch, script, main) for ch, script in odd) + f" in '{word}'"
        )
    return named


def _letter_words(ch: str, script: str, main: str) -> str:
    looks = _LOOKS_LATIN.get(ch) if main == "Latin" else None
    return f"{script} '{ch}'" + (f" (looks like Latin '{looks}')" if looks else "")


def check_homograph(fields: MessageFields, rule: RuleConfig) -> list[CheckFinding]:
    """A local part or a domain mixing scripts: review, naming the letters. A single-script
    address in another alphabet (jo@яндекс.рф) is someone's real address."""
    parsed = parse_address_or_none(fields.email)
    if parsed is None or parsed.address.isascii():
        return []
    named = mixed_script_letters(parsed.local_part) + mixed_script_letters(parsed.domain)
    if not named:
        return []
    return [
        _finding(
            "recipient_homograph", rule,
            f"The address {parsed.address} mixes alphabets: {'; '.join(named)}. It may "
            "imitate another address.",
        )
    ]


# Names set aside by RFC 2606 and RFC 6761 for documentation and testing: no one's mailbox is
# there. The syntax check (email-validator) already refuses .test, .invalid, .localhost,
# .local, .onion and .arpa, naming the RFC; these it lets through (RFC 6761 tells resolvers,
# not applications, to treat them as special), and a prospect list that has them was filled
# with sample data.
RESERVED_DOMAINS = ("example.com", "example.net", "example.org", ".example")


def reserved_name(ascii_domain: str) -> str | None:
    """The reserved name ascii_domain is or is under ("mail.example.com": example.com)."""
    dotted = "." + ascii_domain.lower().rstrip(".")
    for name in RESERVED_DOMAINS:
        if dotted.endswith("." + name.lstrip(".")):
            return name
    return None


def check_reserved(fields: MessageFields, rule: RuleConfig) -> list[CheckFinding]:
    parsed = parse_address_or_none(fields.email)
    if parsed is None or "example" not in parsed.ascii_domain:
        return []
    name = reserved_name(parsed.ascii_domain)
    if name is None:
        return []
    return [
        _finding(
            "recipient_reserved", rule,
            f"{parsed.domain} is a reserved example name ({name}, RFC 2606): no one receives "
            "mail there; the address is sample data.",
        )
    ]
