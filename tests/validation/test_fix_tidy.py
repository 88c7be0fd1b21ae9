"""A fix leaves text that reads: applying the legal-form findings' suggestions (through the one
function the review services use) to generated subjects and bodies never leaves doubled
spaces, a space before punctuation, doubled punctuation (", ." ".."), or a subject ending in
the removed abbreviation's dot; a sentence's final mark stays, and the company's name too."""

import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from apps.validation.checks.base import MessageFields
from apps.validation.checks.legal_forms import base_name, check_legal_forms
from apps.validation.fixes import Edit, apply_fixes, fix_edit

FORMS = ["Inc.", "Inc", "GmbH", "Ltd.", "Ltd", "LLC", "S.A.", "AG", "Co., Ltd.", "plc", "B.V."]
COMPANIES = ["Initech", "Acme Widgets", "Globex", "Umbrella"]
PUNCTUATION = [".", "!", "?", ","]


def findings_in(text: str, company: str, field: str) -> list:
    fields = MessageFields(company=company, **{field: text})
    return [f for f in check_legal_forms(fields, "block") if f.field == field]


def fix_all(text: str, company: str, field: str) -> str:
    spans = [(f.start, f.end) for f in findings_in(text, company, field)]
    return apply_fixes(text, spans=spans, suggestion="", field=field)


def ends_with_a_forms_dot(text: str, company: str) -> bool:
    """A subject ending "… Initech Inc.": its one final dot is the abbreviation's."""
    return text.endswith(".") and not text.endswith("..") and any(
        f.end >= len(text) - 1 for f in findings_in(text, company, "subject")
    )


@st.composite
def mentions(draw) -> tuple[str, str]:
    """(company as registered, the name as the text writes it: with a form, ", form" or none)."""
    company = draw(st.sampled_from(COMPANIES))
    form = draw(st.sampled_from(FORMS))
    written = draw(st.sampled_from([f"{company} {form}", f"{company}, {form}", company]))
    return f"{company} {form}", written


@st.composite
def sentences(draw, name: str) -> str:
    words = draw(st.lists(st.sampled_from(["we", "like", "work", "with", "the", "team", "at"]),
                          min_size=0, max_size=4))
    tail = draw(st.lists(st.sampled_from(["is", "growing", "fast", "today", "and", "hiring"]),
                         min_size=0, max_size=3))
    # A comma only before more words; a name that ends the sentence gets the final mark right
    # after its own dot ("Initech Inc.." as a template writes it).
    middle = draw(st.sampled_from(["", ",", " (again)", "'s"] if tail else ["", " (again)"]))
    first = draw(st.sampled_from(["Hello", "Congrats", "News"]))
    parts = [first, *words, name + middle, *tail]
    mark = draw(st.sampled_from(PUNCTUATION[:3]))
    return " ".join(p for p in parts if p) + mark


@st.composite
def texts(draw) -> tuple[str, str, str]:
    """(company, subject, body): a subject of one sentence (its final mark optional), a body of
    a few sentences on one or more lines, the company named with or without its form."""
    company, written = draw(mentions())
    subject = draw(sentences(written))
    if draw(st.booleans()) and subject.endswith("."):
        subject = subject[:-1]
    lines = draw(st.lists(sentences(written), min_size=1, max_size=4))
    separators = draw(st.lists(st.sampled_from([" ", "\n", "\n\n"]), min_size=len(lines),
                               max_size=len(lines)))
    joined = "".join(line + sep for line, sep in zip(lines, separators, strict=True))
    body = joined.rstrip(" ") + "\n"
    return company, subject, body


BROKEN = [
    (r"  ", "a doubled space"),
    (r" [,.;:!?)]", "a space before punctuation"),
    (r"[,;:] *[,.;:!?]", "doubled punctuation"),
    (r"\.\.", "a doubled full stop"),
    (r"(^|\n) ", "a space at a line's start"),
    (r" ($|\n)", "a space at a line's end"),
    (r"(^|\n)[,.;:]", "punctuation at a line's start"),
]


def broken(text: str) -> list[str]:
    return [what for pattern, what in BROKEN if re.search(pattern, text)]


@settings(max_examples=400, deadline=None)
@given(texts())
@example(("Initech Inc.", "Meet Initech Inc.", "We like Initech Inc.\n"))
@example(("Initech Inc.", "Initech, Inc. is growing", "Hello Initech, Inc., we like you.\n"))
def test_a_fixed_text_reads(case):
    company, subject, body = case
    name = base_name(company)
    for field, text in (("subject", subject), ("body", body)):
        fixed = fix_all(text, company, field)

        assert broken(fixed) == [], (text, fixed)
        # The company's name stays, as often as the text had it.
        assert fixed.count(name) == text.count(name), (text, fixed)
        # A sentence's final mark stays; only a subject's abbreviation dot goes with its form.
        if field == "subject" and ends_with_a_forms_dot(text, company):
            assert not fixed.endswith("."), (text, fixed)
        elif text.rstrip("\n")[-1] in ".!?":
            assert fixed.rstrip("\n")[-1] == text.rstrip("\n")[-1], (text, fixed)
        # Each sentence's final mark stays ("... Initech Inc. Next" keeps its full stop).
        assert fixed.count("!") == text.count("!") and fixed.count("?") == text.count("?")
        assert check_legal_forms(MessageFields(company=company, **{field: fixed}), "block") == []


@pytest.mark.parametrize("field, text, span, suggestion, fixed", [
    # The subject's final dot was the abbreviation's: it goes with " Inc".
    ("subject", "Meet Initech Inc.", (12, 16), "", "Meet Initech"),
    # A body's sentence keeps its full stop.
    ("body", "We like Initech Inc.", (15, 19), "", "We like Initech."),
    # Only the form flagged: the comma before it and the full stop after it meet.
    ("body", "Thanks to Initech, GmbH.", (19, 23), "", "Thanks to Initech."),
    # The spaces either side of a removed word: one stays.
    ("body", "Hi Initech GmbH team", (11, 15), "", "Hi Initech team"),
    # A line break replaced by a space in a subject: still one space.
    ("subject", "Hello \r\n world", (6, 8), " ", "Hello world"),
    # At a line's start: no space and no comma left hanging.
    ("body", "Inc., we said\n", (0, 4), "", "we said\n"),
])
def test_the_join_is_tidied(field, text, span, suggestion, fixed):
    edit = fix_edit(text, start=span[0], end=span[1], suggestion=suggestion, field=field)
    assert edit.applied_to(text) == fixed


def test_the_edit_spans_only_what_changes():
    # The screen strikes through " GmbH", not " GmbH " with a space put back.
    assert fix_edit("Hi Initech GmbH team", start=10, end=15, suggestion="", field="body") == Edit(
        10, 15, ""
    )
