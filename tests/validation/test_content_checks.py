"""Greetings, empty and over-long texts, header injection, banned phrases, the opt-out line."""

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from apps.validation.checks import content
from apps.validation.checks.base import BLOCK, REVIEW, MessageFields, RuleConfig

CLEAN = {"subject": "Quick question", "body": "Hi Jo,\n\nFree next week?\n\nSam"}


def run(check, severity=REVIEW, parameters=None, **fields):
    return check(
        MessageFields(**{**CLEAN, **fields}), RuleConfig("r", severity, 1, parameters or {})
    )


@pytest.mark.parametrize(
    "body, greeting",
    [("Dear Sir/Madam,\nWe", "Dear Sir/Madam"), ("Dear Sir or Madam,", "Dear Sir or Madam"),
     ("To whom it may concern:", "To whom it may concern"), ("Hi there,", "Hi there"),
     ("  Dear Customer,", "Dear Customer"), ("Intro\nHello friend!", "Hello friend")],
)
def test_generic_greetings_are_found_with_their_span(body, greeting):
    [finding] = run(content.check_generic_greeting, body=body)

    assert finding.code == "generic_greeting"
    assert body[finding.start : finding.end] == greeting


@pytest.mark.parametrize(
    "body",
    ["Hi Jo,", "Dear Jo,", "We help dear customers of Acme", "Hi Theresa,", "Hello Sirius team"],
)
def test_a_greeting_with_a_name_passes(body):
    assert run(content.check_generic_greeting, body=body) == []


def test_operators_add_greetings():
    assert run(content.check_generic_greeting, body="Yo buddy,") == []
    assert run(
        content.check_generic_greeting, parameters={"phrases": ["Yo buddy"]}, body="Yo buddy,"
    )


@pytest.mark.parametrize("field", ["subject", "body"])
@pytest.mark.parametrize("value", ["", "   \n "])
def test_an_empty_subject_or_body_is_found(field, value):
    [finding] = run(content.check_empty_content, BLOCK, **{field: value})

    assert (finding.code, finding.field, finding.severity) == (
        f"empty_content.{field}",
        field,
        BLOCK,
    )


def test_over_long_texts_are_found_with_the_limit_from_the_parameters():
    assert run(content.check_content_length, subject="x" * 150) == []
    [finding] = run(content.check_content_length, subject="x" * 151)
    assert (finding.code, finding.start, finding.end) == ("content_length.subject", 150, 151)

    params = {"max_body_chars": 10}
    [finding] = run(content.check_content_length, parameters=params, body="y" * 11)
    assert finding.code == "content_length.body"


@pytest.mark.parametrize("subject", ["Hi\r\nBcc: victim@x.com", "Hi\nthere", "Hi\u2028there"])
def test_a_line_break_in_the_subject_is_header_injection(subject):
    [finding] = run(content.check_header_injection, BLOCK, subject=subject)

    assert finding.code == "header_injection"
    assert subject[finding.start] in "\r\n\u2028"


def test_a_line_break_in_the_body_is_fine():
    assert run(content.check_header_injection, body="one\ntwo") == []


def test_banned_phrases_and_patterns_are_found_word_bounded_and_case_blind():
    params = {"phrases": ["guaranteed results"], "patterns": [r"\b100% free\b"]}
    body = "GUARANTEED RESULTS, 100% free trial; unguaranteed resultsx stays."

    found = run(content.check_banned_phrases, parameters=params, body=body, subject="100% FREE")

    assert [(f.field, f.start) for f in found] == [("subject", 0), ("body", 0), ("body", 20)]
    assert run(content.check_banned_phrases, body=body) == []  # no list, nothing banned


def test_opt_out_is_checked_only_when_the_client_requires_it():
    assert run(content.check_opt_out, BLOCK) == []

    [finding] = run(content.check_opt_out, BLOCK, {"required": True})
    assert (finding.code, finding.field) == ("opt_out", "body")

    body = "Hi Jo,\n\nReply STOP to unsubscribe."
    assert run(content.check_opt_out, BLOCK, {"required": True}, body=body) == []
    custom = {"required": True, "phrases": ["abmelden"]}
    assert run(content.check_opt_out, BLOCK, custom, body=body) != []
    assert run(content.check_opt_out, BLOCK, custom, body="Zum Abmelden antworten") == []


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["Dear Sir", "dear  madam", "\n", "Hi there", " ", ",", "To whom it may concern",
             "Greetings", "hello\nfriend", "x", "Dear\nSir/Madam", "Hey all!", "\t", "good day",
             "good day\ngreetings", "\u017fir", "K", "\u212a", "\u00e9clair", "\u00c9CLAIR",
             "k", "Sam", "salut", "SALUT", "  \tHi there", "\u017falut", "\u212aind regards sir"]
        ),
        max_size=40,
    ).map("".join),
    st.integers(min_value=0, max_value=300),
    # Operator phrases: none; one with a built-in's initial; one with an initial of its own
    # (and a lowercase k, whose Kelvin sign is not ASCII); others that make every line tried.
    st.sampled_from([(), ("good day greetings",), ("salut",), ("Kind regards sir",),
                     ("\u00e9clair",), (" x",), ("\u017fir",)]),
)
# Lines the filter must not skip: an operator's own initial in either case, a non-ASCII letter
# that folds to an ASCII one, an ASCII letter that folds to a phrase's non-ASCII one, a phrase
# that begins with a space (its \s+ can start on an empty line).
@example("x\nSALUT", 300, ("salut",))
@example("x\n\u017falut", 300, ("salut",))
@example("x\n\u212aind regards sir", 300, ("Kind regards sir",))
@example("x\nsir", 300, ("\u017fir",))
@example("a\n\nx", 300, (" x",))
def test_greetings_are_found_at_line_starts_as_a_scan_of_the_window_finds_them(
    body, window, phrases
):
    # The check tries the greeting regex only where a line starts, and of those only where a
    # greeting's initial (or a non-ASCII letter) begins the line; the whole-window scan is
    # what it must agree with, greetings spread over two lines included (an operator's phrase
    # can hold another greeting on its second line: "good day\ngreetings" is one finding).
    regex = content._greeting_regex(phrases)

    for line_breaks in (None, content._greeting_line_breaks(phrases)):
        found = [
            m.span() for m in content._matches_at_line_starts(regex, body, window, line_breaks)
        ]
        assert found == [m.span() for m in regex.finditer(body, 0, window)]


def test_every_built_in_greeting_begins_with_one_of_the_initials():
    # The line filter skips lines that begin with another ASCII letter: a greeting added to
    # GENERIC_GREETINGS with a new initial must add it to GREETING_INITIALS too.
    for greeting in content.GENERIC_GREETINGS:
        branches = [greeting]
        if greeting.startswith("(?:"):
            branches = greeting[3 : greeting.index(")")].split("|")
        for branch in branches:
            assert branch[0] in content.GREETING_INITIALS, greeting
