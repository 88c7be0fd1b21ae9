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


@pytest.mark.parametrize(
    "text",
    [
        "Hi Jo, 50% off for 20% of teams (see [1]) and [sic] in the quote.",
        "Hi,\n\nSee [our guide](https://example.com) and reply.",
        "Hi team, the set {1, 2} is not a template.",
    ],
)
def test_ordinary_text_passes(text):
    assert findings_in(text) == []
