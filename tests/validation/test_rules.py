"""active_rules: the operator's enabled ValidationRule rows, as the suite runs them."""

import pytest

from apps.core.models import ValidationRule
from apps.validation.checks.base import RuleConfig
from apps.validation.rules import active_rules


@pytest.mark.django_db
def test_the_seeded_rules_are_active_in_code_order(django_assert_num_queries):
    with django_assert_num_queries(1):
        rules = active_rules()

    assert [(r.code, r.severity) for r in rules] == [
        ("legal_form", "block"),
        ("placeholder", "block"),
        ("recipient_domain", "block"),
        ("recipient_syntax", "block"),
    ]


@pytest.mark.django_db
def test_disabled_rules_are_left_out_and_settings_carried():
    ValidationRule.objects.filter(code="legal_form").update(enabled=False)
    ValidationRule.objects.filter(code="placeholder").update(
        severity="warn", version=3, parameters={"x": 1}
    )

    rules = active_rules()

    assert "legal_form" not in [r.code for r in rules]
    assert RuleConfig("placeholder", "warn", 3, {"x": 1}) in rules
