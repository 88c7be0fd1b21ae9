"""Legal forms in the subject and body: flagged, with a span whose removal leaves good prose."""

import pytest

from apps.validation.checks.base import BLOCK, WARN, MessageFields
from apps.validation.checks.legal_forms import (
    TERMS,
    base_name,
    check_legal_forms,
    find_legal_forms,
    legal_form_regex,
)

from .helpers import apply_suggestions


def fixed(body, company="", severity=BLOCK):
    findings = check_legal_forms(MessageFields(company=company, body=body), severity)
    return apply_suggestions(body, findings), findings


@pytest.mark.parametrize(
    "company, body, expected",
    [
        ("Acme Inc.", "Hi Acme Inc. team,", "Hi Acme team,"),
        ("Acme", "Acme, Inc.'s plant", "Acme's plant"),
        ("Acme (PTY) LTD.", "Quick question about Acme (PTY) LTD.", "Quick question about Acme."),
        ("Acme GmbH", "I noticed Acme GmbH is hiring", "I noticed Acme is hiring"),
        ("Acme Co., Ltd.", "Hello Acme Co., Ltd. team", "Hello Acme team"),
        (
            "Acme Ltd",
            "Loved the news from Acme Ltd. Congrats!",
            "Loved the news from Acme. Congrats!",
        ),
        ("Acme S.A. de C.V.", "Hi Acme S.A. de C.V. team", "Hi Acme team"),
        ("株式会社アクメ", "株式会社アクメ様", "アクメ様"),
        ("", "Your sp. z o.o. is growing", "Your is growing"),
    ],
)
def test_unambiguous_and_anchored_forms_are_removed_cleanly(company, body, expected):
    result, findings = fixed(body, company)

    assert result == expected
    assert all(f.code == "legal_form" and f.severity == BLOCK for f in findings)


def test_span_and_suggestion_point_at_the_form():
    body = "Hi Acme Inc. team,"
    [finding] = check_legal_forms(MessageFields(company="Acme Inc.", body=body), BLOCK)

    assert (finding.field, body[finding.start : finding.end], finding.suggestion) == (
        "body",
        " Inc.",
        "",
    )


@pytest.mark.parametrize(
    "company, body",
    [
        ("Acme", "As a fellow founder, I loved the limited edition launch at Acme."),
        ("", "We work with SE Asian retailers"),
        ("Acme", "Congrats on the Series A, Acme!"),
        ("Acme", "Our co-founder and the company behind it"),
        ("AG Barr plc", "The AG Barr team"),
        ("Acme", "A limited company like yours"),
    ],
)
def test_ordinary_prose_passes(company, body):
    assert check_legal_forms(MessageFields(company=company, body=body), BLOCK) == []


def test_ambiguous_term_is_flagged_only_after_the_company_name():
    text = "Acme Limited has limited time; Acme AG grows, and AG stays."
    result, findings = fixed(text, company="Acme AG")

    assert result == "Acme has limited time; Acme grows, and AG stays."
    assert len(findings) == 2


def test_ambiguous_prefix_term_is_flagged_only_before_the_company_name():
    text = "Hello PT Telkom team, the PT budget is on track."
    result, findings = fixed(text, company="PT Telkom")

    assert result == "Hello Telkom team, the PT budget is on track."
    assert len(findings) == 1


def test_subject_is_scanned_too_and_severity_comes_from_the_rule():
    fields = MessageFields(company="Acme", subject="Acme LLC x you", body="Hi")

    [finding] = check_legal_forms(fields, WARN)

    assert (finding.field, finding.severity) == ("subject", WARN)


def test_term_file_covers_the_common_forms():
    terms = {t.term for t in TERMS}
    for form in ("Inc.", "GmbH & Co. KG", "S.à r.l.", "sp. z o.o.", "株式会社", "ООО", "A.Ş."):
        assert form in terms
    assert {t.term for t in TERMS if t.ambiguous} >= {"Limited", "Company", "Co.", "AG", "SE"}


def test_base_name_never_returns_empty():
    assert base_name("  GmbH ") == "GmbH"
    assert base_name("") == ""


def test_the_term_file_covers_at_least_60_countries():
    countries = {term.country for term in TERMS} - {"*", "EU"}

    assert len(countries) >= 60


@pytest.mark.parametrize(
    "company, expected",
    [("Acme FZ-LLC", "Acme"), ("Acme (Pvt) Ltd", "Acme"), ("Acme Sàrl", "Acme"),
     ("Acme בע״מ", "Acme"), ("Acme Α.Ε.", "Acme"), ("Acme Cía. Ltda.", "Acme"),
     ("შპს აკმე", "აკმე")],
)
def test_forms_of_more_countries_are_stripped(company, expected):
    assert base_name(company) == expected


ASCII_SEPARATORS = [chr(c) for c in range(128) if not (chr(c).isalnum() or chr(c) in "_-")]


@pytest.mark.parametrize("separator", ASCII_SEPARATORS, ids=[hex(ord(c)) for c in ASCII_SEPARATORS])
def test_the_fast_scan_sees_a_word_edge_at_every_ascii_separator(separator):
    # The ASCII scan maps every character that is not part of a word to a space before it
    # looks; a control character mapped to anything else would hide the form behind it.
    text = f"{separator}Inc{separator}Acme{separator}GmbH{separator}PT{separator}as{separator}"

    fast = [(m.span(), m.lastgroup) for m in find_legal_forms(text)]

    assert fast == [(m.span(), m.lastgroup) for m in legal_form_regex().finditer(text)]
    assert len(fast) >= 3  # Inc, GmbH, PT at least (the separator may join more: "Inc.")


def test_a_short_texts_scan_is_kept_and_read_only():
    # Subjects and company names come back again and again in a batch: their scan is kept,
    # and since every caller of the text gets the same mapping, nobody may change it.
    from apps.validation.checks import legal_forms

    for text in ("A question for Acme Ltd & Co", "Une question pour Société Générale S.A."):
        starts = legal_forms._candidate_starts(text)

        assert dict(starts) == legal_forms._scanned_candidate_starts(text) != {}
        assert legal_forms._candidate_starts(text) is starts
        with pytest.raises(TypeError):
            starts[0] = ["co"]
    long_text = "x " * legal_forms.SHORT_TEXT + text  # a body: scanned anew each time
    assert legal_forms._candidate_starts(long_text) is not legal_forms._candidate_starts(long_text)
