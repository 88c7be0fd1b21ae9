"""Unresolved placeholders and empty substitutions, in every field."""

import pytest

from apps.validation.checks.base import BLOCK, FIELDS, MessageFields
from apps.validation.checks.placeholders import check_placeholders


def findings_in(text, field="body"):
    return check_placeholders(MessageFields(**{field: text}), BLOCK)


@pytest.mark.parametrize(
    "text, placeholder",
    [
        ("Hi {{first_name}},", "{{first_name}}"),
        ("Hi {{ contact.first_name }},", "{{ contact.first_name }}"),
        ("Hi {first_name},", "{first_name}"),
        ("Hi %FIRSTNAME%,", "%FIRSTNAME%"),
        ("Hi [First Name],", "[First Name]"),
        ("About [COMPANY] and you", "[COMPANY]"),
        ("Hi *|FNAME|*,", "*|FNAME|*"),
        ("Hi ${firstName},", "${firstName}"),
        # Each merge syntax in common use, and a marker whose other end was lost.
        ("Hi {{ first_name,", "{{ first_name"),
        ("Hi {{first_name} and team", "{{first_name}"),
        ("Hi first_name}}, how are you?", "first_name}}"),
        ("Hi {!Contact.FirstName},", "{!Contact.FirstName}"),
        ("Hi {!Contact.FirstName and", "{!Contact.FirstName"),
        ("Hi *|FNAME, quick one", "*|FNAME"),
        ("Hi [firstname],", "[firstname]"),
        ("Hi [first name],", "[first name]"),
        ("We help [Industry] teams", "[Industry]"),
        ("Hi «First_Name»,", "«First_Name»"),
        ("Hi «FirstName»,", "«FirstName»"),
        ("About «Company» and you", "«Company»"),
        ("Hi «FNAME»,", "«FNAME»"),
        ("Hi %first_name%,", "%first_name%"),
        ("Hi __FIRST_NAME__,", "__FIRST_NAME__"),
        ("Hi __first_name__,", "__first_name__"),
        ("Hi __FirstName__,", "__FirstName__"),
        ("Hi <<First Name>>,", "<<First Name>>"),
        ("{% if company %}Hello", "{% if company %}"),
    ],
)
def test_placeholder_syntaxes_are_found_with_their_span(text, placeholder):
    [finding] = findings_in(text)

    assert finding.code == "placeholder"
    assert text[finding.start : finding.end] == placeholder
    assert finding.suggestion is None


@pytest.mark.parametrize("field", FIELDS)
def test_every_field_is_scanned(field):
    [finding] = findings_in("{{first_name}}@acme.com" if field == "email" else "{{x}}", field)

    assert finding.field == field


@pytest.mark.parametrize("text", ["Hi ,", "Hello  team,", "Dear ,\n\nThanks"])
def test_empty_substitution_is_flagged(text):
    [finding] = findings_in(text)

    assert finding.code == "placeholder.empty"
    assert text[finding.start : finding.end].strip() == ""


def test_a_whole_marker_is_one_finding_not_also_its_lost_end():
    [finding] = findings_in("Hi {{ first_name }}, welcome")

    assert (finding.start, finding.end) == (3, 19)


@pytest.mark.parametrize("field", ["subject", "first_name", "company", "email"])
@pytest.mark.parametrize("marker", ["{{ first_name", "«First_Name»", "{!Contact.FirstName}",
                                    "*|FNAME|*", "__FIRST_NAME__", "%FIRSTNAME%", "[firstname]"])
def test_each_syntax_is_found_in_the_other_fields_too(field, marker):
    text = f"{marker}@acme.com" if field == "email" else f"About {marker} here"

    [finding] = findings_in(text, field)

    assert finding.field == field and marker in text[finding.start : finding.end]


@pytest.mark.parametrize(
    "text",
    [
        "Hi Jo, 50% off for 20% of teams (see [1]) and [sic] in the quote.",
        "Hi,\n\nSee [our guide](https://example.com) and reply.",
        "Hi team, the set {1, 2} is not a template.",
        # Percent signs: shares, and percent-encoded bytes in a link.
        "Up 100% on last year, 30%-40% faster.",
        "Read https://acme.com/it%E2%80%99s-here%20now and reply.",
        # Brackets: references, editorial marks, a lower-case word that names no merge field.
        "As noted [2][3], the results [...] held [see below] and [a] was fine.",
        # Guillemets quoting words, with or without spaces inside.
        "Le slogan « Bonjour » et «Bonjour» sont des citations, «le monde» aussi.",
        # Python's dunders and Markdown bold: one lower-case word, or words with spaces.
        "Put it in __init__.py and check __name__ == '__main__'; __really__ __this one__.",
        # Words that end near braces, not a lost template start.
        "The dict {'a': {'b': 1}} closes twice.",
    ],
)
def test_ordinary_text_passes(text):
    assert findings_in(text) == []
