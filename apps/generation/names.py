"""Filters that make prospect data read as a person would write it."""

import re

from apps.validation.checks.legal_forms import base_name

# Name particles written in lower case inside a surname ("van der Berg", "da Silva").
PARTICLES = {"van", "der", "den", "de", "del", "della", "di", "da", "dos", "du", "des", "la",
             "le", "von", "zu", "ten", "ter", "bin", "al", "af", "y"}
# Values CRMs put where a name is missing.
NOT_A_NAME = {"", "-", "--", ".", "?", "n/a", "na", "none", "null", "unknown", "tbd", "x"}


def company_name(value) -> str:
    """The company as people say it: "Acme, Inc." -> "Acme" (legal forms removed; base_name
    caches, since a batch names the same companies again and again)."""
    return base_name(" ".join(str(value or "").split()))


def first_name_or(value, fallback: str = "there") -> str:
    """The first name, or the fallback ("there") when it is blank or a CRM's stand-in."""
    name = " ".join(str(value or "").split())
    return fallback if name.lower() in NOT_A_NAME else name


def name_case(value) -> str:
    """Capitalise a name typed in all-lower or ALL-UPPER case; a name already in mixed case
    ("McDonald", "van der Berg", "DeShawn") is left exactly as it is."""
    text = " ".join(str(value or "").split())
    if text.isascii() and text.isalnum():
        # Most first names: the same answer without splitting into words and parts.
        return _one_ascii_word_case(text)
    return _words_case(text)


def _one_ascii_word_case(word: str) -> str:
    """name_case of one word of ASCII letters and digits (no space, hyphen or apostrophe):
    what _words_case gives for it, without splitting into words and parts."""
    lower = word.lower()
    if word != lower and word != word.upper():
        return word  # mixed case (digits alone come out unchanged below)
    out = lower[0].upper() + lower[1:]
    if out[:2] == "Mc" and out[2:3].islower():  # islower: a-z here, as _capitalise_word's test
        out = "Mc" + out[2].upper() + out[3:]
    return out


def _words_case(text: str) -> str:
    """name_case of a text whose spaces are already single."""
    letters = [c for c in text if c.isalpha()]
    if not letters or not (text == text.lower() or text == text.upper()):
        return text
    words = text.lower().split(" ")
    return " ".join(
        word if (index and word in PARTICLES) or (index == 0 and len(words) > 1
                                                   and word in PARTICLES)
        else _capitalise_word(word)
        for index, word in enumerate(words)
    )


def _capitalise_word(word: str) -> str:
    # Each part after a hyphen or apostrophe starts a capital: Smith-Jones, O'Brien.
    parts = re.split(r"([-'’])", word)
    out = "".join(part[:1].upper() + part[1:] for part in parts)
    if re.match(r"Mc[a-z]", out):
        out = "Mc" + out[2].upper() + out[3:]
    return out
