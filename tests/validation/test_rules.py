"""active_rules: the operator's enabled ValidationRule rows, as the suite runs them."""

import pytest

from apps.core.models import ValidationRule
from apps.validation.checks.base import RuleConfig
from apps.validation.rules import active_rules
from apps.validation.suite import BATCH_LEVEL, CHECKS


@pytest.mark.django_db
def test_the_seeded_rules_are_active_in_code_order(django_assert_num_queries):
    with django_assert_num_queries(1):
        rules = active_rules()

    codes = [r.code for r in rules]
    assert codes == sorted(codes)
    # Every check has its rule row, and every rule row has a check (or runs per batch).
    assert set(codes) == set(CHECKS) | BATCH_LEVEL
    severities = {r.code: r.severity for r in rules}
    assert severities["legal_form"] == "block"
    assert severities["recipient_role"] == "review"
    assert severities["recipient_noreply"] == "block"


@pytest.mark.django_db
def test_disabled_rules_are_left_out_and_settings_carried():
    ValidationRule.objects.filter(code="legal_form").update(enabled=False)
    ValidationRule.objects.filter(code="placeholder").update(
        severity="warn", version=3, parameters={"x": 1}
    )

    rules = active_rules()

    assert "legal_form" not in [r.code for r in rules]
    assert RuleConfig("placeholder", "warn", 3, {"x": 1}) in rules
